"""What the action server (rasa-sdk) adds to itself: rasa_sdk imports this
package by name when it starts and calls ``init_hooks``.

Only Rasa may run actions: every request but ``/health`` must carry the token
Rasa sends (``action_endpoint.token`` in endpoints.yml, as ``?token=``). A
failing action is answered without the request, which holds every slot.
"""
from __future__ import annotations

import logging
import os

import pluggy
from sanic import Sanic, response
from sanic.request import Request

from court.core.internal_auth import ACTION_SERVER_TOKEN, matches
from court.core.privacy import install_log_masking

hookimpl = pluggy.HookimplMarker("rasa_sdk")
log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health"})  # liveness for the launcher; says nothing


class ActionServerGuard:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        install_log_masking()
        expected = os.environ.get(ACTION_SERVER_TOKEN)
        if not expected:
            # Fail closed: an action server nobody can authenticate to must not start.
            raise RuntimeError(f"{ACTION_SERVER_TOKEN} is not set; the action server would be open to anyone")

        @app.on_request
        async def _require_token(request: Request):  # type: ignore[no-untyped-def]
            if request.path in OPEN_PATHS:
                return None
            if matches(request.args.get("token"), expected):
                return None
            return response.json({"error": "unauthorized"}, status=401)

        async def _failed(request: Request, exception: Exception):  # type: ignore[no-untyped-def]
            # rasa_sdk's own handler echoes the request body (every slot) back; this one names nothing.
            log.error("action request failed: %s", type(exception).__name__, exc_info=exception)
            status = getattr(exception, "status_code", 500) or 500
            return response.json({"error": "internal error" if status >= 500 else "bad request"},
                                 status=status if 400 <= status < 600 else 500)

        app.error_handler.add(Exception, _failed)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(ActionServerGuard())
