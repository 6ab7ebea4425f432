"""Pushes that could not be delivered: the desk follows them up by phone."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from court.core import clock
from court.core.errors import CourtError, NotFound
from court.hotline import delivery_alerts
from desk.auth import HOTLINE, restrict
from desk.extensions import court_db
from desk.forms import ResolveForm
from desk.views import local_time

alerts_bp = Blueprint("alerts", __name__, url_prefix="/alerts")
restrict(alerts_bp, HOTLINE)



@alerts_bp.route("/")
@login_required
def index():
    with court_db().reader() as s:
        items = delivery_alerts.pending(s)
    return render_template("alerts.html", items=items, local_time=local_time)


@alerts_bp.route("/<int:alert_id>")
@login_required
def show(alert_id: int):
    with court_db().transaction() as s:  # the read of a full phone number is audited
        alert, still_open = delivery_alerts.open_alert(s, alert_id, current_user.user)
    return render_template("alert.html", a=alert, still_open=still_open, form=ResolveForm(),
                           created=local_time(alert.created_at))


@alerts_bp.route("/<int:alert_id>/resolve", methods=["POST"])
@login_required
def resolve(alert_id: int):
    form = ResolveForm()
    if not form.validate_on_submit():
        flash("请填写处理备注（500字以内）。", "error")
        return redirect(url_for("alerts.show", alert_id=alert_id))
    try:
        with court_db().transaction() as s:
            delivery_alerts.resolve(s, alert_id, current_user.user, note=form.note.data, now=clock.now())
    except NotFound:
        raise
    except CourtError as exc:
        flash(exc.message, "error")
        return redirect(url_for("alerts.index"))
    flash("已标记为处理完毕。", "info")
    return redirect(url_for("alerts.index"))
