"""The conversations the 12368 hotline agents hold: the queue of handoffs the assistant passed
over, taking one (exclusive), reading it, replying, giving it back to the assistant or closing it,
and what the resident wrote that the court kept while the assistant was down.

Plain functions on a Session (like court/booking/engine.py); every change is audited in the
caller's transaction, never with the text of a message or a phone number.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from court.core.errors import HandoffUnavailable, NotFound, PermissionDenied, ResidentLeft
from court.core.privacy import mask_phone
from court.core.validation import clean_text
from court.hotline import handoffs
from court.hotline.accounts import DeskUser
from court.records import journal
from court.reference import labels
from court.store.schema import Case, Handoff, HandoffStatus, InboundMessage, RecipientType, Resident

REPLY_LIMIT = 2000
CLOSE_NOTE_LIMIT = 500
SUMMARY_PREVIEW = 120
LEFT_SHOWN = dt.timedelta(minutes=30)  # how long the queue shows a chat the resident left while it was held
LEFT_NOTICE = "居民已取消转人工，这个对话已结束，回复不会再发给居民。如需联系，请按居民留下的电话回拨。"
_NOTE_DISPUTE = re.compile(r"dispute_type=([a-z_]+)")


@dataclass(frozen=True)
class QueueItem:
    handoff_id: int
    conversation_id: str
    status: str
    reason: str
    waiting_since: dt.datetime
    wait_minutes: int
    dispute_label: str
    summary: str  # at most SUMMARY_PREVIEW characters
    phone_masked: str  # the queue is seen by every agent: no full numbers
    agent: Optional[str]
    overdue: bool = False  # no agent took it within the court's waiting limit; the resident was told
    automatic: bool = False  # handed over by the assistant (misunderstood), not asked for
    resume_failed: bool = False  # given back (or closed) while the assistant was down: retried automatically
    resident_left: bool = False  # the resident left the queue while an agent held the chat


@dataclass(frozen=True)
class HandoffView:
    """One handoff for the agent who took it: the full phone number included."""

    handoff_id: int
    conversation_id: str
    status: str
    agent: Optional[str]
    reason: str
    created_at: dt.datetime
    reference: Optional[str]
    dispute_label: str
    summary: Optional[str]
    resident_name: Optional[str]
    resident_phone: Optional[str]


def context(session: Session, handoff: Handoff) -> tuple[Optional[Case], Optional[Resident], str]:
    """The case and resident behind a handoff, and its dispute type ("" if unknown)."""
    resident = session.get(Resident, handoff.resident_id) if handoff.resident_id else None
    case = session.get(Case, handoff.case_id) if handoff.case_id else None
    if case is None:
        # The resident's latest case; without a resident, the conversation's.
        where = (Case.resident_id == resident.id) if resident is not None \
            else (Case.conversation_id == handoff.conversation_id)
        case = session.execute(select(Case).where(where).order_by(Case.id.desc()).limit(1)).scalar_one_or_none()
    if resident is None and case is not None:
        resident = case.resident
    # handoffs.request notes what the resident was asking about: fresher than an old case.
    match = _NOTE_DISPUTE.search(handoff.note or "")
    dispute = match.group(1) if match else (case.dispute_type if case is not None else "")
    return case, resident, dispute


def _contexts(session: Session, handoffs: list[Handoff]) -> dict[int, tuple[Optional[Case], Optional[Resident], str]]:
    """context() for many handoffs in three queries, not three per handoff: the queue is polled every 3 s."""
    resident_ids = {h.resident_id for h in handoffs if h.resident_id}
    conversations = {h.conversation_id for h in handoffs}
    people = {r.id: r for r in session.execute(select(Resident).where(Resident.id.in_(resident_ids))).scalars()} \
        if resident_ids else {}
    found = session.execute(select(Case).where(or_(
        Case.id.in_({h.case_id for h in handoffs if h.case_id}),
        Case.resident_id.in_(resident_ids), Case.conversation_id.in_(conversations)))
    ).scalars().all() if handoffs else []
    by_id = {c.id: c for c in found}
    latest_by_resident: dict[int, Case] = {}
    latest_by_conversation: dict[str, Case] = {}
    for c in sorted(found, key=lambda c: c.id):  # later ids overwrite: the latest case wins
        if c.resident_id is not None:
            latest_by_resident[c.resident_id] = c
        if c.conversation_id is not None:
            latest_by_conversation[c.conversation_id] = c
    missing = {c.resident_id for c in found if c.resident_id and c.resident_id not in people}
    if missing:
        people |= {r.id: r for r in session.execute(select(Resident).where(Resident.id.in_(missing))).scalars()}
    out: dict[int, tuple[Optional[Case], Optional[Resident], str]] = {}
    for h in handoffs:
        resident = people.get(h.resident_id) if h.resident_id else None
        case = by_id.get(h.case_id) if h.case_id else None
        if case is None:
            case = latest_by_resident.get(resident.id) if resident is not None \
                else latest_by_conversation.get(h.conversation_id)
        if resident is None and case is not None and case.resident_id is not None:
            resident = people.get(case.resident_id)
        match = _NOTE_DISPUTE.search(h.note or "")
        out[h.id] = (case, resident, match.group(1) if match else (case.dispute_type if case is not None else ""))
    return out


def _minutes(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))


def resident_left(handoff: Handoff) -> bool:
    """Closed because the resident left the queue (取消转人工, /start, /cancel), not by the desk."""
    return handoff.status == HandoffStatus.CLOSED.value and handoffs.RESIDENT_LEFT in (handoff.note or "").split("\n")


def queue(session: Session, *, now: dt.datetime) -> list[QueueItem]:
    """Waiting handoffs, oldest first, then the taken ones, then give-backs and closes the assistant has
    not confirmed yet (retried automatically), then for a while those the resident left while an agent
    held them (the agent must not go on answering); returned and closed are done."""
    rows = session.execute(
        select(Handoff).where(or_(
            Handoff.status.in_((HandoffStatus.WAITING.value, HandoffStatus.TAKEN.value)),
            Handoff.status.in_((HandoffStatus.RETURNING.value, HandoffStatus.CLOSED.value))
            & (Handoff.resume_attempts > 0) & Handoff.resume_next_at.isnot(None),
            (Handoff.status == HandoffStatus.CLOSED.value) & Handoff.agent.isnot(None)
            & (Handoff.closed_at >= now - LEFT_SHOWN)))
        .order_by(Handoff.created_at, Handoff.id)
    ).scalars().all()
    rows = [h for h in rows if h.status != HandoffStatus.CLOSED.value or handoffs.awaits_resume(h)
            or resident_left(h)]
    items: list[QueueItem] = []
    contexts = _contexts(session, rows)
    for h in rows:
        case, resident, dispute = contexts[h.id]
        items.append(QueueItem(
            handoff_id=h.id, conversation_id=h.conversation_id, status=h.status, reason=h.reason,
            waiting_since=h.created_at, wait_minutes=_minutes(h.created_at, now), dispute_label=labels.dispute(dispute),
            summary=((case.summary or "") if case is not None else "")[:SUMMARY_PREVIEW],
            phone_masked=mask_phone(resident.phone) if resident is not None else "", agent=h.agent,
            overdue=h.overdue_at is not None and h.status == HandoffStatus.WAITING.value,
            automatic=h.reason in handoffs.AUTO_REASONS,
            resume_failed=handoffs.awaits_resume(h),
            resident_left=resident_left(h),
        ))
    # Stable sort: created_at order is kept within each group.
    order = {HandoffStatus.WAITING.value: 0, HandoffStatus.TAKEN.value: 1}
    items.sort(key=lambda i: order.get(i.status, 2))
    return items


def _handoff(session: Session, handoff_id: int, *, lock: bool = False) -> Handoff:
    query = select(Handoff).where(Handoff.id == handoff_id).execution_options(populate_existing=True)
    handoff = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if handoff is None:
        raise NotFound("没有找到这个对话。")
    return handoff


def _require_taker(handoff: Handoff, user: DeskUser, *, admin_ok: bool) -> None:
    if handoff.agent == user.username and handoff.agent is not None:
        return
    if admin_ok and user.is_admin:
        return
    raise PermissionDenied("请先接手这个对话。")


def take(session: Session, handoff_id: int, user: DeskUser, *, now: dt.datetime) -> None:
    """Exclusive: of agents pressing "接手" at once, the conditional UPDATE lets one through."""
    won = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.WAITING.value)
        .values(status=HandoffStatus.TAKEN.value, agent=user.username, taken_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise HandoffUnavailable()
    journal.audit(session, at=now, actor=user.actor, action="handoff.take", entity_type="handoff", entity_id=handoff_id,
                  before={"status": HandoffStatus.WAITING.value, "agent": None},
                  after={"status": HandoffStatus.TAKEN.value, "agent": user.username})


def _holding(handoff: Handoff, user: DeskUser) -> bool:
    return handoff.agent is not None and handoff.agent == user.username and handoff.status == HandoffStatus.TAKEN.value


def view(session: Session, handoff_id: int, user: DeskUser) -> HandoffView:
    """The agent sees the handoff whole (full phone, transcript) only while they hold it;
    an admin always, as an audited read (``record_read``); nobody else."""
    handoff = _handoff(session, handoff_id)
    if not _holding(handoff, user) and not user.is_admin:
        if handoff.agent == user.username and handoff.agent is not None:
            if resident_left(handoff):
                raise ResidentLeft(LEFT_NOTICE)
            raise PermissionDenied("这个对话已经交还助手或已结束，不能再查看。")
        raise PermissionDenied("请先接手这个对话。")
    case, resident, dispute = context(session, handoff)
    return HandoffView(
        handoff_id=handoff.id, conversation_id=handoff.conversation_id, status=handoff.status,
        agent=handoff.agent, reason=handoff.reason, created_at=handoff.created_at,
        reference=case.reference if case is not None else None,
        dispute_label=labels.dispute(dispute),
        summary=case.summary if case is not None else None,
        resident_name=resident.name if resident is not None else None,
        resident_phone=resident.phone if resident is not None else None,
    )


def record_read(session: Session, handoff_id: int, user: DeskUser, *, now: dt.datetime) -> None:
    """Audit a look at a handoff by anyone but the agent holding it (an admin): what, not what was read."""
    handoff = _handoff(session, handoff_id)
    if not _holding(handoff, user):
        journal.audit(session, at=now, actor=user.actor, action="handoff.read", entity_type="handoff",
                      entity_id=handoff.id, after={"status": handoff.status, "agent": handoff.agent})


def taken_by(session: Session, handoff_id: int, user: DeskUser) -> Handoff:
    handoff = _handoff(session, handoff_id, lock=True)
    _require_taker(handoff, user, admin_ok=False)
    if handoff.status != HandoffStatus.TAKEN.value:
        raise HandoffUnavailable(LEFT_NOTICE if resident_left(handoff) else "这个对话已经交还助手或已结束。")
    return handoff


def push_chat(session: Session, handoff: Handoff, template: str, key: str, now: dt.datetime, **payload: object) -> None:
    # A chat recipient: the resident may not have consented to anything yet,
    # so the push is addressed by the conversation, not a resident row.
    journal.enqueue(session, key=key, recipient_type=RecipientType.CHAT, recipient_id=None, template=template,
                    payload={"conversation_id": handoff.conversation_id, **payload}, due_at=now)


def reply(session: Session, handoff_id: int, user: DeskUser, text: str, *, now: dt.datetime) -> None:
    """Queue the agent's words for the bot to deliver; the audit records that a reply went, not what."""
    handoff = taken_by(session, handoff_id, user)
    # Shown to the resident as typed: full-width Chinese punctuation must not be folded.
    body = clean_text(text, limit=REPLY_LIMIT, field="回复", fold_width=False)
    push_chat(session, handoff, "agent_reply", f"handoff:{handoff.id}:reply:{uuid.uuid4().hex}", now,
          text=body, agent=user.display_name)
    journal.audit(session, at=now, actor=user.actor, action="handoff.reply", entity_type="handoff", entity_id=handoff.id,
                  after={"chars": len(body)})


def give_back(session: Session, handoff_id: int, user: DeskUser, *, now: dt.datetime) -> str:
    """Hand the conversation back to the assistant; returns its conversation id."""
    handoff = taken_by(session, handoff_id, user)
    _, _, dispute = context(session, handoff)
    before = journal.snapshot("handoff", handoff)
    # 'returning' until the assistant confirms it has the chat again (resume_done), retried if it is down.
    handoff.status, handoff.returned_at, handoff.resume_next_at = HandoffStatus.RETURNING.value, now, now
    session.flush()
    push_chat(session, handoff, "handoff_returned", f"handoff:{handoff.id}:returned", now,
          agent=user.display_name, dispute_label=labels.dispute(dispute))
    journal.audit(session, at=now, actor=user.actor, action="handoff.return", entity_type="handoff", entity_id=handoff.id,
                  before=before, after=journal.snapshot("handoff", handoff))
    return handoff.conversation_id


def resume_done(session: Session, handoff_id: int, *, now: dt.datetime) -> None:
    """The assistant resumed the chat after a give-back."""
    handoff = _handoff(session, handoff_id, lock=True)
    handoffs.resumed(session, handoff, now=now)


def resume_failed(session: Session, handoff_id: int, *, now: dt.datetime) -> None:
    """The assistant was down at the give-back: the handoff stays in the queue, retried with backoff."""
    handoff = _handoff(session, handoff_id, lock=True)
    if handoffs.awaits_resume(handoff):
        handoffs.resume_failed(session, handoff, now=now)


def kept_messages(session: Session, handoff_id: int, user: DeskUser) -> list[tuple[dt.datetime, str]]:
    """What the resident wrote that the court still holds (the inbound journal): the transcript's
    stand-in while the assistant is down. Only for whoever may see the handoff."""
    handoff = _handoff(session, handoff_id)
    if not _holding(handoff, user) and not user.is_admin:
        raise PermissionDenied("请先接手这个对话。")
    rows = session.execute(select(InboundMessage.received_at, InboundMessage.text).where(
        InboundMessage.conversation_id == handoff.conversation_id, InboundMessage.text != "")
        .order_by(InboundMessage.id)).all()
    return [(at, text) for at, text in rows if not text.startswith("/")]


def close(session: Session, handoff_id: int, user: DeskUser, *, note: str, now: dt.datetime) -> str:
    """End a handoff with a note: the agent who took it, or an admin (a waiting one too).

    Returns the conversation id."""
    handoff = _handoff(session, handoff_id, lock=True)
    _require_taker(handoff, user, admin_ok=True)
    allowed = {HandoffStatus.TAKEN.value} | ({HandoffStatus.WAITING.value} if user.is_admin else set())
    if handoff.status not in allowed:
        raise HandoffUnavailable(LEFT_NOTICE if resident_left(handoff) else "这个对话已经交还助手或已结束。")
    text = clean_text(note, limit=CLOSE_NOTE_LIMIT, field="备注", fold_width=False)  # staff read it as written
    before = journal.snapshot("handoff", handoff)
    # Closed, and pending until the assistant confirms it has the chat again (resume_done), retried if it is down.
    handoff.status, handoff.closed_at, handoff.resume_next_at = HandoffStatus.CLOSED.value, now, now
    # Appended: the "dispute_type=…" line handoffs.request wrote stays readable.
    handoff.note = f"{handoff.note}\n{text}" if handoff.note else text
    session.flush()
    push_chat(session, handoff, "handoff_closed", f"handoff:{handoff.id}:closed", now, agent=user.display_name)
    journal.audit(session, at=now, actor=user.actor, action="handoff.close", entity_type="handoff", entity_id=handoff.id,
                  before=before, after=journal.snapshot("handoff", handoff))
    return handoff.conversation_id
