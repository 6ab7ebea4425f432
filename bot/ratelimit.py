"""Per-user rate limiting: a leaky bucket per Telegram user."""
from __future__ import annotations

from collections import OrderedDict

from aiolimiter import AsyncLimiter

MAX_TRACKED_USERS = 10_000


class UserRateLimiter:
    def __init__(self, messages: int, window: float) -> None:
        self.messages, self.window = messages, window
        self._buckets: OrderedDict[int, AsyncLimiter] = OrderedDict()
        self._warned: set[int] = set()

    async def allow(self, user_id: int) -> bool:
        """Take one message's capacity, or refuse without waiting."""
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = AsyncLimiter(self.messages, self.window)
            if len(self._buckets) > MAX_TRACKED_USERS:
                old, _ = self._buckets.popitem(last=False)
                self._warned.discard(old)
        self._buckets.move_to_end(user_id)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()
        self._warned.discard(user_id)
        return True

    def first_refusal(self, user_id: int) -> bool:
        """True once per burst, so a flood gets one warning, not one per message."""
        if user_id in self._warned:
            return False
        self._warned.add(user_id)
        return True
