"""Run one action from many threads at once, as many phones pressing together would."""
from __future__ import annotations

import threading
from typing import Any, Callable

from court.core.errors import CourtError


def race(n: int, attempt: Callable[[int], Any], *, timeout: float = 120) -> list[Any]:
    """Release ``n`` threads together through a barrier; each result is what
    ``attempt(i)`` returned, the CourtError class name it raised, or the repr of
    anything else (a bug, kept visible for the assertion)."""
    barrier = threading.Barrier(n)
    outcomes: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = attempt(i)
        except CourtError as exc:
            outcomes[i] = type(exc).__name__
        except Exception as exc:  # noqa: BLE001
            outcomes[i] = repr(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return outcomes
