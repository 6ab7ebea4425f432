"""Residents: consent first, then the least personal data needed, erasable on request."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import ConsentRequired
from court.core.settings import CONSENT_VERSION
from court.core.validation import normalize_phone, validate_id_number, validate_name
from court.records import journal
from court.store.schema import Resident


def find(session: Session, *, conversation_id: Optional[str] = None,
         telegram_user_id: Optional[int] = None) -> Optional[Resident]:
    if telegram_user_id is not None:
        found = session.execute(select(Resident).where(Resident.telegram_user_id == telegram_user_id)).scalar_one_or_none()
        if found is not None:
            return found
    if conversation_id is not None:
        return session.execute(select(Resident).where(Resident.conversation_id == conversation_id)).scalar_one_or_none()
    return None


def record_consent(session: Session, resident: Optional[Resident] = None, *, telegram_user_id: Optional[int] = None,
                   conversation_id: Optional[str] = None, version: str = CONSENT_VERSION,
                   now: Optional[dt.datetime] = None) -> Resident:
    """Create or update a resident with a consent stamp; nothing personal yet."""
    if resident is None:
        resident = find(session, conversation_id=conversation_id, telegram_user_id=telegram_user_id)
    if resident is None:
        resident = Resident(telegram_user_id=telegram_user_id, conversation_id=conversation_id)
        session.add(resident)
    before = journal.snapshot("resident", resident) if resident.id else None
    resident.consent_at = now or clock.now()
    resident.consent_version = version
    resident.deletion_requested_at = resident.anonymised_at = None
    session.flush()
    journal.audit(session, at=now, actor=f"resident:{resident.id}", action="resident.consent", entity_type="resident",
                  entity_id=resident.id, before=before, after=journal.snapshot("resident", resident))
    return resident


def set_contact(session: Session, resident: Resident, *, name: Optional[str], phone: str,
                id_number: Optional[str] = None) -> Resident:
    """Store validated contact details; refused without consent.

    ``name`` may be None (a hotline caller may give only a phone number): the
    stored name is then left as it is rather than invented."""
    if resident.consent_at is None or resident.anonymised_at is not None:
        raise ConsentRequired()
    if name is not None:
        resident.name = validate_name(name)
    resident.phone = normalize_phone(phone)
    if id_number:
        resident.id_number = validate_id_number(id_number)
    session.flush()
    return resident


def anonymise(session: Session, resident: Resident, *, actor: str, now: Optional[dt.datetime] = None) -> None:
    """Erase a resident's personal data; their cases stay, without it, for statistics."""
    before = journal.snapshot("resident", resident)
    stamp = now or clock.now()
    resident.name = resident.phone = resident.id_number = None
    resident.telegram_user_id = resident.conversation_id = None
    resident.deletion_requested_at = resident.deletion_requested_at or stamp
    resident.anonymised_at = stamp
    session.flush()
    journal.audit(session, at=now, actor=actor, action="resident.anonymise", entity_type="resident",
                  entity_id=resident.id, before=before, after=journal.snapshot("resident", resident))
