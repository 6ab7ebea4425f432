"""Per-user rate limiting: a leaky bucket per Telegram user."""
from __future__ import annotations

import time
from collections import OrderedDict

from aiolimiter import AsyncLimiter

MAX_TRACKED_USERS = 10_000


class UserRateLimiter:
    def __init__(self, messages: int, window: float) -> None:
        self.messages, self.window = messages, window
        self._buckets: OrderedDict[int, AsyncLimiter] = OrderedDict()
        # Monotonic time of each user's last warning: elapsed time, not the court's clock.
        self._warned_at: dict[int, float] = {}

    async def allow(self, user_id: int) -> bool:
        """Take one message's capacity, or refuse without waiting."""
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = AsyncLimiter(self.messages, self.window)
            if len(self._buckets) > MAX_TRACKED_USERS:
                old, _ = self._buckets.popitem(last=False)
                self._warned_at.pop(old, None)
        self._buckets.move_to_end(user_id)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()
        return True

    def first_refusal(self, user_id: int) -> bool:
        """True at most once per window, so a flood gets one warning even when
        the bucket lets a message through in the middle of it."""
        now = time.monotonic()
        last = self._warned_at.get(user_id)
        if last is not None and now - last < self.window:
            return False
        self._warned_at[user_id] = now
        return True
