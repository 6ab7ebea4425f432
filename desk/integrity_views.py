"""Integrity alerts (廉政风险) for admins: findings by rule, each with its audit trail
and a review that records a fixed conclusion."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Optional

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from court.core import clock
from court.core.errors import NotFound
from court.core.settings import LOCAL_TZ
from court.core.timeutil import local_datetime
from court.oversight import integrity
from desk.auth import ADMIN_ONLY, restrict
from desk.extensions import court_db
from desk.integrity_forms import PeriodForm, ReviewForm

integrity_bp = Blueprint("integrity", __name__, url_prefix="/integrity")
restrict(integrity_bp, ADMIN_ONLY)

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366  # each rule reads the whole period



def _today() -> dt.date:
    return clock.now().astimezone(LOCAL_TZ).date()


def _period(form: PeriodForm) -> tuple[dt.date, dt.date]:
    """The chosen local dates (inclusive); the last 90 days by default or when the input is wrong."""
    end = _today()
    default = (end - dt.timedelta(days=DEFAULT_DAYS - 1), end)
    if not form.validate():
        flash("日期格式不对，请按“年-月-日”填写。已显示最近90天。", "error")
        return default
    end = form.end.data or end
    start = form.start.data or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        flash("开始日期不能晚于结束日期。已显示最近90天。", "error")
        return default
    if (end - start).days >= MAX_DAYS:
        flash("时间范围最长三年。已显示最近90天。", "error")
        return default
    return start, end


def _bounds(start: dt.date, end: dt.date) -> dict[str, dt.datetime]:
    return {"start": local_datetime(start, dt.time.min), "end": local_datetime(end + dt.timedelta(days=1), dt.time.min)}


def local_time(moment: dt.datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _query(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


def _show_url(key: str, query: Mapping[str, Any]) -> str:
    """The finding's page, its query arguments (the period) carried along."""
    return url_for("integrity.show", key=key, **query)


@integrity_bp.route("/")
def index():
    form = PeriodForm(request.args)
    start, end = _period(form)
    with court_db().reader() as s:
        found = integrity.findings(s, **_bounds(start, end), now=clock.now())
    groups = [(rule, [f for f in found if f.rule == rule.key]) for rule in integrity.RULES]
    return render_template("integrity.html", form=form, groups=groups, total=len(found), start=start, end=end,
                           query=_query(start, end), local_time=local_time)


def _locate(s, key: str) -> tuple[integrity.Finding, dt.date, dt.date]:
    """The finding in the period the link carries; else from the day it began until today."""
    first = integrity.key_time(key)
    if first is None:
        raise NotFound()
    now = clock.now()
    if request.args.get("start") or request.args.get("end"):
        start, end = _period(PeriodForm(request.args))
        found = integrity.find(s, key, **_bounds(start, end), now=now)
        if found is not None:
            return found, start, end
    start = first.astimezone(LOCAL_TZ).date()
    end = max(_today(), start)
    found = integrity.find(s, key, **_bounds(start, end), now=now)
    if found is None:
        raise NotFound()
    return found, start, end


@integrity_bp.route("/<key>")
def show(key: str):
    with court_db().reader() as s:
        finding, start, end = _locate(s, key)
        lines = integrity.trail(s, finding)
        history = integrity.reviews(s, [finding.key]).get(finding.key, [])
    return render_template("integrity_finding.html", f=finding, rule=integrity.RULE_BY_KEY[finding.rule],
                           lines=lines, history=history, form=ReviewForm(), query=_query(start, end),
                           local_time=local_time)


@integrity_bp.route("/<key>/review", methods=["POST"])
def review(key: str):
    form = ReviewForm()
    back: Optional[str] = None
    if not form.validate_on_submit():
        flash("请选择核查结论。", "error")
        return redirect(_show_url(key, request.args))
    with court_db().transaction() as s:
        finding, start, end = _locate(s, key)
        integrity.review(s, finding, category=form.category.data, actor=current_user.user.actor, now=clock.now())
        back = _show_url(finding.key, _query(start, end))
    flash(f"已记录核查结论：{integrity.REVIEW_CATEGORIES[form.category.data]}。", "info")
    return redirect(back)
