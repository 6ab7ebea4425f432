"""The integrity pages through Flask's test client: admins only, list and detail with
the trail, reviews that need a CSRF token and a category."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from court.booking import engine
from court.core import clock
from court.hotline import accounts
from court.mediation import outcomes
from court.oversight import integrity
from court.store.schema import AuditEntry
from desk.app import create_app
from tests.factories import NOW, TUESDAY, local, new_case, single_mediator_point

PASSWORD = "correct horse 12368"
PERIOD = {"start": "2026-11-01", "end": "2026-12-31"}
QUERY = "start=2026-11-01&end=2026-12-31"


@pytest.fixture
def app(db):  # type: ignore[no-untyped-def]
    app = create_app(db, rasa_url="http://127.0.0.1:9", testing=True)
    with db.transaction() as s:
        for username, role in (("clerk", "clerk"), ("agent", "agent"), ("boss", "admin")):
            accounts.create_user(s, username, PASSWORD, display_name=username, role=role, now=clock.now())
        # A success recorded five minutes into the meeting: one fast_outcome finding.
        start = local(TUESDAY, 9, 30)
        appt = engine.book(s, new_case(s), point_id=single_mediator_point(s).id, starts_at=start, actor="bot",
                           now=NOW)
        outcomes.record_outcome(s, appt.mediator_id, appt.case.reference, "success",
                                now=start + dt.timedelta(minutes=5))
    return app


def _finding(db) -> integrity.Finding:
    with db.reader() as s:
        [f] = integrity.findings(s, start=local(dt.date(2026, 11, 1), 0), end=local(dt.date(2027, 1, 1), 0))
    return f


def _login(app, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _token(client, "/login")})
    assert response.status_code == 302
    return client


def _token(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _reviews(db) -> int:
    with db.reader() as s:
        return s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "integrity.review")).scalar_one()


def test_only_admins_see_the_integrity_pages(app, db) -> None:
    key = _finding(db).key
    anonymous = app.test_client()
    for path in ("/integrity/", f"/integrity/{key}"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for username in ("agent", "clerk"):
        client = _login(app, username)
        assert client.get("/integrity/").status_code == 403
        assert client.get(f"/integrity/{key}?{QUERY}").status_code == 403
        token = _token(client, "/integrity/")  # the 403 page carries a token too
        assert client.post(f"/integrity/{key}/review", data={"category": "cleared", "csrf_token": token}).status_code == 403
    assert _reviews(db) == 0
    assert _login(app, "boss").get("/integrity/").status_code == 200


def test_the_list_groups_findings_by_rule(app, db) -> None:
    f = _finding(db)
    page = _login(app, "boss").get(f"/integrity/?{QUERY}").get_data(as_text=True)
    for rule in integrity.RULES:
        assert f'id="rule-{rule.key}"' in page and rule.title in page
    assert "共 1 条" in page and f.summary in page and "未核查" in page
    assert f'href="/integrity/{f.key}?start=2026-11-01&amp;end=2026-12-31"' in page
    today = clock.now().astimezone(integrity.LOCAL_TZ).date()
    default = _login(app, "boss").get("/integrity/").get_data(as_text=True)
    assert f"{today - dt.timedelta(days=89):%Y-%m-%d} 至 {today:%Y-%m-%d}" in default  # the last 90 days
    bad = _login(app, "boss").get("/integrity/?start=2026-12-31&end=2026-11-01").get_data(as_text=True)
    assert "开始日期不能晚于结束日期" in bad


def test_the_detail_shows_the_trail_and_unknown_keys_are_404(app, db) -> None:
    f = _finding(db)
    client = _login(app, "boss")
    page = client.get(f"/integrity/{f.key}?{QUERY}").get_data(as_text=True)
    assert f.summary in page and 'id="trail"' in page
    assert "登记调解结果" in page and "结果：调解成功" in page and "预约" in page
    assert 'name="csrf_token"' in page and "已核实无问题" in page and "已转纪检" in page and "需继续观察" in page
    # Without the period in the link it is found from the day it began.
    assert f.summary in client.get(f"/integrity/{f.key}").get_data(as_text=True)
    assert client.get("/integrity/fast_outcome:mediator:999:20261201000000").status_code == 404
    assert client.get("/integrity/nonsense").status_code == 404


def test_a_review_needs_csrf_and_a_category(app, db) -> None:
    f = _finding(db)
    client = _login(app, "boss")
    detail = f"/integrity/{f.key}?{QUERY}"
    post = f"/integrity/{f.key}/review?{QUERY}"
    assert client.post(post, data={"category": "watch"}).status_code == 400
    assert client.post(post, data={"category": "watch", "csrf_token": "forged"}).status_code == 400
    token = _token(client, detail)
    missing = client.post(post, data={"csrf_token": token}, follow_redirects=True)
    assert "请选择核查结论" in missing.get_data(as_text=True)
    other = client.post(post, data={"csrf_token": token, "category": "想到什么写什么"}, follow_redirects=True)
    assert "请选择核查结论" in other.get_data(as_text=True)
    assert _reviews(db) == 0
    done = client.post(post, data={"csrf_token": token, "category": "watch"})
    assert done.status_code == 302 and done.headers["Location"].startswith(f"/integrity/{f.key}")
    assert _reviews(db) == 1
    page = client.get(detail).get_data(as_text=True)
    assert "已记录核查结论：需继续观察" in page and "已核查：需继续观察" in page and 'id="reviews"' in page
    listing = client.get(f"/integrity/?{QUERY}").get_data(as_text=True)
    assert "已核查：需继续观察" in listing and f.summary in listing  # reviewed, still shown
    with db.reader() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "integrity.review")).scalar_one()
        assert entry.actor == "desk:boss" and entry.after == {"key": f.key, "rule": "fast_outcome", "category": "watch"}


def test_pages_keep_to_the_content_security_policy(app, db) -> None:
    f = _finding(db)
    client = _login(app, "boss")
    for path in (f"/integrity/?{QUERY}", f"/integrity/{f.key}?{QUERY}"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "style=" not in body and "<script>" not in body and "onclick" not in body
