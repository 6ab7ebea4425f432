"""What a mediator sees on Telegram: their appointments (/today, /week) as a compact text,
the ones still waiting for their 接受 / 拒绝 (the answer itself is court/booking/engine.py's
accept and decline), and the resident's contact once they accepted.

Reads only, on the caller's session. No Telegram code here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from court.core import clock
from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.core.privacy import mask_text
from court.core.timeutil import format_local, local_datetime
from court.mediation.outcomes import OUTCOME_LABELS, OUTCOME_STATUSES
from court.reference import labels
from court.store.schema import ACTIVE_APPOINTMENT_STATUSES, Appointment, AppointmentStatus, Case, Outcome

MAX_AGENDA_DAYS = 62
AGENDA_TEXT_LIMIT = 3500  # characters; Telegram refuses messages over 4096
SUMMARY_CHARS = 80

_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
_AGENDA_STATUSES = OUTCOME_STATUSES  # open appointments, and those ended with (or awaiting) their outcome

STATUS_LABELS = labels.APPOINTMENT_STATUS_FOR_MEDIATORS


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
            dispute_label=labels.dispute(case.dispute_type),
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
