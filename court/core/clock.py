"""The court's clock: the only place in the code that reads the time of day.

Every rule and every write asks ``clock.now()`` (or takes a ``now`` that a
caller got from it), so a test or a replay sets the time once for a process:

- in-process, ``clock.use(source)`` (a context manager) or ``clock.install``;
- for a whole process tree, ``COURT_FAKE_NOW``:
  - an ISO 8601 time pins the clock there (it does not move);
  - "@FILE" names a file written by FileClock.set: the clock reads that time as
    "now when the file was written" and runs on from there, so backoffs and leases
    still elapse. Rewriting the file moves every process's clock at once.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from pathlib import Path
from typing import Iterator, Optional, Protocol

UTC = dt.timezone.utc


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


def _aware(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError("COURT_FAKE_NOW needs a UTC offset")
    return moment


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class FixedClock:
    """A clock that stands still until it is set or advanced."""

    def __init__(self, moment: dt.datetime) -> None:
        self.set(moment)

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a clock needs an aware datetime")
        self.moment = moment

    def advance(self, delta: dt.timedelta) -> None:
        self.moment += delta

    def now(self) -> dt.datetime:
        return self.moment


class RunningClock:
    """Starts at a given moment and runs on at real speed (monotonic, so wall-clock jumps do not move it)."""

    def __init__(self, start: dt.datetime) -> None:
        self.set(start)

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a clock needs an aware datetime")
        self._start, self._ticks = moment, time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._ticks)


class FileClock:
    """The time in a file, shared by the processes of one machine.

    ``set`` stores the moment and the system's monotonic reading, so the clock runs on from
    there even when the wall clock is moved (e.g. by faketime). A file written by hand holds
    only a moment, and the clock stands still at it until the file is rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a clock needs an aware datetime")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{moment.isoformat()}\n{time.monotonic()!r}\n", encoding="utf-8")
        tmp.replace(self.path)  # atomic: a reader never sees half a timestamp

    def now(self) -> dt.datetime:
        moment, _, ticks = self.path.read_text(encoding="utf-8").strip().partition("\n")
        elapsed = time.monotonic() - float(ticks) if ticks.strip() else 0.0
        return _aware(moment) + dt.timedelta(seconds=max(0.0, elapsed))

    @property
    def env(self) -> str:
        return f"@{self.path}"


def from_environment() -> Clock:
    fake = os.environ.get("COURT_FAKE_NOW")
    if not fake:
        return SystemClock()
    if fake.startswith("@"):
        return FileClock(Path(fake[1:]))
    return FixedClock(_aware(fake))


_installed: Optional[Clock] = None


def install(source: Optional[Clock]) -> None:
    """Make ``source`` this process's clock (None: back to COURT_FAKE_NOW or the wall clock)."""
    global _installed
    _installed = source


@contextlib.contextmanager
def use(source: Clock) -> Iterator[Clock]:
    previous = _installed
    install(source)
    try:
        yield source
    finally:
        install(previous)


def now() -> dt.datetime:
    """Now, aware UTC-comparable: the one source of the time for every rule and write."""
    return (_installed or from_environment()).now()
