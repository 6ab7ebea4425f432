"""接诉即办 in a real browser (Debian's Chromium, driven by Playwright), on SQLite and PostgreSQL:
a township files a request on a Friday afternoon; the housekeeping process, on the one clock
moved past the court's response time (3 working days: the end of Wednesday), alerts the desk once;
a clerk assigns the request and answers it; the township rates the answer; the clerk closes it
and the month's figures count it.

The desk and the housekeeping jobs run as their own processes on the test's database, their clock
a file the test moves (COURT_FAKE_NOW=@FILE).
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

from court.core import clock as court_clock
from court.hotline import accounts, support_requests
from court.store.db import Database
from court.store.schema import OutboxMessage, Place, SupportRequest
from stack.processes import Stack
from tests.factories import local

BROWSER = os.environ.get("DESK_TEST_BROWSER")
pytestmark = pytest.mark.skipif(not BROWSER, reason="DESK_TEST_BROWSER not set (bin/test sets it)")
PASSWORD = "correct horse 12368"
FRIDAY = local(dt.date(2026, 12, 4), 16)
DEADLINE = local(dt.date(2026, 12, 10), 0)  # the end of Wednesday: Monday, Tuesday, Wednesday


@pytest.fixture
def court(db: Database, tmp_path: Path) -> Iterator[tuple[str, Database, court_clock.FileClock, Stack]]:
    with db.transaction() as s:
        town = s.execute(select(Place.id).where(Place.name == "西岗子镇", Place.level == "town")).scalar_one()
        org = support_requests.create_organisation(s, "西岗子镇人民政府", "township", place_id=town, actor="test",
                                                   now=FRIDAY)
        accounts.create_user(s, "xgz", PASSWORD, role="partner", display_name="西岗子镇综治办", now=FRIDAY,
                             organisation_id=org.id)
        accounts.create_user(s, "clerk.wang", PASSWORD, role="clerk", display_name="王书记员", now=FRIDAY)
    clock = court_clock.FileClock(tmp_path / "clock")
    clock.set(FRIDAY)
    env = {"COURT_FAKE_NOW": clock.env, "DESK_SECRET_KEY": "requests-browser-test-secret",
           "HOUSEKEEPING_INTERVAL": "0.5", "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}"}
    stack = Stack(Path("unused-model"), database_url=db.url, log_dir=tmp_path / "logs", extra_env=env)
    try:
        url = stack.start_desk()
        stack.restart_housekeeping()  # the scheduled jobs alone (no Rasa here: its passes just find nothing)
        yield url, db, clock, stack
    finally:
        stack.stop()


def _sign_in(browser, url: str, username: str, lands: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.goto(f"{url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_url(f"**{lands}")
    return page


def _alerts(db: Database) -> int:
    with db.reader() as s:
        return s.execute(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.template == support_requests.ALERT_TEMPLATE)).scalar_one()


def _wait_for(check, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_township_files_the_court_answers_late_and_the_township_rates(browser, court) -> None:
    url, db, clock, stack = court
    township = _sign_in(browser, url, "xgz", "/partner/requests")
    nav = township.inner_text("nav")
    assert "接诉即办" in nav and "排队列表" not in nav and "统计" not in nav
    township.check('input[name="kind"][value="mediation_guidance"]')
    township.fill('textarea[name="description"]', "两户因宅基地边界争执，村调委会调解两次未成，请法官到场指导。")
    township.click('#file-request button')
    township.wait_for_selector("text=诉求已提交")
    facts = township.inner_text("#request-facts")
    assert "待分派" in facts and "2026-12-10 00:00 前" in facts
    with db.reader() as s:
        rid = s.execute(select(SupportRequest.id)).scalar_one()
    assert township.url.endswith(f"/partner/requests/{rid}")

    # A minute before the deadline the housekeeping passes find nothing late; at the deadline, one alert.
    clock.set(DEADLINE - dt.timedelta(minutes=1))
    time.sleep(2)  # several passes
    assert _alerts(db) == 0
    clock.set(DEADLINE)
    _wait_for(lambda: _alerts(db) == 1)
    time.sleep(1.5)
    assert _alerts(db) == 1  # once, however many passes

    # Thursday morning the clerk signs in (the township's Friday session has long expired).
    clock.set(DEADLINE + dt.timedelta(hours=9, minutes=1))
    clerk = _sign_in(browser, url, "clerk.wang", "/stats/")
    clerk.click('nav a:has-text("接诉即办")')
    clerk.wait_for_url("**/requests/")
    assert "1条诉求已超过答复期限" in clerk.inner_text("#late-count")
    row = clerk.inner_text(f'#requests tr[data-request="{rid}"]')
    assert "西岗子镇人民政府" in row and "指导调解" in row and "超时" in row and "5天17小时" in row
    clerk.click(f'#requests tr[data-request="{rid}"] a')
    clerk.wait_for_url(f"**/requests/{rid}")
    with db.reader() as s:
        wang = dict((label, i) for i, label in support_requests.handlers(s))["王书记员（clerk.wang）"]
    clerk.select_option('select[name="assignee"]', str(wang))
    clerk.click('#assign-form button')
    clerk.wait_for_selector("text=已分派。")
    assert "王书记员" in clerk.inner_text("#assignee")
    clerk.fill('textarea[name="reply"]', "已安排立案庭张法官12月11日上午到村指导调解，请通知双方到场。")
    clerk.click('#answer-form button')
    clerk.wait_for_selector("text=答复已发送给提出单位。")
    assert "已答复" in clerk.inner_text("#request-facts")

    township.reload()
    assert "/login" in township.url  # signed out by the days without a click
    township = _sign_in(browser, url, "xgz", "/partner/requests")
    assert "已答复" in township.inner_text(f'#my-requests tr[data-request="{rid}"]')
    township.click(f'#my-requests tr[data-request="{rid}"] a')
    assert "张法官12月11日上午到村" in township.inner_text("#reply")
    township.check('#rate-form input[name="rating"][value="4"]')
    township.click('#rate-form button')
    township.wait_for_selector("text=感谢评价。")
    assert "您的评价：满意" in township.inner_text("#rated")
    assert township.query_selector("#rate-form") is None

    clerk.reload()
    assert "满意" in clerk.inner_text("#rating")
    clerk.click('#close-form button')
    clerk.wait_for_selector("text=已办结。")

    clerk.goto(f"{url}/stats/?area=city&start=2026-12-01&end=2026-12-31")
    figures = clerk.inner_text("#request-figures")
    assert "收到诉求" in figures and "1 件" in figures and "4 分（1 条评价，满意 100.0%）" in figures
    assert "西岗子镇" in clerk.inner_text("#requests-by-township")
    with db.reader() as s:
        row = s.get(SupportRequest, rid)
        assert (row.status, row.rating) == ("closed", 4)
        # The clock runs on from where the test set it: a pass or a click takes a few seconds.
        assert DEADLINE <= row.overdue_alerted_at < DEADLINE + dt.timedelta(seconds=30)
        # Filed Friday 16:00, answered Thursday 09:00: 137 hours.
        late = row.answered_at - row.filed_at
        assert dt.timedelta(hours=137) <= late < dt.timedelta(hours=137, minutes=2)
    assert _alerts(db) == 1
