"""Linking a mediator's Telegram chat with a one-time code: the clerk or admin issues a code
("XXXX-XXXX", only its hash is kept), the mediator sends it to the bot (/link), and the chat
is theirs; pushes that waited for the link are sent again. Also which mediator a chat
belongs to, and unlinking.

Plain functions on the caller's session, like court/booking/engine.py: audit entries
and pushes are written into the same transaction. No Telegram code here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import LinkCodeInvalid, NotFound, ValidationError
from court.messaging.outbox import NO_CHAT
from court.records import journal
from court.records.cases import REFERENCE_ALPHABET
from court.store.schema import (
    Appointment,
    AppointmentStatus,
    LinkCode,
    Mediator,
    MediatorStatus,
    OutboxMessage,
    OutboxStatus,
    RecipientType,
)

LINK_CODE_TTL = dt.timedelta(hours=72)
LINK_CODE_LENGTH = 8


def _normalise_code(raw: object) -> str:
    """Upper case, half width, without spaces or dashes: the form that is hashed."""
    text = unicodedata.normalize("NFKC", str(raw or "")).upper()
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch) == "Pd" or ch in "_·.。"))


def _hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()


def _display(normalised: str) -> str:
    half = LINK_CODE_LENGTH // 2
    return f"{normalised[:half]}-{normalised[half:]}"


def _mediator_by_code(session: Session, mediator_code: str) -> Mediator:
    code = (mediator_code or "").strip()
    found = session.execute(select(Mediator).where(Mediator.code == code)).scalar_one_or_none()
    if found is None and code:
        # Clerks type codes by hand; fall back to a case-insensitive match if unambiguous.
        matches = session.execute(select(Mediator).where(func.upper(Mediator.code) == code.upper())).scalars().all()
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise NotFound(f"没有编号为“{code}”的调解员，请核对调解员编号。")
    return found


def _lock_mediator(session: Session, mediator_id: int) -> Optional[Mediator]:
    return session.execute(
        select(Mediator).where(Mediator.id == mediator_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def revoke_link_codes(session: Session, mediator_id: int, *, now: dt.datetime) -> int:
    """Unused link codes of a mediator stop working; returns how many there were."""
    return session.execute(
        update(LinkCode)
        .where(LinkCode.mediator_id == mediator_id, LinkCode.used_at.is_(None), LinkCode.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def issue_link_code(session: Session, mediator_code: str, *, actor: str, ttl: dt.timedelta = LINK_CODE_TTL,
                    now: Optional[dt.datetime] = None) -> str:
    """A new one-time code "XXXX-XXXX" for a mediator; earlier unused codes stop working."""
    now = now or clock.now()
    if ttl <= dt.timedelta(0):
        raise ValidationError("绑定码的有效期必须大于零。")
    # Mediator row first (as in redeem): issuing and redeeming for one mediator queue up.
    mediator = _lock_mediator(session, _mediator_by_code(session, mediator_code).id)
    if mediator is None:  # removed from the roster between the two reads
        raise NotFound("没有找到这位调解员。")
    if mediator.status != MediatorStatus.ACTIVE.value:
        raise ValidationError(f"调解员{mediator.name}（{mediator.code}）已停用或已退休，不能发放绑定码。")
    revoked = revoke_link_codes(session, mediator.id, now=now)
    for _ in range(20):
        code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
        if session.execute(select(LinkCode.id).where(LinkCode.code_hash == _hash(code))).first() is None:
            break
    else:  # pragma: no cover - 31^8 codes
        raise RuntimeError("could not allocate a link code")
    link = LinkCode(mediator_id=mediator.id, code_hash=_hash(code), issued_by=actor, issued_at=now,
                    expires_at=now + ttl)
    session.add(link)
    session.flush()
    # The code itself never enters the log: the log cannot be erased.
    journal.audit(session, at=now, actor=actor, action="mediator.link_code_issued", entity_type="mediator",
                  entity_id=mediator.id, after={"link_code_id": link.id, "expires_at": link.expires_at.isoformat(),
                                                "revoked_codes": revoked})
    return _display(code)


def redeem_link_code(session: Session, code: str, chat_id: int, *, now: Optional[dt.datetime] = None) -> Mediator:
    """Link ``chat_id`` to the mediator the code was issued for; LinkCodeInvalid otherwise.

    Of concurrent redemptions of one code exactly one wins: the mediator row is
    locked, then the code is used up by a conditional UPDATE whose row count counts.
    """
    now = now or clock.now()
    normalised = _normalise_code(code)
    if len(normalised) != LINK_CODE_LENGTH or any(ch not in REFERENCE_ALPHABET for ch in normalised):
        raise LinkCodeInvalid()
    code_hash = _hash(normalised)
    found = session.execute(select(LinkCode.mediator_id).where(LinkCode.code_hash == code_hash)).first()
    if found is None:
        raise LinkCodeInvalid()
    mediator = _lock_mediator(session, found.mediator_id)
    link = session.execute(
        select(LinkCode).where(LinkCode.code_hash == code_hash).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if mediator is None or link is None:  # removed from the roster meanwhile
        raise LinkCodeInvalid()
    if link.used_at is not None:
        if link.used_chat_id == chat_id and mediator.telegram_chat_id == chat_id \
                and mediator.status == MediatorStatus.ACTIVE.value:
            return mediator  # the same /link sent twice: already done
        raise LinkCodeInvalid("这个绑定码已经用过了。请向法院工作人员索取新的绑定码。")
    if link.revoked_at is not None:
        raise LinkCodeInvalid("这个绑定码已作废（法院已发放了新的绑定码）。请使用最新的绑定码，或向法院工作人员重新索取。")
    if link.expires_at <= now:
        raise LinkCodeInvalid("这个绑定码已过期。请向法院工作人员索取新的绑定码。")
    if mediator.status != MediatorStatus.ACTIVE.value:
        raise LinkCodeInvalid("您的调解员身份目前已停用，不能绑定。如有疑问请联系法院工作人员。")
    other = session.execute(
        select(Mediator.id).where(Mediator.telegram_chat_id == chat_id, Mediator.id != mediator.id)
    ).first()
    if other is not None:
        raise ValidationError("这个 Telegram 账号已经绑定了另一位调解员。如需更换，请先请法院工作人员解除原来的绑定。")
    won = session.execute(
        update(LinkCode)
        .where(LinkCode.id == link.id, LinkCode.used_at.is_(None), LinkCode.revoked_at.is_(None))
        .values(used_at=now, used_chat_id=chat_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise LinkCodeInvalid("这个绑定码已经用过了。请向法院工作人员索取新的绑定码。")
    before = journal.snapshot("mediator", mediator)
    mediator.telegram_chat_id = chat_id  # a chat linked before is replaced
    mediator.telegram_linked_at = now
    mediator.telegram_blocked_at = None
    try:
        session.flush()
    except IntegrityError as exc:  # the same chat linked to someone else at this very moment
        raise ValidationError("这个 Telegram 账号已经绑定了另一位调解员。如需更换，请先请法院工作人员解除原来的绑定。") from exc
    journal.audit(session, at=now, actor=f"mediator:{mediator.id}", action="mediator.link", entity_type="mediator",
                  entity_id=mediator.id, before=before,
                  after=journal.snapshot("mediator", mediator) | {"link_code_id": link.id})
    replay_unlinked_pushes(session, mediator.id, now=now)
    return mediator


# Pushes that ask the mediator to accept: worth sending late, once they can be received.
_REPLAYED = ("appointment_new", "appointment_rescheduled")


def replay_unlinked_pushes(session: Session, mediator_id: int, *, now: dt.datetime) -> int:
    """Pushes that failed because the mediator had not linked Telegram yet are sent again now,
    one per appointment still waiting for an answer (the latest), so nothing booked before the
    link is lost. Returns how many."""
    rows = session.execute(select(OutboxMessage).where(
        OutboxMessage.recipient_type == RecipientType.MEDIATOR.value, OutboxMessage.recipient_id == mediator_id,
        OutboxMessage.status == OutboxStatus.FAILED.value, OutboxMessage.last_error == NO_CHAT,
        OutboxMessage.template.in_(_REPLAYED)).order_by(OutboxMessage.id)).scalars().all()
    latest: dict[int, OutboxMessage] = {}
    for row in rows:
        appointment_id = (row.payload or {}).get("appointment_id")
        if isinstance(appointment_id, int):
            latest[appointment_id] = row
    replayed = 0
    for appointment_id, row in latest.items():
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.mediator_id != mediator_id or appt.responded_at is not None \
                or appt.status not in (AppointmentStatus.BOOKED.value, AppointmentStatus.RESCHEDULED.value) \
                or appt.starts_at <= now:
            continue
        journal.enqueue(session, key=f"{row.idempotency_key}:linked", recipient_type=RecipientType.MEDIATOR,
                        recipient_id=mediator_id, template=row.template, payload=dict(row.payload), due_at=now)
        replayed += 1
    return replayed


def by_chat(session: Session, chat_id: int) -> Optional[Mediator]:
    """The active mediator linked to a Telegram chat, or None."""
    return session.execute(
        select(Mediator).where(Mediator.telegram_chat_id == chat_id, Mediator.status == MediatorStatus.ACTIVE.value)
    ).scalar_one_or_none()


def former_by_chat(session: Session, chat_id: int) -> Optional[Mediator]:
    """A suspended or retired mediator still linked to this chat, or None."""
    return session.execute(
        select(Mediator).where(Mediator.telegram_chat_id == chat_id, Mediator.status != MediatorStatus.ACTIVE.value)
    ).scalar_one_or_none()


def unlink(session: Session, mediator_id: int, *, actor: str) -> bool:
    """Detach a mediator's Telegram chat; False when none was linked."""
    mediator = _lock_mediator(session, mediator_id)
    if mediator is None:
        raise NotFound("没有找到这位调解员。")
    if mediator.telegram_chat_id is None:
        return False
    before = journal.snapshot("mediator", mediator)
    mediator.telegram_chat_id = None
    mediator.telegram_linked_at = None
    mediator.telegram_blocked_at = None
    session.flush()
    journal.audit(session, actor=actor, action="mediator.unlink", entity_type="mediator", entity_id=mediator.id,
                  before=before, after=journal.snapshot("mediator", mediator))
    return True
