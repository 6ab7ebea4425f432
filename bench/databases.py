"""Fresh, empty databases for a benchmark run."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from court.store.db import Database


def fresh_database(name: str, pg_url: Optional[str]) -> Database:
    """A new SQLite file, or database ``name`` recreated on the PostgreSQL server at ``pg_url``."""
    if not pg_url:
        return Database(f"sqlite:///{Path(tempfile.mkdtemp()) / f'{name}.db'}")
    admin = create_engine(pg_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        # Rasa's trackers of the last run live beside it (court/store/tracker_db.py): start them afresh too.
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}_tracker WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return Database(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
