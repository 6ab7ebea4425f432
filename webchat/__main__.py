"""`python -m webchat`: serve the residents' web chat (WEBCHAT_HOST:WEBCHAT_PORT)."""
from __future__ import annotations

import logging
import os

from court.core.privacy import install_log_masking
from court.core.settings import private_files
from webchat.app import create_app
from webchat.settings import WebSettings


def configure_logging() -> None:
    logging.basicConfig(level=os.environ.get("WEBCHAT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_log_masking()  # phones and ID numbers masked, tracebacks included


def main() -> None:
    private_files()
    configure_logging()
    settings = WebSettings()
    app = create_app(settings)
    # One worker: the open pages and the outbox worker share one process's memory.
    app.run(host=settings.host, port=settings.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
