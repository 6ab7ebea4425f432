"""Every desk page on a phone (390x844, and the narrowest common phone, 360) and on a desktop
(1366x900), in Chromium, on a synthetic year of 4,000 cases: the document is never wider than
the viewport. A screenshot of each page at each size is kept under results/screenshots/
(DESK_SCREENSHOTS overrides) for a person to look at.

Also: the hotline queue's rows are cards with a large 接手 button on a phone, the statistics'
charts keep their text at CSS-pixel sizes, and the printout has its header, page numbers and
text of at least 9 pt.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select, update

from court.hotline import accounts, support_requests
from court.mediation import delegation_offers
from court.oversight import stats
from court.seeding.seed import seed
from court.seeding.synthetic import generate
from court.store.db import Database
from court.store.schema import Case, Delegation, DeskUser, Handoff, Mediator, ServicePoint, SupportRequest
from stack.processes import Stack
from tests.conftest import SEED_DAY
from tests.factories import NOW

PASSWORD = "correct horse battery"
SIZES = {"phone": (390, 844), "small-phone": (360, 740), "desktop": (1366, 900)}
SHOTS = Path(os.environ.get("DESK_SCREENSHOTS", "results/screenshots"))


@pytest.fixture(scope="module")
def layout_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('layout-e2e') / 'court.db'}")
    db.migrate()
    seed(db, today=SEED_DAY)
    with db.transaction() as s:
        # The generator's "now" is the end of its period: NOW's day, so some handoffs still wait.
        truth = generate(s, cases=4000, start=dt.date(2025, 12, 1), end=NOW.date(), seed=19)
        # Residents waiting for an agent right now, one with a long story.
        for minutes, case in ((42, truth.cases[-1]), (7, truth.cases[-2]), (2, truth.cases[-3])):
            s.execute(update(Case).where(Case.id == case["id"]).values(
                summary="楼上邻居家的空调外机滴水到我家窗台，多次沟通无果，物业说管不了，想请调解员上门看看" * 2))
            s.add(Handoff(conversation_id=f"sy-wait-{case['id']}", reason="request_human", case_id=case["id"],
                          resident_id=case["resident_id"], created_at=NOW - dt.timedelta(minutes=minutes)))
        # A delegated case, declined back: its page shows the parties, the log and the reassigning list.
        from tests.court.mediation.test_delegation import new_delegation

        sent = new_delegation(s)
        delegation_offers.decline(s, sent.id, mediator_id=sent.case.mediator_id, now=NOW)
        for username, role in (("clerk.sun", "clerk"), ("admin.zhou", "admin")):
            accounts.create_user(s, username, PASSWORD, role=role, display_name=username, actor="test")
        # A township's account and a long request, answered, for the 接诉即办 pages.
        org = support_requests.create_organisation(s, "北安市和平街道办事处", "department", actor="test", now=NOW)
        partner = accounts.create_user(s, "hpjd", PASSWORD, role="partner", display_name="和平街道", actor="test",
                                       organisation_id=org.id)
        long_text = "辖区内一处老旧小区物业服务合同到期后业主委员会与原物业公司就交接和欠费发生争议，" * 6
        row = support_requests.file(s, partner, kind="mediation_guidance", description=long_text,
                                    now=NOW - dt.timedelta(days=6))
        support_requests.file(s, partner, kind="legal_education", description="普法宣传进社区", now=NOW)
        admin = accounts.get_user(
            s, s.execute(select(DeskUser.id).where(DeskUser.username == "admin.zhou")).scalar_one())
        support_requests.answer(s, row.id, long_text, admin, now=NOW)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def desk_url(layout_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(Path("unused-model"), database_url=layout_db.url, log_dir=tmp_path_factory.mktemp("layout-logs"))
    try:
        yield stack.start_desk(extra_env={"DESK_SECRET_KEY": "layout-browser-test-secret",
                                          "COURT_FAKE_NOW": NOW.isoformat()})
    finally:
        stack.stop()


def signed_in(browser, desk_url: str, username: str, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, device_scale_factor=1)
    page = context.new_page()
    page.goto(f"{desk_url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_load_state()
    return page


def pages(db: Database) -> dict[str, str]:
    """Every page of the desk, by a short name, as an admin reaches them."""
    with db.reader() as s:
        county = next(a for a in stats.areas(s) if a.kind == "county" and a.label == "北安市")
        town = next(a for a in stats.areas(s) if a.kind == "town" and a.label.startswith("北安市"))
        point = s.execute(select(ServicePoint.id).order_by(ServicePoint.id)).scalars().first()
        mediator = s.execute(select(Mediator.id).order_by(Mediator.id)).scalars().first()
        handoff = s.execute(select(Handoff.id).order_by(Handoff.id.desc())).scalars().first()
        delegated = s.execute(select(Delegation.id)).scalars().first()
        request = s.execute(select(SupportRequest.id).order_by(SupportRequest.id)).scalars().first()
    year = "start=2025-12-01&end=2026-11-30"
    return {
        "queue": "/", "intake": "/intake", "alerts": "/alerts/", "handoff": f"/handoffs/{handoff}",
        "stats": "/stats/", "stats-year": f"/stats/?area=city&{year}",
        "stats-county": f"/stats/?area={county.token}&{year}", "stats-town": f"/stats/?area={town.token}&{year}",
        "stats-point": f"/stats/?area=point:{point}&{year}",
        "scorecards": f"/stats/mediators?{year}", "admin-mediators": "/admin/mediators",
        "admin-mediator": f"/admin/mediators/{mediator}", "admin-points": "/admin/points",
        "admin-point": f"/admin/points/{point}", "integrity": "/integrity/", "calendar": "/admin/calendar/",
        "calendar-year": "/admin/calendar/2026", "find-mediator": "/mediators/find",
        "delegated": "/delegated/", "delegated-new": "/delegated/new", "delegated-case": f"/delegated/{delegated}",
        "requests": "/requests/", "request": f"/requests/{request}", "request-open": f"/requests/{request + 1}",
        "training": "/admin/training/",
    }


def partner_pages(db: Database) -> dict[str, str]:
    """What a township's account reaches: its list and form, and a request with the court's answer."""
    with db.reader() as s:
        request = s.execute(select(SupportRequest.id).order_by(SupportRequest.id)).scalars().first()
    return {"partner-requests": "/partner/requests", "partner-request": f"/partner/requests/{request}"}


def overflow(page) -> int:  # type: ignore[no-untyped-def]
    """How many CSS pixels the document is wider than the viewport (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("size", list(SIZES))
def test_no_page_is_wider_than_the_screen(browser, desk_url, layout_db, size):
    width, height = SIZES[size]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = signed_in(browser, desk_url, "admin.zhou", (width, height))
    wide = {}
    for name, path in pages(layout_db).items():
        response = page.goto(f"{desk_url}{path}")
        assert response is not None and response.status == 200, (name, path)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if overflow(page) > 0:
            wide[name] = overflow(page)
    partner = signed_in(browser, desk_url, "hpjd", (width, height))
    for name, path in partner_pages(layout_db).items():
        response = partner.goto(f"{desk_url}{path}")
        assert response is not None and response.status == 200, (name, path)
        partner.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        if overflow(partner) > 0:
            wide[name] = overflow(partner)
    assert wide == {}, f"pages wider than {width}px: {wide}"
    page.goto(f"{desk_url}/login")  # the sign-in page, signed out
    page.context.clear_cookies()
    page.goto(f"{desk_url}/login")
    page.screenshot(path=str(SHOTS / f"login-{width}.png"), full_page=True)
    assert overflow(page) == 0


def test_the_queue_is_cards_with_a_large_take_button_on_a_phone(browser, desk_url):
    page = signed_in(browser, desk_url, "admin.zhou", SIZES["phone"])
    page.goto(f"{desk_url}/")
    button = page.locator("#queue td.action button").first
    button.wait_for()
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300  # thumb-sized, full width
    summary = page.locator("#queue td.summary").first.bounding_box()
    assert summary is not None and summary["width"] >= 200  # not one character wide
    assert not page.is_visible("#queue thead")
    desktop = signed_in(browser, desk_url, "admin.zhou", SIZES["desktop"])
    desktop.goto(f"{desk_url}/")
    assert desktop.is_visible("#queue thead")


def test_charts_keep_their_labels_whole_and_print_legibly(browser, desk_url, layout_db):
    page = signed_in(browser, desk_url, "clerk.sun", SIZES["phone"])
    page.goto(f"{desk_url}/stats/?area=city&start=2025-12-01&end=2026-11-30")
    labels = page.locator("ol.bars .label")
    assert labels.count() > 13
    for i in range(labels.count()):  # no label clipped: its text fits its box (it wraps instead)
        fits = labels.nth(i).evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        assert fits, labels.nth(i).inner_text()
    assert labels.first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 13

    # The type chart is sorted by count, largest first.
    values = [int(v.rstrip("件")) for v in page.locator("figure.chart:has(ol.bars)").first.locator("ol.bars .value").all_inner_texts()]
    assert values == sorted(values, reverse=True) and sum(values) > 0

    # Clicking a county's bar drills down, and the breadcrumb leads back up.
    page.click("ol.bars a:has-text('北安市')")
    page.wait_for_selector("text=北安市 · 2025年12月01日")
    assert page.locator("nav.crumbs a").first.inner_text() == "黑河市"

    page.emulate_media(media="print")
    assert page.is_visible(".print-header") and "黑河市中级人民法院 诉前调解统计" in page.inner_text(".print-header")
    assert "打印时间" in page.inner_text(".print-header")
    assert not page.is_visible("form.filters")
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('#report *')]
        .filter(e => e.offsetParent !== null && e.childNodes.length && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
    assert smallest >= 12, page.evaluate("""() => [...document.querySelectorAll('#report *')]
        .filter(e => e.offsetParent !== null && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .filter(e => parseFloat(getComputedStyle(e).fontSize) < 12)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + getComputedStyle(e).fontSize)""")  # 9 pt = 12 px
    numbered = page.evaluate("""() => [...document.styleSheets].some(sheet => [...sheet.cssRules]
        .some(rule => rule instanceof CSSPageRule && rule.cssText.includes('counter(pages)')))""")
    assert numbered
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "stats-county-print.pdf").write_bytes(pdf)


def test_the_area_picker_narrows_by_county_and_search(browser, desk_url):
    page = signed_in(browser, desk_url, "clerk.sun", SIZES["phone"])
    page.goto(f"{desk_url}/stats/")
    page.select_option('select[aria-label="先选县区"]', label="北安市")
    assert page.eval_on_selector('select[name="area"]', "s => s.selectedOptions[0].textContent").startswith("北安市")
    page.fill('input[aria-label="搜索乡镇或服务点"]', "通北")
    chosen = page.eval_on_selector('select[name="area"]', "s => s.selectedOptions[0].textContent")
    assert "通北" in chosen
    visible = page.eval_on_selector_all('select[name="area"] option', "os => os.filter(o => !o.hidden).length")
    assert visible < 10
    page.click('button:has-text("查看")')
    page.wait_for_selector("#report h2")
    assert "通北" in page.inner_text("#report h2")
