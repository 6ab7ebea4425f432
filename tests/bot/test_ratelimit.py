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
