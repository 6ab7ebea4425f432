"""调解协议 on the desk: from a successful outcome to the agreement and the application
(printable page and DOCX, every field checked, the QR's verification URL), the public
verification page, the filing and the court's ruling, and the deadline warnings as
the one clock moves."""
from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
import segno
from docx import Document
from sqlalchemy import select

from court.core import clock
from court.hotline import accounts
from court.mediation import agreement_documents, document_links
from court.reference import legal
from court.store.schema import AuditEntry, Case, ConfirmationRequest
from desk import document_blocks
from tests.court.mediation.test_agreements import ID_A, ID_B
from tests.court.oversight.test_integrity import _jc_case
from tests.desk.test_desk_app import PASSWORD, _csrf, _login, app  # noqa: F401 - app is a fixture
from tests.factories import local

BASE = "https://desk.hhcourt.example"
FORM = {
    "organisation": "爱辉区西岗子镇人民调解委员会",
    "p1_name": "张三", "p1_id_number": ID_A, "p1_address": "黑河市爱辉区西岗子镇民主村12号",
    "p2_name": "李四", "p2_id_number": ID_B, "p2_address": "北安市和平街道兴华路8号",
    "facts": "李四家房屋漏水，浸湿张三家天花板，双方就赔偿协商不成。",
    "terms": "一、李四赔偿张三修缮费3000元。\r\n二、双方再无其他争议。",
    "performance": "2026年12月15日前一次付清",
    "effective_on": "2026-12-01",
}
FIELDS = ("爱辉区西岗子镇人民调解委员会", "张三", ID_A, "黑河市爱辉区西岗子镇民主村12号", "李四", ID_B,
          "北安市和平街道兴华路8号", "李四家房屋漏水，浸湿张三家天花板", "李四赔偿张三修缮费3000元", "双方再无其他争议",
          "2026年12月15日前一次付清", "2026年12月1日", "黑河市爱辉区人民法院")


@pytest.fixture(autouse=True)
def _desk_clock(monkeypatch):  # type: ignore[no-untyped-def]
    # The outcomes are recorded on Tuesday 1 December; the desk works the day after.
    monkeypatch.setenv("COURT_FAKE_NOW", local(dt.date(2026, 12, 2), 9).isoformat())
    monkeypatch.setenv("DESK_PUBLIC_URL", BASE + "/")
    monkeypatch.setenv("COURT_DOCUMENT_KEY", "this-court-s-document-key")


def _case(db, result: str = "success") -> tuple[int, str, str]:
    with db.transaction() as s:
        appt, _ = _jc_case(s, result)
        return appt.case.id, appt.case.reference, appt.mediator.name


def _post(client, path: str, data: dict):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": _csrf(client, "/agreements")})


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def _drafted(app, db):  # type: ignore[no-untyped-def]  # noqa: F811
    case_id, reference, mediator = _case(db)
    client = _login(app)
    response = _post(client, f"/agreements/{case_id}", FORM)
    assert response.status_code == 302, _text(response)
    return client, case_id, reference, mediator


def test_a_successful_case_is_listed_and_its_draft_starts_from_the_outcome(app, db) -> None:  # noqa: F811
    case_id, reference, _ = _case(db)
    _case(db, "failed")
    client = _login(app)
    listing = _text(client.get("/agreements"))
    assert reference in listing and "待制作" in listing and listing.count("<tr class=") == 1
    page = _text(client.get(f"/agreements/{case_id}"))
    assert "填写调解协议书" in page and 'value="2026-12-01"' in page
    assert "调解工作服务点" in page or "服务点" in page


def test_the_form_names_every_problem_in_chinese(app, db) -> None:  # noqa: F811
    case_id, _, _ = _case(db)
    client = _login(app)
    bad = dict(FORM, p1_id_number="231102199501010017", terms="", p2_address="")
    response = _post(client, f"/agreements/{case_id}", bad)
    text = _text(response)
    assert response.status_code == 422
    for part in ("第1方当事人身份证号码", "请填写协议内容", "请填写第2方当事人住址"):
        assert part in text
    with db.reader() as s:
        assert s.execute(select(AuditEntry).where(AuditEntry.entity_type == "agreement")).first() is None


def _verify_url(text: str) -> str:
    return re.search(r"扫码或访问以下网址核验：(https://desk\.hhcourt\.example/verify/[A-Za-z0-9_-]+)", text).group(1)


@pytest.mark.parametrize("kind,title", [("agreement", "人民调解协议书"), ("application", "司法确认申请书")])
def test_the_printable_page_and_the_docx_carry_every_field_and_the_verification_url(app, db, kind, title) -> None:  # noqa: F811
    client, case_id, reference, mediator = _drafted(app, db)
    page = client.get(f"/agreements/{case_id}/{kind}/print")
    text = _text(page)
    assert page.status_code == 200 and title in text and "<svg" in text and "data-print" in text
    for field in FIELDS + (reference, "第1版"):
        assert field in text, field
    if kind == "agreement":
        assert mediator in text and "人民调解委员会印章" in text
        # What it says about the law is the legal table's (no time limit or article of its own).
        assert "双方认为有必要的，可以自调解协议生效之日起30日内共同向法院申请司法确认。" in text
        with db.reader() as s:
            docs = agreement_documents.for_reference(s, reference, now=clock.now())
        entered = (docs.facts, docs.terms, docs.performance)
        fixed = [b.text for b in document_blocks.agreement(docs) if b.text not in entered]
        assert legal.audit("\n".join(fixed)) == []
    else:
        assert "请求确认申请人于2026年12月1日经爱辉区西岗子镇人民调解委员会调解达成的调解协议有效" in text
        assert "恶意串通" in text and "此致" in text
    url = _verify_url(text)
    ref = document_links.read(url.rsplit("/", 1)[1])
    assert ref is not None and (ref.kind, ref.revision) == (kind, 1)
    # segno cannot decode; the page's QR code is exactly the one segno makes of that URL.
    qr = segno.make_qr(url, error="m")
    assert qr.svg_inline(scale=3, border=2, title=f"扫码核验{title}") in text
    code = re.search(r"文书校验码：([0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4})", text).group(1)

    download = client.get(f"/agreements/{case_id}/{kind}.docx")
    assert download.status_code == 200 and download.mimetype.endswith("wordprocessingml.document")
    assert f"{reference}-" in download.headers["Content-Disposition"]
    doc = Document(io.BytesIO(download.data))
    body = "\n".join(p.text for p in doc.paragraphs)
    for field in FIELDS + (reference, title, code, url):
        assert field in body, field
    assert len(doc.inline_shapes) == 1  # the QR code, the PNG segno makes of the URL
    png = io.BytesIO()
    qr.save(png, kind="png", scale=4, border=2)
    assert [part.blob for part in doc.part.package.parts if part.partname.endswith(".png")] == [png.getvalue()]
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_the_verification_page_is_public_and_shows_no_personal_data(app, db) -> None:  # noqa: F811
    client, case_id, reference, _ = _drafted(app, db)
    url = _verify_url(_text(client.get(f"/agreements/{case_id}/application/print")))
    public = app.test_client()
    response = public.get(url.replace(BASE, ""))
    text = _text(response)
    assert response.status_code == 200 and 'data-current="yes"' in text
    for fact in (reference, "司法确认申请书（第1版）", "2026-12-02", "与系统中的现行版本一致"):
        assert fact in text
    for secret in ("张三", ID_A, "民主村", "3000"):
        assert secret not in text
    token = url.rsplit("/", 1)[1]
    assert public.get(f"/verify/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}").status_code == 404
    # A revision makes the printed copy an old one.
    assert _post(client, f"/agreements/{case_id}", dict(FORM, terms="李四赔偿张三3500元。")).status_code == 302
    again = _text(public.get(url.replace(BASE, "")))
    assert 'data-current="no"' in again and "第2版" in again


def test_filing_and_the_ruling_are_recorded_and_audited(app, db) -> None:  # noqa: F811
    client, case_id, reference, _ = _drafted(app, db)
    assert _post(client, f"/agreements/{case_id}/file", {"filed_on": "2026-12-02"}).status_code == 302
    page = _text(client.get(f"/agreements/{case_id}"))
    assert "2026-12-02向黑河市爱辉区人民法院提交申请（截止2026-12-31）" in page and 'data-kind="filed"' in page
    assert "已提交0天，待法院决定" in _text(client.get("/agreements"))
    refused = _post(client, f"/agreements/{case_id}/result", {"result": "rejected", "decided_on": "2026-12-02"})
    assert "驳回的理由" in _text(client.get(refused.headers["Location"]))
    _post(client, f"/agreements/{case_id}/result",
          {"result": "rejected", "decided_on": "2026-12-02", "reason": "协议内容涉及确认房屋所有权"})
    page = _text(client.get(f"/agreements/{case_id}"))
    assert "法院裁定驳回申请：协议内容涉及确认房屋所有权" in page
    with db.reader() as s:
        request = s.execute(select(ConfirmationRequest)).scalar_one()
        assert (request.result, request.recorded_by) == ("rejected", "desk:li")
        assert s.execute(select(Case.status).where(Case.id == case_id)).scalar_one() == "jc_requested"
        actions = s.execute(select(AuditEntry.action).where(AuditEntry.entity_type.in_(("agreement", "confirmation")))
                            .order_by(AuditEntry.id)).scalars().all()
    assert actions == ["agreement.draft", "confirmation.file", "confirmation.rejected"]


@pytest.mark.parametrize("today,kind,words", [
    (dt.date(2026, 12, 20), "open", "距申请司法确认截止还有11天"),
    (dt.date(2026, 12, 28), "near", "距申请司法确认截止还有3天"),
    (dt.date(2026, 12, 31), "near", "今天（2026-12-31）是申请司法确认的最后一天"),
    (dt.date(2027, 1, 4), "past", "已超过申请期限4天"),
])
def test_the_deadline_warning_follows_the_court_s_clock(app, db, monkeypatch, today, kind, words) -> None:  # noqa: F811
    _, case_id, _, _ = _drafted(app, db)
    monkeypatch.setenv("COURT_FAKE_NOW", local(today, 9).isoformat())
    client = _login(app)  # the day before's session has expired
    page = _text(client.get(f"/agreements/{case_id}"))
    assert f'data-kind="{kind}"' in page and words in page
    assert f'class="jc-{kind}"' in _text(client.get("/agreements"))


def test_only_the_hotline_roles_open_agreements(app, db) -> None:  # noqa: F811
    case_id, _, _ = _case(db)
    with db.transaction() as s:
        accounts.create_user(s, "zhao", PASSWORD, display_name="赵会计", role="clerk", now=clock.now())
    clerk = app.test_client()
    clerk.post("/login", data={"username": "zhao", "password": PASSWORD, "csrf_token": _csrf(clerk)})
    for path in ("/agreements", f"/agreements/{case_id}", f"/agreements/{case_id}/agreement.docx"):
        assert clerk.get(path).status_code == 403
    assert app.test_client().get("/agreements").status_code == 302  # signed out: to the login page
    agent = _login(app)
    assert agent.get("/agreements/999999").status_code == 404
    assert agent.get(f"/agreements/{case_id}/agreement/print").status_code == 404  # nothing drafted yet
    assert agent.get(f"/agreements/{case_id}/other/print").status_code == 404
