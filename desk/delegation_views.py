"""委派调解: clerks and admins delegate a dispute at the court to a service point's mediator,
follow its deadline, extend it once and hand a declined case to another mediator.

The list masks the parties' phones; one case shows them whole (an audited read). Creating
is two steps on one form: 推荐调解员 proposes mediators for the parties' town, 确认委派 delegates
to the one picked."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from court.core import clock
from court.core.errors import CourtError, NotFound, ValidationError
from court.mediation import delegation, delegation_deadlines, delegation_offers, delegation_reads
from desk.admin_forms import flash_errors
from desk.auth import OVERSIGHT, restrict
from desk.extensions import court_db
from desk.forms import DelegateForm, ExtendForm, ReassignForm, ResolveForm

delegation_bp = Blueprint("delegation", __name__, url_prefix="/delegated")
restrict(delegation_bp, OVERSIGHT)



def _candidate(raw: Optional[str]) -> tuple[int, int]:
    point, _, mediator = (raw or "").partition(":")
    if not (point.isdigit() and mediator.isdigit()):
        raise ValidationError("请从推荐列表中选择一位调解员。")
    return int(point), int(mediator)


@delegation_bp.route("/")
@login_required
def index():
    open_only = request.args.get("open") == "1"
    with court_db().reader() as s:
        rows = delegation_reads.rows(s, now=clock.now(), open_only=open_only)
        alerts = delegation_reads.open_alerts(s)
    return render_template("delegated_list.html", rows=rows, open_only=open_only, alerts=alerts,
                           resolve_form=ResolveForm())


@delegation_bp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@login_required
def resolve_alert(alert_id: int):
    form = ResolveForm()
    if not form.validate():
        flash_errors(form)
        return redirect(url_for("delegation.index"))
    try:
        with court_db().transaction() as s:
            delegation_reads.resolve_alert(s, alert_id, current_user.user, note=form.note.data, now=clock.now())
    except NotFound:
        abort(404)
    except CourtError as exc:
        flash(exc.message, "error")
    else:
        flash("提醒已处理。", "info")
    return redirect(url_for("delegation.index"))


def _delegate(s, form: DelegateForm, place_id: int, now):
    point_id, mediator_id = _candidate(form.candidate.data)
    parties = [delegation.PartyIn("applicant", form.applicant_name.data, form.applicant_phone.data),
               delegation.PartyIn("respondent", form.respondent_name.data, form.respondent_phone.data)]
    return delegation_offers.delegate(
        s, parties=parties, dispute_type=form.dispute_type.data, summary=form.summary.data,
        amount_cents=delegation.parse_amount(form.amount.data), court_id=form.court_id.data, judge=form.judge.data,
        channel=form.channel.data, place_id=place_id, point_id=point_id, mediator_id=mediator_id,
        consent=bool(form.consent.data), actor=current_user.user.actor, now=now)


@delegation_bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = DelegateForm()
    with court_db().reader() as s:
        form.court_id.choices = delegation_reads.courts(s)
    candidates, town, done = [], None, None
    if request.method == "POST" and not form.validate():
        flash_errors(form)
    elif request.method == "POST":
        try:
            now = clock.now()
            with court_db().transaction() as s:
                ref = delegation_offers.town(s, form.place.data)
                town = ref.display_name
                if request.form.get("action") == "delegate":
                    made = _delegate(s, form, ref.id, now)
                    done = (made.id, made.case.reference)
                else:
                    candidates = delegation_offers.propose(s, place_id=ref.id, dispute_type=form.dispute_type.data,
                                                           now=now)
        except CourtError as exc:
            flash(exc.message, "error")
        else:
            if done is not None:
                flash(f"已委派：案件编号 {done[1]}，已推送给调解员，等待接受。", "info")
                return redirect(url_for("delegation.case", delegation_id=done[0]))
            if not candidates:
                flash("附近没有在任的调解员，请换一个乡镇或联系管理员。", "error")
    return render_template("delegated_new.html", form=form, candidates=candidates, town=town,
                           default_days=delegation.DEFAULT_DAYS)


@delegation_bp.route("/<int:delegation_id>")
@login_required
def case(delegation_id: int):
    now = clock.now()
    try:
        with court_db().transaction() as s:  # the read of whole contacts is audited
            d = delegation_reads.detail(s, delegation_id, actor=current_user.user.actor, now=now)
            candidates = (delegation_offers.propose(s, place_id=d.place_id, dispute_type=d.dispute_type, now=now,
                                                    exclude_mediators=[d.mediator_id] if d.mediator_id else [])
                          if d.can_reassign and d.place_id else [])
    except NotFound:
        abort(404)
    return render_template("delegated_case.html", d=d, candidates=candidates, extend_form=ExtendForm(),
                           reassign_form=ReassignForm(), max_days=delegation_deadlines.MAX_EXTENSION_DAYS)


@delegation_bp.route("/<int:delegation_id>/extend", methods=["POST"])
@login_required
def extend(delegation_id: int):
    form = ExtendForm()
    if not form.validate():
        flash_errors(form)
    else:
        try:
            with court_db().transaction() as s:
                done = delegation_deadlines.extend(s, delegation_id, days=form.days.data, reason=form.reason.data,
                                         actor=current_user.user.actor, now=clock.now())
                flash(f"期限已延长到{done.deadline.month}月{done.deadline.day}日，调解员会收到通知。", "info")
        except CourtError as exc:
            flash(exc.message, "error")
    return redirect(url_for("delegation.case", delegation_id=delegation_id))


@delegation_bp.route("/<int:delegation_id>/reassign", methods=["POST"])
@login_required
def reassign(delegation_id: int):
    form = ReassignForm()
    if not form.validate():
        flash_errors(form)
    else:
        try:
            point_id, mediator_id = _candidate(form.candidate.data)
            with court_db().transaction() as s:
                delegation_offers.reassign(s, delegation_id, point_id=point_id, mediator_id=mediator_id,
                                    actor=current_user.user.actor, now=clock.now())
            flash("已改派，新的调解员会收到推送。", "info")
        except CourtError as exc:
            flash(exc.message, "error")
    return redirect(url_for("delegation.case", delegation_id=delegation_id))
