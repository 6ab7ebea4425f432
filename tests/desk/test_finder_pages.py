"""查找调解员 through Flask's test client: clerks and admins only, CSRF on the search, phones masked."""
from __future__ import annotations

import datetime as dt

from court.booking import engine
from tests.desk.test_admin_pages import _csrf, _login, _text, app  # noqa: F401 - the app fixture
from tests.factories import NOW, new_case, shared_slot

WEDNESDAY = dt.date(2026, 12, 2)


def _booked(db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        sp, start = shared_slot(s, WEDNESDAY)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="test", now=NOW)
        m = appt.mediator
        return appt.case.reference, m.id, m.name, m.code, m.phone, sp.name


def test_a_clerk_finds_the_mediator_of_a_case_by_name_and_by_point(app, db):  # noqa: F811
    reference, mediator_id, name, code, phone, point_name = _booked(db)
    client = _login(app, "sun")
    page = client.get("/mediators/find")
    assert page.status_code == 200 and 'id="find-mediator"' in _text(page) and "查找调解员" in _text(page)
    assert "find-results" not in _text(page)
    found = client.post("/mediators/find", data={"q": reference.lower(), "csrf_token": _csrf(client, "/mediators/find")})
    body = _text(found)
    assert found.status_code == 200 and f"<td>{code}</td>" in body and f"案件 {reference}（现在负责）" in body
    assert phone not in body and phone[:3] + "****" + phone[-4:] in body
    assert f"/admin/mediators/{mediator_id}" not in body  # a clerk cannot open the admin page
    by_name = _text(client.post("/mediators/find", data={"q": name[1:], "csrf_token": _csrf(client, "/mediators/find")}))
    assert f"<td>{code}</td>" in by_name
    by_point = _text(client.post("/mediators/find", data={"q": point_name, "csrf_token": _csrf(client, "/mediators/find")}))
    assert f"服务点 {point_name}" in by_point
    nothing = _text(client.post("/mediators/find", data={"q": "HH991231-2222",
                                                         "csrf_token": _csrf(client, "/mediators/find")}))
    assert "没有找到符合条件的调解员" in nothing
    empty = _text(client.post("/mediators/find", data={"q": "", "csrf_token": _csrf(client, "/mediators/find")}))
    assert "请输入案件编号" in empty


def test_an_admin_gets_links_an_agent_is_refused_and_a_search_without_its_token_is_refused(app, db):  # noqa: F811
    reference, mediator_id, *_ = _booked(db)
    admin = _login(app, "zhou")
    body = _text(admin.post("/mediators/find", data={"q": reference, "csrf_token": _csrf(admin, "/mediators/find")}))
    assert f'href="/admin/mediators/{mediator_id}"' in body
    assert "查找调解员" in _text(admin.get("/admin/mediators"))  # in the menu
    assert admin.post("/mediators/find", data={"q": reference}).status_code == 400
    agent = _login(app, "li")
    assert agent.get("/mediators/find").status_code == 403
    assert app.test_client().get("/mediators/find").status_code == 302
