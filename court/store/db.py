"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from court.core import settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class IntegrityConflict(Exception):
    """A database constraint refused a write; ``constraint`` names which."""

    def __init__(self, constraint: str, original: IntegrityError) -> None:
        super().__init__(constraint)
        self.constraint = constraint
        self.original = original


READ_ONLY = "court_read_only"  # execution option: a reader session on SQLite begins deferred


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: no lock upgrades, so no deadlocks. Readers (WAL:
        # a snapshot, never blocking a writer) must not queue behind writers for a lock they never use.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory."""

    def __init__(self, url: Optional[str] = None, *, echo: bool = False) -> None:
        self.url = url or settings.database_url()
        # hide_parameters: an error's text would otherwise carry message texts, phones and ID numbers to the logs.
        kwargs: dict = {"future": True, "echo": echo, "hide_parameters": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=40)
        self.engine = create_engine(self.url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except IntegrityError as exc:
            raise IntegrityConflict(constraint_name(exc), exc) from exc
        finally:
            session.close()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; anything it changes is rolled back."""
        session = self._sessions()
        try:
            session.connection(execution_options={READ_ONLY: True})
            yield session
        finally:
            session.rollback()
            session.close()

    def migrate(self, revision: str = "head") -> None:
        from alembic import command

        command.upgrade(alembic_config(self.url), revision)

    def dispose(self) -> None:
        self.engine.dispose()


def constraint_name(exc: IntegrityError) -> str:
    diag = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if diag:
        return str(diag)
    text = str(exc.orig)
    # SQLite reports trigger names via RAISE() text and unique columns inline.
    for marker in ("appointment_overlap", "audit_log_append_only"):
        if marker in text:
            return marker
    return text


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
