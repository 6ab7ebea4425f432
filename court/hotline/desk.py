"""The 12368 hotline desk: agents sign in, take conversations the assistant
handed over, reply, hand them back or close them, and turn a phone call into
an intake the caller continues in Telegram.

Plain functions on a Session (like court/booking/engine.py); every change is audited
in the caller's transaction, never with the text of a message or a phone number.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from court.booking import cards
from court.core import clock
from court.hotline import handoffs
from court.records import cases, journal, residents
from court.reference import guidance
from court.core.errors import (  # noqa: F401 - HandoffUnavailable, IntakeLinkInvalid re-exported for callers
    ConsentRequired,
    HandoffUnavailable,
    IntakeLinkInvalid,
    NotFound,
    PermissionDenied,
    ResidentLeft,
    ValidationError,
)
from court.core.privacy import mask_phone
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Case,
    CaseSource,
    DeskRole,
    DeskSession as DeskSessionRow,
    DeskUser as DeskUserRow,
    DisputeType,
    Handoff,
    HandoffStatus,
    InboundMessage,
    IntakeLink,
    PartnerOrganisation,
    RecipientType,
    Resident,
)
from court.core.validation import clean_text

MIN_PASSWORD = 10
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
INTAKE_TTL = dt.timedelta(hours=24)
REPLY_LIMIT = 2000
CLOSE_NOTE_LIMIT = 500
SUMMARY_PREVIEW = 120
LEFT_SHOWN = dt.timedelta(minutes=30)  # how long the queue shows a chat the resident left while it was held
LEFT_NOTICE = "居民已取消转人工，这个对话已结束，回复不会再发给居民。如需联系，请按居民留下的电话回拨。"
UNCLASSIFIED = "未分类"
_CHAT_TAKEN = "这个 Telegram 账号已经登记过其他信息，不能再绑定这次热线登记。请拨打12368热线，请工作人员帮您处理。"

# Two letters allowed: pinyin surnames ("li", "wu") are real desk usernames.
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,40}$")
# What secrets.token_urlsafe yields, within Telegram's start payload limit.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NOTE_DISPUTE = re.compile(r"dispute_type=([a-z_]+)")
_ACTIVE_APPOINTMENTS = frozenset(s.value for s in ACTIVE_APPOINTMENT_STATUSES)

_hasher = PasswordHasher()
# Verified against for unknown or locked accounts, so every failed login costs
# one hash and takes as long: timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


# --- users --------------------------------------------------------------------


@dataclass(frozen=True)
class DeskUser:
    """A signed-in desk user; no password hash, safe to keep in a web session."""

    id: int
    username: str
    display_name: str
    role: str
    organisation_id: Optional[int] = None  # a partner account's organisation

    @property
    def is_admin(self) -> bool:
        return self.role == DeskRole.ADMIN.value

    @property
    def actor(self) -> str:
        return f"desk:{self.username}"


DeskUserView = DeskUser


def _user_view(row: DeskUserRow) -> DeskUser:
    return DeskUser(id=row.id, username=row.username, display_name=row.display_name, role=row.role,
                    organisation_id=row.organisation_id)


def create_user(session: Session, username: str, password: str, *, role: str, display_name: str,
                actor: str = "clerk:cli", now: Optional[dt.datetime] = None,
                organisation_id: Optional[int] = None) -> DeskUser:
    """A new desk account; the password is stored only as an argon2id hash. A partner account
    (a township, department or mediation organisation) belongs to exactly one organisation."""
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError("用户名只能由2到40个小写字母、数字或 . _ - 组成。")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"密码至少需要{MIN_PASSWORD}个字符。")
    try:
        role_value = DeskRole(role).value
    except ValueError:
        raise ValidationError("角色只能是 agent（坐席）、clerk（书记员）、admin（管理员）或 partner（合作单位）。") from None
    if (role_value == DeskRole.PARTNER.value) != (organisation_id is not None):
        raise ValidationError("合作单位账号必须属于一个乡镇、部门或调解组织；法院工作人员的账号不属于合作单位。")
    if organisation_id is not None and session.get(PartnerOrganisation, organisation_id) is None:
        raise ValidationError("没有找到这个合作单位。")
    name = clean_text(display_name, limit=40, field="显示名")
    if session.execute(select(DeskUserRow.id).where(DeskUserRow.username == username)).first() is not None:
        raise ValidationError(f"用户名“{username}”已经存在。")
    row = DeskUserRow(username=username, display_name=name, password_hash=_hasher.hash(password), role=role_value,
                      organisation_id=organisation_id, active=True, failed_logins=0, created_at=now or clock.now())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same username created at this very moment
        raise ValidationError(f"用户名“{username}”已经存在。") from exc
    journal.audit(session, at=now, actor=actor, action="desk_user.create", entity_type="desk_user", entity_id=row.id,
                  after={"username": username, "role": role_value}
                  | ({"organisation_id": organisation_id} if organisation_id is not None else {}))
    return _user_view(row)


def authenticate(session: Session, username: str, password: str, *, now: dt.datetime) -> Optional[DeskUser]:
    """The user if the password is right and the account active and not locked; None otherwise.

    Returns None rather than raising on a lockout: the failure count must
    commit with the caller's transaction, and the answer must not tell an
    attacker which accounts exist or are locked.
    """
    row = session.execute(
        select(DeskUserRow).where(DeskUserRow.username == (username or "").strip().lower())
        .with_for_update().execution_options(populate_existing=True)  # concurrent failures all count
    ).scalar_one_or_none()
    if row is None or not row.active or (row.locked_until is not None and row.locked_until > now):
        _spend_a_hash(password)
        return None
    try:
        _hasher.verify(row.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        row.failed_logins = (row.failed_logins or 0) + 1
        action = "desk_user.login_failed"
        if row.failed_logins >= MAX_FAILED_LOGINS:
            row.locked_until, row.failed_logins = now + LOCKOUT, 0
            action = "desk_user.locked"
        session.flush()
        journal.audit(session, at=now, actor=f"desk:{row.username}", action=action, entity_type="desk_user",
                      entity_id=row.id, after={"locked_until": row.locked_until.isoformat()
                                               if row.locked_until else None})
        return None
    if _hasher.check_needs_rehash(row.password_hash):  # parameters raised since it was hashed
        row.password_hash = _hasher.hash(password)
    row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
    session.flush()
    journal.audit(session, at=now, actor=f"desk:{row.username}", action="desk_user.login", entity_type="desk_user",
                  entity_id=row.id)
    return _user_view(row)


def _spend_a_hash(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        pass


def get_user(session: Session, user_id: int) -> Optional[DeskUser]:
    """An active user by id (read on every request, so disabling an account works at once)."""
    row = session.get(DeskUserRow, user_id, populate_existing=True)
    return _user_view(row) if row is not None and row.active else None


# --- sessions -----------------------------------------------------------------

SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_LIFETIME = dt.timedelta(hours=12)
SESSION_TOUCH = dt.timedelta(minutes=1)  # last_seen is written at most this often


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: DeskUser, *, now: dt.datetime) -> str:
    """A new server-side session for a user who just signed in; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(DeskSessionRow(id=_session_id(token), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return token


def session_user(session: Session, token: object, *, now: dt.datetime,
                 active: bool) -> tuple[Optional[DeskUser], bool]:
    """The user of a live session or None (unknown, signed out, idle too long, too old,
    account disabled), and whether the row changed (the caller commits that).

    ``active``: the request is the user's doing (not a page polling by itself), so it
    keeps the session alive; last_seen is written at most once a minute."""
    if not isinstance(token, str) or not token:
        return None, False
    row = session.get(DeskSessionRow, _session_id(token), populate_existing=True)
    if row is None or row.ended_at is not None:
        return None, False
    if now - row.last_seen_at >= SESSION_IDLE or now - row.created_at >= SESSION_LIFETIME:
        row.ended_at = now
        session.flush()
        return None, True
    changed = active and now - row.last_seen_at >= SESSION_TOUCH
    if changed:
        row.last_seen_at = now
        session.flush()
    return get_user(session, row.user_id), changed


def end_session(session: Session, token: object, *, now: dt.datetime) -> None:
    """Sign out: the session ends on the server, so a copied cookie is worth nothing."""
    if isinstance(token, str) and token:
        session.execute(update(DeskSessionRow).where(DeskSessionRow.id == _session_id(token),
                                                     DeskSessionRow.ended_at.is_(None))
                        .values(ended_at=now).execution_options(synchronize_session=False))


# --- the queue ----------------------------------------------------------------


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


def _label(dispute_type: str) -> str:
    if not dispute_type:
        return UNCLASSIFIED
    try:
        return guidance.card(dispute_type).label
    except ValueError:
        return UNCLASSIFIED


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
            waiting_since=h.created_at, wait_minutes=_minutes(h.created_at, now), dispute_label=_label(dispute),
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
        dispute_label=_label(dispute),
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
          agent=user.display_name, dispute_label=_label(dispute))
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


# --- a phone call continued in chat ---------------------------------------------


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
