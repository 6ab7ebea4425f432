"""A phone call to the 12368 hotline turned into an intake the caller continues in a chat: the
agent records the case (with the caller's consent) and a one-time link; the chat that opens it is
bound to the caller, merging with the record of a caller who already chats with the court.

Plain functions on a Session (like court/booking/engine.py); every change is audited in the
caller's transaction, never with a phone number, and only a link's hash is stored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from court.booking import cards
from court.core.errors import ConsentRequired, IntakeLinkInvalid, ValidationError
from court.hotline.accounts import DeskUser
from court.records import cases, journal, residents
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Case,
    CaseSource,
    DisputeType,
    IntakeLink,
    Resident,
)

INTAKE_TTL = dt.timedelta(hours=24)
_CHAT_TAKEN = "这个 Telegram 账号已经登记过其他信息，不能再绑定这次热线登记。请拨打12368热线，请工作人员帮您处理。"
# What secrets.token_urlsafe yields, within Telegram's start payload limit.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_ACTIVE_APPOINTMENTS = frozenset(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass(frozen=True)
class IntakeStart:
    """What the chat needs to carry on a phone intake."""

    reference: str
    dispute_type: str
    summary: str
    phone: str
    name: Optional[str]
    booked: Optional[str] = None  # the appointment an agent already booked for the caller, as they read it


def _token_hash(token: str) -> str:
    # Only the hash is stored: a leaked database does not leak usable links.
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create_intake(session: Session, user: DeskUser, *, dispute_type: str, summary: str, phone: str, consent: bool,
                  name: Optional[str] = None, ttl: dt.timedelta = INTAKE_TTL,
                  now: dt.datetime) -> tuple[str, str]:
    """A caller's intake taken on the phone: a hotline case and a one-time token
    for the Telegram deep link (t.me/<bot>?start=<token>). Returns (reference, token)."""
    if consent is not True:  # the caller agreed on the phone, or nothing is stored
        raise ConsentRequired("需要来电人同意收集这些信息后才能登记。")
    if ttl <= dt.timedelta(0):
        raise ValidationError("链接的有效期必须大于零。")
    try:
        dispute = DisputeType(dispute_type).value
    except ValueError:
        raise ValidationError("请选择纠纷类型。") from None
    resident = residents.record_consent(session, now=now)
    residents.set_contact(session, resident, name=name or None, phone=phone)
    case = cases.open_case(session, dispute_type=dispute, summary=summary, actor=user.actor,
                           source=CaseSource.HOTLINE, resident=resident)
    return case.reference, issue_intake_link(session, case, user, expires_at=now + ttl, action="intake.create",
                                             now=now)


def issue_intake_link(session: Session, case: Case, user: DeskUser, *, expires_at: dt.datetime, action: str,
                      now: dt.datetime) -> str:
    """A one-time token that binds the chat opening it to ``case``'s caller; only its hash is kept."""
    token = secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]
    link = IntakeLink(case_id=case.id, token_hash=_token_hash(token), created_by=user.actor, created_at=now,
                      expires_at=expires_at)
    session.add(link)
    session.flush()
    journal.audit(session, at=now, actor=user.actor, action=action, entity_type="case", entity_id=case.id,
                  after={"intake_link_id": link.id, "expires_at": link.expires_at.isoformat()})
    return token


def _merge_into_chat(session: Session, caller: Resident, chat: Resident, *, conversation_id: str,
                     now: dt.datetime) -> Resident:
    """The caller already chats with the bot: their hotline case joins that resident.

    The details given on the phone are the fresher ones; the empty record the
    intake made is anonymised rather than deleted, so audit references stay valid."""
    before = journal.snapshot("resident", chat)
    for case in session.execute(select(Case).where(Case.resident_id == caller.id)).scalars():
        case.resident = chat
    if chat.consent_at is None:
        chat.consent_at, chat.consent_version = caller.consent_at, caller.consent_version
    chat.phone = caller.phone or chat.phone
    chat.name = caller.name or chat.name
    session.flush()
    actor = journal.chat_actor(conversation_id)
    residents.anonymise(session, caller, actor=actor, now=now)
    journal.audit(session, at=now, actor=actor, action="resident.merge", entity_type="resident",
                  entity_id=chat.id, before=before, after=journal.snapshot("resident", chat) | {"merged": caller.id})
    return chat


def redeem_intake(session: Session, token: str, *, conversation_id: str, telegram_user_id: Optional[int],
                  now: dt.datetime) -> IntakeStart:
    """Bind the chat that opened the deep link to the caller's intake.

    Single use: of chats opening one link at once, the conditional UPDATE lets
    one through. A refusal raises, so the caller's rollback leaves the link unused.
    """
    if not _TOKEN.match(str(token or "")):
        raise IntakeLinkInvalid()
    token_hash = _token_hash(token)
    link = session.execute(select(IntakeLink).where(IntakeLink.token_hash == token_hash)).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise IntakeLinkInvalid()
    won = session.execute(
        update(IntakeLink)
        .where(IntakeLink.id == link.id, IntakeLink.used_at.is_(None), IntakeLink.expires_at > now)
        .values(used_at=now, used_chat_id=telegram_user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise IntakeLinkInvalid()
    case = session.get(Case, link.case_id)
    resident = case.resident if case is not None else None
    if resident is None or resident.anonymised_at is not None:
        raise IntakeLinkInvalid()
    clash = [Resident.conversation_id == conversation_id]
    if telegram_user_id is not None:
        clash.append(Resident.telegram_user_id == telegram_user_id)
    others = session.execute(select(Resident).where(Resident.id != resident.id, or_(*clash))).scalars().all()
    if len(others) > 1:
        # The chat and the Telegram account belong to two different residents:
        # guessing which one called would hand one person's cases to another.
        raise ValidationError(_CHAT_TAKEN)
    if others:
        resident = _merge_into_chat(session, resident, others[0], conversation_id=conversation_id, now=now)
    before = journal.snapshot("resident", resident)
    if telegram_user_id is not None:
        resident.telegram_user_id = telegram_user_id
    resident.conversation_id = conversation_id
    case.conversation_id = conversation_id
    try:
        session.flush()
    except IntegrityError as exc:  # the same chat bound to someone else at this very moment
        raise ValidationError(_CHAT_TAKEN) from exc
    journal.audit(session, at=now, actor=journal.chat_actor(conversation_id), action="intake.redeem",
                  entity_type="case", entity_id=case.id, before=before | {"intake_link_id": link.id},
                  after=journal.snapshot("resident", resident) | {"intake_link_id": link.id})
    booked = [a for a in case.appointments if a.status in _ACTIVE_APPOINTMENTS]
    return IntakeStart(reference=case.reference, dispute_type=case.dispute_type, summary=case.summary or "",
                       phone=resident.phone or "", name=resident.name,
                       booked=cards.card(booked[0]).render() if booked else None)
