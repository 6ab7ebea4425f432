"""What a mediator's Telegram side needs from the court: linking the chat with a
one-time code, the agenda, the resident's contact after acceptance, outcomes.

Plain functions on the caller's session, like court/booking/engine.py: audit entries
and pushes are written into the same transaction. No Telegram code here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from court.booking import engine, pushes
from court.core import clock
from court.mediation import agreements
from court.records import cases, journal, workcalendar
from court.reference import guidance
from court.records.cases import _REF_ALPHABET
from court.messaging.outbox import NO_CHAT
from court.core.errors import LinkCodeInvalid, NotFound, PermissionDenied, ValidationError
from court.core.privacy import mask_text
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Case,
    CaseStatus,
    LinkCode,
    Mediator,
    MediatorStatus,
    Outcome,
    OutcomeResult,
    OutboxMessage,
    OutboxStatus,
    RecipientType,
)
from court.core.timeutil import format_local, local_datetime, to_local
from court.core.validation import SUMMARY_LIMIT, clean_text

LINK_CODE_TTL = dt.timedelta(hours=72)
LINK_CODE_LENGTH = 8
MAX_AGENDA_DAYS = 62
AGENDA_TEXT_LIMIT = 3500  # characters; Telegram refuses messages over 4096
SUMMARY_CHARS = 80

_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
_AGENDA_STATUSES = _ACTIVE + (AppointmentStatus.DONE.value, AppointmentStatus.NO_SHOW.value)

OUTCOME_LABELS: dict[str, str] = {
    OutcomeResult.SUCCESS.value: "调解成功",
    OutcomeResult.FAILED.value: "调解失败",
    OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value: "达成协议，需司法确认",
    OutcomeResult.NO_SHOW.value: "当事人未到",
}

STATUS_LABELS: dict[str, str] = {
    AppointmentStatus.BOOKED.value: "待您确认",
    AppointmentStatus.ACCEPTED.value: "已接受",
    AppointmentStatus.RESCHEDULED.value: "已改期，待您确认",
    AppointmentStatus.DONE.value: "已结束",
    AppointmentStatus.NO_SHOW.value: "当事人未到",
}



# --- linking a Telegram chat ------------------------------------------------


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
    if mediator.status != MediatorStatus.ACTIVE.value:
        raise ValidationError(f"调解员{mediator.name}（{mediator.code}）已停用或已退休，不能发放绑定码。")
    revoked = revoke_link_codes(session, mediator.id, now=now)
    for _ in range(20):
        code = "".join(secrets.choice(_REF_ALPHABET) for _ in range(LINK_CODE_LENGTH))
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
    if len(normalised) != LINK_CODE_LENGTH or any(ch not in _REF_ALPHABET for ch in normalised):
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


# --- the agenda -------------------------------------------------------------


@dataclass(frozen=True)
class AgendaItem:
    appointment_id: int
    reference: str
    status: str
    status_label: str
    starts_at: dt.datetime  # aware UTC
    time: str
    service_point: str
    address: str
    dispute_label: str
    summary: str
    resident_name: Optional[str]  # only once the mediator has accepted
    resident_phone: Optional[str]
    outcome: Optional[str]
    needs_outcome: bool = False  # started, still open, no outcome yet


def _dispute_label(dispute_type: str) -> str:
    try:
        return guidance.card(dispute_type).label
    except ValueError:
        return dispute_type


def agenda(session: Session, mediator_id: int, *, start: dt.date, days: int,
           now: Optional[dt.datetime] = None) -> list[AgendaItem]:
    """The mediator's appointments on local days [start, start + days), earliest first."""
    now = now or clock.now()
    if not 1 <= days <= MAX_AGENDA_DAYS:
        raise ValidationError(f"只能查看1到{MAX_AGENDA_DAYS}天的预约。")
    range_start = local_datetime(start, dt.time.min)
    range_end = local_datetime(start + dt.timedelta(days=days), dt.time.min)
    appts = session.execute(
        select(Appointment)
        .where(Appointment.mediator_id == mediator_id, Appointment.status.in_(_AGENDA_STATUSES),
               Appointment.starts_at >= range_start, Appointment.starts_at < range_end)
        .options(joinedload(Appointment.case).joinedload(Case.resident), joinedload(Appointment.service_point))
        .order_by(Appointment.starts_at, Appointment.id)
    ).scalars().all()
    outcomes: dict[int, str] = {}
    if appts:
        for appointment_id, result in session.execute(
            select(Outcome.appointment_id, Outcome.result)
            .where(Outcome.appointment_id.in_([a.id for a in appts])).order_by(Outcome.id)
        ):
            outcomes[appointment_id] = OUTCOME_LABELS.get(result, result)
    items: list[AgendaItem] = []
    for appt in appts:
        case, point = appt.case, appt.service_point
        accepted = appt.status == AppointmentStatus.ACCEPTED.value
        resident = case.resident if accepted else None
        summary = (case.summary or "")[:SUMMARY_CHARS]
        items.append(AgendaItem(
            appointment_id=appt.id,
            reference=case.reference,
            status=appt.status,
            status_label=STATUS_LABELS.get(appt.status, appt.status),
            starts_at=appt.starts_at,
            time=format_local(appt.starts_at),
            service_point=point.name,
            address=point.address,
            dispute_label=_dispute_label(case.dispute_type),
            # Before acceptance no phone number reaches the mediator, not even one typed into the summary.
            summary=summary if accepted else mask_text(summary),
            resident_name=resident.name if resident is not None else None,
            resident_phone=resident.phone if resident is not None else None,
            outcome=outcomes.get(appt.id),
            needs_outcome=appt.status in _ACTIVE and appt.starts_at <= now and appt.id not in outcomes,
        ))
    return items


def _render_item(n: int, item: AgendaItem) -> str:
    lines = [f"{n}. {item.time}｜{item.status_label}",
             f"案件 {item.reference}｜{item.dispute_label}",
             f"地点：{item.service_point}（{item.address}）"]
    if item.summary:
        lines.append(f"简述：{item.summary}")
    if item.resident_name or item.resident_phone:
        lines.append(f"当事人：{item.resident_name or ''}  电话：{item.resident_phone or ''}")
    if item.outcome:
        lines.append(f"结果：{item.outcome}")
    elif item.needs_outcome:
        lines.append(f"待登记结果：/outcome {item.reference}")
    return "\n".join(lines)


def render_agenda(items: Sequence[AgendaItem], title: str) -> str:
    """The agenda as a compact text for a phone screen."""
    if not items:
        return f"【{title}】\n没有预约。"
    head = f"【{title}】共{len(items)}个"
    body: list[str] = []
    size = len(head)
    for n, item in enumerate(items, 1):
        block = _render_item(n, item)
        if size + len(block) + 2 > AGENDA_TEXT_LIMIT:
            body.append(f"……另有{len(items) - n + 1}个预约未显示。")
            break
        body.append(block)
        size += len(block) + 2
    notes = []
    if any(i.status in (AppointmentStatus.BOOKED.value, AppointmentStatus.RESCHEDULED.value) for i in items):
        notes.append("待确认的预约，请点下面对应预约的“接受”或“拒绝”；接受后可看到当事人联系方式。")
    if any(i.needs_outcome for i in items):
        notes.append("调解结束后，发送 /outcome 案件编号 登记结果。")
    return "\n\n".join([head, *body, *notes])


MAX_ANSWER_PROMPTS = 10  # one message with 接受 / 拒绝 each; more wait for the next /week


def awaiting_answer(items: Sequence[AgendaItem], *, now: dt.datetime) -> list[tuple[int, str]]:
    """(appointment id, one line naming it) for each item still waiting for the mediator's answer."""
    waiting = [i for i in items if i.status in (AppointmentStatus.BOOKED.value, AppointmentStatus.RESCHEDULED.value)
               and i.starts_at > now]
    return [(i.appointment_id, f"待确认：{i.time}｜案件 {i.reference}｜{i.service_point}") for i in waiting]


# --- contact after acceptance ---------------------------------------------


def contact_for(session: Session, appointment_id: int, mediator_id: int) -> tuple[str, str]:
    """(resident name, phone) for the mediator of an accepted appointment."""
    appt = session.execute(
        select(Appointment).where(Appointment.id == appointment_id).options(
            joinedload(Appointment.case).joinedload(Case.resident))
    ).scalar_one_or_none()
    if appt is None:
        raise NotFound("没有找到这个预约。")
    if appt.mediator_id != mediator_id:
        raise PermissionDenied("这不是您负责的预约。")
    if appt.status != AppointmentStatus.ACCEPTED.value:
        raise ValidationError("接受预约后才能查看当事人的联系方式。")
    resident = appt.case.resident
    if resident is None or not resident.phone:
        raise ValidationError("当事人的联系方式已删除或没有留下。如需联系，请找法院工作人员。")
    return resident.name or "", resident.phone


# --- outcomes ---------------------------------------------------------------

def _outcome_key(text: object) -> str:
    folded = unicodedata.normalize("NFKC", str(text or "")).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZC" and ch not in "_-")


def _outcome_words() -> dict[str, OutcomeResult]:
    words = {_outcome_key(label): OutcomeResult(value) for value, label in OUTCOME_LABELS.items()}
    words.update({_outcome_key(value): OutcomeResult(value) for value in OUTCOME_LABELS})
    short = {"成功": OutcomeResult.SUCCESS, "失败": OutcomeResult.FAILED, "不成功": OutcomeResult.FAILED,
             "司法确认": OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION,
             "需司法确认": OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION,
             "未到": OutcomeResult.NO_SHOW, "未到场": OutcomeResult.NO_SHOW}
    words.update({_outcome_key(word): result for word, result in short.items()})
    return words


_OUTCOME_WORDS = _outcome_words()


def parse_outcome(text: object) -> OutcomeResult:
    """A result from a label, a short form (成功/失败/司法确认/未到) or the English value."""
    if isinstance(text, OutcomeResult):
        return text
    found = _OUTCOME_WORDS.get(_outcome_key(text))
    if found is None:
        options = "、".join(f"“{label}”" for label in OUTCOME_LABELS.values())
        raise ValidationError(f"没看懂调解结果。请回复以下之一：{options}。")
    return found


def _jc_deadline(calendar: workcalendar.WorkCalendar, now: dt.datetime) -> dt.date:
    """Thirty days from today, as for an agreement taking effect today (court/mediation/agreements.py)."""
    return agreements.confirmation_deadline(calendar, to_local(now).date())


def _hint(calendar: workcalendar.WorkCalendar, result: OutcomeResult, now: dt.datetime) -> str:
    """What the outcome means for the resident; the wording is the statements' (court/reference/guidance.py)."""
    deadline = _jc_deadline(calendar, now) if result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION else None
    return guidance.render_outcome_hint(result.value, deadline)


def _appointment_for_outcome(session: Session, case: Case) -> Optional[Appointment]:
    """The case's latest appointment an outcome can belong to, locked."""
    appointment_id = session.execute(
        select(Appointment.id)
        .where(Appointment.case_id == case.id, Appointment.status.in_(_AGENDA_STATUSES))
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if appointment_id is None else engine.get_appointment(session, appointment_id, lock=True)


def outcome_target(session: Session, mediator_id: int, reference: str, now: dt.datetime) -> tuple[Case, Appointment]:
    """The case and appointment an outcome would be recorded on, or the reason it cannot be (yet)."""
    ref = unicodedata.normalize("NFKC", reference or "").strip().upper()
    case = session.execute(select(Case).where(Case.reference == ref)).scalar_one_or_none()
    if case is None:
        raise NotFound("没有找到这个案件编号，请核对后重新输入。")
    # Appointment row before case row, the order engine.cancel/decline use: no deadlocks.
    appt = _appointment_for_outcome(session, case)
    if appt is None or appt.mediator_id != mediator_id:
        raise PermissionDenied("这不是您负责的案件。")
    already = session.execute(select(Outcome.id).where(Outcome.appointment_id == appt.id)).first()
    if already is not None:
        raise ValidationError("这个案件的调解结果已经登记过了。")
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经结束，不能再登记结果。")
    if now < appt.starts_at:
        raise ValidationError("预约时间还没到，结束后再登记结果。")
    return case, appt


def record_outcome(session: Session, mediator_id: int, reference: str, result: OutcomeResult | str, *,
                   note: Optional[str] = None, now: Optional[dt.datetime] = None) -> Outcome:
    """Record how a mediation ended and move the appointment and the case on."""
    now = now or clock.now()
    outcome_result = parse_outcome(result)
    case, appt = outcome_target(session, mediator_id, reference, now)
    summary = clean_text(note, limit=SUMMARY_LIMIT, field="结果说明") if note and note.strip() else None
    case = session.execute(
        select(Case).where(Case.id == case.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    actor = f"mediator:{mediator_id}"

    before = journal.snapshot("appointment", appt)
    appt.status = (AppointmentStatus.NO_SHOW if outcome_result == OutcomeResult.NO_SHOW
                   else AppointmentStatus.DONE).value
    session.flush()
    # Reminders not sent yet are stale now.
    journal.cancel_pending(session, [f"appt:{appt.id}:r{appt.revision}:{t}:" for t, _ in pushes.REMINDERS])
    journal.audit(session, at=now, actor=actor, action=f"appointment.{appt.status}", entity_type="appointment",
                  entity_id=appt.id, before=before, after=journal.snapshot("appointment", appt))

    if outcome_result == OutcomeResult.NO_SHOW:
        if case.status == CaseStatus.BOOKED.value:  # back to intake so it can be booked again
            cases.advance(session, case, CaseStatus.INTAKE, actor=actor, now=now)
    else:
        path = {
            OutcomeResult.SUCCESS: (CaseStatus.MEDIATING, CaseStatus.AGREEMENT),
            OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION: (CaseStatus.MEDIATING, CaseStatus.AGREEMENT,
                                                         CaseStatus.JC_REQUESTED),
            OutcomeResult.FAILED: (CaseStatus.MEDIATING, CaseStatus.FAILED),
        }[outcome_result]
        for stage in path:
            cases.advance(session, case, stage, actor=actor, now=now)

    outcome = Outcome(case_id=case.id, appointment_id=appt.id, result=outcome_result.value,
                      agreement_summary=summary, recorded_by=actor, recorded_at=now,
                      jc_requested_at=now if outcome_result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION else None)
    session.add(outcome)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="outcome.record", entity_type="outcome", entity_id=outcome.id,
                  after=journal.snapshot("outcome", outcome))

    resident = case.resident
    if resident is not None and resident.anonymised_at is None:
        payload = {
            "reference": case.reference,
            "appointment_id": appt.id,
            "result": outcome_result.value,
            "result_label": OUTCOME_LABELS[outcome_result.value],
            "hint": _hint(workcalendar.of(session), outcome_result, now),
        }
        if outcome_result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION:
            payload["jc_deadline"] = _jc_deadline(workcalendar.of(session), now).isoformat()
        journal.enqueue(session, key=f"case:{case.id}:outcome:{outcome.id}:resident",
                        recipient_type=RecipientType.RESIDENT, recipient_id=resident.id,
                        template="outcome_recorded", payload=payload, due_at=now)
    return outcome
