"""`python -m desk`: serve the hotline desk with waitress."""
from __future__ import annotations

import logging
import os

from waitress import serve

from court.core.privacy import install_log_masking
from court.core.settings import private_files
from desk.app import create_app


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()  # phones and ID numbers masked, tracebacks included


def main() -> None:
    private_files()  # var/desk-secret and anything else it writes: owner-only
    configure_logging()
    host = os.environ.get("DESK_HOST", "127.0.0.1")
    port = int(os.environ.get("DESK_PORT", "8080"))
    serve(create_app(), host=host, port=port, threads=8)


if __name__ == "__main__":
    main()
