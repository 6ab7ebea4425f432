"""Short text messages to a resident's phone: an interface, off by default.

SMS_PROVIDER selects the sender: unset or "off" sends nothing; "record" appends
each message to SMS_RECORD_FILE (JSON lines, owner-only), for tests and for a
court trying the wording before it signs with a carrier. A carrier's gateway is
one more class with the same ``send``.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Mapping, Optional, Protocol

from court.core import clock
from court.core.validation import normalize_phone

COURT_SIGN = "【黑河法院】"
LIMIT = 70  # one SMS of Chinese text


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> bool: ...


class Off:
    def send(self, phone: str, text: str) -> bool:
        return False


class Recording:
    """Writes what would be sent; the tests read it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> bool:
        line = json.dumps({"phone": phone, "text": text, "at": clock.now().isoformat()}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        return True


def sender(env: Mapping[str, str] = os.environ) -> SmsSender:
    provider = (env.get("SMS_PROVIDER") or "off").strip().lower()
    if provider == "record" and env.get("SMS_RECORD_FILE"):
        return Recording(Path(env["SMS_RECORD_FILE"]))
    return Off()


def enabled(env: Mapping[str, str] = os.environ) -> bool:
    return not isinstance(sender(env), Off)


def notice(what: str, link: str) -> str:
    """A short notice: what happened in a few words and the link; never names, places or case details."""
    return f"{COURT_SIGN}{what}，请打开 {link} 查看。"[: LIMIT + len(link)]


def send_notice(phone: Optional[str], what: str, link: str, env: Mapping[str, str] = os.environ) -> bool:
    if not phone:
        return False
    try:
        number = normalize_phone(phone)
    except Exception:  # noqa: BLE001 - a number we cannot text is not an error of the caller
        return False
    return sender(env).send(number, notice(what, link))
