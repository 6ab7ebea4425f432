"""The oversight pages through Flask's test client: who may see them, and that screen,
CSV and Excel say the same as court.stats."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest

from court import booking, clock, desk, stats
from desk.app import create_app
from desk.exports import Sheet, csv_bytes, xlsx_bytes
from desk.stats_views import duration, last_month
from tests.factories import NOW, new_case, shared_slot

PASSWORD = "correct horse 12368"
DECEMBER = {"area": "city", "start": "2026-11-01", "end": "2026-12-31"}


@pytest.fixture
def app(db):  # type: ignore[no-untyped-def]
    app = create_app(db, rasa_url="http://127.0.0.1:9", testing=True)
    with db.transaction() as s:
        for username, role in (("clerk", "clerk"), ("agent", "agent"), ("boss", "admin")):
            desk.create_user(s, username, PASSWORD, display_name=username, role=role, now=clock.now())
        sp, start = shared_slot(s, dt.date(2026, 12, 1))
        for dispute in ("labor", "labor", "neighbor"):
            new_case(s, dispute)
        booked = new_case(s, "family")
        booking.book(s, booked, point_id=sp.id, starts_at=start, actor="test", now=NOW)
    return app


def _login(app, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client, response.headers["Location"]


def _expected(db) -> stats.Report:
    with db.reader() as s:
        return stats.report(s, area=stats.parse_area(s, "city"), start=dt.date(2026, 11, 1),
                            end=dt.date(2026, 12, 31))


def test_roles_see_their_own_part_of_the_desk(app) -> None:
    clerk, home = _login(app, "clerk")
    assert home == "/stats/"
    assert clerk.get("/").status_code == 403 and clerk.get("/handoffs/1").status_code == 403
    agent, home = _login(app, "agent")
    assert home == "/" and agent.get("/stats/").status_code == 403
    boss, _ = _login(app, "boss")
    assert boss.get("/stats/").status_code == 200 and boss.get("/").status_code == 200
    anonymous = app.test_client().get("/stats/report.csv")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_report_page_csv_and_excel_agree_with_the_engine(app, db) -> None:
    expected = _expected(db)
    assert expected.intakes >= 4
    clerk, _ = _login(app, "clerk")
    page = clerk.get("/stats/", query_string=DECEMBER).get_data(as_text=True)
    assert f"{expected.intakes} 件" in page and "按纠纷类型的受理数" in page and "<svg" in page
    labor = next(f for f in expected.by_type if f.key == "labor")
    assert f">{labor.label}</text>" in page and f">{labor.value}件</text>" in page

    csv = clerk.get("/stats/report.csv", query_string=DECEMBER)
    assert csv.status_code == 200 and csv.data.startswith("\ufeff".encode())
    assert "attachment" in csv.headers["Content-Disposition"]
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "类别,项目,数值"
    assert len(lines) == 1 + len(stats.rows(expected))

    xlsx = clerk.get("/stats/report.xlsx", query_string=DECEMBER)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["统计", "调解员"]
    cells = [tuple(c.value for c in row) for row in book["统计"].iter_rows()]
    flattened = [tuple(row) for row in stats.rows(expected)]
    assert [c for c in cells if c in flattened] == flattened
    assert book["统计"]._charts  # the bar chart of dispute types


def test_bad_filters_get_a_chinese_answer_not_a_crash(app) -> None:
    clerk, _ = _login(app, "clerk")
    for query in ({"area": "county:999999"}, {"area": "'; drop table cases"}, {"start": "2026-12-31", "end": "2026-01-01"},
                  {"start": "not-a-date"}):
        response = clerk.get("/stats/", query_string=query)
        assert response.status_code == 200 and 'class="flash error"' in response.get_data(as_text=True), query
    assert clerk.get("/stats/report.csv", query_string={"area": "nowhere"}).status_code == 400


def test_scorecards_page_and_csv(app, db) -> None:
    clerk, _ = _login(app, "clerk")
    page = clerk.get("/stats/mediators", query_string={"start": "2026-11-01", "end": "2026-12-31"})
    text = page.get_data(as_text=True)
    with db.reader() as s:
        cards = stats.scorecards(s, county_id=None, start=dt.date(2026, 11, 1), end=dt.date(2026, 12, 31))
    assert page.status_code == 200 and cards and cards[0].name in text
    csv = clerk.get("/stats/mediators.csv", query_string={"start": "2026-11-01", "end": "2026-12-31"})
    assert len(csv.data.decode("utf-8-sig").splitlines()) == 1 + len(cards)


def test_the_default_period_is_last_calendar_month():
    assert last_month(dt.date(2026, 11, 29)) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert last_month(dt.date(2026, 1, 5)) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_waiting_times_read_in_their_own_unit():
    assert [duration(v) for v in (None, 7.5, 119, 150, 9897.6)] == ["—", "7.5 分钟", "119 分钟", "2.5 小时", "6.9 天"]


def test_no_cell_of_an_export_becomes_a_formula_not_even_the_title():
    evil = "=cmd|' /C calc'!A0 调解工作服务点"
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([Sheet("统计", ("类别", "+项目"), [[evil, "-1+2"]],
                                                               notes=[f"{evil} 诉前调解统计"])])))
    cells = [c for row in book["统计"].iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" and not str(c.value).startswith(("=", "+", "-", "@")) for c in cells)
    lines = csv_bytes(("=类别", "项目"), [[evil, 1]]).decode("utf-8-sig").splitlines()
    assert all(not line.startswith(("=", "+", "-", "@")) for line in lines)
