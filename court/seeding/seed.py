"""The idempotent seed: places, courts, then the demo roster."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from court.core import clock
from court.core.timeutil import to_local
from court.seeding.calendar import seed_calendar
from court.seeding.courts import load_courts
from court.seeding.demo import demo_roster
from court.seeding.divisions import load_divisions
from court.seeding.roster import load_roster
from court.store.db import Database


@dataclass
class SeedReport:
    places: int
    courts: int
    service_points: int
    mediators: int


def seed(db: Database, *, demo: bool = True, today: Optional[dt.date] = None) -> SeedReport:
    with db.transaction() as session:
        places = load_divisions(session)
        courts = load_courts(session)
        seed_calendar(session)
        points = mediators = 0
        if demo:
            day = today or to_local(clock.now()).date()
            point_recs, mediator_recs = demo_roster(session, day)
            points, mediators = load_roster(session, point_recs, mediator_recs, actor="seed")
    return SeedReport(places, courts, points, mediators)
