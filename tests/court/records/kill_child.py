"""The child process of test_kill_mid_write: run one court operation and stop dead at a
chosen moment of its writing transaction, for the parent to SIGKILL.

``python -m tests.court.records.kill_child URL before|after TABLE OP ARGS_JSON``: "before" stops
when the transaction that wrote TABLE is about to commit (every statement sent, nothing
committed), "after" just after it committed.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time

from sqlalchemy import event
from sqlalchemy.orm import Session


def _stop_here() -> None:
    print("READY", flush=True)
    time.sleep(300)  # the parent kills us here


def main() -> None:
    url, when, table, op, raw = sys.argv[1:6]
    args = json.loads(raw)
    from court.facades.assistant import AssistantFacade
    from court.mediation import outcomes
    from court.records import erasure
    from court.store.db import Database

    db = Database(url)
    touched: dict[int, bool] = {}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        words = statement.split()
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE") and table in statement.split("(")[0]:
            touched[id(conn.connection.dbapi_connection)] = True

    @event.listens_for(db.engine, "commit")
    def _before(conn):  # type: ignore[no-untyped-def]
        if when == "before" and touched.get(id(conn.connection.dbapi_connection)):
            _stop_here()

    @event.listens_for(Session, "after_commit")
    def _after(session):  # type: ignore[no-untyped-def]
        if when == "after" and any(touched.values()):
            _stop_here()

    court = AssistantFacade(db)
    if op == "book":
        court.book(**args)
    elif op == "reschedule":
        court.reschedule(args["reference"], args["phone"], args["token"], conversation_id=args["conversation_id"])
    elif op == "outcome":
        with db.transaction() as s:
            outcomes.record_outcome(s, args["mediator_id"], args["reference"], "success", note="双方达成协议",
                                    now=dt.datetime.fromisoformat(args["now"]))
    elif op == "erase":
        with db.transaction() as s:
            erasure.erase(s, telegram_user_id=None, conversation_id=args["conversation_id"])
    print("DONE-WITHOUT-STOPPING", flush=True)


if __name__ == "__main__":
    main()
