"""Open pages, by conversation: what a push or a reply wakes up. In memory, one
process: a page that was closed reads the stored messages when it comes back."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any


class Hub:
    def __init__(self) -> None:
        self._streams: defaultdict[int, set[asyncio.Queue]] = defaultdict(set)

    def subscribe(self, number: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=200)
        self._streams[number].add(queue)
        return queue

    def unsubscribe(self, number: int, queue: asyncio.Queue) -> None:
        self._streams[number].discard(queue)
        if not self._streams[number]:
            del self._streams[number]

    def open(self, number: int) -> int:
        return len(self._streams.get(number, ()))

    def publish(self, number: int, event: dict[str, Any]) -> None:
        for queue in list(self._streams.get(number, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stalled page reloads the history when it reconnects
                pass
