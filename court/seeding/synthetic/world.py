"""The world a synthetic year happens in: Heihe's shape (where disputes come from, of which
kinds, residents' names) and the seeded roster (places, staffed service points, mediators
with their habits, their slots and who is busy when)."""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.settings import LOCAL_TZ
from court.records.workcalendar import WorkCalendar, schedule_weekday
from court.store.schema import (
    Mediator,
    MediatorAvailability,
    MediatorSpeciality,
    MediatorStatus,
    Place,
    PlaceLevel,
    ServicePoint,
    ServicePointHours,
    mediator_points,
)

UTC = dt.timezone.utc

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
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾于董袁潘田姜崔蒋"
GIVEN = "淑芬玉珍秀英凤霞建国志强永胜德福春生宝山国华丽娟晓东文杰海涛立新红梅雅琴振江树林长青金凤"


@dataclass
class MediatorHabits:
    """How one mediator of the roster behaves over the year."""

    id: int
    types: frozenset[str]
    respond_p: float  # answers a push at all
    decline_p: float
    response_hours: float  # median delay of an answer
    success_p: float  # share of held meetings ending in agreement

    def response_delay(self, rng: random.Random) -> dt.timedelta:
        hours = min(rng.lognormvariate(math.log(self.response_hours), 1.0), 72.0)
        return dt.timedelta(seconds=int(hours * 3600) + 30)


class Roster:
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
        self.mediators: dict[int, MediatorHabits] = {}
        for (mediator_id,) in session.execute(select(Mediator.id).where(
                Mediator.status == MediatorStatus.ACTIVE.value).order_by(Mediator.id)):
            self.mediators[mediator_id] = MediatorHabits(
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


