"""The Redis ticket lock that several Rasa servers share: tickets taken at the same moment by
two replicas are all different, and two replicas never handle one conversation at once."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from typing import Iterator

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_ext.lock_store import AtomicRedisLockStore
from stack.processes import free_port
from stack.train import real_clock_env

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server not installed (bin/scale-deps)")


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    port = free_port()
    # Redis keeps the real clock, as PostgreSQL does: it hangs at start under libfaketime (make test-dates).
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, env=real_clock_env(dict(os.environ)))
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def replicas(port: int, n: int = 2) -> list[AtomicRedisLockStore]:
    # Loaded the way Rasa loads endpoints.scale.yml's lock_store.
    stores = [LockStore.create(EndpointConfig(url="127.0.0.1", type="rasa_ext.lock_store.AtomicRedisLockStore",
                                              port=port, db=1, key_prefix="court")) for _ in range(n)]
    assert all(isinstance(s, AtomicRedisLockStore) for s in stores)
    return stores  # type: ignore[return-value]


def test_tickets_taken_at_once_by_two_replicas_are_all_different(redis_port: int) -> None:
    stores = replicas(redis_port)
    tickets: list[int] = []
    start = threading.Barrier(16)

    def take(store: AtomicRedisLockStore) -> None:
        start.wait()
        for _ in range(25):
            tickets.append(store.issue_ticket("tg-race"))

    threads = [threading.Thread(target=take, args=(stores[i % 2],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(tickets) == list(range(400))
    for ticket in tickets:
        stores[ticket % 2].cleanup("tg-race", ticket)
    assert stores[0].get_lock("tg-race") is None  # gone with its last ticket


def test_two_replicas_never_handle_one_conversation_at_once(redis_port: int) -> None:
    stores = replicas(redis_port)
    inside: list[int] = []
    overlaps: list[int] = []
    order: list[int] = []

    async def turn(store: AtomicRedisLockStore, number: int) -> None:
        async with store.lock("tg-turns", wait_time_in_seconds=0.01):
            inside.append(number)
            if len(inside) > 1:
                overlaps.append(number)
            await asyncio.sleep(0.01)
            order.append(number)
            inside.remove(number)

    async def main() -> None:
        await asyncio.gather(*(turn(stores[i % 2], i) for i in range(20)))

    asyncio.run(main())
    assert overlaps == [] and sorted(order) == list(range(20))
