"""接诉即办 and training on the desk through Flask's test client: a partner account sees its own
organisation's requests and nothing else of the desk; the court's queue, assignment, answer and close;
the statistics and scorecard pages show the new figures as the engine counts them."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from court.core import clock
from court.hotline import accounts, support_requests
from court.mediation import training
from court.oversight import stats
from court.store.schema import DeskUser, Mediator, MediatorStatus, Place, SupportRequest
from desk.app import create_app
from tests.desk.test_stats_pages import PASSWORD, _login
from tests.factories import NOW, local

NOVEMBER = {"area": "city", "start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def app(db):  # type: ignore[no-untyped-def]
    app = create_app(db, rasa_url="http://127.0.0.1:9", testing=True)
    with db.transaction() as s:
        town = s.execute(select(Place.id).where(Place.name == "西岗子镇", Place.level == "town")).scalar_one()
        a = support_requests.create_organisation(s, "西岗子镇人民政府", "township", place_id=town, actor="test", now=NOW)
        b = support_requests.create_organisation(s, "黑河市人民调解委员会", "mediation", actor="test", now=NOW)
        accounts.create_user(s, "xgz", PASSWORD, display_name="西岗子镇", role="partner", now=NOW, organisation_id=a.id)
        accounts.create_user(s, "tjw", PASSWORD, display_name="调委会", role="partner", now=NOW, organisation_id=b.id)
        for username, role, name in (("clerk", "clerk", "书记员王"), ("agent", "agent", "坐席李"), ("boss", "admin", "周敏")):
            accounts.create_user(s, username, PASSWORD, display_name=name, role=role, now=NOW)
    return app


def _token(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _post(client, path: str, data: dict, token_from: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": _token(client, token_from)})


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


# Every page of the desk a partner must not open (the hotline, oversight and admin parts).
NOT_FOR_PARTNERS = ("/", "/queue.json", "/handoffs/1", "/handoffs/1/transcript.json", "/intake", "/alerts/",
                    "/cases/HH261130-AAAA/booking", "/stats/", "/stats/mediators", "/stats/report.csv",
                    "/mediators/find", "/requests/", "/requests/1", "/admin/", "/admin/mediators", "/admin/points",
                    "/admin/calendar/", "/admin/training/", "/integrity/", "/agreements", "/agreements/1",
                    "/agreements/1/agreement/print", "/agreements/1/application.docx")


def test_a_partner_sees_only_its_own_requests_and_nothing_else_of_the_desk(app, db) -> None:
    xgz, home = _login(app, "xgz")
    assert home == "/partner/requests"
    page = _text(xgz.get(home))
    nav = page[page.index("<nav>"):page.index("</nav>")]
    assert "接诉即办" in nav and "排队列表" not in nav and "统计" not in nav and "送达提醒" not in nav
    for path in NOT_FOR_PARTNERS:
        assert xgz.get(path).status_code == 403, path
    token = _token(xgz, home)
    for path in ("/requests/1/assign", "/requests/1/answer", "/requests/1/close", "/intake", "/admin/training/",
                 "/agreements/1", "/agreements/1/file", "/agreements/1/result"):
        assert xgz.post(path, data={"csrf_token": token, "reply": "x", "assignee": "1"}).status_code == 403, path

    filed = _post(xgz, "/partner/requests", {"kind": "legal_support", "description": "请求法律支持：征地补偿"}, home)
    assert filed.status_code == 302
    rid = int(filed.headers["Location"].rsplit("/", 1)[1])
    assert "诉求已提交" in _text(xgz.get(filed.headers["Location"]))
    refused = _post(xgz, "/partner/requests", {"kind": "legal_support", "description": ""}, home)
    assert refused.status_code == 200 and "请写明需要法院做什么" in _text(refused)
    refused = _post(xgz, "/partner/requests", {"kind": "divorce", "description": "x"}, home)
    assert "请选择诉求类型" in _text(refused)

    tjw, _ = _login(app, "tjw")
    assert tjw.get(f"/partner/requests/{rid}").status_code == 404  # another organisation's: as if missing
    assert _post(tjw, f"/partner/requests/{rid}/rate", {"rating": "1"}, "/partner/requests").status_code == 404
    assert "征地补偿" not in _text(tjw.get("/partner/requests"))
    assert "征地补偿" in _text(xgz.get("/partner/requests"))

    for username in ("clerk", "agent", "boss"):  # court staff have no partner pages
        client, _ = _login(app, username)
        assert client.get("/partner/requests").status_code == 403, username
    agent, _ = _login(app, "agent")
    assert agent.get("/requests/").status_code == 403


def test_the_court_assigns_answers_and_closes_and_the_township_rates(app, db) -> None:
    xgz, home = _login(app, "xgz")
    rid = int(_post(xgz, home, {"kind": "mediation_guidance", "description": "指导调解"}, home)
              .headers["Location"].rsplit("/", 1)[1])
    clerk, home = _login(app, "clerk")
    queue = _text(clerk.get("/requests/"))
    assert f"#{rid}" in queue and "西岗子镇人民政府" in queue and "指导调解" in queue and "待分派" in queue
    with db.reader() as s:
        clerk_id = dict((label.split("（")[0], i) for i, label in support_requests.handlers(s))["书记员王"]
        assert "坐席李" not in str(support_requests.handlers(s))  # agents are not offered
    page = f"/requests/{rid}"
    bad = _post(clerk, f"{page}/assign", {"assignee": "999"}, page)
    assert "请选择承办的法官或书记员" in _text(clerk.get(bad.headers["Location"]))
    _post(clerk, f"{page}/assign", {"assignee": str(clerk_id)}, page)
    assert "书记员王" in _text(clerk.get(page))
    _post(clerk, f"{page}/answer", {"reply": "周四上午法官到镇里指导。"}, page)
    assert "答复已发送" in _text(clerk.get(page))
    mine = _text(xgz.get(f"/partner/requests/{rid}"))
    assert "周四上午法官到镇里指导。" in mine and "已答复" in mine and 'id="rate-form"' in mine
    _post(xgz, f"/partner/requests/{rid}/rate", {"rating": "5"}, f"/partner/requests/{rid}")
    assert "您的评价：非常满意" in _text(xgz.get(f"/partner/requests/{rid}"))
    _post(clerk, f"{page}/close", {}, page)
    shown = _text(clerk.get(page))
    assert "已办结" in shown and "非常满意" in shown
    with db.reader() as s:
        row = s.get(SupportRequest, rid)
        assert (row.status, row.rating, row.assignee_id, row.answered_by) == ("closed", 5, clerk_id, "clerk")


def test_the_statistics_pages_show_the_figures_the_engine_counts(app, db) -> None:
    with db.transaction() as s:
        users = {u: accounts.get_user(s, i) for u, i in s.execute(
            select(DeskUser.username, DeskUser.id)).all()}
        for day, hours, rating in ((2, 4.0, 5), (3, 30.0, 2), (10, 7.0, None)):
            filed = local(dt.date(2026, 11, day), 9)
            rid = support_requests.file(s, users["xgz"], kind="legal_support", description="诉求", now=filed).id
            support_requests.answer(s, rid, "答复", users["clerk"], now=filed + dt.timedelta(hours=hours))
            if rating:
                support_requests.rate(s, users["xgz"], rid, rating, now=filed + dt.timedelta(hours=hours))
        people = list(s.execute(select(Mediator.id).where(Mediator.status == MediatorStatus.ACTIVE.value)
                                .order_by(Mediator.id).limit(2)).scalars())
        training.record(s, held_on=dt.date(2026, 11, 3), topic="家事调解", hours=20, attendees=people[:1],
                        actor="test", now=NOW, today=NOW.date())
        training.record(s, held_on=dt.date(2026, 11, 4), topic="证据规则", hours=6, attendees=people,
                        actor="test", now=NOW, today=NOW.date())
    with db.reader() as s:
        want = stats.request_figures(s, start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
        short = training.below_minimum(s, 2026)
    assert (want.filed, want.response_median_hours, want.rated) == (3, 7.0, 2)
    clerk, _ = _login(app, "clerk")
    page = _text(clerk.get("/stats/", query_string=NOVEMBER))
    block = page[page.index('id="request-figures"'):page.index('id="training-shortfall"')]
    assert f"{want.filed} 件" in block and "7 小时" in block and f"{want.response_p90_hours:g} 小时" in block
    assert "3.5 分" in block and "满意 50.0%" in block and "西岗子镇" in block
    listed = page[page.index('id="training-short"'):]
    assert f"{len(short)} 名调解员学时不足" in page and people[0] not in {t.mediator_id for t in short}
    with db.reader() as s:
        second, first = (s.get(Mediator, p).name for p in (people[1], people[0]))
    assert f"<th scope=\"row\">{second}</th><td class=\"num\">6.0</td><td class=\"num\">18.0</td>" in listed
    report = clerk.get("/stats/report.csv", query_string=NOVEMBER).data.decode("utf-8-sig").split("\r\n\r\n")
    assert report[3].splitlines()[1:3] == ["接诉即办（全市，按提交日期）,收到诉求,3", "接诉即办（全市，按提交日期）,其中已答复,3"]
    assert "接诉即办按乡镇街道或单位,西岗子镇,3" in report[3]
    book = openpyxl.load_workbook(io.BytesIO(clerk.get("/stats/report.xlsx", query_string=NOVEMBER).data))
    cells = [tuple(c.value for c in row) for row in book["接诉即办"].iter_rows()]
    assert ("接诉即办（全市，按提交日期）", "答复时间P90（小时）", want.response_p90_hours) in cells
    assert ("接诉即办（全市，按提交日期）", "平均满意度（1-5分）", 3.5) in cells
    csv = clerk.get("/stats/mediators.csv", query_string={"start": "2026-11-01", "end": "2026-11-30"})
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(",本年度培训学时")
    assert any(line.startswith(f"{first},") and line.endswith(",26.0") for line in lines[1:])


def test_an_admin_records_training_and_others_may_not(app, db) -> None:
    boss, _ = _login(app, "boss")
    with db.reader() as s:
        people = list(s.execute(select(Mediator.id).where(Mediator.status == MediatorStatus.ACTIVE.value)
                                .order_by(Mediator.id).limit(2)).scalars())
    form = {"held_on": "2026-11-27", "topic": "人民调解法", "study_hours": "3.5", "attendees": [str(p) for p in people]}
    done = _post(boss, "/admin/training/", form, "/admin/training/")
    assert done.status_code == 302
    page = _text(boss.get("/admin/training/"))
    assert "已登记培训：人民调解法，2名调解员" in page and "人民调解法" in page
    for change, message in (({"held_on": "2026-12-25"}, "不能晚于今天"), ({"held_on": "昨天"}, "请填写培训日期（年-月-日）"),
                            ({"study_hours": "30"}, "学时要大于0"), ({"attendees": []}, "请勾选")):
        refused = _post(boss, "/admin/training/", form | change, "/admin/training/")
        assert refused.status_code == 200 and message in _text(refused), change
    with db.reader() as s:
        assert training.hours_in_year(s, 2026) == {p: 3.5 for p in people}
    clerk, _ = _login(app, "clerk")
    assert clerk.get("/admin/training/").status_code == 403
    assert clock.now() == NOW
