"""Process-wide settings read from the environment."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "court" / "reference" / "data"
VAR_DIR = Path(os.environ.get("COURT_VAR_DIR", REPO_ROOT / "var"))

# Every wall-clock time a resident or mediator sees is Beijing time.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Version of the personal-information notice a resident consented to.
CONSENT_VERSION = os.environ.get("COURT_CONSENT_VERSION", "2026-11")


# var/ holds both databases, logs, the inbound spool and the secrets: owner-only.
PRIVATE_UMASK = 0o077


def private_files() -> None:
    """Make this process create its files owner-only (0600 / 0700), and tighten what an
    older version left readable under var/. Called first by every entry point."""
    os.umask(PRIVATE_UMASK)
    if not VAR_DIR.is_dir():
        return
    for path in [VAR_DIR, *VAR_DIR.rglob("*")]:
        try:
            if not path.is_symlink():
                path.chmod(0o700 if path.is_dir() else 0o600)
        except OSError:  # not ours (another user's file): leave it to the operator
            pass


def spool_path(channel: str) -> Path:
    """A channel's inbound spool (messages kept on disk while the database is down), one per court
    database: two stacks on one machine (tests, a staging copy) never drain each other's messages."""
    digest = hashlib.sha256(database_url().encode("utf-8")).hexdigest()[:12]
    return VAR_DIR / f"{channel}-inbound-spool-{digest}.jsonl"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'court.db'}"


def _number(name: str, default: str) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


# 接诉即办: a township's or organisation's request is answered within this many of the court's working days
# (court/records/workcalendar.py: holidays skipped, adjusted working weekends counted), else the desk is alerted.
REQUEST_RESPONSE_DAYS = int(_number("COURT_REQUEST_RESPONSE_DAYS", "3"))
# Each mediator's yearly minimum of training and study hours: three 8-hour days a year. The court's opinion asks
# for regular training (定期开展调解员培训、进修活动) without a figure; the court sets its own.
TRAINING_MIN_HOURS = _number("COURT_TRAINING_MIN_HOURS", "24")
