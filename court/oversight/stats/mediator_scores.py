"""Mediators' scorecards: offers, answers, meetings and outcomes per mediator of a county unit."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from court.booking import acceptance
from court.core import clock
from court.mediation import training
from court.oversight.stats import delegated
from court.oversight.stats.area_scope import county_code_of
from court.oversight.stats.delegated import MediatorDelegated
from court.oversight.stats.sql import Spread, period, scaled, seconds_between, share, spreads, sum_when, within
from court.reference import labels
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Mediator,
    Outcome,
    OutcomeResult,
    Place,
    PlaceLevel,
    ServicePoint,
    mediator_points,
)

MEDIATOR_STATUS_LABELS = labels.MEDIATOR_STATUS
_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
_SUCCESSES = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)


@dataclass(frozen=True)
class Scorecard:
    mediator_id: int
    name: str
    county: str
    points: str
    status: str
    offered: int
    accepted: int
    declined: int
    unanswered: int  # pushes never answered although the meeting's time came (or it was held)
    withdrawn: int  # cancelled by the resident before any answer: nothing left to answer
    pending: int  # not answered yet, meeting still ahead: may still be answered
    acceptance_rate: Optional[float]
    response_median_hours: Optional[float]
    held: int
    no_shows: int
    successes: int
    failures: int
    success_rate: Optional[float]
    jc_requested: int
    # 委派调解, apart from the appointments above (court/oversight/stats/delegated.py).
    delegated: MediatorDelegated = MediatorDelegated()
    training_hours: float = 0.0  # training and study hours in the calendar year of the period's end


def scorecards(session: Session, *, county_id: Optional[int], start: dt.date, end: dt.date,
               now: Optional[dt.datetime] = None) -> list[Scorecard]:
    """Each mediator of a county unit (all when ``county_id`` is None), most meetings held first.

    - offered: appointments given to them that were created in the period (any status);
    - accepted / declined: of those, the ones they answered with accept (answered, not
      declined) or decline. Declines are read from the appointments: engine.decline leaves
      the declined row with the decliner and its own status, and books any reassignment as
      a new row for the colleague, so each decline stays with the one who made it;
    - unanswered: offers never answered whose meeting time has come (held or not);
      withdrawn: cancelled before any answer (not at the acceptance deadline: that one is
      unanswered); pending: no answer yet, meeting still ahead of
      ``now``. offered = accepted + declined + unanswered + withdrawn + pending;
    - acceptance_rate = accepted / (accepted + declined + unanswered): a push ignored counts
      against acceptance; withdrawn and pending offers are left out;
    - response_median_hours: responded_at - created_at over answered offers;
    - held / no_shows: their appointments starting in the period that were done / no-show;
    - successes (success, agreement needing confirmation) / failures: outcomes recorded in
      the period for appointments of theirs; jc_requested: confirmation requested in the period;
    - delegated: the court's delegated cases (委派调解) they hold, by the day delegated: accepted,
      settled, returned to filing, days to the outcome; none of them counts in the figures above;
    - training_hours: sessions they attended held in the calendar year of ``end`` (court/mediation/training.py).
    """
    _, last, lo, hi = period(start, end)
    now = now or clock.now()
    county_code = county_code_of(session, county_id) if county_id is not None else None
    roster = _roster(session, county_code)
    if not roster:
        return []
    ids = list(roster)

    def mine(query: Select) -> Select:
        return query.where(Appointment.mediator_id.in_(ids)) if county_code is not None else query

    answered = Appointment.responded_at.isnot(None)
    silent = Appointment.responded_at.is_(None)
    declined = Appointment.status == AppointmentStatus.DECLINED.value
    # Taken off them unanswered at the acceptance deadline (court/booking/acceptance.py): ignored, not withdrawn.
    lapsed = func.coalesce(Appointment.note, "") == acceptance.LAPSED_NOTE
    withdrawn = and_(silent, Appointment.status == AppointmentStatus.CANCELLED.value, ~lapsed)
    pending = and_(silent, Appointment.status.in_(_ACTIVE), Appointment.starts_at > now)
    offers = {m: tuple(int(v or 0) for v in counts) for m, *counts in session.execute(mine(
        select(Appointment.mediator_id, func.count(), sum_when(and_(answered, ~declined)), sum_when(declined),
               sum_when(withdrawn), sum_when(pending))
        .where(within(Appointment.created_at, lo, hi)).group_by(Appointment.mediator_id)))}
    responses = spreads(session, mine(
        select(Appointment.mediator_id, seconds_between(Appointment.responded_at, Appointment.created_at))
        .where(within(Appointment.created_at, lo, hi), answered)))
    meetings = {m: (int(done or 0), int(absent or 0)) for m, done, absent in session.execute(mine(
        select(Appointment.mediator_id, sum_when(Appointment.status == AppointmentStatus.DONE.value),
               sum_when(Appointment.status == AppointmentStatus.NO_SHOW.value))
        .where(within(Appointment.starts_at, lo, hi),
               Appointment.status.in_((AppointmentStatus.DONE.value, AppointmentStatus.NO_SHOW.value)))
        .group_by(Appointment.mediator_id)))}
    by_outcome = select(Appointment.mediator_id).select_from(Outcome).join(
        Appointment, Appointment.id == Outcome.appointment_id)
    results = {m: (int(ok or 0), int(bad or 0)) for m, ok, bad in session.execute(mine(
        by_outcome.add_columns(sum_when(Outcome.result.in_(_SUCCESSES)),
                               sum_when(Outcome.result == OutcomeResult.FAILED.value))
        .where(within(Outcome.recorded_at, lo, hi)).group_by(Appointment.mediator_id)))}
    confirmations = {m: int(n) for m, n in session.execute(mine(
        by_outcome.add_columns(func.count()).where(within(Outcome.jc_requested_at, lo, hi))
        .group_by(Appointment.mediator_id)))}

    delegations = delegated.by_mediator(session, ids if county_code is not None else None, start=start, end=end)
    trained = training.hours_in_year(session, last.year)
    cards = []
    for mediator_id, (name, status, county, points) in roster.items():
        offered, accepted, declines, gone, waiting = offers.get(mediator_id, (0, 0, 0, 0, 0))
        unanswered = offered - accepted - declines - gone - waiting
        held, no_shows = meetings.get(mediator_id, (0, 0))
        successes, failures = results.get(mediator_id, (0, 0))
        cards.append(Scorecard(
            mediator_id=mediator_id, name=name, county=county, points=points,
            status=MEDIATOR_STATUS_LABELS.get(status, status),
            offered=offered, accepted=accepted, declined=declines, unanswered=unanswered, withdrawn=gone,
            pending=waiting, acceptance_rate=share(accepted, accepted + declines + unanswered),
            response_median_hours=scaled(responses.get(mediator_id, Spread(None, None)).median, 3600),
            held=held, no_shows=no_shows, successes=successes, failures=failures,
            success_rate=share(successes, successes + failures),
            jc_requested=confirmations.get(mediator_id, 0), training_hours=trained.get(mediator_id, 0.0),
            delegated=delegations.get(mediator_id, MediatorDelegated()),
        ))
    return sorted(cards, key=lambda c: (-c.held, c.name, c.mediator_id))


def _roster(session: Session, county_code: Optional[str]) -> dict[int, tuple[str, str, str, str]]:
    """Mediator id -> (name, status, county labels, point names) for the county's mediators."""
    links = session.execute(
        select(mediator_points.c.mediator_id, ServicePoint.name, Place.county_code)
        .join(ServicePoint, ServicePoint.id == mediator_points.c.service_point_id)
        .join(Place, Place.id == ServicePoint.place_id)
        .order_by(mediator_points.c.mediator_id, ServicePoint.id)
    ).all()
    county_names = dict(session.execute(select(Place.county_code, Place.name)
                                        .where(Place.level == PlaceLevel.COUNTY.value)).all())
    points: dict[int, list[str]] = {}
    codes: dict[int, list[str]] = {}
    for mediator_id, point_name, code in links:
        points.setdefault(mediator_id, []).append(point_name)
        if code and code not in codes.setdefault(mediator_id, []):
            codes[mediator_id].append(code)
    query = select(Mediator.id, Mediator.name, Mediator.status).order_by(Mediator.id)
    out: dict[int, tuple[str, str, str, str]] = {}
    for mediator_id, name, status in session.execute(query):
        theirs = codes.get(mediator_id, [])
        if county_code is not None and county_code not in theirs:
            continue
        county = "、".join(county_names.get(c, c) for c in sorted(theirs))
        out[mediator_id] = (name, status, county, "、".join(points.get(mediator_id, [])))
    return out
