"""Test databases: every test gets a fresh copy of a migrated, seeded template.

Backends: SQLite always; PostgreSQL when TEST_POSTGRES_URL names a server
(`make test` starts one). With COURT_REQUIRE_POSTGRES=1 a missing server is
an error, not a skip, so CI cannot pass on SQLite alone.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from court.core import internal_auth
from court.seeding.seed import seed
from court.store.db import Database
from tests.factories import NOW

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# One set of the stack's secrets for the whole test session, in memory: nothing is
# written under var/, and the stacks the tests start share them with this process.
for _name, _value in internal_auth.generated().items():
    os.environ.setdefault(_name, _value)

# A fixed "today" (a Monday) keeps the demo roster's leave dates stable; tests
# that book pass explicit times relative to it.
SEED_DAY = dt.date(2026, 11, 30)
PG_TEMPLATE = "court_template"


@pytest.fixture(autouse=True)
def court_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on the court's clock pinned at NOW, whatever the wall clock says.

    A test that needs another moment sets COURT_FAKE_NOW itself or passes ``now``."""
    monkeypatch.setenv("COURT_FAKE_NOW", NOW.isoformat())


def _pg_url() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL")


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if _pg_url():
        params.append(pytest.param("postgresql", id="postgresql"))
    elif os.environ.get("COURT_REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("COURT_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
    else:
        params.append(pytest.param("postgresql", id="postgresql",
                                   marks=pytest.mark.skip(reason="TEST_POSTGRES_URL not set")))
    return params


def _pg_admin():  # type: ignore[no-untyped-def]
    return create_engine(_pg_url(), future=True, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "court.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    seed(db, today=SEED_DAY)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_TEMPLATE}"))
        conn.execute(text(f"CREATE DATABASE {PG_TEMPLATE}"))
    url = make_url(_pg_url()).set(database=PG_TEMPLATE).render_as_string(hide_password=False)
    db = Database(url)
    db.migrate()
    seed(db, today=SEED_DAY)
    db.dispose()
    yield PG_TEMPLATE
    admin.dispose()


@contextlib.contextmanager
def database_copy(request: pytest.FixtureRequest, directory: Path) -> Iterator[Database]:
    """A fresh copy of the migrated, seeded template on ``request.param``'s backend, dropped after."""
    if request.param == "sqlite":
        path = directory / "court.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        try:
            yield database
        finally:
            database.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = f"court_test_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    database = Database(make_url(_pg_url()).set(database=name).render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=_backends())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_copy(request, tmp_path) as database:
        yield database
