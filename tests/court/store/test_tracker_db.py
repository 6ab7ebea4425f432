"""Where the trackers go: a sibling of the court's database unless told otherwise."""
from __future__ import annotations

import subprocess
import sys

import pytest

from court.store.tracker_db import REPO_ROOT, ensure_database, tracker_database_url


@pytest.mark.parametrize("court, tracker", [
    ("sqlite:///var/court.db", "sqlite:///var/court-tracker.db"),
    ("sqlite:///court.db", "sqlite:///court-tracker.db"),
    ("sqlite:////srv/heihe/data/court.db", "sqlite:////srv/heihe/data/court-tracker.db"),
    ("sqlite:////srv/heihe/court.sqlite3", "sqlite:////srv/heihe/court-tracker.sqlite3"),
    ("postgresql+psycopg2://court:s3cr%40t@db.example:5433/court",
     "postgresql+psycopg2://court:s3cr%40t@db.example:5433/court_tracker"),
    ("postgresql://court@127.0.0.1/heihe?sslmode=require",
     "postgresql://court@127.0.0.1/heihe_tracker?sslmode=require"),
])
def test_derived_from_the_court_database(court, tracker):
    assert tracker_database_url({"DATABASE_URL": court}) == tracker


def test_without_database_url_it_sits_beside_the_default_court_database():
    assert tracker_database_url({}) == f"sqlite:///{REPO_ROOT / 'var' / 'court-tracker.db'}"
    assert tracker_database_url({"COURT_VAR_DIR": "/data/court"}) == "sqlite:////data/court/court-tracker.db"


@pytest.mark.parametrize("court", [
    "sqlite://", "sqlite:///:memory:", "sqlite:///file:court?mode=memory&uri=true",
    "mysql+pymysql://court@db/court", "postgresql://court@db",
])
def test_no_natural_sibling_asks_for_tracker_database_url(court):
    with pytest.raises(ValueError, match="TRACKER_DATABASE_URL"):
        tracker_database_url({"DATABASE_URL": court})


def test_an_error_does_not_show_the_password():
    with pytest.raises(ValueError) as error:
        tracker_database_url({"DATABASE_URL": "mysql+pymysql://court:hunter2@db/court"})
    assert "hunter2" not in str(error.value)


def test_explicit_tracker_database_url_wins():
    env = {"DATABASE_URL": "sqlite://", "TRACKER_DATABASE_URL": "postgresql://rasa@db/transcripts"}
    assert tracker_database_url(env) == "postgresql://rasa@db/transcripts"


def test_ensure_database_makes_sqlite_directory(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'court-tracker.db'}"
    ensure_database(url)
    ensure_database(url)
    assert (tmp_path / "a" / "b").is_dir()


def test_loads_without_rasa():
    # Tools and the court's own processes use it; Rasa takes seconds to import.
    code = "import sys, court.store.tracker_db; assert not any(m.split('.')[0] == 'rasa' for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
