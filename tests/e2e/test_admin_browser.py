"""The admin pages in a real browser (Debian's Chromium, driven by Playwright): an admin
appoints a mediator through the form, suspends another who has an appointment ahead,
and sees it handed to a colleague.

The desk runs as its own process (`python -m desk`, as in production) on a database of
this module's own: suspending a mediator must not change what the other end-to-end
tests book. The admin pages never call Rasa, so no model or Rasa server is started.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from court.hotline import accounts
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import Appointment, Mediator
from stack.processes import Stack
from tests.conftest import SEED_DAY
from tests.court.admin.test_management import _book_with_colleague
from tests.factories import NOW

PASSWORD = "correct horse battery"
BROWSER = os.environ.get("DESK_TEST_BROWSER")
pytestmark = pytest.mark.skipif(not BROWSER, reason="DESK_TEST_BROWSER not set (bin/test sets it)")


@pytest.fixture(scope="module")
def admin_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('admin-e2e') / 'court.db'}")
    db.migrate()
    seed(db, today=SEED_DAY)
    with db.transaction() as s:
        accounts.create_user(s, "admin.zhou", PASSWORD, role="admin", display_name="周敏", actor="test")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def desk_url(admin_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Only the desk of the stack; the clock pinned to the tests' Monday morning.
    stack = Stack(Path("unused-model"), database_url=admin_db.url, log_dir=tmp_path_factory.mktemp("admin-logs"))
    try:
        yield stack.start_desk(extra_env={"DESK_SECRET_KEY": "admin-browser-test-secret",
                                          "COURT_FAKE_NOW": NOW.isoformat()})
    finally:
        stack.stop()


def logged_in(browser, desk_url: str, username: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.goto(f"{desk_url}/admin/mediators")
    assert "/login" in page.url  # no session, no admin pages
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_url("**/admin/mediators")
    page.wait_for_selector("text=调解员管理")
    return page


def test_an_admin_appoints_one_mediator_and_suspends_another(browser, desk_url, admin_db):
    with admin_db.transaction() as s:
        sp, owner, [appt] = _book_with_colleague(s, n=1)
        point_id, point_name, reference, appt_id = sp.id, sp.name, appt.case.reference, appt.id
        owner_name = s.get(Mediator, owner).name
    page = logged_in(browser, desk_url, "admin.zhou")

    page.click("#new-mediator")
    page.wait_for_url("**/admin/mediators/new")
    page.fill('input[name="name"]', "王小红")
    page.fill('input[name="phone"]', "13945612399")
    page.select_option('select[name="points"]', [str(point_id)])
    page.check('input[name="dispute_types"][value="family"]')
    page.check('input[name="dispute_types"][value="labor"]')
    page.fill('textarea[name="hours"]', "1-5 08:30-11:30\n1-5 13:30-16:30")
    page.click('button:has-text("确认选聘")')
    page.wait_for_url(re.compile(r".*/admin/mediators/\d+$"))
    assert "已选聘调解员王小红" in page.content()
    assert point_name in page.inner_text(".facts") and "139****2399" in page.inner_text(".facts")
    with admin_db.reader() as s:
        hired = s.execute(select(Mediator).where(Mediator.phone == "13945612399")).scalar_one()
        assert hired.status == "active" and [p.id for p in hired.service_points] == [point_id]

    page.goto(f"{desk_url}/admin/mediators/{owner}")
    assert reference in page.inner_text("#upcoming")
    page.fill('#suspend textarea[name="reason"]', "年度考核未通过")
    page.check('#suspend input[name="confirm"]')
    page.click('button:has-text("确认停用")')
    page.wait_for_selector("text=已停用；1个预约已转给其他调解员或服务点")
    with admin_db.reader() as s:
        old = s.get(Appointment, appt_id)
        [new] = [a for a in old.case.appointments if a.id != appt_id]
        assert old.status == "cancelled" and new.mediator_id != owner and new.starts_at == old.starts_at
        colleague_id, colleague = new.mediator_id, new.mediator.name
        assert s.get(Mediator, owner).status == "suspended"
    assert f"改派给调解员{colleague}" in page.content()
    assert page.inner_text("#mediator-status") == "已停用" and "没有未来的预约" in page.inner_text("#upcoming")

    # The colleague's page lists the appointment now; the list shows both changes.
    page.goto(f"{desk_url}/admin/mediators/{colleague_id}")
    assert reference in page.inner_text("#upcoming")
    page.goto(f"{desk_url}/admin/mediators?status=suspended")
    assert owner_name in page.inner_text("#mediators")


def test_a_points_qr_poster_prints_on_one_a4_page(browser, desk_url, admin_db):
    from court.messaging import poster_links
    from court.store.schema import ServicePoint

    with admin_db.reader() as s:
        point = s.execute(select(ServicePoint).where(ServicePoint.active.is_(True))
                          .order_by(ServicePoint.id.desc())).scalars().first()
        point_id, name, address = point.id, point.name, point.address
    page = logged_in(browser, desk_url, "admin.zhou")
    page.goto(f"{desk_url}/admin/points/{point_id}")
    page.click("#poster-link")
    page.wait_for_url(f"**/admin/points/{point_id}/poster")
    poster = page.locator("#poster")
    for fact in (name, address, "12368", "扫码"):
        assert fact in poster.inner_text()
    url = page.locator(".poster-url").inner_text().strip()
    assert poster_links.point_of(url.rsplit("/", 1)[1]) == point_id
    page.emulate_media(media="print")
    assert page.locator(".top").is_hidden() and page.locator("[data-print]").is_hidden()
    qr = page.locator(".poster-qr svg").bounding_box()
    assert qr["width"] >= 300  # about 105 mm at 96 px per inch: scannable across a room
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1  # one A4 sheet
