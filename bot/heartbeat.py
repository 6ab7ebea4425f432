"""A file a long-running process touches on each pass of its loop, so that its supervisor can
tell a hung process (alive, silent) from a working one. Off unless COURT_HEARTBEAT_FILE is set
(stack/processes.py sets it for the children it starts)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def beat() -> None:
    path = os.environ.get("COURT_HEARTBEAT_FILE")
    if not path:
        return
    try:
        Path(path).touch()
    except OSError:  # a full disk must not stop the loop that beats
        log.warning("could not touch the heartbeat file")
