"""Watch the stack's children: restart one that died or stopped answering, with backoff,
and give up loudly when one keeps failing.

A child is unhealthy when its process has exited, or when its health check (an HTTP
probe the stack defines, e.g. Rasa's /status) fails ``misses`` times in a row after it
first came up, or when it does not come up within its start grace. A hung process
(SIGSTOP, a deadlock) fails its probe like a dead one and is SIGKILLed before the
restart. More than ``max_restarts`` restarts of one child within ``window`` seconds
means something outside the process is wrong: the supervisor stops restarting and
calls ``on_give_up`` (the launcher raises a desk alert and exits non-zero).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

log = logging.getLogger(__name__)


class Supervised(Protocol):
    def supervised_names(self) -> list[str]: ...
    def alive(self, name: str) -> Optional[int]: ...  # None while running, else the exit code
    def healthy(self, name: str) -> bool: ...
    def start_grace(self, name: str) -> float: ...
    def respawn(self, name: str) -> None: ...
    def kill(self, name: str) -> None: ...


@dataclass
class _State:
    started: float
    up: bool = False  # passed its health check since the last (re)start
    misses: int = 0
    restarts: deque = field(default_factory=deque)
    next_start: Optional[float] = None  # a restart waiting for its backoff
    down_since: Optional[float] = None


@dataclass(frozen=True)
class Recovery:
    name: str
    reason: str
    down_at: float
    up_at: float

    @property
    def seconds(self) -> float:
        return self.up_at - self.down_at


class Supervisor(threading.Thread):
    def __init__(self, stack: Supervised, *, interval: float = 2.0, misses: int = 3, window: float = 120.0,
                 max_restarts: int = 5, backoff: float = 1.0, max_backoff: float = 30.0,
                 on_give_up: Optional[Callable[[str, str, int], None]] = None) -> None:
        super().__init__(name="supervisor", daemon=True)
        self.stack = stack
        self.interval, self.misses, self.window = interval, misses, window
        self.max_restarts, self.backoff, self.max_backoff = max_restarts, backoff, max_backoff
        self.on_give_up = on_give_up
        now = time.monotonic()
        self._states = {name: _State(started=now) for name in stack.supervised_names()}
        self._halt = threading.Event()
        self.gave_up: Optional[tuple[str, str]] = None
        self.recoveries: list[Recovery] = []
        self._reasons: dict[str, str] = {}

    def watch(self, name: str) -> None:
        """A child started after the supervisor (the bot, the desk)."""
        self._states.setdefault(name, _State(started=time.monotonic()))

    def up(self, name: str) -> bool:
        """Has ``name`` passed its health check since it was last (re)started?"""
        state = self._states.get(name)
        return bool(state and state.up)

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            current = set(self.stack.supervised_names())
            for name in list(self._states):
                if self._halt.is_set():
                    return
                if name not in current:  # taken out on purpose (a test stopping the bot)
                    del self._states[name]
                    continue
                try:
                    self._check(name, self._states[name])
                except Exception:  # noqa: BLE001 - the watcher itself must not die
                    log.exception("supervising %s failed", name)
                if self.gave_up:
                    return

    def _check(self, name: str, state: _State) -> None:
        now = time.monotonic()
        if state.next_start is not None:
            if now >= state.next_start:
                state.next_start = None
                state.started, state.up, state.misses = now, False, 0
                self.stack.respawn(name)
            return
        code = self.stack.alive(name)
        if code is not None:
            self._failed(name, state, f"exited with {code}", now)
            return
        if self.stack.healthy(name):
            if not state.up and state.down_since is not None:
                self.recoveries.append(Recovery(name, self._reasons.pop(name, ""), state.down_since, now))
                log.warning("%s is back after %.1f s", name, now - state.down_since)
                state.down_since = None
            state.up, state.misses = True, 0
        elif state.up:
            state.misses += 1
            if state.misses >= self.misses:
                self._failed(name, state, f"health check failed {state.misses} times in a row", now)
        elif now - state.started > self.stack.start_grace(name):
            self._failed(name, state, "did not become healthy in time", now)

    def _failed(self, name: str, state: _State, reason: str, now: float) -> None:
        while state.restarts and now - state.restarts[0] > self.window:
            state.restarts.popleft()
        if len(state.restarts) >= self.max_restarts:
            log.error("%s failed again (%s) after %d restarts in %.0f s: giving up", name, reason,
                      len(state.restarts), self.window)
            self.gave_up = (name, reason)
            if self.on_give_up:
                self.on_give_up(name, reason, len(state.restarts))
            return
        delay = min(self.max_backoff, self.backoff * 2 ** len(state.restarts))
        log.warning("%s %s: restarting in %.1f s", name, reason, delay)
        state.restarts.append(now)
        state.up, state.misses, state.next_start = False, 0, now + delay
        if state.down_since is None:
            state.down_since = now
        self._reasons[name] = reason
        self.stack.kill(name)
