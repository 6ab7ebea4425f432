"""The court calendar in a real browser (Debian's Chromium, driven by Playwright): in December an
admin sees that next year is missing, enters the Spring Festival and its adjusted working Sunday,
publishes the year, and the booking engine then offers the Sunday and none of the festival.

The desk runs as its own process on a database of this module's own, its clock in December.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from court.booking import slots
from court.core.timeutil import to_local
from court.hotline import accounts
from court.records import workcalendar
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import AuditEntry, ServicePoint
from stack.processes import Stack
from tests.conftest import SEED_DAY
from tests.e2e.test_admin_browser import PASSWORD, logged_in
from tests.factories import local

BROWSER = os.environ.get("DESK_TEST_BROWSER")
pytestmark = pytest.mark.skipif(not BROWSER, reason="DESK_TEST_BROWSER not set (bin/test sets it)")
DECEMBER = "2026-12-07T09:00:00+08:00"


@pytest.fixture(scope="module")
def calendar_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('calendar-e2e') / 'court.db'}")
    db.migrate()
    seed(db, today=SEED_DAY)
    with db.transaction() as s:
        accounts.create_user(s, "admin.zhou", PASSWORD, role="admin", display_name="周敏", actor="test")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def desk_url(calendar_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(Path("unused-model"), database_url=calendar_db.url,
                  log_dir=tmp_path_factory.mktemp("calendar-logs"))
    try:
        yield stack.start_desk(extra_env={"DESK_SECRET_KEY": "calendar-browser-test-secret",
                                          "COURT_FAKE_NOW": DECEMBER})
    finally:
        stack.stop()


def test_an_admin_enters_and_publishes_next_year(browser, desk_url, calendar_db):
    page = logged_in(browser, desk_url, "admin.zhou")
    warning = page.wait_for_selector("#calendar-warning")
    assert "2027年的节假日安排还没有录入发布" in warning.inner_text()

    page.click('#calendar-warning a:has-text("去录入")')
    page.wait_for_url("**/admin/calendar/2027")
    page.fill('#holiday-form input[name="name"]', "春节")
    page.fill('#holiday-form input[name="first"]', "2027-02-05")
    page.fill('#holiday-form input[name="last"]', "2027-02-13")
    page.click('#holiday-form button')
    page.wait_for_selector("text=已录入春节放假：2月5日至2月13日")
    page.fill('#adjusted-form input[name="day"]', "2027-02-14")
    page.click('#adjusted-form button')
    page.wait_for_selector("text=已录入调休上班日：2月14日")
    assert len(page.query_selector_all("#calendar-days tbody tr")) == 10
    assert "周日" in page.inner_text('#calendar-days tr[data-day="2027-02-14"]')

    page.fill('#publish-form input[name="source"]', "测试用安排")
    page.click('#publish-form button')
    page.wait_for_selector("text=请勾选确认")  # not published without the check
    with calendar_db.reader() as s:
        assert not workcalendar.of(s).is_published(2027)
    page.fill('#publish-form input[name="source"]', "测试用安排")
    page.check('#publish-form input[name="confirm"]')
    page.click('#publish-form button')
    page.wait_for_selector("text=2027年的节假日安排已发布")
    assert page.query_selector("#calendar-warning") is None
    page.click('nav a:has-text("节假日安排")')
    assert "已发布" in page.inner_text('#calendar-years tr:has-text("2027年")')

    with calendar_db.reader() as s:
        assert workcalendar.of(s).is_published(2027)
        assert s.execute(select(AuditEntry.actor).where(AuditEntry.action == "calendar.publish")).scalar_one() \
            == "desk:admin.zhou"
        sp = s.execute(select(ServicePoint).where(ServicePoint.code == "SP-231102101")).scalar_one()
        first = slots.earliest_slots(s, sp.id, now=local(dt.date(2027, 2, 4), 17), count=1)[0]
        assert to_local(first.starts_at).date() == dt.date(2027, 2, 14)
