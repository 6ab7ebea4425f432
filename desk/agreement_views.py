"""调解协议与司法确认: from a case with a successful outcome the desk drafts the people's
mediation agreement and the joint application for judicial confirmation, prints them
(A4 page, DOCX), records the filing and the court's ruling, and warns when the 30-day
deadline is near or past on the court's clock.

Pages are addressed by the case's id, never its reference (not in URLs or logs). The
verification page /verify/<token> is public: what a printed QR code opens, it shows
the reference, the kind of document, its date and check code, and no personal data.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable

import segno
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import OperationalError

from court.core import clock
from court.core.errors import CourtError, NotFound, PermissionDenied
from court.core.timeutil import to_local
from court.mediation import agreement_documents, agreements, confirmations
from court.reference.guidance import card
from court.store.db import IntegrityConflict
from court.store.schema import Case
from desk import document_blocks, docx_render
from desk.admin_forms import flash_errors
from desk.agreement_forms import AgreementForm, FileForm, ResultForm
from desk.auth import HOTLINE, restrict
from desk.extensions import court_db

log = logging.getLogger(__name__)
agreements_bp = Blueprint("agreements", __name__, url_prefix="/agreements")
restrict(agreements_bp, HOTLINE)
verify_bp = Blueprint("verify", __name__)

BUSY = "刚才有其他人同时修改了这份协议，请刷新页面后重试。"
KINDS = ("agreement", "application")


def desk_base() -> str:
    """The desk's public address (DESK_PUBLIC_URL), printed in the documents' QR codes."""
    return (os.environ.get("DESK_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/")



def _actor() -> str:
    return f"desk:{current_user.username}"


def _write(action: Callable[[Any], Any]) -> bool:
    """One transaction; refusals are flashed in Chinese and nothing is half done."""
    try:
        with court_db().transaction() as s:
            action(s)
        return True
    except (PermissionDenied, NotFound):
        raise
    except CourtError as exc:
        flash(exc.message, "error")
    except (IntegrityConflict, OperationalError) as exc:
        log.warning("agreement change refused: %s", type(exc).__name__)
        flash(BUSY, "error")
    return False


def _reference(s, case_id: int) -> str:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound()
    return case.reference


@agreements_bp.route("")
def index():
    with court_db().reader() as s:
        rows = confirmations.overview(s, now=clock.now())
    return render_template("agreements.html", rows=rows, label=lambda t: card(t).label)


def _form_from(data: agreements.AgreementInput) -> AgreementForm:
    p = list(data.parties) + [agreements.PartyInput("", "", "")] * 2
    return AgreementForm(formdata=None, organisation=data.organisation, facts=data.facts, terms=data.terms,
                         performance=data.performance, effective_on=data.effective_on, intermediate=data.intermediate,
                         p1_name=p[0].name, p1_id_number=p[0].id_number, p1_address=p[0].address,
                         p2_name=p[1].name, p2_id_number=p[1].id_number, p2_address=p[1].address)


def _input(form: AgreementForm) -> agreements.AgreementInput:
    parties = [agreements.PartyInput(getattr(form, f"p{n}_name").data or "",
                                     getattr(form, f"p{n}_id_number").data or "",
                                     getattr(form, f"p{n}_address").data or "") for n in (1, 2)]
    return agreements.AgreementInput(organisation=form.organisation.data or "", parties=parties,
                                     facts=form.facts.data or "", terms=form.terms.data or "",
                                     performance=form.performance.data or "", effective_on=form.effective_on.data,
                                     intermediate=bool(form.intermediate.data))


def _page(case_id: int, form: AgreementForm | None = None, status: int = 200):
    now = clock.now()
    with court_db().reader() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound()
        agreement = agreements.of_case(s, case)
        try:
            defaults = agreements.form_defaults(s, case)
        except CourtError as exc:
            flash(exc.message, "error")
            return redirect(url_for("agreements.index"))
        if form is None:
            form = _form_from(_stored(agreement) if agreement is not None else defaults)
        jc = agreements.request_of(s, agreement) if agreement is not None else None
        state = confirmations.deadline_state(s, agreement, jc, now=now) if agreement is not None else None
        docs = agreement_documents.build(s, case, agreement, now=now) if agreement is not None else None
        view = {
            "case_id": case.id, "reference": case.reference, "dispute": card(case.dispute_type).label,
            "mediator": case.mediator.name if case.mediator else "", "point": case.service_point.name
            if case.service_point else "", "status": case.status,
        }
        filed = None if jc is None else {
            "filed_on": jc.filed_on, "deadline": jc.deadline, "court": jc.court.name,
            "result": jc.result, "reason": jc.reason, "decided_on": jc.decided_on}
    today = to_local(now).date()
    return render_template("agreement.html", case=view, form=form, docs=docs, state=state, filed=filed,
                           file_form=FileForm(formdata=None, filed_on=today),
                           result_form=ResultForm(formdata=None, decided_on=today)), status


def _stored(agreement) -> agreements.AgreementInput:
    return agreements.AgreementInput(
        organisation=agreement.organisation, facts=agreement.facts, terms=agreement.terms,
        performance=agreement.performance, effective_on=agreement.effective_on, intermediate=agreement.intermediate,
        parties=[agreements.PartyInput(p.name or "", p.id_number or "", p.address or "") for p in agreement.parties])


@agreements_bp.route("/<int:case_id>", methods=["GET", "POST"])
def edit(case_id: int):
    if request.method != "POST":
        return _page(case_id)
    form = AgreementForm()
    if not form.validate():
        flash_errors(form)
        return _page(case_id, form, 422)

    def save(s):
        agreements.save(s, _reference(s, case_id), _input(form), actor=_actor(), now=clock.now())

    if not _write(save):
        return _page(case_id, form, 422)
    flash("调解协议书已保存。打印前请核对各方信息。", "info")
    return redirect(url_for("agreements.edit", case_id=case_id))


@agreements_bp.route("/<int:case_id>/file", methods=["POST"])
def file(case_id: int):
    form = FileForm()
    if not form.validate():
        flash_errors(form)
    elif _write(lambda s: confirmations.file(s, _reference(s, case_id), filed_on=form.filed_on.data, actor=_actor(),
                                             now=clock.now())):
        flash("已登记司法确认申请。", "info")
    return redirect(url_for("agreements.edit", case_id=case_id))


@agreements_bp.route("/<int:case_id>/result", methods=["POST"])
def result(case_id: int):
    form = ResultForm()
    if not form.validate():
        flash_errors(form)
    elif _write(lambda s: confirmations.record_result(
            s, _reference(s, case_id), result=form.result.data, decided_on=form.decided_on.data,
            reason=form.reason.data, actor=_actor(), now=clock.now())):
        flash("已登记法院的决定。", "info")
    return redirect(url_for("agreements.edit", case_id=case_id))


def _documents(case_id: int, kind: str):
    if kind not in KINDS:
        raise NotFound()
    with court_db().reader() as s:
        docs = agreement_documents.for_reference(s, _reference(s, case_id), now=clock.now())
    return docs, desk_base() + docs.verify_path(kind)


@agreements_bp.route("/<int:case_id>/<kind>/print")
def printable(case_id: int, kind: str):
    """The document as an A4 page to print (or save as PDF) from the browser."""
    docs, url = _documents(case_id, kind)
    qr = Markup(segno.make_qr(url, error="m").svg_inline(scale=3, border=2, title=f"扫码核验{docs.title(kind)}"))
    return render_template("agreement_print.html", docs=docs, kind=kind, blocks=document_blocks.blocks(docs, kind),
                           footer=document_blocks.footer(docs, url), url=url, qr=qr, case_id=case_id)


@agreements_bp.route("/<int:case_id>/<kind>.docx")
def docx(case_id: int, kind: str):
    docs, url = _documents(case_id, kind)
    name = f"{docs.reference}-{'agreement' if kind == 'agreement' else 'jc-application'}-v{docs.revision}.docx"
    return Response(docx_render.render(docs, kind, url),
                    mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@verify_bp.route("/verify/<token>")
def verify(token: str):
    """Public: what the court holds about a printed copy whose QR code was scanned."""
    with court_db().reader() as s:
        seen = agreement_documents.verify(s, token)
    if seen is None:
        return render_template("verify.html", seen=None), 404
    return render_template("verify.html", seen=seen)
