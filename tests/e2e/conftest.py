"""The whole assistant: a model trained from nlu_data/ (once, cached by hash),
the action server and the Rasa server as real processes, a real database."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from court.core.clock import FileClock
from court.seeding.seed import seed
from court.store.db import Database
from stack.processes import Stack
from stack.train import ensure_model
from tests.conftest import SEED_DAY
from tests.factories import NOW

if TYPE_CHECKING:
    from tools.fake_telegram.driver import FakeTelegram


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
def clock(tmp_path_factory: pytest.TempPathFactory) -> FileClock:
    """The stack's clock: a file every process re-reads (see court/core/clock.py), starting at NOW."""
    shared = FileClock(tmp_path_factory.mktemp("clock") / "now")
    shared.set(NOW)
    return shared


@pytest.fixture(autouse=True)
def court_clock(monkeypatch: pytest.MonkeyPatch, clock: FileClock) -> None:
    """The test process reads the same clock as the stack's processes."""
    monkeypatch.setenv("COURT_FAKE_NOW", clock.env)


@pytest.fixture(scope="session")
def stack(model: Path, stack_db: Database, clock: FileClock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(model, database_url=stack_db.url, log_dir=tmp_path_factory.mktemp("logs"),
               extra_env={"COURT_FAKE_NOW": clock.env, "HOUSEKEEPING_INTERVAL": "0.5",
                          # Tests move the shared clock by hours and days: the acceptance deadline would
                          # hand their appointments on. Its own test turns it on (test_mediator_answers.py).
                          "COURT_ACCEPT_HOURS": "0"}) as running:
        yield running


BOT_TOKEN = "123456:heihe-court-test-token"
BOT_ENV = {"BOT_OUTBOX_INTERVAL": "0.2", "BOT_RETRY_INTERVAL": "0.5", "BOT_POLL_TIMEOUT": "1",
           "BOT_RATE_MESSAGES": "30", "BOT_RATE_WINDOW": "10"}


@pytest.fixture(scope="session")
def telegram(stack: Stack) -> Iterator["FakeTelegram"]:
    """A local Bot API server, and the bot polling it as its own process."""
    from tools.fake_telegram.driver import FakeTelegram

    with FakeTelegram(token=BOT_TOKEN, bot_username="heihe_court_bot") as tg:
        stack.start_bot(token=BOT_TOKEN, api_base=tg.api_root, extra_env=BOT_ENV)
        yield tg
        stack.kill_bot()
        tg.assert_clean()


@pytest.fixture
def restart_bot(stack: Stack, telegram: "FakeTelegram"):  # type: ignore[no-untyped-def]
    """Kill the bot like a crash would, run `between`, start it again."""
    def restart(between=lambda: None, **env: str) -> None:  # type: ignore[no-untyped-def]
        stack.kill_bot()
        between()
        stack.start_bot(token=BOT_TOKEN, api_base=telegram.api_root, extra_env=BOT_ENV | env)
    yield restart
    stack.kill_bot()
    stack.start_bot(token=BOT_TOKEN, api_base=telegram.api_root, extra_env=BOT_ENV)


WEB_ENV = {"WEBCHAT_OUTBOX_INTERVAL": "0.2", "BOT_RETRY_INTERVAL": "0.5", "BOT_RATE_MESSAGES": "30",
           "BOT_RATE_WINDOW": "10"}


@pytest.fixture(scope="module")
def sms_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sms") / "sent.jsonl"


@pytest.fixture(scope="module")
def webchat(stack: Stack, sms_file: Path) -> Iterator[str]:
    """The residents' web chat on this stack (its own process), texting into a recording file."""
    url = stack.start_webchat(extra_env=WEB_ENV | {"SMS_PROVIDER": "record", "SMS_RECORD_FILE": str(sms_file)})
    yield url
    stack.kill_webchat()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (bin/browser finds or installs it); no downloaded browsers.

    Per module, not per session: Playwright's sync API holds an event loop on the main
    thread while it runs, and later tests call asyncio.run() there."""
    path = os.environ.get("DESK_TEST_BROWSER")
    if not path:
        pytest.skip("DESK_TEST_BROWSER not set (bin/test sets it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()
