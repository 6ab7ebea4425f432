"""Booking, moving and cancelling a resident's appointment from a taken handoff."""
from __future__ import annotations

import logging
from typing import Any, Optional

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from court.booking.cards import AppointmentCard
from court.booking.offers import SlotOffer
from court.core import clock
from court.core.errors import CourtError, NotFound, PermissionDenied
from court.hotline import agent_booking, queue
from court.reference import guidance
from court.reference.places import PlaceRef
from desk.auth import HOTLINE, restrict
from desk.extensions import court_db, trackers
from desk.forms import BookForm, CancelForm, MoveForm, TimesForm
from desk.tracker_client import TrackerUnavailable

log = logging.getLogger(__name__)
booking_bp = Blueprint("booking", __name__, url_prefix="/handoffs")
restrict(booking_bp, HOTLINE)
# Fields of the time search that a POST carries along, so a refused booking re-renders with its list.
_SEARCH = ("place", "dispute_type", "after", "appointment")



def _back(handoff_id: int):
    return redirect(url_for("handoffs.show", handoff_id=handoff_id))


def _context(handoff_id: int) -> agent_booking.BookingContext:
    with court_db().reader() as s:
        return agent_booking.booking_context(s, handoff_id, current_user.user)


def _appointment(ctx: agent_booking.BookingContext, appointment_id: Optional[int]) -> Optional[AppointmentCard]:
    if appointment_id is None:
        return None
    for card in ctx.appointments:
        if card.appointment_id == appointment_id:
            return card
    raise NotFound()


def _render(handoff_id: int, args: MultiDict, book_form: Optional[BookForm] = None,
            move_form: Optional[MoveForm] = None, status: int = 200):
    ctx = _context(handoff_id)
    search = TimesForm(args, data={"dispute_type": ctx.dispute_type or None})
    moving = _appointment(ctx, search.appointment.data if "appointment" in args else None)
    place: Optional[PlaceRef] = None
    offers: list[SlotOffer] = []
    if args.get("place"):
        if search.validate():
            try:
                with court_db().reader() as s:
                    place, offers = agent_booking.find_times(
                        s, handoff_id, current_user.user, place=search.place.data,
                        dispute_type=search.dispute_type.data, after=search.after.data, now=clock.now())
            except CourtError as exc:
                _flash(exc)
            if place is not None and not offers:
                flash("附近14天内没有可预约的时间，请换一个地点或更晚的日期。", "warning")
        else:
            for errors in search.errors.values():
                flash(errors[0], "error")
    if book_form is None:
        book_form = BookForm(data={"summary": ctx.summary, "phone": ctx.phone or "", "name": ctx.name or "",
                                   "dispute_type": search.dispute_type.data})
    dispute_label = guidance.card(search.dispute_type.data).label if search.dispute_type.data else ""
    return render_template("booking.html", handoff_id=handoff_id, ctx=ctx, search=search, place=place,
                           offers=offers, moving=moving, book_form=book_form, move_form=move_form or MoveForm(),
                           dispute_label=dispute_label, carried={k: args.get(k, "") for k in _SEARCH}), status


@booking_bp.route("/<int:handoff_id>/booking")
@login_required
def times(handoff_id: int):
    return _render(handoff_id, request.args)


def _carried() -> MultiDict:
    return MultiDict({k: request.form.get(k, "") for k in _SEARCH if request.form.get(k)})


def _tell_transcript(handoff_id: int, text: str) -> None:
    """The resident saw a push; the transcript shows the agent's turn too."""
    with court_db().reader() as s:
        conversation_id = queue.view(s, handoff_id, current_user.user).conversation_id
    try:
        trackers().record_agent_reply(conversation_id, text, current_user.username)
    except TrackerUnavailable as exc:
        log.warning("booking not recorded in transcript: %s", exc)


def _flash(exc: CourtError) -> None:
    # Permission and not-found errors get their own pages; the rest are flashed.
    if isinstance(exc, (PermissionDenied, NotFound)):
        raise exc
    flash(exc.message, "error")


def _refused(handoff_id: int, exc: CourtError, **forms: Any):
    _flash(exc)
    return _render(handoff_id, _carried(), status=422, **forms)


@booking_bp.route("/<int:handoff_id>/book", methods=["POST"])
@login_required
def book(handoff_id: int):
    form = BookForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return _render(handoff_id, _carried(), book_form=form, status=422)
    try:
        with court_db().transaction() as s:
            card = agent_booking.book(
                s, handoff_id, current_user.user, token=form.slot.data, dispute_type=form.dispute_type.data,
                summary=form.summary.data, phone=form.phone.data.strip(), name=(form.name.data or "").strip() or None,
                consent=bool(form.consent.data), now=clock.now())
    except CourtError as exc:
        return _refused(handoff_id, exc, book_form=form)
    _tell_transcript(handoff_id, f"已为居民预约：{card.time}，{card.point_name}，调解员{card.mediator}，案件编号{card.reference}")
    flash(f"已预约：{card.time} {card.point_name}（案件编号{card.reference}）。居民和调解员都会收到通知。", "info")
    return _back(handoff_id)


@booking_bp.route("/<int:handoff_id>/appointments/<int:appointment_id>/move", methods=["POST"])
@login_required
def move(handoff_id: int, appointment_id: int):
    form = MoveForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return _render(handoff_id, _carried(), move_form=form, status=422)
    try:
        with court_db().transaction() as s:
            card = agent_booking.move(s, handoff_id, current_user.user, appointment_id, token=form.slot.data,
                                     now=clock.now())
    except CourtError as exc:
        return _refused(handoff_id, exc, move_form=form)
    _tell_transcript(handoff_id, f"已为居民改约：{card.time}，{card.point_name}，案件编号{card.reference}")
    flash(f"已改约到 {card.time} {card.point_name}。居民和调解员都会收到通知。", "info")
    return _back(handoff_id)


@booking_bp.route("/<int:handoff_id>/appointments/<int:appointment_id>/cancel", methods=["POST"])
@login_required
def cancel(handoff_id: int, appointment_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return _back(handoff_id)
    try:
        with court_db().transaction() as s:
            card = agent_booking.cancel(s, handoff_id, current_user.user, appointment_id, reason=form.reason.data,
                                       now=clock.now())
    except CourtError as exc:
        _flash(exc)
        return _back(handoff_id)
    _tell_transcript(handoff_id, f"已为居民取消预约：{card.time}，案件编号{card.reference}")
    flash(f"已取消 {card.time} 的预约（案件编号{card.reference}）。", "info")
    return _back(handoff_id)
