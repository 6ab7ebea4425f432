"""调解协议 in a real browser (Debian's Chromium through Playwright): an agent fills in the
agreement of a successful case, opens the printable agreement and prints it to PDF on
one or two A4 pages, with its verification QR code; the application likewise.

The desk runs as its own process on a database of this module's own, its clock
pinned to the day after the mediation."""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from court.hotline import accounts
from court.mediation import document_links
from court.seeding.seed import seed
from court.store.db import Database
from stack.processes import Stack
from tests.conftest import SEED_DAY
from tests.court.oversight.test_integrity import _jc_case
from tests.desk.test_agreement_pages import FIELDS, FORM
from tests.factories import local

PASSWORD = "correct horse battery"
BROWSER = os.environ.get("DESK_TEST_BROWSER")
DESK_PUBLIC = "https://desk.hhcourt.example"
pytestmark = pytest.mark.skipif(not BROWSER, reason="DESK_TEST_BROWSER not set (bin/test sets it)")


@pytest.fixture(scope="module")
def agreement_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('agreement-e2e') / 'court.db'}")
    db.migrate()
    seed(db, today=SEED_DAY)
    with db.transaction() as s:
        accounts.create_user(s, "li.min", PASSWORD, role="agent", display_name="李敏", actor="test")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def desk_url(agreement_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(Path("unused-model"), database_url=agreement_db.url,
                  log_dir=tmp_path_factory.mktemp("agreement-logs"))
    try:
        yield stack.start_desk(extra_env={
            "DESK_SECRET_KEY": "agreement-browser-test-secret", "DESK_PUBLIC_URL": DESK_PUBLIC,
            "COURT_DOCUMENT_KEY": "agreement-browser-document-key",
            "COURT_FAKE_NOW": local(dt.date(2026, 12, 2), 9).isoformat()})
    finally:
        stack.stop()


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_an_agent_drafts_the_agreement_and_prints_it_on_a4(browser, desk_url, agreement_db, monkeypatch):
    monkeypatch.setenv("COURT_DOCUMENT_KEY", "agreement-browser-document-key")
    with agreement_db.transaction() as s:
        appt, _ = _jc_case(s, "success")
        reference = appt.case.reference
    page = browser.new_context().new_page()
    page.goto(f"{desk_url}/agreements")
    page.fill('input[name="username"]', "li.min")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_url("**/agreements")
    page.click(f"text={reference}")
    page.wait_for_selector("#agreement-form")
    for name, value in FORM.items():
        if name == "effective_on":
            page.fill(f'input[name="{name}"]', value)
        elif name in ("facts", "terms", "performance"):
            page.fill(f'textarea[name="{name}"]', value.replace("\r\n", "\n"))
        else:
            page.fill(f'input[name="{name}"]', value)
    page.click('button:has-text("保存调解协议书")')
    page.wait_for_selector("#documents")
    assert "黑河市爱辉区人民法院" in page.inner_text("#court")
    assert page.get_attribute("#deadline", "data-kind") == "open"

    for kind, title in (("agreement", "人民调解协议书"), ("application", "司法确认申请书")):
        page.goto(f"{desk_url}/agreements")
        page.click(f"text={reference}")
        page.click(f'#documents a[href$="/{kind}/print"]')
        page.wait_for_selector("#document")
        text = page.inner_text("#document")
        for field in FIELDS + (reference, title):
            assert field in text, field
        url = re.search(r"(https://desk\.hhcourt\.example/verify/\S+)", text).group(1)
        ref = document_links.read(url.rsplit("/", 1)[1])
        assert ref is not None and ref.kind == kind
        page.emulate_media(media="print")
        assert page.locator(".top").is_hidden() and page.locator("[data-print]").is_hidden()
        qr = page.locator(".doc-qr svg").bounding_box()
        assert qr["width"] >= 80  # about 25 mm at 96 px per inch: a phone scans it from the sheet
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        print(f"{kind}: {_pages(pdf)} A4 page(s), {len(pdf)} bytes")
        assert pdf.startswith(b"%PDF") and 1 <= _pages(pdf) <= 2, _pages(pdf)
        page.emulate_media(media="screen")

        # The printed copy's QR code opens the public verification page.
        public = browser.new_context().new_page()
        public.goto(desk_url + url.replace(DESK_PUBLIC, ""))
        assert public.get_attribute("#verify-result", "data-current") == "yes"
        assert reference in public.inner_text("#v-reference") and title in public.inner_text("#v-kind")
        public.context.close()
