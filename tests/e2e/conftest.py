"""The whole assistant: a model trained from nlu_data/ (once, cached by hash),
the action server and the Rasa server as real processes, a real database."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from court.seeding.seed import seed
from court.store.db import Database
from tests.conftest import SEED_DAY
from tests.factories import NOW
from tools.stack import Stack
from tools.train import ensure_model


@pytest.fixture(scope="session")
def model() -> Path:
    return ensure_model(quiet=True)


@pytest.fixture(scope="session")
def stack_db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'court.db'}")
    db.migrate()
    seed(db, today=SEED_DAY)
    return db


@pytest.fixture(scope="session")
def stack(model: Path, stack_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(model, database_url=stack_db.url, log_dir=tmp_path_factory.mktemp("logs"),
               extra_env={"COURT_FAKE_NOW": NOW.isoformat()}) as running:
        yield running
