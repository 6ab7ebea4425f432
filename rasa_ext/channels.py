"""The REST channel the Telegram front end talks to, behind a shared secret.

Rasa's stock ``rest`` channel lets anyone who reaches the port speak as any
sender with any metadata; this one wants ``X-Court-Channel-Secret`` (the
``secret`` in credentials.yml) on every message, checks the body's shape, and
never logs what the resident wrote.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from court.core import clock
from court.core.internal_auth import CHANNEL_HEADER, matches
from court.core.privacy import install_log_masking
from court.core.timeutil import format_relative
from court.hotline import waiting
from rasa_ext.strict_tracker_store import TrackerStoreUnavailable

logger = logging.getLogger(__name__)
install_log_masking()  # the Rasa server process: this module is imported before it serves

MAX_SENDER = 64
MAX_MESSAGE = 4000


class CourtRestInput(InputChannel):
    """POST /webhooks/court/webhook {"sender", "message", "metadata"} → the replies as JSON."""

    def __init__(self, secret: Optional[Text]) -> None:
        self.secret = secret

    @classmethod
    def name(cls) -> Text:
        return "court"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "CourtRestInput":
        secret = (credentials or {}).get("secret")
        if not secret:
            # Fail closed: without a secret the channel would be the open door it replaces.
            raise ValueError("the court channel needs a secret (REST_CHANNEL_SECRET)")
        return cls(str(secret))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("court_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            # Answering /status is not enough: without the action server every turn fails.
            agent = getattr(request.app.ctx, "agent", None)
            actions = await _actions_reachable(getattr(agent, "action_endpoint", None))
            return response.json({"status": "ok" if actions else "degraded", "actions": "ok" if actions else "down"},
                                 status=200 if actions else 503)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not matches(request.headers.get(CHANNEL_HEADER), self.secret):
                return response.json({"error": "unauthorized"}, status=401)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises its own error for bad JSON
                body = None
            parsed = _parse(body)
            if parsed is None:
                return response.json({"error": "bad request"}, status=400)
            sender, text, metadata = parsed
            collector = CollectingOutputChannel()
            failed = False

            async def handle() -> None:
                nonlocal failed
                try:
                    await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                     metadata=metadata))
                except CancelledError:
                    logger.error("message handling timed out")
                except Exception:  # noqa: BLE001 - e.g. the lock store (Redis) or the tracker store is down
                    logger.exception("message handling failed")  # the trace, never the text
                    failed = True

            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or agent.tracker_store is None:
                await handle()
            else:
                try:
                    await _with_pause(agent, sender, text, collector, handle)
                except Exception:  # noqa: BLE001 - the tracker store is down (rasa_ext/strict_tracker_store.py)
                    logger.exception("reading the conversation failed")
                    failed = True
            if failed:
                # Rasa saves the turn only when it is handled to the end, so nothing of it is kept:
                # no half answer; a 503 makes the front end apologise and send the message again later.
                return response.json({"error": "unavailable"}, status=503)
            return response.json(collector.messages)

        return webhook


# --- a conversation paused for a 12368 agent ------------------------------------------

@functools.lru_cache(maxsize=1)
def _court():  # type: ignore[no-untyped-def]
    """The court facade, opened on first use (DATABASE_URL, as every court process)."""
    from court.facades.assistant import AssistantFacade
    from court.store.db import Database

    return AssistantFacade(Database())


async def _court_call(fn_name: str, *args: Any, default: Any = None, **kwargs: Any) -> Any:
    """A court call from the event loop; when the court's database is down, ``default`` (logged)."""
    try:
        return await asyncio.to_thread(getattr(_court(), fn_name), *args, **kwargs)
    except Exception:  # noqa: BLE001 - the resident still gets an answer, safety first
        logger.exception("court call %s failed", fn_name)
        return default


async def _with_pause(agent: Any, sender: str, text: str, collector: CollectingOutputChannel,
                      handle: Callable[[], Awaitable[None]]) -> None:
    """Rasa says nothing at all while paused; the court decides what a waiting resident hears."""
    tracker = await _tracker_if_paused(agent.tracker_store, sender)
    if tracker is None or not tracker.is_paused():
        if text in waiting.WAITING_PAYLOADS:  # an old "取消转人工" button, pressed after the wait ended
            collector.messages.append({"recipient_id": sender, "text": waiting.NOT_WAITING})
            return
        await handle()
        return
    # When the court's database is down: stay paused, and safety still answers.
    status = await _court_call("handoff_status", sender, default="waiting")
    if status in (None, "returning"):
        # The court has no agent on it (given back while the assistant was down, closed, erased):
        # nobody would ever answer, so the assistant takes the chat again.
        await _resume(agent, sender)
        await _court_call("confirm_resumed", sender)
        await handle()
        return
    decision = waiting.decide(text)
    if decision.leave:
        await _court_call("leave_queue", sender)
        await _resume(agent, sender)
        if decision.rerun:
            await handle()
        else:
            await _say(agent, sender, collector, [{"text": waiting.LEFT}])
        return
    await handle()  # logged in the transcript for the agent; Rasa stays silent
    answers: List[Dict[str, Any]] = []
    if decision.say:
        await _say(agent, sender, collector, [{"text": decision.say}])
        return
    if decision.emergency:
        answers.append({"text": decision.emergency})
    if await _court_call("acknowledge_wait", sender, default=False):
        now = clock.now()
        hours = await _court_call("desk_hours", now)
        if hours is not None:
            is_open, opening = hours
            answers.append({"text": waiting.acknowledgement(status, desk_open=is_open,
                                                            next_opening=format_relative(opening, now)),
                            "buttons": [waiting.LEAVE_BUTTON]})
    await _say(agent, sender, collector, answers)


async def _tracker_if_paused(store: Any, sender: str) -> Optional[Any]:
    """The conversation's tracker, or None where it cannot be paused: a store that can tell
    (rasa_ext.tracker_store.CourtTrackerStore.may_be_paused) is asked first, with one small
    query, and the whole conversation is read back only for a conversation that has paused."""
    inner = store
    while not hasattr(inner, "may_be_paused") and hasattr(inner, "_tracker_store"):
        inner = inner._tracker_store  # Rasa's FailSafeTrackerStore (and AwaitableTrackerStore) wrap it
    if hasattr(inner, "may_be_paused"):
        try:
            if not await inner.may_be_paused(sender):
                return None
        except Exception as exc:
            raise TrackerStoreUnavailable(type(exc).__name__) from exc
    return await store.retrieve(sender)


async def _say(agent: Any, sender: str, collector: CollectingOutputChannel, answers: List[Dict[str, Any]]) -> None:
    """Answer, and keep the answers in the transcript the agent reads."""
    if not answers:
        return
    from rasa.shared.core.events import BotUttered

    for answer in answers:
        collector.messages.append({"recipient_id": sender, **answer})
    async with agent.lock_store.lock(sender):
        tracker = await agent.tracker_store.retrieve(sender)
        for answer in answers:
            tracker.update(BotUttered(answer["text"], data={"buttons": answer.get("buttons")} if answer.get("buttons")
                                      else {}))
        await agent.tracker_store.save(tracker)


async def _resume(agent: Any, sender: str) -> None:
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, ConversationResumed

    async with agent.lock_store.lock(sender):
        tracker = await agent.tracker_store.retrieve(sender)
        if tracker is not None and tracker.is_paused():
            tracker.update(ConversationResumed())
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            await agent.tracker_store.save(tracker)


async def _actions_reachable(endpoint: Any) -> bool:
    url = getattr(endpoint, "url", None)
    if not url:
        return False
    import aiohttp

    health_url = url.rsplit("/webhook", 1)[0] + "/health"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            async with session.get(health_url) as answer:
                return answer.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


def _parse(body: Any) -> Optional[tuple[str, str, Dict[str, Any]]]:
    if not isinstance(body, dict):
        return None
    sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata") or {}
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER:
        return None
    if not isinstance(text, str) or len(text) > MAX_MESSAGE or not isinstance(metadata, dict):
        return None
    return sender, text, metadata
