"""Mediators: appointing (选聘), changing points and specialities, suspending,
reinstating and retiring (退出), and their Telegram link."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.admin.checks import (
    LEAVE_KINDS,
    STATUS_LABELS,
    Window,
    check_hours,
    check_now,
    clean_reason,
    hours_spec,
    lock_point,
    logged_reason,
    require_admin,
)
from court.admin.handover import Change, future_appointments, reassign_all, silence
from court.core.errors import NotFound, ValidationError
from court.core.timeutil import to_local
from court.core.validation import normalize_phone, validate_name
from court.hotline.accounts import DeskUser
from court.mediation import linking
from court.records import journal
from court.store.schema import (
    DisputeType,
    Mediator,
    MediatorAvailability,
    MediatorException,
    MediatorSpeciality,
    MediatorStatus,
    ServicePoint,
)


def _dispute_types(values: Iterable[str]) -> list[str]:
    try:
        types = sorted({DisputeType(str(v)).value for v in values})
    except ValueError:
        raise ValidationError("纠纷类型无效，请从列表中选择。") from None
    if not types:
        raise ValidationError("请至少选择一种擅长的纠纷类型。")
    return types


def _ids(values: Iterable[object]) -> set[int]:
    try:
        return {int(v) for v in values}  # type: ignore[call-overload]  # any form value: int() refuses below
    except (TypeError, ValueError):
        raise ValidationError("所选的服务点不存在，请刷新页面后重新选择。") from None


def _active_points(session: Session, point_ids: Iterable[int]) -> list[ServicePoint]:
    ids = sorted(_ids(point_ids))
    if not ids:
        raise ValidationError("请至少选择一个服务点。")
    found = {p.id: p for p in session.execute(select(ServicePoint).where(ServicePoint.id.in_(ids))).scalars()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError("所选的服务点不存在，请刷新页面后重新选择。")
    closed = [found[i].name for i in ids if not found[i].active]
    if closed:
        raise ValidationError(f"服务点已撤销，不能分配：{'、'.join(closed)}。")
    return [found[i] for i in ids]


def _mediator_snapshot(mediator: Mediator) -> dict:
    # No name or phone: personal data never enters the append-only log.
    return journal.snapshot("mediator", mediator) | {
        "code": mediator.code,
        "points": sorted(p.id for p in mediator.service_points),
        "dispute_types": sorted(mediator.dispute_types),
    }


def _serving(session: Session, mediator_id: int, refusal: str) -> Mediator:
    """The mediator, locked, unless retired: ``refusal`` (with {name}) says what can no longer be done."""
    mediator = _lock_mediator(session, mediator_id)
    if mediator.status == MediatorStatus.RETIRED.value:
        raise ValidationError(refusal.format(name=mediator.name))
    return mediator


def _lock_mediator(session: Session, mediator_id: int) -> Mediator:
    # Two admins acting on one mediator queue up here; the second sees the first's result.
    mediator = session.execute(
        select(Mediator).where(Mediator.id == mediator_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if mediator is None:
        raise NotFound("没有找到这位调解员。")
    return mediator


def _next_mediator_code(session: Session, point: ServicePoint) -> str:
    """Like the roster's: M-<the point's code without SP->-<n>, n one more than the highest in use."""
    base = (point.code[3:] if point.code.startswith("SP-") else point.code)[:24]
    prefix = f"M-{base}-"
    taken = session.execute(select(Mediator.code).where(Mediator.code.like(prefix + "%"))).scalars().all()
    numbers = [int(c[len(prefix):]) for c in taken if c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def appoint_mediator(session: Session, user: DeskUser, *, name: object, phone: object, points: Sequence[int],
                     dispute_types: Sequence[str], hours: Iterable[Window], appointed_on: Optional[dt.date],
                     now: dt.datetime) -> Mediator:
    """A new active mediator (选聘) at one or more active points."""
    actor = require_admin(user)
    now = check_now(now)
    name = validate_name(name)
    phone = normalize_phone(phone)
    chosen = _active_points(session, points)
    types = _dispute_types(dispute_types)
    windows = check_hours(hours)
    if appointed_on is None:
        raise ValidationError("请填写选聘日期。")
    if appointed_on > to_local(now).date() + dt.timedelta(days=366):
        raise ValidationError("选聘日期太远了，请核对。")
    twin = session.execute(
        select(Mediator).where(Mediator.phone == phone, Mediator.status != MediatorStatus.RETIRED.value)
    ).scalars().first()
    if twin is not None:
        raise ValidationError(f"这个手机号已登记给调解员{twin.name}（{twin.code}），请勿重复选聘。")
    lock_point(session, chosen[0].id)  # concurrent appointments at one point take codes in turn
    mediator = Mediator(code=_next_mediator_code(session, chosen[0]), name=name, phone=phone,
                        status=MediatorStatus.ACTIVE.value, appointed_on=appointed_on, is_demo=False)
    mediator.service_points = chosen
    mediator.specialities = [MediatorSpeciality(dispute_type=t) for t in types]
    mediator.availability = [MediatorAvailability(weekday=d, starts=s, ends=e) for d, s, e in windows]
    session.add(mediator)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="mediator.appoint", entity_type="mediator", entity_id=mediator.id,
                  after=_mediator_snapshot(mediator) | {"appointed_on": appointed_on.isoformat(),
                                                        "hours": hours_spec(windows)})
    return mediator


def update_assignment(session: Session, user: DeskUser, mediator_id: int, *, points: Sequence[int],
                      dispute_types: Sequence[str], now: dt.datetime) -> Change:
    """Change a mediator's points and specialities; appointments ahead at a point taken away
    go to a colleague there, or the resident is offered other times."""
    actor = require_admin(user)
    now = check_now(now)
    mediator = _serving(session, mediator_id, "调解员{name}已退出，不能再分配服务点。")
    types = _dispute_types(dispute_types)
    current = {p.id for p in mediator.service_points}
    wanted = _ids(points)
    # A point closed since it was assigned may stay on the list; only additions must be active.
    kept = [p for p in mediator.service_points if p.id in wanted]
    added = _active_points(session, wanted - current) if wanted - current else []
    if not wanted:
        raise ValidationError("请至少选择一个服务点。")
    if not [p for p in kept + added if p.active]:
        raise ValidationError("请至少选择一个在用的服务点。")
    removed = sorted(current - wanted)
    before = _mediator_snapshot(mediator)
    if before["points"] == sorted(wanted) and before["dispute_types"] == types:
        raise ValidationError("没有需要保存的修改。")
    mediator.service_points = sorted(kept + added, key=lambda p: p.id)
    mediator.specialities = [MediatorSpeciality(dispute_type=t) for t in types]
    session.flush()
    journal.audit(session, at=now, actor=actor, action="mediator.assign", entity_type="mediator", entity_id=mediator.id,
                  before=before, after=_mediator_snapshot(mediator))
    change = Change(mediator.id)
    if removed:
        appts = future_appointments(session, now, mediator_id=mediator.id, point_ids=removed)
        change.handed_over = reassign_all(session, appts, actor=actor, reason="调解员不再负责这个服务点", now=now)
    return change


def _outside(appt_start: dt.datetime, appt_end: dt.datetime, windows: Sequence[Window]) -> bool:
    start, end = to_local(appt_start), to_local(appt_end)
    return not any(d == start.weekday() and s <= start.time() and end.time() <= e for d, s, e in windows)


def update_hours(session: Session, user: DeskUser, mediator_id: int, *, hours: Iterable[Window],
                 now: dt.datetime) -> Change:
    """New weekly hours; appointments ahead that fall outside them are handed over."""
    actor = require_admin(user)
    now = check_now(now)
    mediator = _serving(session, mediator_id, "调解员{name}已退出，不能再修改接待时间。")
    windows = check_hours(hours)
    before = hours_spec((a.weekday, a.starts, a.ends) for a in mediator.availability)
    if before == hours_spec(windows):
        raise ValidationError("没有需要保存的修改。")
    mediator.availability = [MediatorAvailability(weekday=d, starts=s, ends=e) for d, s, e in windows]
    session.flush()
    journal.audit(session, at=now, actor=actor, action="mediator.hours", entity_type="mediator", entity_id=mediator.id,
                  before={"hours": before}, after={"hours": hours_spec(windows)})
    clashing = [a for a in future_appointments(session, now, mediator_id=mediator.id)
                if _outside(a.starts_at, a.ends_at, windows)]
    change = Change(mediator.id)
    change.handed_over = reassign_all(session, clashing, actor=actor, reason="调解员的接待时间调整", now=now)
    return change


MAX_LEAVE_DAYS = 366


def add_leave(session: Session, user: DeskUser, mediator_id: int, *, starts_on: dt.date, ends_on: dt.date,
              kind: str, note: object = None, now: dt.datetime) -> Change:
    """Days off (inclusive); appointments ahead on those days are handed over."""
    actor = require_admin(user)
    now = check_now(now)
    if kind not in LEAVE_KINDS:
        raise ValidationError("请选择请假类型。")
    if not isinstance(starts_on, dt.date) or not isinstance(ends_on, dt.date) or ends_on < starts_on:
        raise ValidationError("结束日期不能早于开始日期。")
    if ends_on < to_local(now).date():
        raise ValidationError("不能登记已经过去的日期。")
    if (ends_on - starts_on).days >= MAX_LEAVE_DAYS:
        raise ValidationError("一次最多登记一年。")
    text = clean_reason(note, "备注") if note and str(note).strip() else None
    mediator = _serving(session, mediator_id, "调解员{name}已退出，不需要登记请假。")
    leave = MediatorException(mediator_id=mediator.id, starts_on=starts_on, ends_on=ends_on, kind=kind, note=text)
    session.add(leave)
    session.flush()
    # The note may name people: only dates and kind go into the append-only log.
    journal.audit(session, at=now, actor=actor, action="mediator.leave", entity_type="mediator", entity_id=mediator.id,
                  after={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "kind": kind})
    clashing = [a for a in future_appointments(session, now, mediator_id=mediator.id)
                if starts_on <= to_local(a.starts_at).date() <= ends_on]
    change = Change(mediator.id)
    change.handed_over = reassign_all(session, clashing, actor=actor, reason=f"调解员{LEAVE_KINDS[kind]}", now=now)
    return change


def _leave(session: Session, user: DeskUser, mediator_id: int, *, status: MediatorStatus, action: str,
           reason: object, now: dt.datetime, retired_on: Optional[dt.date] = None) -> Change:
    actor = require_admin(user)
    now = check_now(now)
    reason = clean_reason(reason)
    mediator = _serving(session, mediator_id, "调解员{name}已经退出了。")
    if status == MediatorStatus.SUSPENDED and mediator.status == MediatorStatus.SUSPENDED.value:
        raise ValidationError(f"调解员{mediator.name}已经停用了。")
    if retired_on is not None:
        if retired_on > to_local(now).date():
            raise ValidationError("退出日期不能晚于今天；请在退出当天或之后办理。")
        if mediator.appointed_on is not None and retired_on < mediator.appointed_on:
            raise ValidationError("退出日期不能早于选聘日期。")
    before = _mediator_snapshot(mediator)
    mediator.status = status.value
    if retired_on is not None:
        mediator.retired_on = retired_on
    session.flush()
    silenced = silence(session, mediator.id)
    revoked = 0
    if status == MediatorStatus.RETIRED:
        # Unused link codes stop working; the chat id stays so the bot still knows the chat was theirs.
        revoked = linking.revoke_link_codes(session, mediator.id, now=now)
    after = _mediator_snapshot(mediator) | {"reason": logged_reason(reason), "pushes_withdrawn": silenced}
    if retired_on is not None:
        after |= {"retired_on": retired_on.isoformat(), "link_codes_revoked": revoked}
    journal.audit(session, at=now, actor=actor, action=action, entity_type="mediator", entity_id=mediator.id,
                  before=before, after=after)
    change = Change(mediator.id)
    change.handed_over = reassign_all(session, future_appointments(session, now, mediator_id=mediator.id),
                                      actor=actor, reason=reason, now=now)
    return change


def suspend_mediator(session: Session, user: DeskUser, mediator_id: int, *, reason: object,
                     now: dt.datetime) -> Change:
    """停用: the mediator gets no new appointments; those ahead go to colleagues or back to the residents."""
    return _leave(session, user, mediator_id, status=MediatorStatus.SUSPENDED, action="mediator.suspend",
                  reason=reason, now=now)


def retire_mediator(session: Session, user: DeskUser, mediator_id: int, *, reason: object,
                    retired_on: Optional[dt.date], now: dt.datetime) -> Change:
    """退出: as a suspension, for good; unused link codes are revoked."""
    if retired_on is None:
        raise ValidationError("请填写退出日期。")
    return _leave(session, user, mediator_id, status=MediatorStatus.RETIRED, action="mediator.retire",
                  reason=reason, now=now, retired_on=retired_on)


def reinstate_mediator(session: Session, user: DeskUser, mediator_id: int, *, reason: object,
                       now: dt.datetime) -> Mediator:
    """A suspended mediator takes appointments again."""
    actor = require_admin(user)
    check_now(now)
    reason = clean_reason(reason)
    mediator = _lock_mediator(session, mediator_id)
    if mediator.status != MediatorStatus.SUSPENDED.value:
        raise ValidationError(f"只有已停用的调解员才能恢复；调解员{mediator.name}目前{STATUS_LABELS[mediator.status]}。")
    if not [p for p in mediator.service_points if p.active]:
        raise ValidationError("这位调解员没有在用的服务点，请先分配服务点再恢复。")
    before = _mediator_snapshot(mediator)
    mediator.status = MediatorStatus.ACTIVE.value
    session.flush()
    journal.audit(session, at=now, actor=actor, action="mediator.reinstate", entity_type="mediator", entity_id=mediator.id,
                  before=before, after=_mediator_snapshot(mediator) | {"reason": logged_reason(reason)})
    return mediator


def request_link_code(session: Session, user: DeskUser, mediator_id: int, now: dt.datetime) -> str:
    """The admin's action on the desk: checks the user is an admin and has linking.issue_link_code
    issue a one-time Telegram link code ("XXXX-XXXX") in their name, so the audit log records who
    asked. The code is shown to the admin once; only its hash is kept."""
    actor = require_admin(user)
    mediator = session.get(Mediator, mediator_id)
    if mediator is None:
        raise NotFound("没有找到这位调解员。")
    return linking.issue_link_code(session, mediator.code, actor=actor, now=check_now(now))


def unlink_telegram(session: Session, user: DeskUser, mediator_id: int, now: dt.datetime) -> bool:
    """Detach the mediator's Telegram chat (e.g. a lost phone, or a retired mediator's account reused)."""
    actor = require_admin(user)
    check_now(now)
    return linking.unlink(session, mediator_id, actor=actor)
