"""What every action module shares: the court handle, threads for blocking calls, time."""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from typing import Any, Callable, Optional, TypeVar

from rasa_sdk import Tracker

from court.core import clock
from court.core.errors import CourtError
from court.core.privacy import install_log_masking
from court.facades.assistant import AssistantFacade
from court.store.db import Database

T = TypeVar("T")
log = logging.getLogger("actions")
install_log_masking()

DISPUTE_PREFIX = "dispute_"
# Message shown when the court's systems fail in a way the resident cannot fix.
SYSTEM_ERROR = "系统暂时出了点问题，您的信息没有丢失。请稍后再试，或拨打12368诉讼服务热线。"


@functools.lru_cache(maxsize=1)
def court() -> AssistantFacade:
    return AssistantFacade(Database())


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking court call in a worker thread so the action server keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def now() -> dt.datetime:
    """The court's clock (COURT_FAKE_NOW pins it in tests; see court/core/clock.py)."""
    return clock.now()


def error_message(exc: Exception) -> str:
    if isinstance(exc, CourtError):
        return exc.message
    log.exception("unexpected error in an action")
    return SYSTEM_ERROR


def user_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def is_payload(text: str) -> bool:
    return text.startswith("/")


def last_typed_text(tracker: Tracker) -> str:
    """The resident's latest message that was typed, not a button payload."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = event.get("text") or ""
            if text and not is_payload(text):
                return text
    return ""


def recent_typed_texts(tracker: Tracker, count: int) -> list[str]:
    """The resident's last ``count`` messages (button payloads included, as "/…"), oldest first."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            texts.append(event.get("text") or "")
            if len(texts) == count:
                break
    return texts[::-1]


def dispute_from_ranking(tracker: Tracker) -> Optional[str]:
    """The dispute type NLU ranked highest for the latest message, if any."""
    for item in (tracker.latest_message or {}).get("intent_ranking") or []:
        name = item.get("name") or ""
        if name.startswith(DISPUTE_PREFIX):
            return name[len(DISPUTE_PREFIX):]
    return None


def metadata(tracker: Tracker) -> dict:
    return (tracker.latest_message or {}).get("metadata") or {}
