"""The court calendar pages through Flask's test client: admins only, CSRF, Chinese errors,
the December warning, and what residents can then book."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from court.booking import slots
from court.records import workcalendar
from court.store.schema import AuditEntry, CalendarDay
from tests.desk.test_admin_pages import _csrf, _login, _post, app  # noqa: F401 - the fixture
from tests.factories import local, point

DECEMBER = "2026-12-07T10:00:00+08:00"


def test_only_admins_see_the_calendar(app):  # noqa: F811
    assert app.test_client().get("/admin/calendar/").status_code == 302  # to the log-in page
    for role_user in ("li", "sun"):
        client = app.test_client()
        client.post("/login", data={"username": role_user, "password": "correct horse 12368",
                                    "csrf_token": _csrf(client)})
        assert client.get("/admin/calendar/").status_code == 403
        assert client.post("/admin/calendar/2027/publish", data={"csrf_token": _csrf(client, "/")}).status_code == 403
    page = _login(app).get("/admin/calendar/").get_data(as_text=True)
    assert "2026年" in page and "已发布" in page and "2027年" in page and "未发布" in page


def test_the_warning_shows_from_december_until_the_year_is_published(app, db, monkeypatch):  # noqa: F811
    client = _login(app)
    assert "calendar-warning" not in client.get("/admin/calendar/").get_data(as_text=True)  # 30 November
    monkeypatch.setenv("COURT_FAKE_NOW", DECEMBER)
    client = _login(app)  # a week later: the first session has long gone idle
    page = client.get("/admin/mediators").get_data(as_text=True)
    assert 'id="calendar-warning"' in page and "2027年的节假日安排还没有录入发布" in page

    year = "/admin/calendar/2027"
    assert _post(client, f"{year}/holiday", {"name": "春节", "first": "2027-02-05", "last": "2027-02-13"},
                 token_from=year).status_code == 302
    assert _post(client, f"{year}/adjusted", {"day": "2027-02-14"}, token_from=year).status_code == 302
    refused = _post(client, f"{year}/publish", {"source": "测试用安排"}, token_from=year, follow_redirects=True)
    assert "请勾选确认" in refused.get_data(as_text=True)
    done = _post(client, f"{year}/publish", {"source": "测试用安排", "confirm": "y"}, token_from=year,
                 follow_redirects=True).get_data(as_text=True)
    assert "2027年的节假日安排已发布" in done and 'id="calendar-warning"' not in done
    with db.reader() as s:
        assert workcalendar.of(s).is_published(2027)
        assert s.get(CalendarDay, dt.date(2027, 2, 14)).name == "调休上班"
        actors = set(s.execute(select(AuditEntry.actor).where(AuditEntry.entity_type == "calendar")).scalars())
        assert actors == {"desk:zhou"}
        sp = point(s, "SP-231102101")
        now = local(dt.date(2027, 1, 25), 9)
        assert slots.free_slots(s, sp.id, dt.date(2027, 2, 8), dt.date(2027, 2, 8), now=now) == []
        assert slots.free_slots(s, sp.id, dt.date(2027, 2, 14), dt.date(2027, 2, 14), now=now)


def test_bad_entries_are_answered_in_chinese_and_nothing_is_written(app, db):  # noqa: F811
    client = _login(app)
    year = "/admin/calendar/2027"
    cases = [
        ("holiday", {"name": "春节", "first": "2027-02-13", "last": "2027-02-05"}, "结束日期不能早于开始日期"),
        ("holiday", {"name": "元旦", "first": "2026-12-31", "last": "2027-01-01"}, "只能录入2027年的日期"),
        ("holiday", {"name": "", "first": "2027-02-05", "last": "2027-02-06"}, "请填写节日名称"),
        ("holiday", {"name": "春节", "first": "2027-02-xx", "last": "2027-02-06"}, "日期格式不对"),
        ("adjusted", {"day": "2027-02-15"}, "2月15日不是周末"),
        ("publish", {"source": "x", "confirm": "y"}, "还没有录入任何节假日"),
    ]
    for action, data, complaint in cases:
        page = _post(client, f"{year}/{action}", data, token_from=year, follow_redirects=True)
        assert complaint in page.get_data(as_text=True), (action, data)
    assert client.post(f"{year}/holiday", data={"name": "春节", "first": "2027-02-05",
                                                "last": "2027-02-06"}).status_code == 400  # no CSRF token
    with db.reader() as s:
        assert s.execute(select(CalendarDay).where(CalendarDay.day >= dt.date(2027, 1, 1))).first() is None


def test_removing_a_day_and_confirming_weekdays_before_publishing(app, db):  # noqa: F811
    client = _login(app)
    year = "/admin/calendar/2027"
    _post(client, f"{year}/holiday", {"name": "元旦", "first": "2027-01-01", "last": "2027-01-01"}, token_from=year)
    page = _post(client, f"{year}/confirm", {"first": "2027-01-01", "last": "2027-01-15"}, token_from=year,
                 follow_redirects=True).get_data(as_text=True)
    assert "已确认1月1日至1月15日的工作日可以预约" in page and "确认上班" in page
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert calendar.is_bookable(dt.date(2027, 1, 4)) and not calendar.is_bookable(dt.date(2027, 1, 1))
    _post(client, f"{year}/remove", {"day": "2027-01-04"}, token_from=year)
    assert _post(client, f"{year}/remove", {"day": "not-a-day"}, token_from=year).status_code == 302
    with db.reader() as s:
        assert not workcalendar.of(s).is_bookable(dt.date(2027, 1, 4))
        assert workcalendar.of(s).is_bookable(dt.date(2027, 1, 5))
