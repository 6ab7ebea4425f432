"""Process-wide settings read from the environment."""
from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"
VAR_DIR = Path(os.environ.get("COURT_VAR_DIR", REPO_ROOT / "var"))

# Every wall-clock time a resident or mediator sees is Beijing time.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Version of the personal-information notice a resident consented to.
CONSENT_VERSION = os.environ.get("COURT_CONSENT_VERSION", "2026-11")


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'court.db'}"
