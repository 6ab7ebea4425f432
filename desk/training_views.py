"""培训登记 (admins): training and study sessions with their date, topic, hours and attending mediators."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from court.core import clock
from court.core.errors import ValidationError
from court.core.settings import LOCAL_TZ, TRAINING_MIN_HOURS
from court.mediation import training
from court.store.schema import Mediator, MediatorStatus
from desk.auth import ADMIN_ONLY, restrict
from desk.extensions import court_db
from desk.request_forms import TrainingForm
from desk.request_views import flash_form

training_bp = Blueprint("training", __name__, url_prefix="/admin/training")
restrict(training_bp, ADMIN_ONLY)



def _choices(session) -> list[tuple[int, str]]:
    return [(i, f"{name}（{code}）") for i, name, code in session.execute(
        select(Mediator.id, Mediator.name, Mediator.code).where(Mediator.status == MediatorStatus.ACTIVE.value)
        .order_by(Mediator.name, Mediator.id))]


@training_bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = TrainingForm()
    with court_db().reader() as s:
        form.attendees.choices = _choices(s)
    if form.is_submitted():
        if not form.validate():
            flash_form(form)
        else:
            now = clock.now()
            try:
                with court_db().transaction() as s:
                    row = training.record(s, held_on=form.held_on.data, topic=form.topic.data,
                                          hours=form.study_hours.data, attendees=form.attendees.data,
                                          actor=current_user.user.actor, now=now,
                                          today=now.astimezone(LOCAL_TZ).date())
                    count = len(row.attendees)
            except ValidationError as exc:
                flash(exc.message, "error")
            else:
                flash(f"已登记培训：{form.topic.data.strip()}，{count}名调解员。", "info")
                return redirect(url_for("training.index"))
    with court_db().reader() as s:
        sessions = training.recent(s)
    return render_template("training.html", form=form, sessions=sessions, minimum=TRAINING_MIN_HOURS)
