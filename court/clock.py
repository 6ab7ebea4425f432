"""The court's clock. COURT_FAKE_NOW sets it for reproducible test runs:

- an ISO 8601 time pins the clock there (it does not move);
- "@FILE" names a file holding an ISO 8601 time: the clock reads that time as
  "now when the file was written" and runs on from there, so backoffs and
  leases still elapse. Rewriting the file moves every process's clock at once.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path


def _aware(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError("COURT_FAKE_NOW needs a UTC offset")
    return moment


def now() -> dt.datetime:
    fake = os.environ.get("COURT_FAKE_NOW")
    if not fake:
        return dt.datetime.now(dt.timezone.utc)
    if not fake.startswith("@"):
        return _aware(fake)
    path = Path(fake[1:])
    written = path.stat().st_mtime
    return _aware(path.read_text(encoding="utf-8")) + dt.timedelta(seconds=max(0.0, time.time() - written))
