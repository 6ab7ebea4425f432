"""Rasa's Redis ticket lock with every change made atomically.

Rasa 3.6's RedisLockStore reads a conversation's lock, changes it in Python and writes it
back: two replicas taking a ticket at the same moment both read "no lock", both write a lock
holding ticket 0, and both handle their message at once. The SQL tracker store then counts
the stored events to decide which are new, so one turn is silently lost (seen under load in
tests/e2e/test_scale_postgresql.py). Here each change is a WATCH/MULTI transaction that is
retried when another replica changed the lock in between.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Optional, Text, Tuple, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        # Rasa builds a custom lock store from endpoints.yml as cls(endpoint_config=…).
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: Text,
                change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]) -> T:
        """Apply ``change`` to the stored lock (None when absent) and store the lock it returns,
        deleted when no ticket remains; retried whenever another replica wrote the lock meanwhile
        (WATCH also notices a lock created where there was none)."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock, result = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
                    pipe.multi()
                    if lock is not None and lock.tickets:
                        pipe.set(key, lock.dumps())
                    elif raw:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        return self._change(conversation_id, issue)

    def update_lock(self, conversation_id: Text) -> None:
        def expire(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # The lock goes with its last ticket in the same step: a ticket another replica took
        # meanwhile is never deleted with it.
        self.finish_serving(conversation_id, ticket_number)
