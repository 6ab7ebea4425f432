"""The admin pages (mediators and service points) through Flask's test client,
on a migrated, seeded database: admin only, CSRF on every POST, Chinese errors."""
from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from sqlalchemy import select

from court import admin as management
from court.booking import engine
from court.core import clock
from court.hotline import accounts, support_requests
from court.store.schema import Appointment, AuditEntry, Mediator, OutboxMessage, ServicePoint
from desk.app import create_app
from tests.court.admin.test_management import _book_with_colleague
from tests.factories import NOW, local, new_case, single_mediator_point

PASSWORD = "correct horse 12368"
TUESDAY = dt.date(2026, 12, 1)
THURSDAY = dt.date(2026, 12, 3)
PHONE = "13945612388"
CODE = re.compile(r'id="link-code-value">([2-9A-Z]{4}-[2-9A-Z]{4})<')


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app(db, monkeypatch):  # type: ignore[no-untyped-def]
    # The desk's clock is the tests' Monday morning: the booked times below are ahead of it.
    monkeypatch.setenv("COURT_FAKE_NOW", NOW.isoformat())
    app = create_app(db, rasa_url=f"http://127.0.0.1:{_closed_port()}", testing=True)
    with db.transaction() as s:
        accounts.create_user(s, "zhou", PASSWORD, display_name="周敏", role="admin", now=clock.now())
        accounts.create_user(s, "li", PASSWORD, display_name="李敏", role="agent", now=clock.now())
        accounts.create_user(s, "sun", PASSWORD, display_name="孙丽", role="clerk", now=clock.now())
        org = support_requests.create_organisation(s, "黑河市司法局", "department", actor="test", now=clock.now())
        accounts.create_user(s, "sfj", PASSWORD, display_name="司法局", role="partner", now=clock.now(),
                             organisation_id=org.id)
    return app


def _csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _login(app, username: str = "zhou"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    # Straight to the admin pages: every role lands there, allowed or not.
    response = client.post("/login?next=/admin/mediators",
                           data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/mediators"
    return client


def _post(client, path: str, data: dict | None = None, *, token_from: str = "/admin/points", **kwargs):  # type: ignore[no-untyped-def]
    return client.post(path, data={**(data or {}), "csrf_token": _csrf(client, token_from)}, **kwargs)


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


PAGES = ("/admin/", "/admin/mediators", "/admin/mediators/new", "/admin/mediators/1", "/admin/training/", "/admin/points",
         "/admin/points/new", "/admin/points/1")
POSTS = ("/admin/mediators/new", "/admin/mediators/1/assignment", "/admin/mediators/1/suspend",
         "/admin/mediators/1/retire", "/admin/mediators/1/reinstate", "/admin/mediators/1/link-code",
         "/admin/mediators/1/unlink", "/admin/mediators/1/hours", "/admin/mediators/1/leave", "/admin/points/new",
         "/admin/points/1/move", "/admin/points/1/close", "/admin/training/")


def test_admin_pages_need_a_session(app) -> None:
    client = app.test_client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


@pytest.mark.parametrize("username", ["li", "sun", "sfj"], ids=["agent", "clerk", "partner"])
def test_agents_and_clerks_are_refused_with_403(app, db, username) -> None:
    client = _login(app, username)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403 and "无权访问" in _text(response), path
    token = _csrf(client, "/admin/mediators")  # the 403 page carries a token too
    for path in POSTS:
        assert client.post(path, data={"csrf_token": token, "reason": "测试", "confirm": "y"}).status_code == 403, path
    with db.reader() as s:
        assert s.get(Mediator, 1).status == "active"


def test_every_post_needs_the_csrf_token(app, db) -> None:
    client = _login(app)
    for path in POSTS:
        assert client.post(path, data={"reason": "测试", "confirm": "y"}).status_code == 400, path
    forged = client.post("/admin/mediators/1/suspend", data={"reason": "测试", "confirm": "y", "csrf_token": "forged"})
    assert forged.status_code == 400 and "请刷新页面" in _text(forged)
    with db.reader() as s:
        assert s.get(Mediator, 1).status == "active"
        assert not s.execute(select(AuditEntry).where(AuditEntry.action.like("mediator.%"),
                                                      AuditEntry.actor == "desk:zhou")).first()


def test_the_mediator_list_filters_and_masks_phones(app, db) -> None:
    client = _login(app)
    with db.reader() as s:
        phone = s.get(Mediator, 1).phone
    page = _text(client.get("/admin/mediators"))
    assert "调解员管理" in page and "选聘调解员" in page and phone not in page
    assert f"{phone[:3]}****{phone[-4:]}" in page and "未绑定" in page and "在任" in page
    aihui = _text(client.get("/admin/mediators?county=231102&status=active"))
    nenjiang = _text(client.get("/admin/mediators?county=231183"))
    assert "M-231102001-1" in aihui and "M-231102001-1" not in nenjiang and "M-231183" in nenjiang
    assert "没有符合条件的调解员" in _text(client.get("/admin/mediators?status=retired"))
    bad = _text(client.get("/admin/mediators?status=gone"))
    assert "请从列表中选择状态" in bad


def test_an_admin_appoints_a_mediator_through_the_form(app, db) -> None:
    client = _login(app)
    form = _text(client.get("/admin/mediators/new"))
    assert "选聘调解员" in form and 'name="points"' in form and 'name="dispute_types"' in form
    with db.reader() as s:
        sp = single_mediator_point(s)
        sp_id, point_code = sp.id, sp.code
    data = {"name": "王小红", "phone": "139-4561-2388", "points": [str(sp_id)], "dispute_types": ["family", "labor"],
            "hours": "1-5 08:30-11:30\n1-5 13:30-16:30", "appointed_on": "2026-11-30"}

    bad_phone = _post(client, "/admin/mediators/new", data | {"phone": "12345"}, token_from="/admin/mediators/new")
    assert bad_phone.status_code == 422 and "手机号码不正确" in _text(bad_phone)
    bad_hours = _post(client, "/admin/mediators/new", data | {"hours": "1-5 06:00-11:30"},
                      token_from="/admin/mediators/new")
    assert bad_hours.status_code == 422 and "07:00到20:00" in _text(bad_hours)
    no_types = _post(client, "/admin/mediators/new", {k: v for k, v in data.items() if k != "dispute_types"},
                     token_from="/admin/mediators/new")
    assert no_types.status_code == 422 and "请至少选择一种擅长的纠纷类型" in _text(no_types)
    bad_date = _post(client, "/admin/mediators/new", data | {"appointed_on": "明天"}, token_from="/admin/mediators/new")
    assert bad_date.status_code == 422 and "选聘日期格式不对" in _text(bad_date)
    with db.reader() as s:
        assert s.execute(select(Mediator).where(Mediator.phone == PHONE)).first() is None

    done = _post(client, "/admin/mediators/new", data, token_from="/admin/mediators/new")
    assert done.status_code == 302
    page = _text(client.get(done.headers["Location"]))
    assert "已选聘调解员王小红" in page
    with db.reader() as s:
        m = s.execute(select(Mediator).where(Mediator.phone == PHONE)).scalar_one()
        assert done.headers["Location"] == f"/admin/mediators/{m.id}"
        assert m.code.startswith(f"M-{point_code[3:]}-") and m.dispute_types == {"family", "labor"}
        assert [p.id for p in m.service_points] == [sp_id]
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "mediator.appoint")).scalars().all()
        assert entry.actor == "desk:zhou"
    assert "139****2388" in page and PHONE not in page and "周一至周五 08:30-11:30" in page


def test_suspending_through_the_form_shows_the_reassignment(app, db) -> None:
    with db.transaction() as s:
        sp, owner, [appt] = _book_with_colleague(s, n=1)
        reference = appt.case.reference
    client = _login(app)
    detail = f"/admin/mediators/{owner}"
    page = _text(client.get(detail))
    assert reference in page and "确认停用" in page and "我已确认" in page

    unconfirmed = _post(client, f"{detail}/suspend", {"reason": "年度考核未通过"}, token_from=detail,
                        follow_redirects=True)
    assert "请先勾选确认" in _text(unconfirmed)
    no_reason = _post(client, f"{detail}/suspend", {"confirm": "y"}, token_from=detail, follow_redirects=True)
    assert "请填写停用原因" in _text(no_reason)
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "active"

    done = _post(client, f"{detail}/suspend", {"reason": "年度考核未通过", "confirm": "y"}, token_from=detail)
    assert done.status_code == 302 and done.headers["Location"] == detail
    page = _text(client.get(detail))
    with db.reader() as s:
        [new] = [a for a in s.get(Appointment, appt.id).case.appointments if a.id != appt.id]
        new_name, new_mediator = new.mediator.name, new.mediator_id
        assert s.get(Mediator, owner).status == "suspended"
        assert s.execute(select(OutboxMessage).where(OutboxMessage.template == "appointment_reassigned")).first()
    assert "已停用；1个预约已转给其他调解员或服务点" in page and f"{reference}" in page
    assert f"改派给调解员{new_name}" in page and "没有未来的预约" in page and "年度考核未通过" in page
    assert "确认恢复" in page and "确认停用" not in page
    assert reference in _text(client.get(f"/admin/mediators/{new_mediator}"))  # the colleague has it now

    again = _post(client, f"{detail}/suspend", {"reason": "再停一次", "confirm": "y"}, token_from=detail,
                  follow_redirects=True)
    assert "已经停用了" in _text(again)
    back = _post(client, f"{detail}/reinstate", {"reason": "复核通过", "confirm": "y"}, token_from=detail,
                 follow_redirects=True)
    assert "已恢复" in _text(back)
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "active"


def test_retiring_through_the_form(app, db) -> None:
    with db.transaction() as s:
        sp = single_mediator_point(s)
        owner = sp.mediators[0].id
        engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30),
                    actor="bot", now=NOW)
    client = _login(app)
    detail = f"/admin/mediators/{owner}"
    future = _post(client, f"{detail}/retire", {"retired_on": "2027-01-01", "reason": "任期届满", "confirm": "y"},
                   token_from=detail, follow_redirects=True)
    assert "退出日期不能晚于今天" in _text(future)
    done = _post(client, f"{detail}/retire", {"retired_on": "2026-11-30", "reason": "任期届满", "confirm": "y"},
                 token_from=detail, follow_redirects=True)
    page = _text(done)
    assert "已办理退出" in page and "无人可接，已通知居民另选时间" in page and "已退出" in page
    assert "确认退出" not in page and "发放绑定码" not in page
    with db.reader() as s:
        assert s.get(Mediator, owner).status == "retired"
        assert s.execute(select(OutboxMessage).where(OutboxMessage.template == "appointment_declined")).first()


def test_a_link_code_is_shown_once(app, db) -> None:
    client = _login(app)
    detail = "/admin/mediators/1"
    first = _post(client, f"{detail}/link-code", token_from=detail)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    code = CODE.search(_text(first)).group(1)
    assert f"/link {code}" in _text(first) and "只显示这一次" in _text(first)
    assert code not in _text(client.get(detail)) and "发放绑定码" in _text(client.get(detail))
    second = CODE.search(_text(_post(client, f"{detail}/link-code", token_from=detail))).group(1)
    assert second != code
    with db.reader() as s:
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "mediator.link_code_issued")).scalars().all()
        assert [e.actor for e in entries] == ["desk:zhou", "desk:zhou"]
        assert entries[1].after["revoked_codes"] == 1


def test_points_are_listed_opened_moved_and_closed_through_the_forms(app, db) -> None:
    client = _login(app)
    listing = _text(client.get("/admin/points?county=231183"))
    assert "服务点管理" in listing and "SP-231183" in listing and "SP-231102001" not in listing
    with db.reader() as s:
        sp = single_mediator_point(s)
        sp_id, place_id, place_code = sp.id, sp.place_id, sp.place.code
    data = {"name": "花园社区调解工作服务点", "place": str(place_id), "address": "花园路12号", "lat": "50.245",
            "lng": "127.529", "court": "0", "hours": "1-5 08:30-16:30", "slot_minutes": "45"}
    outside = _post(client, "/admin/points/new", data | {"lat": "39.9", "lng": "116.4"}, token_from="/admin/points/new")
    assert outside.status_code == 422 and "坐标不在黑河市范围内" in _text(outside)
    not_a_number = _post(client, "/admin/points/new", data | {"lat": "北纬五十度"}, token_from="/admin/points/new")
    assert not_a_number.status_code == 422 and "纬度要是数字" in _text(not_a_number)
    opened = _post(client, "/admin/points/new", data, token_from="/admin/points/new")
    assert opened.status_code == 302
    with db.reader() as s:
        point = s.execute(select(ServicePoint).where(ServicePoint.name == "花园社区调解工作服务点")).scalar_one()
        assert point.code.startswith(f"SP-{place_code[:9]}") and point.slot_minutes == 45 and point.active
        point_id = point.id
    detail = opened.headers["Location"]
    assert detail == f"/admin/points/{point_id}"
    page = _text(client.get(detail))
    assert "已设立服务点花园社区调解工作服务点" in page and "周一至周五 08:30-16:30" in page

    # A point with an appointment ahead: moving it tells the resident.
    with db.transaction() as s:
        engine.book(s, new_case(s), point_id=sp_id, starts_at=local(THURSDAY, 9, 30), actor="bot", now=NOW)
    target = f"/admin/points/{sp_id}"
    moved = _post(client, f"{target}/move", {"place": str(place_id), "address": "花园街道新政务中心", "lat": "50.25",
                                             "lng": "127.53"}, token_from=target, follow_redirects=True)
    assert "已迁址，已通知1位有预约的居民新地址" in _text(moved) and "花园街道新政务中心" in _text(moved)
    with db.reader() as s:
        assert s.execute(select(OutboxMessage).where(OutboxMessage.template == "point_moved")).first()
    closed = _post(client, f"{target}/close", {"reason": "并入相邻服务点", "confirm": "y"}, token_from=target,
                   follow_redirects=True)
    text = _text(closed)
    assert "已撤销服务点" in text and "已撤销" in text and "确认迁址" not in text
    with db.reader() as s:
        assert s.get(ServicePoint, sp_id).active is False
        assert not s.execute(select(Appointment).where(Appointment.service_point_id == sp_id,
                                                       Appointment.status.in_(("booked", "rescheduled")))).first()
    again = _post(client, f"{target}/close", {"reason": "再撤一次", "confirm": "y"}, token_from="/admin/points",
                  follow_redirects=True)
    assert "这个服务点已经撤销了" in _text(again)


def test_hours_and_leave_through_the_forms(app, db) -> None:
    with db.transaction() as s:
        sp, owner, [appt] = _book_with_colleague(s, n=1)
        reference, day = appt.case.reference, appt.starts_at.astimezone(NOW.tzinfo).date()
    client = _login(app)
    detail = f"/admin/mediators/{owner}"
    page = _text(client.get(detail))
    with db.reader() as s:
        spec = management.mediator_detail(s, owner, now=NOW).hours_spec
    assert "保存接待时间" in page and spec.splitlines()[0] in page  # the form starts from the current hours
    bad = _post(client, f"{detail}/hours", {"hours": "周一全天"}, token_from=detail)
    assert bad.status_code == 422 and "时间段" in _text(bad)
    backwards = _post(client, f"{detail}/leave", {"kind": "leave", "starts_on": day.isoformat(),
                                                   "ends_on": (day - dt.timedelta(days=1)).isoformat()},
                      token_from=detail)
    assert backwards.status_code == 422 and "结束日期不能早于开始日期" in _text(backwards)
    done = _post(client, f"{detail}/leave", {"kind": "leave", "starts_on": day.isoformat(),
                                              "ends_on": day.isoformat(), "note": "家中有事"}, token_from=detail)
    assert done.status_code == 302
    page = _text(client.get(detail))
    assert "已登记；1个预约已转给其他调解员或服务点" in page and reference in page
    assert f"{day:%Y-%m-%d} 至 {day:%Y-%m-%d} 请假" in page and "没有未来的预约" in page
    with db.reader() as s:
        assert s.get(Appointment, appt.id).status == "cancelled"
