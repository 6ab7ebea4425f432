"""Admins manage mediators and service points: every change in one transaction with its
audit entries and pushes, appointments handed over through the booking engine."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from bot.notifications import render
from court import admin as management
from court.booking import engine, slots
from court.core.errors import InvalidName, InvalidPhone, LinkCodeInvalid, NotFound, PermissionDenied, ValidationError
from court.core.timeutil import to_local
from court.hotline.accounts import DeskUser
from court.mediation import linking
from court.reference.places import haversine_km
from court.store.schema import Appointment, AuditEntry, Case, LinkCode, Mediator, OutboxMessage, ServicePoint
from tests.factories import NOW, counts, local, new_case, single_mediator_point
from tests.races import race

TUESDAY = dt.date(2026, 12, 1)
WEDNESDAY = dt.date(2026, 12, 2)
ADMIN = DeskUser(id=1, username="admin.zhou", display_name="周敏", role="admin")
OTHER_ADMIN = DeskUser(id=2, username="admin.wu", display_name="吴刚", role="admin")
AGENT = DeskUser(id=3, username="li", display_name="李敏", role="agent")
CLERK = DeskUser(id=4, username="clerk.sun", display_name="孙丽", role="clerk")
HOURS = [(d, dt.time(8, 30), dt.time(11, 30)) for d in range(5)] + [(d, dt.time(13, 30), dt.time(16, 30))
                                                                    for d in range(5)]
PHONE = "13945612301"


def _pushes(session, **filters):
    query = select(OutboxMessage)
    for key, value in filters.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return session.execute(query.order_by(OutboxMessage.id)).scalars().all()


def _audits(session, action):
    return session.execute(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.id)).scalars().all()


def _book_with_colleague(session, n=2):
    """``n`` appointments of one mediator, each at a time a colleague at the same point is free too."""
    days = [TUESDAY + dt.timedelta(days=k) for k in range(7)]
    for sp in session.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars():
        by_start: dict[dt.datetime, set[int]] = {}
        for slot in slots.free_slots(session, sp.id, days[0], days[-1], now=NOW):
            by_start.setdefault(slot.starts_at, set()).add(slot.mediator_id)
        shared = [(t, ids) for t, ids in sorted(by_start.items()) if len(ids) >= 2]
        for owner in sorted({m for _, ids in shared for m in ids}):
            times = [t for t, ids in shared if owner in ids]
            if len(times) >= n:
                return sp, owner, [engine.book(session, new_case(session), point_id=sp.id, starts_at=t,
                                               mediator_id=owner, actor="test", now=NOW) for t in times[:n]]
    raise AssertionError("no mediator shares enough free times with a colleague")


# --- appointing ------------------------------------------------------------------


def test_appoint_creates_a_bookable_mediator_with_a_roster_like_code(db):
    with db.transaction() as s:
        sp = s.execute(select(ServicePoint).where(ServicePoint.code == "SP-231102001")).scalar_one()
        taken = [m.code for m in sp.mediators]
        mediator = management.appoint_mediator(
            s, ADMIN, name="王小红", phone="139 4561 2301", points=[sp.id], dispute_types=["family", "neighbor"],
            hours=management.parse_hours("1-5 08:30-11:30\n1，3，5 13:30-16:30"), appointed_on=TUESDAY, now=NOW)
        mediator_id, code = mediator.id, mediator.code
    assert code == f"M-231102001-{max(int(c.rsplit('-', 1)[1]) for c in taken) + 1}"
    with db.reader() as s:
        m = s.get(Mediator, mediator_id)
        assert m.status == "active" and m.phone == PHONE and m.dispute_types == {"family", "neighbor"}
        assert len(m.availability) == 8 and m.appointed_on == TUESDAY and not m.is_demo
        [entry] = _audits(s, "mediator.appoint")
        assert entry.actor == "desk:admin.zhou" and entry.entity_id == mediator_id
        assert PHONE not in json.dumps(entry.after, ensure_ascii=False) and "王小红" not in json.dumps(entry.after)
        free = slots.free_slots(s, sp.id, TUESDAY, TUESDAY, mediator_id=mediator_id, now=NOW)
        assert free and free[0].starts_at == local(TUESDAY, 8, 30)


@pytest.mark.parametrize("change, error, message", [
    ({"name": "王"}, InvalidName, "姓名"),
    ({"phone": "12345"}, InvalidPhone, "手机号码"),
    ({"points": []}, ValidationError, "至少选择一个服务点"),
    ({"points": [999999]}, ValidationError, "不存在"),
    ({"dispute_types": []}, ValidationError, "至少选择一种"),
    ({"dispute_types": ["divorce"]}, ValidationError, "纠纷类型无效"),
    ({"hours": []}, ValidationError, "至少填写一个"),
    ({"hours": [(0, dt.time(6, 30), dt.time(9, 0))]}, ValidationError, "07:00到20:00"),
    ({"hours": [(0, dt.time(19, 0), dt.time(20, 30))]}, ValidationError, "07:00到20:00"),
    ({"hours": [(0, dt.time(11, 0), dt.time(9, 0))]}, ValidationError, "开始时间要早于结束时间"),
    ({"hours": [(0, dt.time(8, 0), dt.time(11, 0)), (0, dt.time(10, 0), dt.time(12, 0))]}, ValidationError, "重叠"),
    ({"appointed_on": None}, ValidationError, "选聘日期"),
])
def test_appoint_refuses_bad_input_and_writes_nothing(db, change, error, message):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        before = counts(s) | {"mediators": s.execute(select(func.count()).select_from(Mediator)).scalar_one()}
    args = {"name": "王小红", "phone": PHONE, "points": [sp.id], "dispute_types": ["family"], "hours": HOURS,
            "appointed_on": TUESDAY} | change
    with pytest.raises(error) as exc:
        with db.transaction() as s:
            management.appoint_mediator(s, ADMIN, now=NOW, **args)
    assert message in exc.value.message
    with db.reader() as s:
        assert counts(s) | {"mediators": s.execute(select(func.count()).select_from(Mediator)).scalar_one()} == before


def test_appoint_refuses_a_closed_point_and_a_phone_already_on_the_roster(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        existing_phone = sp.mediators[0].phone
        management.close_point(s, ADMIN, sp.id, reason="并入相邻服务点", now=NOW)
        other = s.execute(select(ServicePoint).where(ServicePoint.active.is_(True))).scalars().first()
    with pytest.raises(ValidationError, match="已撤销"):
        with db.transaction() as s:
            management.appoint_mediator(s, ADMIN, name="王小红", phone=PHONE, points=[sp.id], dispute_types=["family"],
                                        hours=HOURS, appointed_on=TUESDAY, now=NOW)
    with pytest.raises(ValidationError, match="已登记给调解员"):
        with db.transaction() as s:
            management.appoint_mediator(s, ADMIN, name="王小红", phone=existing_phone, points=[other.id],
                                        dispute_types=["family"], hours=HOURS, appointed_on=TUESDAY, now=NOW)


def test_weekly_hours_are_parsed_from_what_admins_type():
    assert management.parse_hours("1-5 08:30-11:30\n6 9:00-12:00") == sorted(
        [(d, dt.time(8, 30), dt.time(11, 30)) for d in range(5)] + [(5, dt.time(9), dt.time(12))])
    assert management.parse_hours("１－３ ０８：３０－１１：３０；5 14:00到16:00") == sorted(
        [(d, dt.time(8, 30), dt.time(11, 30)) for d in range(3)] + [(4, dt.time(14), dt.time(16))])
    for bad, message in (("周一 8:30-11:30", "看不懂"), ("5-1 08:30-11:30", "颠倒"), ("1 25:00-26:00", "无效"),
                         ("", "至少填写一个")):
        with pytest.raises(ValidationError, match=message):
            management.parse_hours(bad)
    assert management.hours_text(HOURS) == ["周一至周五 08:30-11:30", "周一至周五 13:30-16:30"]
    assert management.parse_hours(management.hours_spec(HOURS)) == sorted(HOURS)


# --- who may -----------------------------------------------------------------------


@pytest.mark.parametrize("user", [AGENT, CLERK, None], ids=["agent", "clerk", "nobody"])
def test_non_admins_are_refused_everything(db, user):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        mediator_id = sp.mediators[0].id
        before = counts(s)
    calls = [
        lambda s: management.appoint_mediator(s, user, name="王小红", phone=PHONE, points=[sp.id],
                                              dispute_types=["family"], hours=HOURS, appointed_on=TUESDAY, now=NOW),
        lambda s: management.update_assignment(s, user, mediator_id, points=[sp.id], dispute_types=["labor"], now=NOW),
        lambda s: management.suspend_mediator(s, user, mediator_id, reason="测试", now=NOW),
        lambda s: management.retire_mediator(s, user, mediator_id, reason="测试", retired_on=TUESDAY, now=NOW),
        lambda s: management.reinstate_mediator(s, user, mediator_id, reason="测试", now=NOW),
        lambda s: management.request_link_code(s, user, mediator_id, NOW),
        lambda s: management.unlink_telegram(s, user, mediator_id, NOW),
        lambda s: management.open_point(s, user, name="新服务点", place_id=sp.place_id, address="某路1号", lat=50.2,
                                        lng=127.5, court_id=None, hours=HOURS, slot_minutes=60, now=NOW),
        lambda s: management.move_point(s, user, sp.id, address="某路2号", lat=50.2, lng=127.5, place_id=None, now=NOW),
        lambda s: management.close_point(s, user, sp.id, reason="测试", now=NOW),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            with db.transaction() as s:
                call(s)
    with db.reader() as s:
        assert counts(s) == before
        assert s.get(Mediator, mediator_id).status == "active" and s.get(ServicePoint, sp.id).active


# --- suspending, retiring, reinstating -----------------------------------------------


def test_suspending_hands_each_future_appointment_to_a_free_colleague(db):
    with db.transaction() as s:
        sp, owner, appts = _book_with_colleague(s, n=3)
        ids = [a.id for a in appts]
        residents = {a.id: a.case.resident_id for a in appts}
    # The first meeting has begun by the time the admin acts: only those ahead move.
    later = appts[0].starts_at + dt.timedelta(minutes=1)
    with db.transaction() as s:
        change = management.suspend_mediator(s, ADMIN, owner, reason="年度考核未通过，电话13945612378", now=later)
    assert [h.outcome for h in change.handed_over] == ["reassigned", "reassigned"]
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "suspended"
        assert s.get(Appointment, ids[0]).status == "booked"  # past: untouched
        for old_id in ids[1:]:
            old = s.get(Appointment, old_id)
            assert old.status == "cancelled" and old.note.startswith("年度考核")
            [new] = [a for a in old.case.appointments if a.id != old_id]
            assert new.status == "booked" and new.mediator_id != owner and new.starts_at == old.starts_at
            assert new.service_point_id == sp.id and old.case.mediator_id == new.mediator_id
            assert old.case.status == "booked"
            # Each side told exactly once: the leaving mediator, the new one, the resident.
            away = [m for m in _pushes(s, template="appointment_moved_away") if m.payload["appointment_id"] == old_id]
            assert [(m.recipient_type, m.recipient_id, m.status) for m in away] == [("mediator", owner, "pending")]
            assert [m.recipient_id for m in _pushes(s, template="appointment_new")
                    if m.payload["appointment_id"] == new.id] == [new.mediator_id]
            assert [m.recipient_id for m in _pushes(s, template="appointment_reassigned")
                    if m.payload["appointment_id"] == new.id] == [residents[old_id]]
        # Nothing left for the suspended mediator but the notices that their meetings moved.
        pending = _pushes(s, recipient_type="mediator", recipient_id=owner, status="pending")
        assert {m.template for m in pending} == {"appointment_moved_away"} and len(pending) == 2
        [suspension] = _audits(s, "mediator.suspend")
        assert suspension.actor == "desk:admin.zhou" and suspension.before["status"] == "active"
        assert suspension.after["status"] == "suspended" and "139****2378" in suspension.after["reason"]
        assert "13945612378" not in json.dumps(suspension.after, ensure_ascii=False)
        assert len(_audits(s, "appointment.withdraw")) == 2 and len(_audits(s, "appointment.reassign")) == 2
        assert all(slot.mediator_id != owner for slot in slots.free_slots(s, sp.id, TUESDAY, WEDNESDAY, now=later))


def test_a_failure_midway_leaves_everything_as_it_was(db, monkeypatch):
    with db.transaction() as s:
        _, owner, appts = _book_with_colleague(s, n=2)
        before = counts(s)
    real, calls = engine.reassign, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "reassign", flaky)
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            management.suspend_mediator(s, ADMIN, owner, reason="测试中途失败", now=NOW)
    assert len(calls) == 2
    with db.reader() as s:
        assert counts(s) == before
        assert s.get(Mediator, owner).status == "active"
        assert all(s.get(Appointment, a.id).status == "booked" for a in appts)
        assert not _pushes(s, template="appointment_moved_away")


def test_without_a_free_colleague_the_resident_is_offered_other_times(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, owner, resident_id = appt.id, appt.mediator_id, appt.case.resident_id
    with db.transaction() as s:
        change = management.suspend_mediator(s, ADMIN, owner, reason="长期病假", now=NOW)
    assert [h.outcome for h in change.handed_over] == ["reoffered"] and "另选时间" in change.summary()
    with db.reader() as s:
        appt = s.get(Appointment, appt_id)
        assert appt.status == "cancelled" and appt.case.status == "intake"
        [told] = _pushes(s, template="appointment_declined")
        assert told.recipient_type == "resident" and told.recipient_id == resident_id
        # The only mediator is gone: other points' times are offered, never this point's.
        assert told.payload["proposals"] and all(p["service_point_id"] != sp.id for p in told.payload["proposals"])
        notice = render("resident", "appointment_declined", told.payload)
        assert "重新预约" in notice.buttons[0][0]
        assert [m.recipient_id for m in _pushes(s, template="appointment_moved_away")] == [owner]


def test_retiring_revokes_the_telegram_link_and_silences_the_chat(db):
    with db.transaction() as s:
        sp, owner, appts = _book_with_colleague(s, n=1)
        s.get(Mediator, owner).telegram_chat_id = 880001
        unused = management.request_link_code(s, ADMIN, owner, NOW)
    with pytest.raises(ValidationError, match="晚于今天"):
        with db.transaction() as s:
            management.retire_mediator(s, ADMIN, owner, reason="任期届满", retired_on=WEDNESDAY, now=NOW)
    with db.transaction() as s:
        change = management.retire_mediator(s, ADMIN, owner, reason="任期届满", retired_on=NOW.date(), now=NOW)
    assert [h.outcome for h in change.handed_over] == ["reassigned"]
    with db.reader() as s:
        m = s.get(Mediator, owner)
        assert m.status == "retired" and m.retired_on == NOW.date()
        assert linking.by_chat(s, 880001) is None  # /today, accept, decline: not a mediator any more
        assert all(link.revoked_at is not None for link in
                   s.execute(select(LinkCode).where(LinkCode.mediator_id == owner)).scalars())
        # Their appointment_new and reminders are withdrawn; only the hand-over notice goes out.
        pending = _pushes(s, recipient_type="mediator", recipient_id=owner, status="pending")
        assert [p.template for p in pending] == ["appointment_moved_away"]
        [entry] = _audits(s, "mediator.retire")
        assert entry.after["link_codes_revoked"] == 1 and entry.after["retired_on"] == NOW.date().isoformat()
    with pytest.raises(LinkCodeInvalid):
        with db.transaction() as s:
            linking.redeem_link_code(s, unused, 880002, now=NOW)
    for refused in (
        lambda s: management.request_link_code(s, ADMIN, owner, NOW),
        lambda s: management.reinstate_mediator(s, ADMIN, owner, reason="返聘", now=NOW),
        lambda s: management.suspend_mediator(s, ADMIN, owner, reason="再停一次", now=NOW),
        lambda s: management.update_assignment(s, ADMIN, owner, points=[sp.id], dispute_types=["labor"], now=NOW),
    ):
        with pytest.raises(ValidationError):
            with db.transaction() as s:
                refused(s)
    # New bookings at the point never reach the retired mediator.
    with db.transaction() as s:
        for slot in slots.earliest_slots(s, sp.id, count=3, now=NOW):
            booked = engine.book(s, new_case(s), point_id=sp.id, starts_at=slot.starts_at, actor="bot", now=NOW)
            assert booked.mediator_id != owner
    # The admin may still free the chat for another mediator's use.
    with db.transaction() as s:
        assert management.unlink_telegram(s, ADMIN, owner, NOW) is True
    with db.reader() as s:
        assert s.get(Mediator, owner).telegram_chat_id is None and _audits(s, "mediator.unlink")


def test_reinstating_a_suspended_mediator_makes_them_bookable_again(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        owner = sp.mediators[0].id
        management.suspend_mediator(s, ADMIN, owner, reason="培训期间", now=NOW)
    with db.reader() as s:
        assert slots.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW) == []
    with pytest.raises(ValidationError, match="已经停用"):
        with db.transaction() as s:
            management.suspend_mediator(s, ADMIN, owner, reason="再停一次", now=NOW)
    with db.transaction() as s:
        management.reinstate_mediator(s, ADMIN, owner, reason="培训结束", now=NOW)
    with pytest.raises(ValidationError, match="只有已停用"):
        with db.transaction() as s:
            management.reinstate_mediator(s, ADMIN, owner, reason="再恢复一次", now=NOW)
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "active"
        assert slots.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW)
        assert [e.after["reason"] for e in _audits(s, "mediator.reinstate")] == ["培训结束"]


def test_two_admins_suspending_one_mediator_at_once_agree(db):
    with db.transaction() as s:
        _, owner, appts = _book_with_colleague(s, n=2)
        ids = [a.id for a in appts]

    def attempt(i: int):
        with db.transaction() as s:
            change = management.suspend_mediator(s, (ADMIN, OTHER_ADMIN)[i], owner, reason=f"第{i}位管理员", now=NOW)
            return len(change.handed_over)

    outcomes = race(2, attempt)
    assert sorted(outcomes, key=str) == [2, "ValidationError"], outcomes
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "suspended"
        assert len(_audits(s, "mediator.suspend")) == 1
        assert len(_pushes(s, template="appointment_moved_away")) == 2
        assert len(_pushes(s, template="appointment_reassigned")) == 2
        for old_id in ids:
            case = s.get(Appointment, old_id).case
            assert [a.status for a in case.appointments] == ["cancelled", "booked"]


def test_a_booking_racing_a_suspension_never_leaves_the_suspended_mediator_an_appointment(db):
    with db.transaction() as s:
        sp, owner, [first] = _book_with_colleague(s, n=1)
        times = [slot.starts_at for slot in slots.free_slots(s, sp.id, TUESDAY, WEDNESDAY, mediator_id=owner,
                                                                now=NOW)][:3]
        cases = [new_case(s).id for _ in times]

    def attempt(i: int):
        with db.transaction() as s:
            if i < len(times):  # residents booking this mediator while the admin suspends them
                return engine.book(s, s.get(Case, cases[i]), point_id=sp.id, starts_at=times[i], mediator_id=owner,
                                   actor="bot", now=NOW).id
            return len(management.suspend_mediator(s, ADMIN, owner, reason="并发测试", now=NOW).handed_over)

    outcomes = race(len(times) + 1, attempt)
    assert all(isinstance(o, int) or o in ("MediatorUnavailable", "SlotTaken") for o in outcomes), outcomes
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "suspended"
        left = s.execute(select(Appointment).where(Appointment.mediator_id == owner,
                                                   Appointment.status.in_(("booked", "accepted", "rescheduled")),
                                                   Appointment.starts_at > NOW)).scalars().all()
        assert left == []


# --- changing a mediator's points ------------------------------------------------------


def test_taking_a_point_away_hands_over_its_appointments_only(db):
    with db.transaction() as s:
        sp, owner, [appt] = _book_with_colleague(s, n=1)
        other = s.execute(select(ServicePoint).where(ServicePoint.id != sp.id, ServicePoint.active.is_(True))
                          .order_by(ServicePoint.id)).scalars().first()
        change = management.update_assignment(s, ADMIN, owner, points=[sp.id, other.id],
                                              dispute_types=["labor", "family"], now=NOW)
        assert change.handed_over == []
    with pytest.raises(ValidationError, match="没有需要保存的修改"):
        with db.transaction() as s:
            management.update_assignment(s, ADMIN, owner, points=[other.id, sp.id], dispute_types=["family", "labor"],
                                         now=NOW)
    with db.transaction() as s:
        change = management.update_assignment(s, ADMIN, owner, points=[other.id], dispute_types=["labor"], now=NOW)
    assert [h.outcome for h in change.handed_over] == ["reassigned"]
    with db.reader() as s:
        m = s.get(Mediator, owner)
        assert [p.id for p in m.service_points] == [other.id] and m.dispute_types == {"labor"}
        assert s.get(Appointment, appt.id).status == "cancelled"
        [entry] = [e for e in _audits(s, "mediator.assign") if e.after["points"] == [other.id]]
        assert entry.before["points"] == sorted([sp.id, other.id]) and entry.after["dispute_types"] == ["labor"]
        assert slots.free_slots(s, other.id, TUESDAY, TUESDAY, mediator_id=owner, now=NOW)


# --- service points ------------------------------------------------------------------


def test_opening_a_point_validates_and_gives_a_roster_like_code(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        place_id, place_code = sp.place_id, sp.place.code
        point = management.open_point(s, ADMIN, name="花园社区调解工作服务点", place_id=place_id, address="花园路12号",
                                      lat=50.245, lng=127.529, court_id=None, hours=HOURS, slot_minutes=45, now=NOW)
        assert point.code == f"SP-{place_code[:9]}-2" and point.court.level == "basic"
        assert point.active and len(point.hours) == 10 and point.slot_minutes == 45
        assert _audits(s, "service_point.open")[0].entity_id == point.id
    bad = [({"lat": 39.9, "lng": 116.4}, "坐标不在黑河市范围内"), ({"lat": "北纬"}, "坐标不在黑河市范围内"),
           ({"slot_minutes": 5}, "15到240"), ({"place_id": 999999}, "请选择服务点所在"),
           ({"name": "花园社区调解工作服务点"}, "已经有名为"), ({"court_id": 999}, "法院不存在")]
    for change, message in bad:
        args = {"name": "另一个服务点", "place_id": place_id, "address": "花园路1号", "lat": 50.2, "lng": 127.5,
                "court_id": None, "hours": HOURS, "slot_minutes": 60} | change
        with pytest.raises(ValidationError, match=message):
            with db.transaction() as s:
                management.open_point(s, ADMIN, now=NOW, **args)


def test_moving_a_point_tells_residents_with_appointments_ahead_the_new_address(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        past, ahead = (engine.book(s, new_case(s), point_id=sp.id, starts_at=local(day, 9, 30), actor="bot", now=NOW)
                       for day in (TUESDAY, dt.date(2026, 12, 3)))
        resident = ahead.case.resident_id
        old_address = sp.address
    later = past.starts_at + dt.timedelta(minutes=1)  # the first meeting has begun: only the second is told
    with pytest.raises(ValidationError, match="坐标不在黑河市范围内"):
        with db.transaction() as s:
            management.move_point(s, ADMIN, sp.id, address="新址", lat=45.75, lng=126.63, place_id=None, now=later)
    with db.transaction() as s:
        change = management.move_point(s, ADMIN, sp.id, address="花园街道新政务中心二楼", lat=50.25, lng=127.53,
                                       place_id=None, now=later)
    assert change.notified == 1
    with db.reader() as s:
        [told] = _pushes(s, template="point_moved", recipient_type="resident")
        assert told.recipient_id == resident
        [colleague] = _pushes(s, template="point_moved", recipient_type="mediator")
        assert colleague.recipient_id == ahead.mediator_id and colleague.payload["count"] == 1
        text = render("mediator", "point_moved", colleague.payload).text
        assert "花园街道新政务中心二楼" in text and "1个预约时间不变" in text and "12月3日" in text
        assert told.payload["address"] == "花园街道新政务中心二楼" and told.payload["old_address"] == old_address
        notice = render("resident", "point_moved", told.payload)
        assert "花园街道新政务中心二楼" in notice.text and old_address in notice.text and "时间不变" in notice.text
        assert notice.venue is not None and notice.venue.latitude == 50.25
        assert s.get(Appointment, ahead.id).service_point_id == sp.id
        # Reminders not sent yet are written again with the new address.
        reminders = [m for m in _pushes(s) if m.template.startswith("reminder")
                     and m.payload["appointment_id"] == ahead.id]
        assert {m.payload["address"] for m in reminders if m.status == "pending"} == {"花园街道新政务中心二楼"}
        assert {m.payload["address"] for m in reminders if m.status == "cancelled"} == {old_address}
        [entry] = _audits(s, "service_point.move")
        assert entry.before["address"] == old_address and entry.after["lat"] == 50.25


def test_a_point_moved_push_renders_in_chinese_with_a_map_pin():
    notice = render("resident", "point_moved", {
        "reference": "HH261130-7K3Q", "time": "12月1日（周二）上午09:30", "service_point": "西岗子镇调解工作服务点",
        "address": "西岗子镇新政务中心", "old_address": "西岗子镇政府一楼", "lat": 50.1, "lng": 127.3, "mediator": "李明"})
    assert notice.text.startswith("【调解地点有变动】") and "HH261130-7K3Q" in notice.text
    assert "新地址：西岗子镇调解工作服务点（西岗子镇新政务中心）" in notice.text and "原地址：西岗子镇政府一楼" in notice.text
    assert notice.venue is not None and notice.venue.address == "西岗子镇新政务中心" and len(notice.text) < 4096


def _pair_with_common_slot(session):
    """A point, a neighbour within reach, and a time both have a free mediator."""
    points = session.execute(select(ServicePoint).where(ServicePoint.active.is_(True))
                             .order_by(ServicePoint.id)).scalars().all()
    for sp in points:
        near = sorted((haversine_km(sp.lat, sp.lng, p.lat, p.lng), p.id, p) for p in points if p.id != sp.id)
        mine = {s.starts_at for s in slots.free_slots(session, sp.id, TUESDAY, TUESDAY, now=NOW)}
        for distance, _, other in near[:1]:
            theirs = {s.starts_at for s in slots.free_slots(session, other.id, TUESDAY, TUESDAY, now=NOW)}
            if distance <= management.MOVE_RADIUS_KM and mine & theirs:
                return sp, other, min(mine & theirs)
    raise AssertionError("no two neighbouring points share a free time")


def test_closing_a_point_moves_appointments_to_the_nearest_point_with_a_free_slot(db):
    with db.transaction() as s:
        sp, neighbour, start = _pair_with_common_slot(s)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="bot", now=NOW)
        appt_id, resident = appt.id, appt.case.resident_id
        members = [m.id for m in sp.mediators]
    with db.transaction() as s:
        change = management.close_point(s, ADMIN, sp.id, reason="村委会办公楼拆除", now=NOW)
    [moved] = change.handed_over
    assert moved.outcome == "moved" and moved.point == neighbour.name
    with db.reader() as s:
        assert s.get(ServicePoint, sp.id).active is False
        appt = s.get(Appointment, appt_id)
        assert appt.service_point_id == neighbour.id and appt.starts_at == start and appt.status == "rescheduled"
        assert appt.case.status == "booked"
        [told] = _pushes(s, template="appointment_rescheduled", recipient_type="resident")
        assert told.recipient_id == resident and told.payload["service_point"] == neighbour.name
        # The mediators keep serving elsewhere: still active, still assigned.
        assert all(s.get(Mediator, m).status == "active" for m in members)
        [entry] = _audits(s, "service_point.close")
        assert entry.before["active"] is True and entry.after["active"] is False
        assert entry.after["reason"] == "村委会办公楼拆除"
        with pytest.raises(NotFound):
            slots.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW)
        assert all(p.id != sp.id for p, _, _ in slots.nearest_points(s, sp.lat, sp.lng, limit=5, now=NOW))
    with pytest.raises(ValidationError, match="已经撤销"):
        with db.transaction() as s:
            management.close_point(s, ADMIN, sp.id, reason="再撤一次", now=NOW)


def test_closing_a_point_with_nowhere_near_to_go_reoffers_the_resident(db, monkeypatch):
    monkeypatch.setattr(management.service_points, "MOVE_RADIUS_KM", -1.0)  # no point is near enough
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, owner, name = appt.id, appt.mediator_id, appt.mediator.name
    with db.transaction() as s:
        change = management.close_point(s, ADMIN, sp.id, reason="撤并", now=NOW)
    assert [h.outcome for h in change.handed_over] == ["reoffered"]
    assert change.stranded == [name]  # their only point: the admin is told to reassign them
    with db.reader() as s:
        appt = s.get(Appointment, appt_id)
        assert appt.status == "cancelled" and appt.case.status == "intake"
        [told] = _pushes(s, template="appointment_declined")
        assert all(p["service_point_id"] != sp.id for p in told.payload["proposals"])
        assert [m.recipient_id for m in _pushes(s, template="appointment_moved_away")] == [owner]


# --- link codes ----------------------------------------------------------------------


def test_a_link_code_from_the_desk_links_the_mediator_once(db):
    with db.transaction() as s:
        mediator_id = single_mediator_point(s).mediators[0].id
        first = management.request_link_code(s, ADMIN, mediator_id, NOW)
        second = management.request_link_code(s, ADMIN, mediator_id, NOW)
    assert first != second and len(second) == 9
    with pytest.raises(LinkCodeInvalid, match="作废"):
        with db.transaction() as s:
            linking.redeem_link_code(s, first, 770001, now=NOW)
    with db.transaction() as s:
        assert linking.redeem_link_code(s, second, 770001, now=NOW).id == mediator_id
    with db.reader() as s:
        issued = _audits(s, "mediator.link_code_issued")
        assert [e.actor for e in issued] == ["desk:admin.zhou"] * 2
        assert second.replace("-", "") not in json.dumps([e.after for e in issued])


# --- weekly hours and leave ---------------------------------------------------------


def test_new_weekly_hours_hand_over_only_the_appointments_outside_them(db):
    with db.transaction() as s:
        sp, owner, appts = _book_with_colleague(s, n=2)
        inside, outside = appts
        keep_day, keep_start = to_local(inside.starts_at).weekday(), to_local(inside.starts_at).time()
        keep_end = to_local(inside.ends_at).time()
        inside_id, outside_id = inside.id, outside.id
    assert (to_local(outside.starts_at).weekday(), to_local(outside.starts_at).time()) != (keep_day, keep_start)
    with pytest.raises(ValidationError), db.transaction() as s:  # 21:00 is outside the allowed day
        management.update_hours(s, ADMIN, owner, hours=[(0, dt.time(20, 0), dt.time(21, 0))], now=NOW)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        management.update_hours(s, AGENT, owner, hours=[(keep_day, keep_start, keep_end)], now=NOW)
    with db.transaction() as s:
        change = management.update_hours(s, ADMIN, owner, hours=[(keep_day, keep_start, keep_end)], now=NOW)
    assert [h.outcome for h in change.handed_over] == ["reassigned"]
    with db.reader() as s:
        assert s.get(Appointment, inside_id).status == "booked" and s.get(Appointment, inside_id).mediator_id == owner
        assert s.get(Appointment, outside_id).status == "cancelled"
        assert [(a.weekday, a.starts, a.ends) for a in s.get(Mediator, owner).availability] == [
            (keep_day, keep_start, keep_end)]
        [entry] = _audits(s, "mediator.hours")
        assert entry.after["hours"] != entry.before["hours"] and entry.actor == "desk:admin.zhou"
        detail = management.mediator_detail(s, owner, now=NOW)
        assert management.parse_hours(detail.hours_spec) == [(keep_day, keep_start, keep_end)]
    with pytest.raises(ValidationError), db.transaction() as s:  # the same hours again: nothing to save
        management.update_hours(s, ADMIN, owner, hours=[(keep_day, keep_start, keep_end)], now=NOW)


def test_leave_hands_over_the_appointments_on_those_days_and_keeps_the_note_off_the_log(db):
    with db.transaction() as s:
        sp, owner, appts = _book_with_colleague(s, n=2)
        first_day = to_local(appts[0].starts_at).date()
        ids = [a.id for a in appts]
        on_leave = [a.id for a in appts if to_local(a.starts_at).date() == first_day]
    for starts_on, ends_on, kind, message in (
        (first_day, first_day - dt.timedelta(days=1), "leave", "结束日期"),
        (NOW.date() - dt.timedelta(days=3), NOW.date() - dt.timedelta(days=1), "leave", "已经过去"),
        (first_day, first_day + dt.timedelta(days=400), "leave", "一年"),
        (first_day, first_day, "holiday", "类型"),
    ):
        with pytest.raises(ValidationError) as err, db.transaction() as s:
            management.add_leave(s, ADMIN, owner, starts_on=starts_on, ends_on=ends_on, kind=kind, now=NOW)
        assert message in err.value.message
    with db.transaction() as s:
        change = management.add_leave(s, ADMIN, owner, starts_on=first_day, ends_on=first_day, kind="training",
                                      note="去哈尔滨参加培训，联系人王五", now=NOW)
    assert len(change.handed_over) == len(on_leave)
    with db.reader() as s:
        for appt_id in ids:
            expected = "cancelled" if appt_id in on_leave else "booked"
            assert s.get(Appointment, appt_id).status == expected
        assert all(slot.mediator_id != owner for slot in slots.free_slots(s, sp.id, first_day, first_day, now=NOW))
        [entry] = _audits(s, "mediator.leave")
        assert entry.after == {"starts_on": first_day.isoformat(), "ends_on": first_day.isoformat(), "kind": "training"}
        assert management.mediator_detail(s, owner, now=NOW).leave == [f"{first_day:%Y-%m-%d} 至 {first_day:%Y-%m-%d} 培训"]
