"""A realistic synthetic year of disputes, for the statistics' tests and benchmarks.

``generate`` fills a seeded database (places and the demo roster) with residents,
cases, appointments, outcomes, handoffs and decline audit entries, inserted in
bulk rather than through the booking engine, and returns what it wrote as plain
Python (``GeneratedTruth``) so tests can compute expected figures independently.

Everything is marked synthetic where the schema allows: case references start
with ``SY``, summaries and notes say 合成数据, conversations are ``sy-<id>``.
The generator's "now" is the end of the period: appointments after it are still
booked or accepted, waiting handoffs are still waiting.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from court.reference import guidance
from court.hotline.handoffs import next_opening
from court.core.settings import CONSENT_VERSION, LOCAL_TZ
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Case,
    CaseSource,
    CaseStatus,
    Court,
    Delegation,
    DelegationParty,
    DelegationStatus,
    Handoff,
    HandoffStatus,
    Mediator,
    MediatorAvailability,
    MediatorSpeciality,
    MediatorStatus,
    Outcome,
    OutcomeResult,
    Place,
    PlaceLevel,
    Resident,
    ServicePoint,
    ServicePointHours,
    mediator_points,
)
from court.records.workcalendar import WorkCalendar, schedule_weekday

UTC = dt.timezone.utc
REFERENCE_PREFIX = "SY"
MARK = "合成数据"

# Rough shares of Heihe's population by county unit (2020 census, rounded).
COUNTY_SHARES = {"231102": 0.17, "231123": 0.055, "231124": 0.055, "231181": 0.27, "231182": 0.15, "231183": 0.30}
# Urban subdistricts bring more disputes than townships; farms and forest units fewer.
LEVEL_WEIGHTS = {
    PlaceLevel.STREET.value: 3.0, PlaceLevel.TOWN.value: 1.5, PlaceLevel.TOWNSHIP.value: 1.0,
    PlaceLevel.STATE_FARM.value: 0.8, PlaceLevel.FOREST_FARM.value: 0.3, PlaceLevel.OTHER_UNIT.value: 0.3,
}
TYPE_WEIGHTS = {
    "neighbor": 20, "family": 18, "debt": 15, "labor": 14, "property_mgmt": 6, "contract": 6, "housing": 5,
    "land": 5, "injury": 3, "medical": 2, "traffic": 2, "consumer": 2, "other": 2,
}
# Wage arrears and debts come before the Spring Festival; summer is farm work.
MONTH_WEIGHTS = {1: 1.25, 2: 1.1, 3: 1.0, 4: 1.0, 5: 0.9, 6: 0.85, 7: 0.85, 8: 0.9, 9: 0.95, 10: 1.0, 11: 1.05, 12: 1.15}
BOT_HOUR_WEIGHTS = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0,
                    1.5, 1.5, 2.0, 2.0, 1.8, 1.5, 1.5, 2.0, 2.0, 1.5, 1.0, 0.5)
HANDOFF_REASONS = {"request_human": 50, "misunderstood": 25, "frustration": 15, "assistant_down": 10}
HOTLINE_SHARE = 0.2
BOOKED_SHARE = {CaseSource.BOT.value: 0.75, CaseSource.HOTLINE.value: 0.6}
SECOND_CASE_SHARE = 0.05  # residents who come back with another dispute
HANDOFF_SHARE = 0.14  # bot cases whose resident asked for a person
ANONYMOUS_HANDOFF_SHARE = 0.03  # per case: conversations that never gave a name
MAX_MEETINGS = 3
LEAD = dt.timedelta(minutes=30)
AGENTS = ("sy.agent1", "sy.agent2", "sy.agent3", "sy.agent4")

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾于董袁潘田姜崔蒋"
_GIVEN = "淑芬玉珍秀英凤霞建国志强永胜德福春生宝山国华丽娟晓东文杰海涛立新红梅雅琴振江树林长青金凤"
_ACTIVE = frozenset(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass
class GeneratedTruth:
    """What ``generate`` wrote, row by row, as dicts of column values (aware UTC times).

    Cases carry one key more than their table: ``county_id``, the places.id of the
    county unit of their place (None without a place).
    """

    now: dt.datetime
    residents: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    # 委派调解: delegated cases are in ``cases`` too (source 'delegated', no resident); their
    # outcomes (no appointment) are kept apart from ``outcomes``.
    delegations: list[dict[str, Any]] = field(default_factory=list)
    delegation_parties: list[dict[str, Any]] = field(default_factory=list)
    delegated_outcomes: list[dict[str, Any]] = field(default_factory=list)


def generate(session: Session, *, cases: int, start: dt.date, end: dt.date, seed: int = 1,
             delegated: int = 0) -> GeneratedTruth:
    """Insert ``cases`` synthetic cases created between two local dates (inclusive), with
    their residents, appointments, outcomes, handoffs and decline audit entries; then
    ``delegated`` cases the court delegated (委派调解)."""
    if cases < 0 or end < start:
        raise ValueError("need cases >= 0 and start <= end")
    year = _Year(session, random.Random(seed), start, end)
    year.run(cases)
    # Their own random stream: the residents' cases stay what a seed always gave.
    year.delegate(delegated, random.Random(seed + 7919))
    _insert(session, year.truth)
    return year.truth


# --- the roster and its calendar ---------------------------------------------------


@dataclass
class _Mediator:
    id: int
    types: frozenset[str]
    respond_p: float  # answers a push at all
    decline_p: float
    response_hours: float  # median delay of an answer
    success_p: float  # share of held meetings ending in agreement

    def response_delay(self, rng: random.Random) -> dt.timedelta:
        hours = min(rng.lognormvariate(math.log(self.response_hours), 1.0), 72.0)
        return dt.timedelta(seconds=int(hours * 3600) + 30)


class _Roster:
    """Places, active points and mediators of the seeded roster, and who is busy when."""

    def __init__(self, session: Session, rng: random.Random) -> None:
        places = session.execute(select(Place.id, Place.level, Place.county_code).order_by(Place.code)).all()
        self.county_of = {p.id: p.county_code for p in places}
        self.county_ids = {p.county_code: p.id for p in places if p.level == PlaceLevel.COUNTY.value}
        self.towns = [p for p in places if p.level in LEVEL_WEIGHTS and p.county_code in COUNTY_SHARES]

        specialities: dict[int, set[str]] = {}
        rows = session.execute(select(MediatorSpeciality.mediator_id, MediatorSpeciality.dispute_type))
        for mediator_id, kind in rows:
            specialities.setdefault(mediator_id, set()).add(kind)
        self.mediators: dict[int, _Mediator] = {}
        for (mediator_id,) in session.execute(select(Mediator.id).where(
                Mediator.status == MediatorStatus.ACTIVE.value).order_by(Mediator.id)):
            self.mediators[mediator_id] = _Mediator(
                mediator_id, frozenset(specialities.get(mediator_id, ())), respond_p=rng.uniform(0.55, 0.95),
                decline_p=rng.uniform(0.01, 0.12), response_hours=rng.uniform(0.5, 8.0),
                success_p=rng.uniform(0.45, 0.8))

        availability: dict[tuple[int, int], list[tuple[dt.time, dt.time]]] = {}
        for row in session.execute(select(MediatorAvailability.mediator_id, MediatorAvailability.weekday,
                                          MediatorAvailability.starts, MediatorAvailability.ends)):
            availability.setdefault((row.mediator_id, row.weekday), []).append((row.starts, row.ends))
        hours: dict[int, list[Any]] = {}
        for row in session.execute(select(ServicePointHours).order_by(ServicePointHours.id)).scalars():
            hours.setdefault(row.service_point_id, []).append(row)
        points = session.execute(select(ServicePoint.id, ServicePoint.place_id, ServicePoint.slot_minutes)
                                 .where(ServicePoint.active.is_(True)).order_by(ServicePoint.id)).all()
        links = session.execute(select(mediator_points.c.service_point_id, mediator_points.c.mediator_id)
                                .order_by(mediator_points.c.service_point_id, mediator_points.c.mediator_id)).all()

        self.point_place = {p.id: p.place_id for p in points}
        self.step = {p.id: dt.timedelta(minutes=p.slot_minutes) for p in points}
        self.staff: dict[int, list[int]] = {}
        # (mediator, point) -> weekday -> slot starts as offsets from local midnight
        self.slots: dict[tuple[int, int], dict[int, list[dt.timedelta]]] = {}
        for point_id, mediator_id in links:
            if point_id not in self.point_place or mediator_id not in self.mediators:
                continue
            grid = _slot_grid(hours.get(point_id, []), availability, mediator_id, self.step[point_id])
            if grid:
                self.staff.setdefault(point_id, []).append(mediator_id)
                self.slots[(mediator_id, point_id)] = grid
        self.points_at: dict[int, list[int]] = {}
        self.points_in: dict[str, list[int]] = {}
        for point_id, place_id in self.point_place.items():
            if point_id in self.staff:
                self.points_at.setdefault(place_id, []).append(point_id)
                self.points_in.setdefault(self.county_of[place_id], []).append(point_id)
        self._busy: dict[tuple[int, dt.date], list[tuple[dt.datetime, dt.datetime]]] = {}
        self._working: dict[dt.date, bool] = {}
        self.calendar = WorkCalendar(session)

    def neighbours(self, point_id: int) -> list[int]:
        """The staffed points of the point's county unit, itself included."""
        return self.points_in[self.county_of[self.point_place[point_id]]]

    def working(self, day: dt.date) -> bool:
        if day not in self._working:
            self._working[day] = self.calendar.is_working_day(day)
        return self._working[day]

    def free(self, mediator_id: int, day: dt.date, start: dt.datetime, end: dt.datetime) -> bool:
        return not any(s < end and start < e for s, e in self._busy.get((mediator_id, day), ()))

    def hold(self, mediator_id: int, day: dt.date, start: dt.datetime, end: dt.datetime) -> None:
        self._busy.setdefault((mediator_id, day), []).append((start, end))

    def find(self, point_id: int, earliest: dt.datetime, dispute_type: str, days: int,
             exclude: int = 0) -> Optional[tuple[int, dt.datetime, dt.datetime]]:
        """The earliest free slot at a point from ``earliest`` on, specialists first at equal times."""
        staff = sorted((m for m in self.staff[point_id] if m != exclude),
                       key=lambda m: (dispute_type not in self.mediators[m].types, m))
        day = earliest.astimezone(LOCAL_TZ).date()
        step = self.step[point_id]
        for _ in range(days):
            if self.working(day):
                midnight = dt.datetime.combine(day, dt.time.min, LOCAL_TZ).astimezone(UTC)
                weekday = schedule_weekday(day)
                best: Optional[tuple[int, dt.datetime, dt.datetime]] = None
                for mediator_id in staff:
                    for offset in self.slots[(mediator_id, point_id)].get(weekday, ()):
                        start = midnight + offset
                        if start >= earliest and self.free(mediator_id, day, start, start + step):
                            if best is None or start < best[1]:
                                best = (mediator_id, start, start + step)
                            break
                if best is not None:
                    return best
            day += dt.timedelta(days=1)
        return None


def _slot_grid(windows: list[Any], availability: dict, mediator_id: int,
               step: dt.timedelta) -> dict[int, list[dt.timedelta]]:
    """Slot starts per weekday: the point's windows cut in steps, inside the mediator's hours."""
    grid: dict[int, list[dt.timedelta]] = {}
    for window in windows:
        opens = dt.timedelta(hours=window.opens.hour, minutes=window.opens.minute)
        closes = dt.timedelta(hours=window.closes.hour, minutes=window.closes.minute)
        for starts, ends in availability.get((mediator_id, window.weekday), ()):
            lo = dt.timedelta(hours=starts.hour, minutes=starts.minute)
            hi = dt.timedelta(hours=ends.hour, minutes=ends.minute)
            at = opens
            while at + step <= min(closes, hi):
                if at >= lo:
                    grid.setdefault(window.weekday, []).append(at)
                at += step
    return {weekday: sorted(set(starts)) for weekday, starts in grid.items()}


# --- the year -----------------------------------------------------------------------


def _second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


class _Year:
    def __init__(self, session: Session, rng: random.Random, start: dt.date, end: dt.date) -> None:
        self.rng = rng
        self.roster = _Roster(session, rng)
        self.start, self.end = start, end
        self.begin = dt.datetime.combine(start, dt.time.min, LOCAL_TZ).astimezone(UTC)
        self.now = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, LOCAL_TZ).astimezone(UTC)
        self.truth = GeneratedTruth(now=self.now)
        self.next_id = {
            model.__tablename__: int(session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1
            for model in (Resident, Case, Appointment, Outcome, Handoff, AuditEntry, Delegation, DelegationParty)
        }
        self.court_ids = list(session.execute(select(Court.id).order_by(Court.id)).scalars())

    def _id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] += 1
        return value

    # -- cases ------------------------------------------------------------------

    def run(self, n: int) -> None:
        moments = sorted(self._moments(n))
        towns = self.roster.towns
        town_weights = self._town_weights()
        places = self.rng.choices(towns, weights=town_weights, k=n)
        types = self.rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()), k=n)
        for (created, source), town, kind in zip(moments, places, types):
            self._case(created, source, town, kind)
        for _ in range(int(n * ANONYMOUS_HANDOFF_SHARE)):
            created = self.begin + dt.timedelta(seconds=self.rng.uniform(0, (self.now - self.begin).total_seconds()))
            self._handoff(_second(created), resident=None, case_id=None, conversation=None)

    def _town_weights(self) -> list[float]:
        totals: dict[str, float] = {}
        for town in self.roster.towns:
            totals[town.county_code] = totals.get(town.county_code, 0.0) + LEVEL_WEIGHTS[town.level]
        return [COUNTY_SHARES[t.county_code] * LEVEL_WEIGHTS[t.level] / totals[t.county_code]
                for t in self.roster.towns]

    def _moments(self, n: int) -> list[tuple[dt.datetime, str]]:
        """Creation times: bot cases any hour (weekends quieter), hotline calls in desk hours."""
        days = [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]
        working = [d for d in days if self.roster.working(d)] or days
        day_weights = list(itertools.accumulate(
            MONTH_WEIGHTS[d.month] * (1.0 if self.roster.working(d) else 0.45) for d in days))
        hour_weights = list(itertools.accumulate(BOT_HOUR_WEIGHTS))
        out = []
        for _ in range(n):
            if self.rng.random() < HOTLINE_SHARE:
                day = self.rng.choice(working)
                clock = dt.timedelta(hours=8.5) + dt.timedelta(seconds=self.rng.randrange(int(8.5 * 3600)))
                source = CaseSource.HOTLINE.value
            else:
                day = self.rng.choices(days, cum_weights=day_weights)[0]
                hour = self.rng.choices(range(24), cum_weights=hour_weights)[0]
                clock = dt.timedelta(hours=hour, seconds=self.rng.randrange(3600))
                source = CaseSource.BOT.value
            local = dt.datetime.combine(day, dt.time.min, LOCAL_TZ) + clock
            out.append((local.astimezone(UTC), source))
        return out

    def _resident(self, created: dt.datetime) -> dict[str, Any]:
        returning = self.truth.residents and self.rng.random() < SECOND_CASE_SHARE
        if returning:
            return self.rng.choice(self.truth.residents)
        consent = created - dt.timedelta(seconds=self.rng.randrange(60, 1200))
        resident_id = self._id("residents")
        resident = {
            "id": resident_id,
            "name": self.rng.choice(_SURNAMES) + "".join(self.rng.sample(_GIVEN, self.rng.choice((1, 2)))),
            "phone": f"1{self.rng.choice('35789')}{self.rng.randrange(10 ** 9):09d}",
            "conversation_id": f"sy-{resident_id}",
            "consent_at": consent, "consent_version": CONSENT_VERSION, "created_at": consent,
        }
        self.truth.residents.append(resident)
        return resident

    def _case(self, created: dt.datetime, source: str, town: Any, kind: str) -> None:
        resident = self._resident(created)
        case_id = self._id("cases")
        # A county unit without a staffed point (a real roster may have gaps) books nobody.
        booked = self.rng.random() < BOOKED_SHARE[source] and town.county_code in self.roster.points_in
        county_place = self.roster.county_ids[town.county_code]
        roll = self.rng.random()
        if booked:
            place_id = town.id if roll < 0.96 else county_place
        else:
            place_id = town.id if roll < 0.55 else (county_place if roll < 0.6 else None)
        card = guidance.card(kind)
        case = {
            "id": case_id,
            "reference": f"{REFERENCE_PREFIX}{created.astimezone(LOCAL_TZ):%y%m%d}-{case_id:07d}",
            "dispute_type": kind, "summary": f"{card.label}（{MARK}）",
            "recommended_channel": card.first_channel[:200], "source": source,
            "status": CaseStatus.INTAKE.value, "resident_id": resident["id"],
            "service_point_id": None, "mediator_id": None,
            "conversation_id": resident["conversation_id"] if source == CaseSource.BOT.value else None,
            "place_id": place_id, "county_id": county_place if place_id is not None else None,
            "created_at": created, "updated_at": created,
            "booked_at": None, "mediating_at": None, "agreement_at": None, "failed_at": None,
            "jc_requested_at": None, "closed_at": None,
        }
        self.truth.cases.append(case)
        if booked:
            self._meetings(case, self._point_for(town))
        if source == CaseSource.BOT.value and self.rng.random() < HANDOFF_SHARE:
            self._resident_handoff(case, resident)

    def _point_for(self, town: Any) -> int:
        own = self.roster.points_at.get(town.id)
        county = self.roster.points_in[town.county_code]
        if own and self.rng.random() < 0.92:
            return self.rng.choice(own)
        return self.rng.choice(county)  # no point in their town, or one nearer their work

    # -- appointments --------------------------------------------------------------

    def _meetings(self, case: dict[str, Any], point_id: int) -> None:
        """Book, then follow each appointment to its end; some cases need another meeting."""
        booking_at = case["created_at"] + dt.timedelta(seconds=self.rng.randrange(60, 600))
        first_appt, first_outcome = len(self.truth.appointments), len(self.truth.outcomes)
        for _ in range(MAX_MEETINGS):
            if booking_at >= self.now:
                break
            slot = self._slot(point_id, booking_at, case)
            if slot is None:
                break
            booking_at = self._follow(case, booking_at, slot)
            if booking_at is None:
                break
            if self.rng.random() < 0.2:  # next time, a point nearer their work or family
                point_id = self.rng.choice(self.roster.neighbours(point_id))
        self._settle(case, self.truth.appointments[first_appt:], self.truth.outcomes[first_outcome:])

    def _slot(self, point_id: int, booking_at: dt.datetime, case: dict[str, Any]) -> Optional[tuple]:
        hours = min(max(self.rng.lognormvariate(math.log(72), 0.8), 1.0), 30 * 24.0)
        earliest = booking_at + max(LEAD, dt.timedelta(hours=hours))
        others = [p for p in self.roster.neighbours(point_id) if p != point_id]
        self.rng.shuffle(others)
        for candidate, days in [(point_id, 14)] + [(p, 14) for p in others[:4]] + [(point_id, 120)]:
            found = self.roster.find(candidate, earliest, case["dispute_type"], days)
            if found is not None:
                return (candidate, *found)
        return None

    def _appointment(self, case: dict[str, Any], point_id: int, mediator_id: int, starts: dt.datetime,
                     ends: dt.datetime, created: dt.datetime) -> dict[str, Any]:
        self.roster.hold(mediator_id, starts.astimezone(LOCAL_TZ).date(), starts, ends)
        appt = {
            "id": self._id("appointments"), "case_id": case["id"], "service_point_id": point_id,
            "mediator_id": mediator_id, "starts_at": starts, "ends_at": ends,
            "status": AppointmentStatus.BOOKED.value, "revision": 1, "note": None,
            "created_at": created, "updated_at": created, "responded_at": None,
        }
        self.truth.appointments.append(appt)
        case["service_point_id"], case["mediator_id"] = point_id, mediator_id
        if case["booked_at"] is None:
            case["booked_at"] = created
        return appt

    def _follow(self, case: dict[str, Any], booking_at: dt.datetime, slot: tuple) -> Optional[dt.datetime]:
        """Play one appointment out; returns when the case is booked again, or None."""
        point_id, mediator_id, starts, ends = slot
        appt = self._appointment(case, point_id, mediator_id, starts, ends, booking_at)
        mediator = self.roster.mediators[mediator_id]
        answer = _second(booking_at + mediator.response_delay(self.rng))
        if self.rng.random() < mediator.decline_p and answer < min(starts - LEAD, self.now):
            return self._decline(case, appt, answer)
        return self._meet(case, appt, answer if self.rng.random() < mediator.respond_p else None)

    def _decline(self, case: dict[str, Any], appt: dict[str, Any], answer: dt.datetime) -> Optional[dt.datetime]:
        appt.update(status=AppointmentStatus.DECLINED.value, responded_at=answer, revision=2, updated_at=answer,
                    note=f"调解员当天另有安排（{MARK}）")
        self._audit(answer, appt["mediator_id"], "appointment.decline", appt["id"],
                    before={"status": AppointmentStatus.BOOKED.value}, after={"status": appt["status"]})
        colleague = self.roster.find(appt["service_point_id"], appt["starts_at"], case["dispute_type"], 1,
                                     exclude=appt["mediator_id"])
        if colleague is not None and colleague[1] == appt["starts_at"] and self.rng.random() < 0.8:
            new = self._appointment(case, appt["service_point_id"], colleague[0], colleague[1], colleague[2], answer)
            self._audit(answer, appt["mediator_id"], "appointment.reassign", new["id"],
                        after={"status": new["status"], "mediator_id": new["mediator_id"], "replaces": appt["id"]})
            colleague_m = self.roster.mediators[new["mediator_id"]]
            response = _second(answer + colleague_m.response_delay(self.rng))
            return self._meet(case, new, response if self.rng.random() < colleague_m.respond_p else None)
        if self.rng.random() < 0.6:  # the resident picks one of the proposed times
            return answer + dt.timedelta(seconds=self.rng.randrange(3600, 3 * 86400))
        return None

    def _meet(self, case: dict[str, Any], appt: dict[str, Any], answer: Optional[dt.datetime]) -> Optional[dt.datetime]:
        """Cancelled, held, missed or still ahead; the mediator's answer if it came in time."""
        starts, ends, created = appt["starts_at"], appt["ends_at"], appt["created_at"]
        if answer is not None and answer >= min(starts, self.now):
            answer = None
        if self.rng.random() < 0.07:
            cancelled = _second(created + (min(starts, self.now) - created) * self.rng.random())
            appt.update(status=AppointmentStatus.CANCELLED.value, revision=2, updated_at=cancelled,
                        responded_at=answer if answer is not None and answer < cancelled else None,
                        note=f"居民取消（{MARK}）")
            again = self.rng.random() < 0.25
            return _second(cancelled + dt.timedelta(days=self.rng.uniform(1, 5))) if again else None
        appt["responded_at"] = answer
        recorded = _second(ends + dt.timedelta(hours=min(self.rng.lognormvariate(math.log(3), 1.2), 240)))
        if recorded > self.now:  # ahead, or held and not recorded yet
            if answer is None and self.rng.random() < 0.05:
                appt.update(status=AppointmentStatus.RESCHEDULED.value, revision=2)
            else:
                appt["status"] = (AppointmentStatus.ACCEPTED if answer else AppointmentStatus.BOOKED).value
            return None
        mediator = self.roster.mediators[appt["mediator_id"]]
        if self.rng.random() < 0.08:
            result = OutcomeResult.NO_SHOW.value
        elif self.rng.random() < mediator.success_p:
            result = (OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION if self.rng.random() < 0.3
                      else OutcomeResult.SUCCESS).value
        else:
            result = OutcomeResult.FAILED.value
        appt.update(status=(AppointmentStatus.NO_SHOW if result == OutcomeResult.NO_SHOW.value
                            else AppointmentStatus.DONE).value, updated_at=recorded)
        self._outcome(appt, result, recorded)
        if result == OutcomeResult.NO_SHOW.value and self.rng.random() < 0.4:
            return _second(recorded + dt.timedelta(days=self.rng.uniform(1, 5)))
        return None

    def _outcome(self, appt: dict[str, Any], result: str, recorded: dt.datetime) -> None:
        jc = None
        if result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value:
            # Most file at once; some bring the agreement to court a few days later.
            later = recorded + dt.timedelta(seconds=self.rng.randrange(3600, 5 * 86400))
            jc = later if self.rng.random() < 0.3 and later <= self.now else recorded
        self.truth.outcomes.append({
            "id": self._id("outcomes"), "case_id": appt["case_id"], "appointment_id": appt["id"], "result": result,
            "agreement_summary": f"{MARK}" if result != OutcomeResult.NO_SHOW.value else None,
            "jc_requested_at": jc, "jc_filed_at": None,
            "recorded_by": f"mediator:{appt['mediator_id']}", "recorded_at": recorded,
        })

    def _settle(self, case: dict[str, Any], own: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> None:
        """The case's status and stage times after its last appointment."""
        if not own:
            return
        last = own[-1]
        outcome = next((o for o in outcomes if o["appointment_id"] == last["id"]), None)
        case["updated_at"] = max(a["updated_at"] for a in own)
        if last["status"] in _ACTIVE:
            case["status"] = CaseStatus.BOOKED.value
        elif outcome is not None and outcome["result"] != OutcomeResult.NO_SHOW.value:
            at = outcome["recorded_at"]
            case["mediating_at"] = at
            if outcome["result"] == OutcomeResult.FAILED.value:
                case.update(status=CaseStatus.FAILED.value, failed_at=at)
            elif outcome["result"] == OutcomeResult.SUCCESS.value:
                case.update(status=CaseStatus.AGREEMENT.value, agreement_at=at)
            else:
                case.update(status=CaseStatus.JC_REQUESTED.value, agreement_at=at,
                            jc_requested_at=outcome["jc_requested_at"])

    # -- 委派调解 ------------------------------------------------------------------------

    def delegate(self, n: int, rng: random.Random) -> None:
        """Cases the court delegated: offered, declined back, accepted, then settled or returned."""
        staffed = [t for t in self.roster.towns if t.county_code in self.roster.points_in]
        span = (self.now - self.begin).total_seconds()
        for _ in range(n):
            town = rng.choice(staffed)
            point_id = rng.choice(self.roster.points_at.get(town.id) or self.roster.points_in[town.county_code])
            mediator_id = rng.choice(self.roster.staff[point_id])
            delegated = _second(self.begin + dt.timedelta(seconds=rng.uniform(0, span)))
            case_id = self._id("cases")
            case = {
                "id": case_id, "reference": f"{REFERENCE_PREFIX}{delegated.astimezone(LOCAL_TZ):%y%m%d}-{case_id:07d}",
                "dispute_type": rng.choice(list(TYPE_WEIGHTS)), "summary": f"委派（{MARK}）",
                "recommended_channel": None, "source": CaseSource.DELEGATED.value, "status": CaseStatus.INTAKE.value,
                "resident_id": None, "service_point_id": point_id, "mediator_id": mediator_id, "conversation_id": None,
                "place_id": town.id, "county_id": self.roster.county_ids[town.county_code],
                "created_at": delegated, "updated_at": delegated,
                "booked_at": None, "mediating_at": None, "agreement_at": None, "failed_at": None,
                "jc_requested_at": None, "closed_at": None,
            }
            row = {
                "id": self._id("delegations"), "case_id": case_id, "court_id": rng.choice(self.court_ids),
                "judge": "合成法官", "channel": rng.choice(("window", "hotline", "judge")),
                "amount_cents": rng.randrange(100000, 50000000), "status": DelegationStatus.OFFERED.value,
                "delegated_at": delegated, "created_by": "desk:sy.clerk", "consent_by": "desk:sy.clerk",
                "deadline": (delegated.astimezone(LOCAL_TZ) + dt.timedelta(days=30)).date(), "offers": 1,
                "offered_at": delegated, "accepted_at": None, "outcome_at": None, "return_note": None,
            }
            self.truth.cases.append(case)
            self.truth.delegations.append(row)
            for role in ("applicant", "respondent"):
                self.truth.delegation_parties.append({
                    "id": self._id("delegation_parties"), "delegation_id": row["id"], "role": role,
                    "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN), "phone": f"13{rng.randrange(10 ** 9):09d}"})
            answered = delegated + dt.timedelta(seconds=rng.randrange(600, 3 * 86400))
            if answered > self.now:
                continue
            if rng.random() < 0.1:  # declined: back with the clerk, nobody holds it
                row["status"], case["mediator_id"] = DelegationStatus.DECLINED.value, None
                continue
            row.update(status=DelegationStatus.ACCEPTED.value, accepted_at=answered)
            case.update(status=CaseStatus.MEDIATING.value, booked_at=answered, mediating_at=answered)
            ended = _second(answered + dt.timedelta(days=rng.uniform(1, 40)))
            if ended > self.now:
                continue
            result = rng.choices(("success", "agreement_needs_confirmation", "failed", "no_show"),
                                 weights=(35, 20, 38, 7))[0]
            row["outcome_at"] = ended
            if result in ("failed", "no_show"):
                row.update(status=DelegationStatus.RETURNED.value, return_note="调解不成")
                case.update(status=CaseStatus.FAILED.value, failed_at=ended)
            else:
                row["status"] = DelegationStatus.SETTLED.value
                jc = ended if result == "agreement_needs_confirmation" else None
                case.update(status=CaseStatus.JC_REQUESTED.value if jc else CaseStatus.AGREEMENT.value,
                            agreement_at=ended, jc_requested_at=jc)
            self.truth.delegated_outcomes.append({
                "id": self._id("outcomes"), "case_id": case_id, "appointment_id": None, "result": result,
                "agreement_summary": None, "jc_requested_at": case["jc_requested_at"], "jc_filed_at": None,
                "recorded_by": f"mediator:{mediator_id}", "recorded_at": ended})

    # -- handoffs and the audit log ---------------------------------------------------

    def _resident_handoff(self, case: dict[str, Any], resident: dict[str, Any]) -> None:
        if self.rng.random() < 0.7:  # asked for a person while describing the problem
            created = case["created_at"] - dt.timedelta(seconds=self.rng.randrange(60, 3600))
        else:  # came back later with a question
            created = case["created_at"] + dt.timedelta(seconds=self.rng.randrange(3600, 10 * 86400))
        if created < self.now:
            linked = case["id"] if self.rng.random() < 0.15 else None
            self._handoff(created, resident=resident, case_id=linked, conversation=resident["conversation_id"])

    def _handoff(self, created: dt.datetime, *, resident: Optional[dict], case_id: Optional[int],
                 conversation: Optional[str]) -> None:
        handoff_id = self._id("handoffs")
        reason = self.rng.choices(list(HANDOFF_REASONS), weights=list(HANDOFF_REASONS.values()))[0]
        row = {
            "id": handoff_id, "conversation_id": conversation or f"sy-anon-{handoff_id}", "case_id": case_id,
            "resident_id": resident["id"] if resident else None, "reason": reason,
            "status": HandoffStatus.WAITING.value, "agent": None, "created_at": created,
            "taken_at": None, "returned_at": None, "closed_at": None, "note": MARK,
        }
        self.truth.handoffs.append(row)
        if self.rng.random() < 0.07:  # the resident left before anyone took it
            gave_up = created + dt.timedelta(seconds=self.rng.randrange(600, 7200))
            if gave_up <= self.now:
                row.update(status=HandoffStatus.CLOSED.value, closed_at=gave_up)
            return
        opening = next_opening(self.roster.calendar, created)
        minutes = min(self.rng.lognormvariate(math.log(4 if opening == created else 10), 1.0), 240)
        taken = _second(opening + dt.timedelta(minutes=minutes))
        if taken > self.now:
            return
        row.update(status=HandoffStatus.TAKEN.value, taken_at=taken, agent=self.rng.choice(AGENTS))
        done = taken + dt.timedelta(seconds=self.rng.randrange(300, 2400))
        if done <= self.now:
            if self.rng.random() < 0.2:
                row.update(status=HandoffStatus.RETURNED.value, returned_at=done)
            else:
                row.update(status=HandoffStatus.CLOSED.value, closed_at=done)

    def _audit(self, at: dt.datetime, mediator_id: int, action: str, appointment_id: int, *,
               before: Optional[dict] = None, after: Optional[dict] = None) -> None:
        self.truth.audit.append({
            "id": self._id("audit_log"), "at": at, "actor": f"mediator:{mediator_id}", "action": action,
            "entity_type": "appointment", "entity_id": appointment_id, "before": before, "after": after,
        })


# --- writing ----------------------------------------------------------------------------

_CHUNK = 5000


def _insert(session: Session, truth: GeneratedTruth) -> None:
    """Bulk inserts with the ids chosen above, parents first; PostgreSQL's sequences follow."""
    for model, rows in ((Resident, truth.residents), (Case, truth.cases), (Appointment, truth.appointments),
                        (Outcome, truth.outcomes + truth.delegated_outcomes), (Handoff, truth.handoffs),
                        (AuditEntry, truth.audit), (Delegation, truth.delegations),
                        (DelegationParty, truth.delegation_parties)):
        table = model.__table__
        # Columns the database fills itself (e.g. cases.lookup_failures) are left to it.
        columns = [c.name for c in table.columns if c.server_default is None]
        for i in range(0, len(rows), _CHUNK):
            session.execute(table.insert(), [{c: row.get(c) for c in columns} for row in rows[i:i + _CHUNK]])
        if rows and session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"(SELECT MAX(id) FROM {table.name}))"))
