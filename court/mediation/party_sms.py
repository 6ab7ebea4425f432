"""Texts to the parties of a delegated case (court/mediation/delegation_offers.py writes them as outbox rows of
channel 'sms'): sent through the SMS sender interface (court/messaging/sms.py) by the housekeeping pass.

With no sender configured, or after the last attempt, the row fails and the desk gets an
alert to phone the party instead. Once sent, the row keeps no phone number.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.privacy import mask_phone
from court.messaging import outbox
from court.messaging.sms import Off, SmsSender
from court.records import journal
from court.store.schema import DelegationParty, OutboxMessage, OutboxStatus, RecipientType

SMS_CHANNEL = "sms"
MAX_ATTEMPTS = 5


def send_due(session: Session, sender: SmsSender, *, now: dt.datetime, limit: int = 20) -> int:
    """Send the due texts; returns how many went out."""
    rows = session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.channel == SMS_CHANNEL, OutboxMessage.status == OutboxStatus.PENDING.value,
               OutboxMessage.due_at <= now, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).scalars().all()
    sent = 0
    for row in rows:
        payload = dict(row.payload or {})
        party = session.get(DelegationParty, payload.get("party_id"))
        row.attempts += 1
        ok = False
        if party is not None and not isinstance(sender, Off):
            try:
                ok = sender.send(party.phone, str(payload.get("text", "")))
            except Exception as exc:  # noqa: BLE001 - a gateway's failure is retried, never the pass's end
                row.last_error = outbox.clean_error(exc)
        if ok:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT.value, now, None
            row.payload = payload | {"phone": mask_phone(party.phone)}
            sent += 1
        elif party is None or isinstance(sender, Off) or row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED.value
            row.last_error = "sms_off" if isinstance(sender, Off) else (row.last_error or "sms_failed")
            session.flush()
            journal.enqueue(session, key=f"alert:party:{row.id}", recipient_type=RecipientType.COURT,
                            recipient_id=None, template="party_unreached", due_at=now,
                            payload={"party_id": payload.get("party_id"), "reference": payload.get("reference"),
                                     "template": row.template, "outbox_id": row.id})
        else:
            row.next_attempt_at = now + dt.timedelta(seconds=outbox.backoff(row.attempts))
    session.flush()
    return sent
