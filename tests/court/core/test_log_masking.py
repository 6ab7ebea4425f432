"""Personal data stays out of logs: messages, exceptions and stack traces, whichever
handler writes them, in every process; SQL errors without their parameters."""
from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from court.core.privacy import MaskingFormatter, install_log_masking, mask_log_text
from court.store.db import IntegrityConflict
from court.store.schema import Resident
from rasa_ext.tracker_store import CourtTrackerStore
from stack.processes import ROOT

PHONE, ID_NUMBER = "13945612378", "11010519491231002X"


def _fail_with_personal_data() -> None:
    raise ValueError(f"bad input {PHONE} / {ID_NUMBER}")


def test_the_formatter_masks_message_exception_and_stack():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(MaskingFormatter("%(message)s"))
    logger = logging.getLogger("court.test.formatter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            _fail_with_personal_data()
        except ValueError:
            logger.exception("caller %s failed", PHONE, stack_info=True)
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "Traceback" in written and "Stack (most recent call last)" in written
    assert PHONE not in written and ID_NUMBER not in written
    assert "139****2378" in written and "110105********002X" in written


def test_a_handler_added_after_installing_gets_masked_records_too():
    install_log_masking()
    out = io.StringIO()
    handler = logging.StreamHandler(out)  # plain Formatter: what a library installs later
    logger = logging.getLogger("court.test.late_handler")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            _fail_with_personal_data()
        except ValueError:
            logger.exception("failed for %s", PHONE)
        logger.warning("no traceback, phone %s", PHONE, stack_info=True)
    finally:
        logger.removeHandler(handler)
    assert "Traceback" in out.getvalue() and PHONE not in out.getvalue() and ID_NUMBER not in out.getvalue()


def test_credentials_are_cut_from_log_lines():
    line = ("POST /webhook?token=s3cr3t-Value&x=1 Authorization: Bearer eyJhbGciOi.eyJ1c2Vy.sig "
            "https://api.telegram.org/bot123456:ABC-def_ghi/getUpdates")
    masked = mask_log_text(line)
    assert "s3cr3t" not in masked and "eyJ" not in masked and "ABC-def" not in masked
    assert "token=***" in masked and "Bearer ***" in masked and "/bot***/getUpdates" in masked


@pytest.mark.parametrize("setup", [
    "from desk.__main__ import configure_logging; configure_logging()",
    "from bot.app import configure_logging; configure_logging()",
    "from webchat.__main__ import configure_logging; configure_logging()",
    # The action server: rasa_sdk_plugins installs it when rasa_sdk attaches the extension.
    "import rasa_sdk_plugins, sanic, os; os.environ['ACTION_SERVER_TOKEN'] = 't'\n"
    "rasa_sdk_plugins.ActionServerGuard().attach_sanic_app_extensions(sanic.Sanic('probe'))",
    "import rasa_ext.channels",  # what the Rasa server imports for its channel
])
def test_each_process_masks_logged_and_uncaught_exceptions(setup):
    script = (f"{setup}\nimport logging\nlogging.basicConfig()\n"
              f"try:\n    int('{PHONE}x')\n"
              f"except ValueError:\n    logging.getLogger('probe').exception('{ID_NUMBER}')\n"
              f"raise RuntimeError('uncaught {PHONE}')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert "RuntimeError" in output and "Traceback" in output and "invalid literal" in output
    assert PHONE not in output and ID_NUMBER not in output


def test_sql_errors_carry_no_parameters(db):
    with db.transaction() as s:
        s.add(Resident(telegram_user_id=7007, phone=PHONE))
    with pytest.raises(IntegrityConflict) as failure:
        with db.transaction() as s:
            s.add(Resident(telegram_user_id=7007, phone=PHONE, id_number=ID_NUMBER))
    assert PHONE not in str(failure.value.original) and ID_NUMBER not in str(failure.value.original)
    with db.reader() as s:
        assert s.execute(select(Resident.phone).where(Resident.telegram_user_id == 7007)).scalar_one() == PHONE


def test_tracker_store_errors_carry_no_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    store = CourtTrackerStore()
    with pytest.raises(Exception) as failure:
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO events (id, sender_id, type_name, timestamp, data) "
                              "VALUES (1, 'tg-1', 'user', 0, :data)"), {"data": PHONE})
            conn.execute(text("INSERT INTO events (id, sender_id, type_name, timestamp, data) "
                              "VALUES (1, 'tg-1', 'user', 0, :data)"), {"data": PHONE})
    assert "UNIQUE" in str(failure.value) and PHONE not in str(failure.value)
