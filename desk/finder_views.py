"""查找调解员: clerks and admins find a mediator by case reference, name or service point.

A POST with the form's CSRF token, answered with the results page (server-rendered, phones
masked): a case reference is not put into URLs, logs or browser history."""
from __future__ import annotations

from flask import Blueprint, flash, render_template
from flask_login import login_required

from court import admin
from court.core import clock
from court.core.errors import CourtError
from desk.admin_forms import flash_errors
from desk.auth import OVERSIGHT, restrict
from desk.extensions import court_db
from desk.forms import FindMediatorForm

finder_bp = Blueprint("finder", __name__, url_prefix="/mediators")
restrict(finder_bp, OVERSIGHT)


@finder_bp.route("/find", methods=["GET", "POST"])
@login_required
def find():
    form = FindMediatorForm()
    results = None
    if form.is_submitted():
        if form.validate():
            try:
                with court_db().reader() as s:
                    results = admin.find_mediators(s, form.q.data, now=clock.now())
            except CourtError as exc:
                flash(exc.message, "error")
        else:
            flash_errors(form)
    return render_template("mediator_find.html", form=form, results=results)
