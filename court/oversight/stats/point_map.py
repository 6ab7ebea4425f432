"""Service points as a map draws them: where they are, how many intakes they had and how
long their residents waited for a first meeting."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from court.oversight.stats.area_scope import AreaRef, county_code_of
from court.oversight.stats.sql import Spread, period, scaled, seconds_between, spreads, within
from court.store.schema import Appointment, Case, CaseSource, Place, ServicePoint


@dataclass(frozen=True)
class PointDot:
    point_id: int
    name: str
    lat: float
    lng: float
    active: bool
    cases: int
    median_days_to_first: Optional[float]


def point_map(session: Session, *, area: AreaRef, start: dt.date, end: dt.date) -> list[PointDot]:
    """The area's service points with the period's intakes booked there and the median days from
    intake to the first meeting of those cases (None without one). Busiest first."""
    _, _, lo, hi = period(start, end)
    query = select(ServicePoint.id, ServicePoint.name, ServicePoint.lat, ServicePoint.lng, ServicePoint.active)
    if area.kind == "county":
        query = query.join(Place, Place.id == ServicePoint.place_id).where(
            Place.county_code == county_code_of(session, area.id))
    elif area.kind == "town":
        query = query.where(ServicePoint.place_id == area.id)
    elif area.kind == "point":
        query = query.where(ServicePoint.id == area.id)
    points = session.execute(query).all()
    ids = [p.id for p in points]
    in_period = and_(within(Case.created_at, lo, hi), Case.source != CaseSource.DELEGATED.value)
    counts = dict(session.execute(select(Case.service_point_id, func.count()).where(
        in_period, Case.service_point_id.in_(ids)).group_by(Case.service_point_id)).all()) if ids else {}
    first_start = func.min(Appointment.starts_at)
    waits = spreads(session, select(Case.service_point_id, seconds_between(first_start, Case.created_at))
                    .select_from(Case).join(Appointment, Appointment.case_id == Case.id)
                    .where(in_period, Case.service_point_id.in_(ids))
                    .group_by(Case.id, Case.service_point_id, Case.created_at)) if ids else {}
    dots = [PointDot(p.id, p.name, float(p.lat), float(p.lng), bool(p.active), int(counts.get(p.id, 0)),
                     scaled(waits.get(p.id, Spread(None, None)).median, 86400)) for p in points]
    return sorted(dots, key=lambda d: (-d.cases, d.point_id))
