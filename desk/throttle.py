"""A per-client limit on failed sign-ins, checked before the password is hashed: a
flood costs no Argon2 time and cannot lock every account by itself."""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable


class LoginThrottle:
    """At most ``limit`` failed sign-ins per client address within ``window`` seconds."""

    def __init__(self, limit: int = 10, window: float = 15 * 60, *, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_clients, self._clock = limit, window, max_clients, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # waitress serves requests from several threads

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def allow(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, self._clock())) < self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            if client not in self._failures and len(self._failures) >= self.max_clients:
                for old in [c for c in self._failures if not self._recent(c, now)]:
                    self._failures.pop(old, None)
                if len(self._failures) >= self.max_clients:  # still full: forget the oldest client
                    self._failures.pop(next(iter(self._failures)))
            self._recent(client, now)
            self._failures.setdefault(client, deque()).append(now)
