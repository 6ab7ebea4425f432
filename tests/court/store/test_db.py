"""Transactions on the embedded SQLite: writers take the write lock when they begin, so two
writers never deadlock on an upgrade; readers begin deferred and read their snapshot at once,
even while a writer holds the lock (WAL), instead of queueing behind every write."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from court.store.db import Database


@pytest.fixture
def sqlite_db(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'court.db'}")
    with db.transaction() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    yield db
    db.dispose()


def _begins(db: Database) -> list[str]:
    begins: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, *args):  # noqa: ANN001 - SQLAlchemy's event signature
        if statement.startswith("BEGIN"):
            begins.append(statement)

    return begins


def test_a_reader_reads_its_snapshot_while_a_writer_holds_the_lock(sqlite_db: Database) -> None:
    begins = _begins(sqlite_db)
    with sqlite_db.transaction() as writer:
        writer.execute(text("INSERT INTO t VALUES (2)"))
        started = time.monotonic()
        with sqlite_db.reader() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 1  # not the uncommitted row
        assert time.monotonic() - started < 1.0  # busy_timeout is 10 s: it did not wait for the lock
    with sqlite_db.reader() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    assert begins == ["BEGIN IMMEDIATE", "BEGIN", "BEGIN"]


def test_a_reader_still_rolls_back_what_it_changes(sqlite_db: Database) -> None:
    with sqlite_db.reader() as reader:
        reader.execute(text("INSERT INTO t VALUES (3)"))
    with sqlite_db.reader() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
