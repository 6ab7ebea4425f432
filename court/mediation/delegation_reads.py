"""What the desk's 委派调解 pages show: the list (phones masked) and one case (whole contacts,
an audited read), with the deadline as people read it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from court.core.errors import NotFound
from court.core.privacy import mask_name, mask_phone
from court.core.timeutil import format_local
from court.hotline import delivery_alerts as desk_alerts
from court.hotline.accounts import DeskUser
from court.mediation import delegation
from court.mediation.outcomes import OUTCOME_LABELS
from court.records import journal
from court.reference import guidance
from court.store.schema import (
    OPEN_DELEGATION_STATUSES,
    Case,
    Court,
    Delegation,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    Place,
    RecipientType,
)

LIST_LIMIT = 200
_OPEN = tuple(s.value for s in OPEN_DELEGATION_STATUSES)


@dataclass(frozen=True)
class Party:
    role: str
    name: str
    phone: str


@dataclass(frozen=True)
class Row:
    delegation_id: int
    reference: str
    dispute: str
    court: str
    judge: str
    channel: str
    status: str
    status_label: str
    mediator: str
    point: str
    deadline: dt.date
    days_left: Optional[int]  # None once the case came back
    due: str  # "" / 即将到期 / 明天到期 / 今天到期 / 已超期
    parties: list[Party]
    delegated_at: str


@dataclass(frozen=True)
class Detail:
    row: Row
    summary: str
    amount: str
    place: str
    original_deadline: Optional[dt.date]
    extension_reason: Optional[str]
    can_extend: bool
    can_reassign: bool
    return_note: Optional[str]
    outcome: Optional[str]
    log: list[tuple[str, str, str]]  # (when, kind label, note)
    created_by: str
    place_id: Optional[int]
    dispute_type: str
    mediator_id: Optional[int]


def _due(left: Optional[int]) -> str:
    if left is None:
        return ""
    if left < 0:
        return "已超期"
    if left == 0:
        return "今天到期"
    if left == 1:
        return "明天到期"
    return "即将到期" if left <= delegation.ALERT_LEVELS[0][1] else ""


def _row(d: Delegation, now: dt.datetime, *, full: bool) -> Row:
    case = d.case
    left = delegation.days_left(d, now) if d.status in _OPEN else None
    try:
        dispute = guidance.card(case.dispute_type).label
    except ValueError:
        dispute = case.dispute_type
    parties = [Party(delegation.ROLE_LABELS[p.role], p.name if full else mask_name(p.name),
                     p.phone if full else mask_phone(p.phone)) for p in d.parties]
    return Row(delegation_id=d.id, reference=case.reference, dispute=dispute, court=d.court.name, judge=d.judge,
               channel=delegation.CHANNEL_LABELS.get(d.channel, d.channel), status=d.status,
               status_label=delegation.STATUS_LABELS[d.status],
               mediator=case.mediator.name if case.mediator else "（待改派）",
               point=case.service_point.name if case.service_point else "", deadline=d.deadline, days_left=left,
               due=_due(left), parties=parties, delegated_at=format_local(d.delegated_at))


def rows(session: Session, *, now: dt.datetime, open_only: bool = False) -> list[Row]:
    """Delegated cases, open ones first by deadline, then the latest that came back; contacts masked."""
    query = (select(Delegation).options(joinedload(Delegation.case).joinedload(Case.mediator),
                                        joinedload(Delegation.case).joinedload(Case.service_point),
                                        joinedload(Delegation.court))
             .order_by(Delegation.id.desc()).limit(LIST_LIMIT))
    if open_only:
        query = query.where(Delegation.status.in_(_OPEN))
    found = session.execute(query).unique().scalars().all()
    found.sort(key=lambda d: (d.status not in _OPEN, d.deadline if d.status in _OPEN else dt.date.min, -d.id))
    return [_row(d, now, full=False) for d in found]


def detail(session: Session, delegation_id: int, *, actor: str, now: dt.datetime) -> Detail:
    """One case with the parties' whole names and numbers: the read is audited (ids only)."""
    d = delegation.get(session, delegation_id)
    journal.audit(session, at=now, actor=actor, action="delegation.view", entity_type="delegation", entity_id=d.id)
    outcome = session.execute(select(Outcome.result).where(Outcome.case_id == d.case_id)
                              .order_by(Outcome.id.desc()).limit(1)).scalar_one_or_none()
    place = session.get(Place, d.case.place_id) if d.case.place_id else None
    return Detail(
        row=_row(d, now, full=True), summary=d.case.summary or "", amount=delegation.amount_text(d.amount_cents),
        place=place.name if place else "", original_deadline=d.original_deadline,
        extension_reason=d.extension_reason,
        can_extend=d.status in _OPEN and d.original_deadline is None,
        can_reassign=d.status in ("offered", "declined"),
        return_note=d.return_note, outcome=OUTCOME_LABELS.get(outcome) if outcome else None,
        log=[(format_local(e.at), delegation.LOG_LABELS[e.kind], e.note) for e in d.log],
        created_by=d.created_by, place_id=d.case.place_id, dispute_type=d.case.dispute_type,
        mediator_id=d.case.mediator_id,
    )


# The desk alerts (court/hotline/delivery_alerts.py) a delegated case raises: the clerks see and settle them here too.
ALERT_KINDS = ("delegation_declined", "delegation_due_7", "delegation_due_1", "delegation_overdue",
               "delegation_returned", "party_unreached")


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    kind: str
    reference: Optional[str]
    delegation_id: Optional[int]
    created_at: str


def open_alerts(session: Session, *, limit: int = 100) -> list[AlertRow]:
    """Pending desk alerts of delegated cases, oldest first."""
    found = session.execute(
        select(OutboxMessage).where(OutboxMessage.recipient_type == RecipientType.COURT.value,
                                    OutboxMessage.status == OutboxStatus.PENDING.value,
                                    OutboxMessage.template.in_(ALERT_KINDS))
        .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
    ).scalars().all()
    out = []
    for row in found:
        p = row.payload or {}
        linked = delegation.by_reference(session, p.get("reference") or "") if p.get("reference") else None
        out.append(AlertRow(alert_id=row.id, kind=desk_alerts.KIND_LABELS.get(row.template, row.template),
                            reference=p.get("reference"), delegation_id=linked.id if linked else None,
                            created_at=format_local(row.created_at)))
    return out


def resolve_alert(session: Session, alert_id: int, user: DeskUser, *, note: str, now: dt.datetime) -> None:
    """A clerk settles a delegated case's alert (with a note), as the hotline desk does."""
    row = session.get(OutboxMessage, alert_id)
    if row is None or row.template not in ALERT_KINDS:
        raise NotFound("没有找到这条委派调解提醒。")
    desk_alerts.resolve(session, alert_id, user, note=note, now=now)


def courts(session: Session) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in session.execute(select(Court).order_by(Court.id)).scalars()]
