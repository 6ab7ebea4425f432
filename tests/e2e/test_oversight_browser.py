"""The oversight pages in a real browser: a clerk reads the monthly statistics (charts,
print view, CSV and Excel downloads) and the mediators' scorecards; an admin opens the
integrity alerts; an agent is kept out.

Like the admin pages, the desk runs as its own process on a database of this module's
own, filled with a synthetic year, so the other end-to-end tests are not disturbed.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Iterator

import openpyxl
import pytest

from court.hotline import accounts
from court.oversight import stats
from court.seeding.seed import seed
from court.seeding.synthetic import generate
from court.store.db import Database
from stack.processes import Stack
from tests.conftest import SEED_DAY
from tests.factories import NOW

PASSWORD = "correct horse battery"
OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))  # the month before NOW's: the page's default


@pytest.fixture(scope="module")
def oversight_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('oversight-e2e') / 'court.db'}")
    db.migrate()
    seed(db, today=SEED_DAY)
    with db.transaction() as s:
        generate(s, cases=600, start=dt.date(2025, 12, 1), end=dt.date(2026, 11, 29), seed=7)
        for username, role in (("clerk.sun", "clerk"), ("admin.zhou", "admin"), ("agent.li", "agent")):
            accounts.create_user(s, username, PASSWORD, role=role, display_name=username, actor="test")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def desk_url(oversight_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(Path("unused-model"), database_url=oversight_db.url,
                  log_dir=tmp_path_factory.mktemp("oversight-logs"))
    try:
        yield stack.start_desk(extra_env={"DESK_SECRET_KEY": "oversight-browser-test-secret",
                                          "COURT_FAKE_NOW": NOW.isoformat()})
    finally:
        stack.stop()


def signed_in(browser, desk_url: str, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{desk_url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_load_state()
    return page


def test_a_clerk_reads_prints_and_downloads_the_monthly_report(browser, desk_url, oversight_db):
    with oversight_db.reader() as s:
        city = stats.report(s, area=stats.parse_area(s, "city"), start=OCTOBER[0], end=OCTOBER[1])
        county = next(a for a in stats.areas(s) if a.kind == "county" and a.label == "北安市")
        beian = stats.report(s, area=county, start=OCTOBER[0], end=OCTOBER[1])
    assert city.intakes > beian.intakes > 0

    page = signed_in(browser, desk_url, "clerk.sun")
    assert page.url.endswith("/stats/")  # a clerk starts at the statistics
    assert f"{city.intakes} 件" in page.inner_text("#summary")
    assert page.locator("figure.chart svg").count() >= 4
    page.select_option('select[name="area"]', county.token)
    page.click('button:has-text("查看")')
    page.wait_for_selector(f"text={county.label} · 2026年10月01日")
    assert f"{beian.intakes} 件" in page.inner_text("#summary")

    page.emulate_media(media="print")  # what the monthly meeting gets on paper
    assert not page.is_visible("header.top") and not page.is_visible("form.filters")
    assert page.is_visible("#report")
    page.emulate_media(media="screen")

    with page.expect_download() as csv_download:
        page.click("text=下载 CSV")
    text = Path(csv_download.value.path()).read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "类别,项目,数值" and f"受理纠纷,{beian.intakes}" in text
    with page.expect_download() as xlsx_download:
        page.click("text=下载 Excel")
    book = openpyxl.load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    assert ("概况", "受理纠纷", beian.intakes) in [tuple(c.value for c in row) for row in book["统计"].iter_rows()]


def test_scorecards_for_a_county_and_roles_at_the_door(browser, desk_url, oversight_db):
    with oversight_db.reader() as s:
        county = next(a for a in stats.areas(s) if a.kind == "county" and a.label == "北安市")
        cards = stats.scorecards(s, county_id=county.id, start=OCTOBER[0], end=OCTOBER[1])
    busiest = cards[0]
    page = signed_in(browser, desk_url, "clerk.sun")
    page.goto(f"{desk_url}/stats/mediators")
    page.select_option('select[name="county"]', str(county.id))
    page.click('button:has-text("查看")')
    page.wait_for_selector("#scorecards")
    assert page.locator("#scorecards tbody tr").count() == len(cards)
    first_row = page.inner_text("#scorecards tbody tr >> nth=0")
    assert busiest.name in first_row and str(busiest.held) in first_row
    page.goto(f"{desk_url}/")
    assert "无权访问" in page.content()  # the hotline queue is not a clerk's

    agent = signed_in(browser, desk_url, "agent.li")
    agent.goto(f"{desk_url}/stats/")
    assert "无权访问" in agent.content()
    admin = signed_in(browser, desk_url, "admin.zhou")
    admin.goto(f"{desk_url}/integrity/")
    assert "廉政风险提示" in admin.inner_text("h1") and "条" in admin.inner_text("h1")
