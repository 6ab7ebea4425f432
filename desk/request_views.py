"""接诉即办 on the desk: partner accounts (townships, departments, mediation organisations) file
requests, follow them and rate the answers, seeing nothing else of the desk; the court's clerks
and admins work the queue (assign, answer, close)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from court.core import clock, settings
from court.core.errors import NotFound, ValidationError
from court.core.timeutil import to_local
from court.hotline import support_requests
from court.records import workcalendar
from court.store.schema import PartnerOrganisation
from desk.auth import OVERSIGHT, PARTNER, restrict
from desk.extensions import court_db
from desk.request_forms import AnswerForm, AssignForm, CloseRequestForm, FileRequestForm, RateForm

partner_bp = Blueprint("partner", __name__, url_prefix="/partner")
restrict(partner_bp, PARTNER)
requests_bp = Blueprint("requests", __name__, url_prefix="/requests")
restrict(requests_bp, OVERSIGHT)

# WTForms' own messages are English; a choice it could not read gets these.
FALLBACK = {"kind": "请选择诉求类型。", "rating": "请选择满意程度。", "assignee": "请选择承办的法官或书记员。",
            "held_on": "培训日期格式不对，请按“年-月-日”填写。", "study_hours": "学时要是数字，例如 3 或 1.5。",
            "attendees": "请勾选参加培训的调解员。"}



def when(moment: Optional[dt.datetime]) -> str:
    return "" if moment is None else f"{to_local(moment):%Y-%m-%d %H:%M}"


def flash_form(form: FlaskForm) -> None:
    for name, errors in form.errors.items():
        message = errors[0] if errors and any("\u4e00" <= ch <= "\u9fff" for ch in str(errors[0])) else None
        flash(message or FALLBACK.get(name, "填写的内容有误，请检查后重试。"), "error")


# --- the organisation's pages ---------------------------------------------------------------------------------


@partner_bp.route("/requests", methods=["GET", "POST"])
@login_required
def mine():
    form = FileRequestForm()
    if form.is_submitted():
        if not form.validate():
            flash_form(form)
        else:
            try:
                with court_db().transaction() as s:
                    row = support_requests.file(s, current_user.user, kind=form.kind.data,
                                                description=form.description.data, now=clock.now())
                    request_id = row.id
            except ValidationError as exc:
                flash(exc.message, "error")
            else:
                flash(f"诉求已提交（编号 {request_id}），法院会在{settings.REQUEST_RESPONSE_DAYS}"
                      "个工作日内答复。", "info")
                return redirect(url_for("partner.detail", request_id=request_id))
    with court_db().reader() as s:
        items = support_requests.mine(s, current_user.user, now=clock.now(), calendar=workcalendar.of(s))
        organisation = _organisation_name(s)
    return render_template("partner_requests.html", form=form, items=items, when=when, organisation=organisation,
                           days=settings.REQUEST_RESPONSE_DAYS)


def _organisation_name(session) -> str:
    org = session.get(PartnerOrganisation, current_user.organisation_id)
    return org.name if org is not None else ""


@partner_bp.route("/requests/<int:request_id>")
@login_required
def detail(request_id: int):
    with court_db().reader() as s:
        item = support_requests.my_request(s, current_user.user, request_id, now=clock.now(),
                                           calendar=workcalendar.of(s))
    return render_template("partner_request.html", r=item, form=RateForm(), when=when)


@partner_bp.route("/requests/<int:request_id>/rate", methods=["POST"])
@login_required
def rate(request_id: int):
    form = RateForm()
    if not form.validate_on_submit():
        flash_form(form)
    else:
        try:
            with court_db().transaction() as s:
                support_requests.rate(s, current_user.user, request_id, form.rating.data, now=clock.now())
        except NotFound:
            raise
        except ValidationError as exc:
            flash(exc.message, "error")
        else:
            flash("感谢评价。", "info")
    return redirect(url_for("partner.detail", request_id=request_id))


# --- the court's queue ------------------------------------------------------------------------------------------


@requests_bp.route("/")
@login_required
def queue():
    with court_db().reader() as s:
        items = support_requests.queue(s, now=clock.now(), calendar=workcalendar.of(s))
    late = sum(1 for i in items if i.late)
    return render_template("requests_queue.html", items=items, late=late, when=when,
                           days=settings.REQUEST_RESPONSE_DAYS)


@requests_bp.route("/<int:request_id>")
@login_required
def show(request_id: int):
    with court_db().reader() as s:
        item = support_requests.court_request(s, request_id, now=clock.now(), calendar=workcalendar.of(s))
        assign = AssignForm()
        assign.assignee.choices = [("", "请选择")] + [(str(i), label) for i, label in support_requests.handlers(s)]
    return render_template("request.html", r=item, assign=assign, answer=AnswerForm(), close=CloseRequestForm(),
                           when=when)


def _act(request_id: int, form: FlaskForm, action, done: str):
    if not form.validate_on_submit():
        flash_form(form)
    else:
        try:
            with court_db().transaction() as s:
                action(s)
        except NotFound:
            raise
        except ValidationError as exc:
            flash(exc.message, "error")
        else:
            flash(done, "info")
    return redirect(url_for("requests.show", request_id=request_id))


@requests_bp.route("/<int:request_id>/assign", methods=["POST"])
@login_required
def assign(request_id: int):
    form = AssignForm()
    return _act(request_id, form, lambda s: support_requests.assign(
        s, request_id, form.assignee.data, current_user.user, now=clock.now()), "已分派。")


@requests_bp.route("/<int:request_id>/answer", methods=["POST"])
@login_required
def answer(request_id: int):
    form = AnswerForm()
    return _act(request_id, form, lambda s: support_requests.answer(
        s, request_id, form.reply.data, current_user.user, now=clock.now()), "答复已发送给提出单位。")


@requests_bp.route("/<int:request_id>/close", methods=["POST"])
@login_required
def close(request_id: int):
    form = CloseRequestForm()
    return _act(request_id, form, lambda s: support_requests.close(
        s, request_id, current_user.user, now=clock.now()), "已办结。")
