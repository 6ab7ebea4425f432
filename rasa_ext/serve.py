"""`python -m rasa_ext.serve run --enable-api …`: Rasa's own command line, with
its HTTP API locked by a JWT secret taken from the environment.

A secret on the command line could be read by every local user in
/proc/<pid>/cmdline; one set in this process's sys.argv cannot.
"""
from __future__ import annotations

import os
import sys

from court.core.internal_auth import RASA_JWT_SECRET
from court.core.privacy import install_log_masking


def _no_locals_in_tracebacks() -> None:
    """Rasa renders structlog tracebacks as JSON with every frame's local variables
    (message texts, slots) when its output is not a terminal; keep the frames, drop the locals."""
    import structlog
    from structlog.tracebacks import ExceptionDictTransformer

    structlog.processors.dict_tracebacks = structlog.processors.ExceptionRenderer(
        ExceptionDictTransformer(show_locals=False))


def main() -> None:
    install_log_masking()  # before Rasa configures its loggers: the record factory covers them all
    _no_locals_in_tracebacks()
    args = sys.argv[1:]
    if "--enable-api" in args:
        secret = os.environ.get(RASA_JWT_SECRET)
        if not secret:
            sys.exit(f"{RASA_JWT_SECRET} is not set: Rasa's HTTP API would be open to anyone")
        # One token: a secret starting with "-" (token_urlsafe makes one in 64) is not read as an option.
        args += [f"--jwt-secret={secret}", "--jwt-method", "HS256"]
    sys.argv = ["rasa", *args]
    from rasa.__main__ import main as rasa_main

    from rasa_ext import (
        action_failure,
        action_response_validation,
        event_types,
        graph_runner,
        strict_tracker_store,
        ted_memo,
        tracker_states,
    )

    action_response_validation.install()
    action_failure.install()
    strict_tracker_store.install()
    event_types.install()
    ted_memo.install()
    graph_runner.install()
    tracker_states.install()

    rasa_main()


if __name__ == "__main__":
    main()
