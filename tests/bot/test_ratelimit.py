import asyncio

from bot.ratelimit import UserRateLimiter


def test_each_user_has_a_bucket_and_a_flood_is_warned_once():
    async def scenario():
        limiter = UserRateLimiter(messages=3, window=60)
        first = [await limiter.allow(1) for _ in range(5)]
        other = await limiter.allow(2)
        warnings = [limiter.first_refusal(1) for _ in range(3)]
        return first, other, warnings

    first, other, warnings = asyncio.run(scenario())
    assert first == [True, True, True, False, False]
    assert other is True
    assert warnings == [True, False, False]


def test_capacity_comes_back_after_the_window():
    async def scenario():
        limiter = UserRateLimiter(messages=2, window=0.2)
        assert await limiter.allow(7) and await limiter.allow(7)
        assert not await limiter.allow(7)
        await asyncio.sleep(0.25)
        return await limiter.allow(7)

    assert asyncio.run(scenario()) is True


def test_a_slot_that_leaks_mid_flood_does_not_bring_a_second_warning():
    async def scenario():
        limiter = UserRateLimiter(messages=2, window=0.4)
        assert await limiter.allow(3) and await limiter.allow(3)
        assert not await limiter.allow(3)
        first = limiter.first_refusal(3)
        await asyncio.sleep(0.25)  # one slot leaks back
        leaked = await limiter.allow(3)
        assert not await limiter.allow(3)
        second = limiter.first_refusal(3)
        await asyncio.sleep(0.45)  # a new burst after a quiet window is warned again
        while await limiter.allow(3):
            pass
        third = limiter.first_refusal(3)
        return first, leaked, second, third

    assert asyncio.run(scenario()) == (True, True, False, True)
