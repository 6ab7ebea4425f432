"""`python -m stack.healthcheck UNIT=URL ...`: the production twin of the launcher's supervisor.

systemd restarts a unit whose process died (Restart=always), but not one that hangs.
A timer runs this every 15 s: a unit whose URL fails three probes in a row is
SIGKILLed, and systemd starts it again; after five failures in two minutes systemd
gives up and OnFailure= raises the desk alert (deploy/systemd/court-alert@.service).
"""
from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time

import requests

log = logging.getLogger("healthcheck")


def answers(url: str, *, tries: int = 3, pause: float = 2.0, timeout: float = 2.0) -> bool:
    for attempt in range(tries):
        try:
            if requests.get(url, timeout=timeout).ok:
                return True
        except requests.RequestException:
            pass
        if attempt + 1 < tries:
            time.sleep(pause)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checks", nargs="+", metavar="UNIT=URL")
    parser.add_argument("--dry-run", action="store_true", help="say what would be killed, kill nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    failed = 0
    for check in args.checks:
        unit, _, url = check.partition("=")
        if not unit or not url:
            parser.error(f"not UNIT=URL: {check}")
        if answers(url):
            continue
        failed += 1
        log.warning("%s does not answer at %s: killing it for systemd to restart", unit, url)
        if not args.dry_run:
            subprocess.run(["systemctl", "kill", "--signal=SIGKILL", unit], check=False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
