"""The court's clock. COURT_FAKE_NOW pins it for reproducible test runs: an
ISO 8601 time, or "@FILE" naming a file that holds one, re-read on every call
so a test can move time forward for every process of the stack at once."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path


def now() -> dt.datetime:
    fake = os.environ.get("COURT_FAKE_NOW")
    if not fake:
        return dt.datetime.now(dt.timezone.utc)
    if fake.startswith("@"):
        fake = Path(fake[1:]).read_text(encoding="utf-8").strip()
    moment = dt.datetime.fromisoformat(fake)
    if moment.tzinfo is None:
        raise ValueError("COURT_FAKE_NOW needs a UTC offset")
    return moment
