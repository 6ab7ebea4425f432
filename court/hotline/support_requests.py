"""接诉即办: townships, departments and mediation organisations ask the court for help; the court answers.

A partner account (desk role ``partner``) files a request of one kind with a description, follows
its status and rates the answer. The court's clerks and admins see the queue with the time since
filing, assign a request to a judge or clerk (a desk account), reply and close. A request not
answered within the court's response time (``COURT_REQUEST_RESPONSE_DAYS`` working days of the
court's own calendar, default 3) raises one desk alert, from the housekeeping loop.

Plain functions on a Session; every change is audited in the caller's transaction, without the
request's or the reply's text (either may name people).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from court.core import settings
from court.core.errors import EmptyText, NotFound, PermissionDenied, ValidationError
from court.core.timeutil import local_datetime, to_local
from court.core.validation import clean_text
from court.hotline.accounts import DeskUser
from court.records import journal
from court.records.workcalendar import WorkCalendar
from court.store.schema import (
    DeskRole,
    OrganisationKind,
    PartnerOrganisation,
    Place,
    RecipientType,
    RequestKind,
    RequestStatus,
    SupportRequest,
)
from court.store.schema import (
    DeskUser as DeskUserRow,
)

DESCRIPTION_LIMIT = 2000
REPLY_LIMIT = 4000
ALERT_TEMPLATE = "request_overdue"
ACTOR = "court:requests"
KIND_LABELS = {
    RequestKind.LEGAL_SUPPORT.value: "法律支持",
    RequestKind.MEDIATION_GUIDANCE.value: "指导调解",
    RequestKind.JUDICIAL_CONFIRMATION.value: "司法确认",
    RequestKind.LEGAL_EDUCATION.value: "普法宣传/培训",
}
STATUS_LABELS = {
    RequestStatus.OPEN.value: "待分派",
    RequestStatus.ASSIGNED.value: "办理中",
    RequestStatus.ANSWERED.value: "已答复",
    RequestStatus.CLOSED.value: "已办结",
}
ORGANISATION_KIND_LABELS = {
    OrganisationKind.TOWNSHIP.value: "乡镇街道",
    OrganisationKind.DEPARTMENT.value: "职能部门",
    OrganisationKind.MEDIATION.value: "调解组织",
}
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# Court staff a request can be assigned to (judges and clerks have clerk or admin accounts).
HANDLER_ROLES = (DeskRole.CLERK.value, DeskRole.ADMIN.value)
_UNANSWERED = (RequestStatus.OPEN.value, RequestStatus.ASSIGNED.value)
_TOWN_LEVELS = ("street", "town", "township", "state_farm", "forest_farm", "other_unit")


# --- organisations -----------------------------------------------------------------------------------


def create_organisation(session: Session, name: str, kind: str, *, place_id: Optional[int] = None,
                        actor: str, now: dt.datetime) -> PartnerOrganisation:
    """A township (its place from the places table), a department or a mediation organisation."""
    clean = clean_text(name, limit=60, field="单位名称")
    if kind not in ORGANISATION_KIND_LABELS:
        raise ValidationError("单位类型只能是乡镇街道、职能部门或调解组织。")
    place = session.get(Place, place_id) if place_id is not None else None
    if place_id is not None and place is None:
        raise ValidationError("没有找到这个地方。")
    if kind == OrganisationKind.TOWNSHIP.value and (place is None or place.level not in _TOWN_LEVELS):
        raise ValidationError("乡镇街道账号要对应一个乡镇或街道。")
    if session.execute(select(PartnerOrganisation.id).where(PartnerOrganisation.name == clean)).first():
        raise ValidationError(f"“{clean}”已经登记过了。")
    org = PartnerOrganisation(name=clean, kind=kind, place_id=place_id, created_at=now)
    session.add(org)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="organisation.create", entity_type="organisation",
                  entity_id=org.id, after={"name": clean, "kind": kind, "place_id": place_id})
    return org


def organisation_by_name(session: Session, name: str) -> PartnerOrganisation:
    org = session.execute(select(PartnerOrganisation).where(PartnerOrganisation.name == name.strip())) \
        .scalar_one_or_none()
    if org is None:
        raise NotFound("没有找到这个合作单位。")
    return org


# --- the response deadline ---------------------------------------------------------------------------


def due_at(calendar: WorkCalendar, filed_at: dt.datetime, days: Optional[int] = None) -> dt.datetime:
    """The end (24:00 Beijing time) of the ``days``-th working day after the day of filing: filed on
    a Friday with 3 days, due by the end of Wednesday; holidays are skipped, adjusted working
    weekends count."""
    days = settings.REQUEST_RESPONSE_DAYS if days is None else days
    day = to_local(filed_at).date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        counted += calendar.is_working_day(day)
    return local_datetime(day + dt.timedelta(days=1), dt.time.min)


def is_late(calendar: WorkCalendar, row: SupportRequest, now: dt.datetime) -> bool:
    """Not answered, and the response time is over (an answer after the deadline no longer is: it came)."""
    return row.status in _UNANSWERED and due_at(calendar, row.filed_at) <= now


# --- views -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    request_id: int
    organisation: str
    organisation_kind: str
    kind: str
    description: str
    status: str
    status_label: str
    filed_by: str
    filed_at: dt.datetime
    due_at: dt.datetime
    late: bool
    waited: str  # time since filing (or until the answer), as people read it
    assignee: Optional[str]
    reply: Optional[str]
    answered_at: Optional[dt.datetime]
    rating: Optional[int]

    @property
    def rating_label(self) -> str:
        return RATING_LABELS.get(self.rating or 0, "")


def elapsed_text(delta: dt.timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    return f"{hours}小时{mins}分钟" if hours else f"{mins}分钟"


def _view(calendar: WorkCalendar, row: SupportRequest, now: dt.datetime) -> RequestView:
    return RequestView(
        request_id=row.id, organisation=row.organisation.name,
        organisation_kind=ORGANISATION_KIND_LABELS.get(row.organisation.kind, row.organisation.kind),
        kind=KIND_LABELS.get(row.kind, row.kind), description=row.description, status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status), filed_by=row.filed_by, filed_at=row.filed_at,
        due_at=due_at(calendar, row.filed_at), late=is_late(calendar, row, now),
        waited=elapsed_text((row.answered_at or now) - row.filed_at),
        assignee=row.assignee.display_name if row.assignee is not None else None,
        reply=row.reply, answered_at=row.answered_at, rating=row.rating,
    )


def _partner(user: DeskUser) -> int:
    if user.role != DeskRole.PARTNER.value or user.organisation_id is None:
        raise PermissionDenied("只有合作单位账号可以提交和评价诉求。")
    return user.organisation_id


def _own(session: Session, request_id: int, user: DeskUser, *, lock: bool = False) -> SupportRequest:
    """The request, if it is this partner's organisation's: another's is as good as missing."""
    org = _partner(user)
    query = select(SupportRequest).where(SupportRequest.id == request_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None or row.organisation_id != org:
        raise NotFound()
    return row


def _court(session: Session, request_id: int, *, lock: bool = False) -> SupportRequest:
    query = select(SupportRequest).where(SupportRequest.id == request_id)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


# --- the organisation's side -------------------------------------------------------------------------


def file(session: Session, user: DeskUser, *, kind: str, description: str, now: dt.datetime) -> SupportRequest:
    org = _partner(user)
    if kind not in KIND_LABELS:
        raise ValidationError("请选择诉求类型：法律支持、指导调解、司法确认或普法宣传/培训。")
    try:
        text = clean_text(description, limit=DESCRIPTION_LIMIT, field="诉求内容", fold_width=False)
    except EmptyText:
        raise ValidationError("请写明需要法院做什么。") from None
    row = SupportRequest(organisation_id=org, kind=kind, description=text, status=RequestStatus.OPEN.value,
                         filed_by=user.username, filed_at=now)
    session.add(row)
    session.flush()
    journal.audit(session, at=now, actor=user.actor, action="request.file", entity_type="support_request",
                  entity_id=row.id, after={"kind": kind, "organisation_id": org, "chars": len(text)})
    return row


def mine(session: Session, user: DeskUser, *, now: dt.datetime, calendar: WorkCalendar) -> list[RequestView]:
    """This partner's organisation's requests, newest first (never another organisation's)."""
    org = _partner(user)
    rows = session.execute(select(SupportRequest).where(SupportRequest.organisation_id == org)
                           .order_by(SupportRequest.filed_at.desc(), SupportRequest.id.desc())).scalars()
    return [_view(calendar, r, now) for r in rows]


def my_request(session: Session, user: DeskUser, request_id: int, *, now: dt.datetime,
               calendar: WorkCalendar) -> RequestView:
    return _view(calendar, _own(session, request_id, user), now)


def rate(session: Session, user: DeskUser, request_id: int, rating: object, *, now: dt.datetime) -> None:
    """The organisation's satisfaction with the answer, 1 to 5, once."""
    row = _own(session, request_id, user, lock=True)
    try:
        score = int(str(rating))
    except ValueError:
        score = 0
    if score not in RATING_LABELS:
        raise ValidationError("请选择满意程度（1到5）。")
    if row.reply is None:
        raise ValidationError("法院答复以后才能评价。")
    if row.rating is not None:
        raise ValidationError("这条诉求已经评价过了。")
    row.rating, row.rated_at = score, now
    session.flush()
    journal.audit(session, at=now, actor=user.actor, action="request.rate", entity_type="support_request",
                  entity_id=row.id, after={"rating": score})


# --- the court's side --------------------------------------------------------------------------------


def queue(session: Session, *, now: dt.datetime, calendar: WorkCalendar, closed_limit: int = 50) -> list[RequestView]:
    """Requests still to answer (oldest first), then answered ones not closed, then the latest closed."""
    unanswered = session.execute(select(SupportRequest).where(SupportRequest.status.in_(_UNANSWERED))
                                 .order_by(SupportRequest.filed_at, SupportRequest.id)).scalars().all()
    answered = session.execute(select(SupportRequest)
                               .where(SupportRequest.status == RequestStatus.ANSWERED.value)
                               .order_by(SupportRequest.answered_at.desc())).scalars().all()
    closed = session.execute(select(SupportRequest).where(SupportRequest.status == RequestStatus.CLOSED.value)
                             .order_by(SupportRequest.closed_at.desc()).limit(closed_limit)).scalars().all()
    return [_view(calendar, r, now) for r in (*unanswered, *answered, *closed)]


def court_request(session: Session, request_id: int, *, now: dt.datetime, calendar: WorkCalendar) -> RequestView:
    return _view(calendar, _court(session, request_id), now)


def handlers(session: Session) -> list[tuple[int, str]]:
    """Court staff a request can go to: active clerk and admin accounts."""
    return [(i, f"{name}（{username}）") for i, name, username in session.execute(
        select(DeskUserRow.id, DeskUserRow.display_name, DeskUserRow.username)
        .where(DeskUserRow.role.in_(HANDLER_ROLES), DeskUserRow.active.is_(True)).order_by(DeskUserRow.id))]


def _staff(user: DeskUser) -> None:
    if user.role not in HANDLER_ROLES:
        raise PermissionDenied("只有法院工作人员可以办理诉求。")


def assign(session: Session, request_id: int, assignee_id: object, user: DeskUser, *, now: dt.datetime) -> None:
    _staff(user)
    row = _court(session, request_id, lock=True)
    if row.status not in _UNANSWERED:
        raise ValidationError("这条诉求已经答复，不能再分派。")
    try:
        target = int(str(assignee_id))
    except ValueError:
        target = 0
    if target not in dict(handlers(session)):
        raise ValidationError("请选择承办的法官或书记员。")
    before = row.assignee_id
    row.assignee_id, row.assigned_at, row.status = target, now, RequestStatus.ASSIGNED.value
    session.flush()
    journal.audit(session, at=now, actor=user.actor, action="request.assign", entity_type="support_request",
                  entity_id=row.id, before={"assignee_id": before}, after={"assignee_id": target})


def answer(session: Session, request_id: int, reply: str, user: DeskUser, *, now: dt.datetime) -> None:
    """The court's reply; the request counts as answered from now (its response time stops)."""
    _staff(user)
    row = _court(session, request_id, lock=True)
    if row.status not in _UNANSWERED:
        raise ValidationError("这条诉求已经答复过了。")
    try:
        text = clean_text(reply, limit=REPLY_LIMIT, field="答复", fold_width=False)
    except EmptyText:
        raise ValidationError("请填写答复内容。") from None
    if row.assignee_id is None:  # answered without an assignment: the one who answered handled it
        row.assignee_id, row.assigned_at = user.id, now
    row.reply, row.answered_by, row.answered_at = text, user.username, now
    row.status = RequestStatus.ANSWERED.value
    session.flush()
    journal.audit(session, at=now, actor=user.actor, action="request.answer", entity_type="support_request",
                  entity_id=row.id, after={"chars": len(text)})


def close(session: Session, request_id: int, user: DeskUser, *, now: dt.datetime) -> None:
    _staff(user)
    row = _court(session, request_id, lock=True)
    if row.status == RequestStatus.CLOSED.value:
        raise ValidationError("这条诉求已经办结了。")
    if row.reply is None:
        raise ValidationError("请先答复，再办结。")
    row.status, row.closed_at = RequestStatus.CLOSED.value, now
    session.flush()
    journal.audit(session, at=now, actor=user.actor, action="request.close", entity_type="support_request",
                  entity_id=row.id)


# --- overdue alerts (the housekeeping loop) ----------------------------------------------------------


def overdue(session: Session, calendar: WorkCalendar, *, now: dt.datetime) -> list[int]:
    """Unanswered requests past their response time and not alerted yet, oldest first."""
    # A deadline is at least as many calendar days away as working days: only older rows can be late.
    rows = session.execute(select(SupportRequest).where(
        SupportRequest.status.in_(_UNANSWERED), SupportRequest.overdue_alerted_at.is_(None),
        SupportRequest.filed_at <= now - dt.timedelta(days=settings.REQUEST_RESPONSE_DAYS))
        .order_by(SupportRequest.filed_at, SupportRequest.id)).scalars().all()
    return [r.id for r in rows if is_late(calendar, r, now)]


def alert_overdue(session: Session, request_id: int, calendar: WorkCalendar, *, now: dt.datetime) -> bool:
    """One desk alert (送达提醒) for a request past its response time; False if it was answered or
    alerted meanwhile (another housekeeping pass won)."""
    row = _court(session, request_id, lock=True)
    if row.overdue_alerted_at is not None or not is_late(calendar, row, now):
        return False
    won = session.execute(update(SupportRequest).where(SupportRequest.id == row.id,
                                                       SupportRequest.overdue_alerted_at.is_(None))
                          .values(overdue_alerted_at=now).execution_options(synchronize_session=False)).rowcount
    if not won:
        return False
    journal.enqueue(session, key=f"alert:request:{row.id}:overdue", recipient_type=RecipientType.COURT,
                    recipient_id=None, template=ALERT_TEMPLATE, due_at=now,
                    payload={"request_id": row.id, "organisation": row.organisation.name,
                             "kind": row.kind, "filed_at": row.filed_at.isoformat(),
                             "days": settings.REQUEST_RESPONSE_DAYS})
    journal.audit(session, at=now, actor=ACTOR, action="request.overdue", entity_type="support_request",
                  entity_id=row.id, after={"days": settings.REQUEST_RESPONSE_DAYS})
    return True
