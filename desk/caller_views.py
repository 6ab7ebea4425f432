"""Booking for a 12368 phone caller from their case (a phone intake), without a chat."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from court.booking.offers import SlotOffer
from court.core import clock
from court.core.errors import CourtError, NotFound, PermissionDenied
from court.hotline import caller_booking
from court.messaging import sms
from court.reference.places import PlaceRef
from desk.auth import HOTLINE, restrict
from desk.extensions import court_db
from desk.forms import CallerBookForm, CallerTimesForm
from desk.views import web_link

caller_bp = Blueprint("caller", __name__, url_prefix="/cases")
restrict(caller_bp, HOTLINE)
SMS_TEXT = "12368热线已为您预约调解"  # a notice and a link: never the time, place or dispute



def _flash(exc: CourtError) -> None:
    if isinstance(exc, (PermissionDenied, NotFound)):
        raise exc  # their own pages
    flash(exc.message, "error")


@caller_bp.route("/find")
@login_required
def find():
    """The agent types a caller's reference number (a caller ringing back)."""
    try:
        reference = caller_booking.normalise_reference(request.args.get("reference"))
    except CourtError as exc:
        flash(exc.message, "error")
        return redirect(url_for("intake.intake"))
    return redirect(url_for("caller.times", reference=reference))


def _render(reference: str, args: MultiDict, book_form: CallerBookForm | None = None, status: int = 200):
    with court_db().reader() as s:
        ctx = caller_booking.caller_case(s, reference, current_user.user)
    search = CallerTimesForm(args)
    place: Optional[PlaceRef] = None
    offers: list[SlotOffer] = []
    if args.get("place") and not ctx.booked:
        if search.validate():
            try:
                with court_db().reader() as s:
                    place, offers = caller_booking.find_times(s, reference, current_user.user, place=search.place.data,
                                                              after=search.after.data, now=clock.now())
            except CourtError as exc:
                _flash(exc)
            if place is not None and not offers:
                flash("附近14天内没有可预约的时间，请换一个地点或更晚的日期。", "warning")
        else:
            for errors in search.errors.values():
                flash(errors[0], "error")
    return render_template("caller_booking.html", ctx=ctx, search=search, place=place, offers=offers,
                           form=book_form or CallerBookForm(), sms_on=sms.enabled(),
                           carried={k: args.get(k, "") for k in ("place", "after")}), status


@caller_bp.route("/<reference>/booking")
@login_required
def times(reference: str):
    return _render(reference, request.args)


@caller_bp.route("/<reference>/book", methods=["POST"])
@login_required
def book(reference: str):
    form = CallerBookForm()
    carried = MultiDict({k: request.form.get(k, "") for k in ("place", "after") if request.form.get(k)})
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return _render(reference, carried, book_form=form, status=422)
    try:
        with court_db().transaction() as s:
            done = caller_booking.book(s, reference, current_user.user, token=form.slot.data,
                                       consent=bool(form.consent.data), now=clock.now())
    except CourtError as exc:
        _flash(exc)
        return _render(reference, carried, book_form=form, status=422)
    web = web_link(done.link_token)
    # After the commit: a text that fails leaves the booking standing, and the agent sees the link to pass on.
    texted = bool(form.send_sms.data) and sms.send_notice(done.phone, SMS_TEXT, web)
    page = render_template("caller_booked.html", card=done.card, web=web, texted=texted, sms_on=sms.enabled())
    return Response(page, headers={"Cache-Control": "no-store"})  # the one-time link must not linger
