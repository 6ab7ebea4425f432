"""Scheduled jobs beside the bot: transcript erasures retried until the assistant
confirms them, give-backs to the assistant retried likewise, residents told when
their handoff waited past the court's limit, appointments their mediator did not accept
in time alerted and offered to a colleague (court/booking/acceptance.py), 接诉即办 requests past the court's
response time alerted once (court/hotline/support_requests.py), and the retention rules
(court/records/retention.py) once an hour.

`python -m bot.housekeeping`; stack/processes.py starts it with the stack, whether
or not Telegram is configured, so erasure and retention never depend on the bot.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sys
import time
from typing import Optional

from bot import heartbeat
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.settings import BotSettings
from court.facades.messenger import MessengerFacade, TranscriptJob
from court.records import retention
from court.records.retention import RetentionReport
from court.store import tracker_db
from court.store.db import Database

log = logging.getLogger(__name__)


async def _attempt(desk: MessengerFacade, assistant: RasaClient, job: TranscriptJob, *, tell: bool) -> bool:
    try:
        await assistant.reset(job.conversation_id)
    except RasaUnavailable as exc:
        log.warning("transcript erasure %s not confirmed (attempt %d): %s", job.id, job.attempts, exc)
        await asyncio.to_thread(desk.transcript_erasure_failed, job.id, str(exc))
        return False
    await asyncio.to_thread(desk.transcript_erased, job.id, tell=tell)
    return True


async def erase_transcript_now(desk: MessengerFacade, assistant: RasaClient, job_id: int, conversation_id: str) -> bool:
    """The first attempt, while the resident waits (the erasure leased the job to us);
    True only if the assistant confirmed."""
    return await _attempt(desk, assistant, TranscriptJob(id=job_id, conversation_id=conversation_id, attempts=1),
                          tell=False)


async def erase_due(desk: MessengerFacade, assistant: RasaClient) -> int:
    """Retry the due erasures; returns how many the assistant confirmed."""
    done = 0
    for job in await asyncio.to_thread(desk.claim_transcript_erasures):
        done += await _attempt(desk, assistant, job, tell=True)
    return done


async def resume_due(desk: MessengerFacade, assistant: RasaClient) -> int:
    """Retry give-backs the assistant missed while it was down; returns how many it confirmed."""
    done = 0
    for handoff_id, conversation_id in await asyncio.to_thread(desk.resumes_due):
        try:
            await assistant.resume(conversation_id)
        except RasaUnavailable as exc:
            log.warning("give-back %s not resumed yet: %s", handoff_id, exc)
            await asyncio.to_thread(desk.resume_failed, handoff_id)
            continue
        await asyncio.to_thread(desk.resume_done, handoff_id)
        done += 1
    return done


def enforce_retention(desk: MessengerFacade, tracker_url: Optional[str]) -> RetentionReport:
    stale: list[str] = []
    if tracker_url:
        cutoff = desk.now() - dt.timedelta(days=retention.TRANSCRIPT_DAYS)
        stale = tracker_db.stale_conversations(tracker_url, before=cutoff.timestamp())
    return desk.enforce_retention(stale)


async def run(desk: MessengerFacade, assistant: RasaClient, *, interval: float, retention_every: float,
              tracker_url: Optional[str]) -> None:
    next_retention = 0.0
    while True:
        heartbeat.beat()
        try:
            await erase_due(desk, assistant)
        except Exception:  # noqa: BLE001 - the database may be down; the jobs wait in it
            log.exception("transcript erasure pass failed")
        try:
            await resume_due(desk, assistant)
            await asyncio.to_thread(desk.mark_overdue_handoffs)
        except Exception:  # noqa: BLE001
            log.exception("handoff pass failed")
        try:
            await asyncio.to_thread(desk.expire_unaccepted)
        except Exception:  # noqa: BLE001
            log.exception("acceptance deadline pass failed")
        try:  # 委派调解: deadline warnings on the court's clock, and the parties' texts
            await asyncio.to_thread(desk.delegation_pass)
        except Exception:  # noqa: BLE001
            log.exception("delegation pass failed")
        try:
            await asyncio.to_thread(desk.alert_overdue_requests)
        except Exception:  # noqa: BLE001
            log.exception("support request deadline pass failed")
        if time.monotonic() >= next_retention:
            try:
                report = await asyncio.to_thread(enforce_retention, desk, tracker_url)
                log.info("retention: %s", report)
            except Exception:  # noqa: BLE001
                log.exception("retention pass failed")
            next_retention = time.monotonic() + retention_every
        await asyncio.sleep(interval)


def _tracker_url() -> Optional[str]:
    try:
        return tracker_db.tracker_database_url()
    except ValueError as exc:
        log.warning("transcripts are not expired: %s", exc)
        return None


def main() -> int:
    from bot.app import configure_logging

    configure_logging()
    db = Database()
    assistant = RasaClient(BotSettings().rasa_url)
    try:
        asyncio.run(run(MessengerFacade(db), assistant,
                        interval=float(os.environ.get("HOUSEKEEPING_INTERVAL", 30)),
                        retention_every=float(os.environ.get("RETENTION_INTERVAL", 3600)),
                        tracker_url=_tracker_url()))
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
