"""Where Rasa keeps its conversation trackers (the transcripts): a database of
its own beside the court's, so the court's Alembic migrations never meet
Rasa's `events` table.

No Rasa import here: tests and tools can use it without loading Rasa.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Mapping

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

REPO_ROOT = Path(__file__).resolve().parents[2]

# PostgreSQL error codes meaning "someone else created it first": duplicate_database,
# and unique_violation on pg_database when two CREATE DATABASE statements race.
_ALREADY_CREATED = {"42P04", "23505"}


def court_database_url(env: Mapping[str, str] = os.environ) -> str:
    """The court's database URL, as court.core.settings.database_url reads it, from `env`."""
    url = env.get("DATABASE_URL")
    if url:
        return url
    var_dir = Path(env.get("COURT_VAR_DIR", REPO_ROOT / "var"))
    return f"sqlite:///{var_dir / 'court.db'}"


def tracker_database_url(env: Mapping[str, str] = os.environ) -> str:
    """TRACKER_DATABASE_URL, or a sibling of the court's database: `court.db` →
    `court-tracker.db` beside it; PostgreSQL database `court` → `court_tracker`
    on the same server."""
    explicit = env.get("TRACKER_DATABASE_URL")
    if explicit:
        return explicit
    court = make_url(court_database_url(env))
    backend = court.get_backend_name()
    if backend == "sqlite" and _is_sqlite_file(court):
        path = Path(court.database)
        tracker = path.with_name(f"{path.stem}-tracker{path.suffix}")
        return court.set(database=str(tracker)).render_as_string(hide_password=False)
    if backend == "postgresql" and court.database:
        return court.set(database=f"{court.database}_tracker").render_as_string(hide_password=False)
    raise ValueError(
        f"Cannot derive a database for Rasa's trackers from DATABASE_URL "
        f"({court.render_as_string(hide_password=True)}): only an SQLite file or a PostgreSQL "
        f"database has a natural sibling. Set TRACKER_DATABASE_URL.")


def ensure_database(url: str, env: Mapping[str, str] = os.environ) -> None:
    """Make sure the tracker database can be opened: SQLite's directory exists,
    PostgreSQL's database is created when missing. Safe to call repeatedly and
    from several processes at once."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if _is_sqlite_file(parsed):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return
    if backend != "postgresql":
        return  # other servers: the operator creates the database
    if not parsed.database:
        raise ValueError("TRACKER_DATABASE_URL names no database")
    if _can_connect(parsed):
        return  # exists already; creating it would need more rights than using it
    failure: Exception | None = None
    for admin_database in _admin_databases(parsed, env):
        engine = create_engine(parsed.set(database=admin_database), future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                _create_database(conn, parsed.database)
            return
        except OperationalError as exc:  # that database is not reachable for us; try the next
            failure = exc
        finally:
            engine.dispose()
    raise RuntimeError(f"Could not create the tracker database {parsed.database!r}: {failure}") from failure


def _is_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith("file:") \
        and url.query.get("mode") != "memory"


def _can_connect(url: URL) -> bool:
    engine = create_engine(url, future=True)
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


def _admin_databases(url: URL, env: Mapping[str, str]) -> Iterator[str]:
    """Databases on the same server to issue CREATE DATABASE from: the court's own
    (its credentials surely may connect), then PostgreSQL's maintenance databases."""
    try:
        court = make_url(court_database_url(env))
    except ArgumentError:  # a malformed DATABASE_URL only loses one candidate
        court = None
    if court is not None and court.get_backend_name() == "postgresql" and court.database \
            and (court.host, court.port) == (url.host, url.port) and court.database != url.database:
        yield court.database
    yield "postgres"
    yield "template1"


def _create_database(conn, name: str) -> None:
    exists = conn.execute(text("SELECT 1 FROM pg_catalog.pg_database WHERE datname = :name"),
                          {"name": name}).first()
    if exists:
        return
    # Always quoted: the name is used exactly as the URL spells it, and cannot inject SQL.
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    try:
        conn.execute(text(f"CREATE DATABASE {quoted}"))
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) not in _ALREADY_CREATED:
            raise


def stale_conversations(url: str, *, before: float, limit: int = 1000) -> list[str]:
    """Conversations in the tracker database whose last event is older than ``before``
    (a POSIX timestamp, as Rasa stores them). Read only: erasing goes through Rasa,
    which holds the conversation's lock while it writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and _is_sqlite_file(parsed) and not Path(parsed.database).exists():
        return []  # Rasa has not started on this database yet
    engine = create_engine(url, future=True, hide_parameters=True)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("events"):
                return []
            return list(conn.execute(
                text("SELECT sender_id FROM events GROUP BY sender_id HAVING max(timestamp) < :before "
                     "ORDER BY max(timestamp) LIMIT :limit"), {"before": before, "limit": limit}).scalars())
    finally:
        engine.dispose()
