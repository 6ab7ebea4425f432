"""A custom action that fails or times out ends the turn, instead of Rasa carrying on.

Rasa 3.6 logs a failed remote action and goes on predicting, so the resident
gets half an answer (a booking offer without the guidance card it belongs to)
and the tracker records a turn that never happened. Here a failure (the action
server down, hung past ``ACTION_TIMEOUT_SECONDS``, or answering 5xx) raises out
of the turn: Rasa saves nothing of it, the court channel answers 503, and the
front end apologises with 12368 and sends the message again later.

A rejection (HTTP 400, a form asking again) is dialogue, not a failure: untouched.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from typing import Any, List, Optional

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.processor import MessageProcessor

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # Rasa's own is 5 minutes: far past any front end's patience

_failure: contextvars.ContextVar[Optional[BaseException]] = contextvars.ContextVar("court_action_failure",
                                                                                    default=None)


class ActionUnavailable(Exception):
    """A custom action could not run: the turn is abandoned, not half answered."""


def action_timeout() -> float:
    try:
        value = float(os.environ.get("ACTION_TIMEOUT_SECONDS", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


_remote_run = RemoteAction.run
_run_action = MessageProcessor._run_action


async def _guarded_remote_run(self: RemoteAction, *args: Any, **kwargs: Any) -> List[Any]:
    try:
        return await asyncio.wait_for(_remote_run(self, *args, **kwargs), timeout=action_timeout())
    except ActionExecutionRejection:
        raise
    except asyncio.TimeoutError as exc:
        _failure.set(exc)
        raise ActionUnavailable(f"custom action '{self.name()}' timed out") from exc
    except Exception as exc:
        _failure.set(exc)
        raise


async def _strict_run_action(self: MessageProcessor, action: Any, *args: Any, **kwargs: Any) -> bool:
    token = _failure.set(None)
    try:
        result = await _run_action(self, action, *args, **kwargs)
        failure = _failure.get()
    finally:
        _failure.reset(token)
    if failure is not None:
        # Rasa has logged it and swallowed it; raise past its catch so the turn is not saved.
        raise ActionUnavailable(f"custom action '{action.name()}' failed: {type(failure).__name__}") from failure
    return result


def install() -> None:
    RemoteAction.run = _guarded_remote_run  # type: ignore[method-assign]
    MessageProcessor._run_action = _strict_run_action  # type: ignore[method-assign]
