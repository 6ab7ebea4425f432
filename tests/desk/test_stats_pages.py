"""The oversight pages through Flask's test client: who may see them, and that screen,
CSV and Excel say the same as court.oversight.stats."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest

from court.booking import engine
from court.core import clock
from court.hotline import accounts
from court.oversight import stats
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
            accounts.create_user(s, username, PASSWORD, display_name=username, role=role, now=clock.now())
        sp, start = shared_slot(s, dt.date(2026, 12, 1))
        for dispute in ("labor", "labor", "neighbor"):
            new_case(s, dispute)
        booked = new_case(s, "family")
        engine.book(s, booked, point_id=sp.id, starts_at=start, actor="test", now=NOW)
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
    # The type chart: every type with its count, largest first.
    chart = page[page.index("按纠纷类型的受理数"):page.index("受理来源")]
    shown = re.findall(r'<span class="label">([^<]+)</span>\s*<svg[^>]*>.*?</svg>\s*<span class="value">(\d+)件</span>',
                       chart, re.S)
    assert [(label, int(n)) for label, n in shown] == sorted(
        ((f.label, f.value) for f in expected.by_type), key=lambda lv: (-lv[1], lv[0]))
    assert f"合计 {expected.intakes}件" in chart

    csv = clerk.get("/stats/report.csv", query_string=DECEMBER)
    assert csv.status_code == 200 and csv.data.startswith("\ufeff".encode())
    assert "attachment" in csv.headers["Content-Disposition"]
    blocks = csv.data.decode("utf-8-sig").split("\r\n\r\n")
    lines = blocks[0].splitlines()
    assert lines[0] == "类别,项目,数值"
    assert len(lines) == 1 + len(stats.rows(expected))
    assert blocks[1].splitlines()[0] == "指标,统计口径,本期,上期,环比,去年同期,同比"
    assert blocks[1].splitlines()[1].startswith(f"受理纠纷,按受理日期,{expected.intakes},")
    assert len(blocks[2].splitlines()) == 1 + 12  # the months, header first

    xlsx = clerk.get("/stats/report.xlsx", query_string=DECEMBER)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["统计", "环比同比", "月度趋势", "调解员", "接诉即办"]
    assert book["统计"]["A1"].value == "黑河市中级人民法院 诉前调解统计"
    cells = [tuple(c.value for c in row) for row in book["统计"].iter_rows()]
    flattened = [tuple(row) for row in stats.rows(expected)]
    assert [c for c in cells if c in flattened] == flattened
    assert book["统计"]._charts  # the bar chart of dispute types


def test_the_page_states_its_period_quick_periods_comparisons_and_definitions(app, db) -> None:
    clerk, _ = _login(app, "clerk")
    page = clerk.get("/stats/").get_data(as_text=True)  # no filters: last month, written into the fields
    start, end = last_month(NOW.date())
    assert f'name="start" type="date" value="{start}"' in page and f'name="end" type="date" value="{end}"' in page
    for label in ("本月", "上月", "本季度", "上季度", "本年", "去年"):
        assert f">{label}</a>" in page, label
    assert 'class="active" aria-current="true">上月</a>' in page  # the default is 上月
    with db.reader() as s:
        comparison = stats.compare(s, area=stats.parse_area(s, "city"), start=dt.date(2026, 11, 1),
                                   end=dt.date(2026, 11, 30))
    page = clerk.get("/stats/", query_string={"area": "city", "start": "2026-11-01", "end": "2026-11-30"}).get_data(
        as_text=True)
    headlines = page[page.index('id="headlines"'):page.index("</table>", page.index('id="headlines"'))]
    assert "环比" in headlines and "同比" in headlines and "上期 2026-10-01至10-31" in headlines
    assert "去年同期 2025-11-01至11-30" in headlines
    for h in comparison.headlines:  # each headline: its value, its definition on hover and in the footnotes
        assert f'<abbr title="{h.definition}">{h.label}</abbr>' in headlines
        assert f'id="def-{h.key}"' in page
    intakes = comparison.headlines[0]
    assert intakes.value == comparison.current.intakes and intakes.previous == comparison.previous.intakes
    assert "月度趋势" in page and page.count('<svg class="col"') == 12
    # The breakdowns say how they add up.
    r = comparison.current
    assert (f"{r.appointments_booked} 次（按调解开始时间，不含取消、拒绝）= 已调解 {r.appointments_held} + "
            f"当事人未到 {r.appointments_no_show} + 尚未进行或未登记结果 {r.appointments_pending}") in page
    assert f"{r.handoffs} 次 = 工作时间内 {r.handoffs_in_hours} + 下班及节假日 {r.handoffs_after_hours}" in page


def test_sub_areas_link_one_level_down_and_the_breadcrumb_back_up(app, db) -> None:
    clerk, _ = _login(app, "clerk")
    with db.reader() as s:
        county = next(a for a in stats.areas(s) if a.kind == "county")
    page = clerk.get("/stats/", query_string=DECEMBER).get_data(as_text=True)
    assert f'href="/stats/?area=county:{county.id}&amp;start=2026-11-01&amp;end=2026-12-31"' in page
    page = clerk.get("/stats/", query_string={**DECEMBER, "area": county.token}).get_data(as_text=True)
    assert 'href="/stats/?area=town:' in page and 'href="/stats/?area=city&amp;start=2026-11-01' in page
    assert f"<span>{county.label}</span>" in page


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
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + len(cards) and "未回复" in lines[0] and "接受率（未回复计入）" in lines[0]
    assert "接受率 = 接受 ÷（接受 + 拒绝 + 未回复）" in text


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
