"""委派调解 pages through Flask's test client: a clerk proposes and delegates, follows the case,
extends it once, reassigns a declined one; agents are refused, phones masked in the list."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from court.core import clock
from court.mediation import delegation_offers, delegation_outcomes
from court.store.schema import AuditEntry, Delegation, OutboxMessage
from tests.court.mediation.test_delegation import town_with_point
from tests.desk.test_admin_pages import _csrf, _login, _text, app  # noqa: F401 - the app fixture
from tests.factories import NOW

FORM = {"applicant_name": "张三", "applicant_phone": "139 1234 5678", "respondent_name": "李四",
        "respondent_phone": "13987654321", "dispute_type": "debt", "summary": "借款三万元到期未还",
        "amount": "30000", "judge": "王法官", "channel": "window", "consent": "y"}


def _form(client, db, **over):  # type: ignore[no-untyped-def]
    with db.reader() as s:
        town = town_with_point(s)[0].name
    return {**FORM, "place": town, "court_id": "1",
            "csrf_token": _csrf(client, "/delegated/new"), **over}


def test_a_clerk_gets_a_proposal_delegates_and_sees_the_case(app, db):  # noqa: F811
    client = _login(app, "sun")
    assert "委派调解" in _text(client.get("/delegated/"))
    proposed = _text(client.post("/delegated/new", data=_form(client, db, action="propose")))
    assert 'id="candidates"' in proposed and "擅长" in proposed
    first = re.search(r'name="candidate" value="(\d+:\d+)" checked', proposed).group(1)
    done = client.post("/delegated/new", data=_form(client, db, action="delegate", candidate=first))
    assert done.status_code == 302
    page = _text(client.get(done.headers["Location"]))
    assert "待调解员确认" in page and "13912345678" in page and "张三" in page
    with db.reader() as s:
        d = s.execute(select(Delegation)).scalar_one()
        assert (d.case.service_point_id, d.case.mediator_id) == tuple(int(x) for x in first.split(":"))
        assert d.amount_cents == 3000000 and d.deadline == dt.date(2026, 12, 30) and d.created_by == "desk:sun"
        assert s.execute(select(OutboxMessage.template).where(OutboxMessage.recipient_type == "mediator")
                         ).scalars().all() == ["delegation_offer"]
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "delegation.view")).scalars().first()
        reference = d.case.reference
    listing = _text(client.get("/delegated/"))
    assert "139****5678" in listing and "13912345678" not in listing and reference in listing


def test_the_form_refuses_without_consent_or_with_a_bad_phone_or_pick(app, db):  # noqa: F811
    client = _login(app, "sun")
    no_consent = {k: v for k, v in _form(client, db, action="propose").items() if k != "consent"}
    assert "请先征得当事人同意" in _text(client.post("/delegated/new", data=no_consent))
    bad_phone = _text(client.post("/delegated/new", data=_form(client, db, action="delegate", candidate="1:1",
                                                                applicant_phone="12345")))
    assert "申请人的电话" in bad_phone
    no_pick = _text(client.post("/delegated/new", data=_form(client, db, action="delegate")))
    assert "请从推荐列表中选择" in no_pick
    with db.reader() as s:
        assert s.execute(select(Delegation)).first() is None
    assert client.post("/delegated/new", data={**FORM, "action": "propose"}).status_code == 400  # no CSRF token


def test_extend_once_then_refused_and_a_declined_case_is_reassigned(app, db):  # noqa: F811
    from tests.court.mediation.test_delegation import new_delegation

    with db.transaction() as s:
        d = new_delegation(s)
        d_id, first = d.id, d.case.mediator_id
        delegation_offers.decline(s, d_id, mediator_id=first, now=NOW)
    client = _login(app, "zhou")
    page = _text(client.get(f"/delegated/{d_id}"))
    assert "调解员已拒绝，待改派" in page and 'id="reassign"' in page and 'id="extend"' in page
    token = _csrf(client, f"/delegated/{d_id}")
    refused = _text(client.post(f"/delegated/{d_id}/extend", data={"days": "10", "reason": "", "csrf_token": token},
                                follow_redirects=True))
    assert "请填写延期理由" in refused
    ok = _text(client.post(f"/delegated/{d_id}/extend", data={"days": "10", "reason": "双方同意延长",
                                                            "csrf_token": token}, follow_redirects=True))
    assert "期限已延长到1月9日" in ok and "已延长：双方同意延长" in ok and 'id="extend"' not in ok
    other = re.search(r'name="candidate" value="(\d+:\d+)" checked', ok).group(1)
    moved = _text(client.post(f"/delegated/{d_id}/reassign", data={"candidate": other, "csrf_token": token},
                              follow_redirects=True))
    assert "已改派" in moved and "待调解员确认" in moved
    with db.reader() as s:
        d = s.get(Delegation, d_id)
        assert d.case.mediator_id == int(other.split(":")[1]) != first and d.offers == 2


def test_agents_are_refused_and_the_clock_marks_the_deadline(app, db, monkeypatch):  # noqa: F811
    from tests.court.mediation.test_delegation import new_delegation

    with db.transaction() as s:
        d_id = new_delegation(s).id
    assert _login(app, "li").get("/delegated/").status_code == 403
    monkeypatch.setenv("COURT_FAKE_NOW", (NOW + dt.timedelta(days=29)).isoformat())
    assert clock.now() > NOW
    assert "明天到期" in _text(_login(app, "sun").get("/delegated/"))
    monkeypatch.setenv("COURT_FAKE_NOW", (NOW + dt.timedelta(days=31)).isoformat())  # a new sign-in: the old one idled out
    client = _login(app, "sun")
    assert "已超期" in _text(client.get(f"/delegated/{d_id}"))
    assert client.get("/delegated/99999").status_code == 404


def test_the_statistics_and_scorecards_count_delegated_cases_apart(app, db):  # noqa: F811
    from tests.court.mediation.test_delegation import new_delegation

    with db.transaction() as s:
        done, still = new_delegation(s), new_delegation(s)
        for d in (done, still):
            delegation_offers.accept(s, d.id, mediator_id=d.case.mediator_id, now=NOW)
        delegation_outcomes.record_outcome(s, done.case.mediator_id, done.case.reference, "失败", note="差距大",
                                           now=NOW + dt.timedelta(days=3))
        name = done.case.mediator.name
    client = _login(app, "sun")
    query = {"start": "2026-11-01", "end": "2026-12-31"}
    page = _text(client.get("/stats/", query_string=query))
    line = re.search(r'id="delegated-line">(.*?)</dd>', page, re.S).group(1)
    assert "2 件" in line and "达成协议 0" in line and "调解不成转立案 1" in line and "尚在办理 1" in line
    assert "受理</dt><dd>0 件" in page  # delegated cases are not residents' intakes
    cards = _text(client.get("/stats/mediators", query_string=query))
    assert "委派成功率" in cards and name in cards
    csv = client.get("/stats/mediators.csv", query_string=query).data.decode("utf-8-sig").splitlines()
    assert csv[0].endswith("委派案件,委派已接受,委派达成协议,委派转立案,委派成功率,委派办结天数（中位数）,本年度培训学时")
    assert any(row.startswith(name) and ",2,2,0,1,0.0,3.0,0.0" in row for row in csv[1:])
    report = client.get("/stats/report.csv", query_string=query).data.decode("utf-8-sig")
    assert "委派调解（按委派日期，不计入以上各项）,调解不成，转立案,1" in report


def test_a_clerk_sees_and_settles_the_alerts_of_delegated_cases(app, db):  # noqa: F811
    from tests.court.mediation.test_delegation import new_delegation

    with db.transaction() as s:
        d = new_delegation(s)
        delegation_offers.decline(s, d.id, mediator_id=d.case.mediator_id, now=NOW)
        reference = d.case.reference
    client = _login(app, "sun")
    page = _text(client.get("/delegated/"))
    assert 'id="delegation-alerts"' in page and "调解员拒绝委派案件" in page and reference in page
    alert_id = re.search(r'/delegated/alerts/(\d+)/resolve', page).group(1)
    token = _csrf(client, "/delegated/")
    assert "请填写处理备注" in _text(client.post(f"/delegated/alerts/{alert_id}/resolve",
                                            data={"note": "", "csrf_token": token}, follow_redirects=True))
    done = _text(client.post(f"/delegated/alerts/{alert_id}/resolve", data={"note": "已改派", "csrf_token": token},
                             follow_redirects=True))
    assert "提醒已处理" in done and 'id="delegation-alerts"' not in done
    with db.reader() as s:
        row = s.get(OutboxMessage, int(alert_id))
        assert row.status == "sent" and row.payload["resolution"] == "已改派"
    assert client.post("/delegated/alerts/1/resolve", data={"note": "x", "csrf_token": token}).status_code == 404
