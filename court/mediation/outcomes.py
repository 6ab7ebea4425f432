"""Recording how a mediation ended: the mediator's /outcome (成功 / 失败 / 司法确认 / 未到)
moves the appointment and the case on, withdraws the reminders still due and tells the
resident what the outcome means for them.

Plain functions on the caller's session, like court/booking/engine.py: audit entries
and pushes are written into the same transaction. No Telegram code here.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.booking import engine, pushes
from court.core import clock
from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.core.timeutil import to_local
from court.core.validation import SUMMARY_LIMIT, clean_text
from court.mediation import agreements
from court.records import cases, journal, workcalendar
from court.reference import guidance, labels
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Case,
    CaseStatus,
    Outcome,
    OutcomeResult,
    RecipientType,
)

_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
# The appointments an outcome can belong to: still open, or ended with one (the agenda shows the same).
OUTCOME_STATUSES = _ACTIVE + (AppointmentStatus.DONE.value, AppointmentStatus.NO_SHOW.value)

OUTCOME_LABELS = labels.OUTCOME_RESULT


def _outcome_key(text: object) -> str:
    folded = unicodedata.normalize("NFKC", str(text or "")).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZC" and ch not in "_-")


def _outcome_words() -> dict[str, OutcomeResult]:
    words = {_outcome_key(label): OutcomeResult(value) for value, label in OUTCOME_LABELS.items()}
    words.update({_outcome_key(value): OutcomeResult(value) for value in OUTCOME_LABELS})
    # Short forms, and the labels of buttons sent before the words were unified (still in mediators' chats).
    short = {"成功": OutcomeResult.SUCCESS, "失败": OutcomeResult.FAILED, "不成功": OutcomeResult.FAILED,
             "调解失败": OutcomeResult.FAILED, "达成协议，需司法确认": OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION,
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
        .where(Appointment.case_id == case.id, Appointment.status.in_(OUTCOME_STATUSES))
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
    pushes.withdraw_reminders(session, appt)
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
