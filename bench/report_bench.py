"""Oversight statistics on a synthetic year of 100,000 cases, on PostgreSQL.

    python -m bench.report_bench --postgres postgresql+psycopg2://court@127.0.0.1:55432/postgres

A fresh migrated, seeded database gets a year of synthetic cases (court/seeding/synthetic/);
then court.oversight.stats.report() and scorecards() are timed, 5 runs each, beside a baseline that
loads every row of the period into Python (ORM objects) and counts there. Both must give
the same figures; the run stops if they do not.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import math
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Optional

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session, selectinload

from bench.databases import fresh_database
from court.core.settings import LOCAL_TZ
from court.oversight import stats
from court.seeding.seed import seed
from court.seeding.synthetic import generate
from court.store.schema import Appointment, Case, Handoff, Mediator, Outcome, Place, ServicePoint

YEAR = (dt.date(2025, 12, 1), dt.date(2026, 11, 30))
MONTH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
COUNTY_CODE = "231181"  # 北安市 (Bei'an); the table is ASCII so it stays aligned
RUNS = 5


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(start, dt.time.min, LOCAL_TZ),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, LOCAL_TZ))


# --- the naive way: every row of the period as an object, counted in Python ---------------


def naive_report(s: Session, area: stats.AreaRef, start: dt.date, end: dt.date) -> dict[str, Any]:
    lo, hi = _bounds(start, end)
    places = {p.id: p for p in s.execute(select(Place)).scalars()}
    code = places[area.id].county_code if area.kind == "county" else None

    def case_in(c: Optional[Case]) -> bool:
        if area.kind == "city":
            return True
        if c is None:
            return False
        if area.kind == "point":
            return c.service_point_id == area.id
        if area.kind == "town":
            return c.place_id == area.id
        return c.place_id is not None and places[c.place_id].county_code == code

    cases = s.execute(select(Case).where(Case.created_at >= lo, Case.created_at < hi)
                      .options(selectinload(Case.appointments))).scalars().all()
    intakes = [c for c in cases if case_in(c)]
    steered = [c for c in intakes if c.appointments]
    first = [(min(a.starts_at for a in c.appointments) - c.created_at).total_seconds() for c in steered]
    appts = s.execute(select(Appointment).where(Appointment.starts_at >= lo, Appointment.starts_at < hi)
                      .options(selectinload(Appointment.case))).scalars().all()
    appts = [a for a in appts if (a.service_point_id == area.id if area.kind == "point" else case_in(a.case))]
    statuses = collections.Counter(a.status for a in appts)
    outcomes = s.execute(select(Outcome).where(or_(Outcome.recorded_at.between(lo, hi),
                                                   Outcome.jc_requested_at.between(lo, hi)))).scalars().all()
    related = {a.id: a for a in s.execute(select(Appointment).where(
        Appointment.id.in_({o.appointment_id for o in outcomes})).options(selectinload(Appointment.case))).scalars()}
    outcomes = [o for o in outcomes if (related[o.appointment_id].service_point_id == area.id if area.kind == "point"
                                        else case_in(related[o.appointment_id].case))]
    handoffs = s.execute(select(Handoff).where(Handoff.created_at >= lo, Handoff.created_at < hi)).scalars().all()
    if area.kind != "city":
        theirs: dict[int, list[Case]] = collections.defaultdict(list)
        for c in s.execute(select(Case).where(Case.resident_id.in_({h.resident_id for h in handoffs}))).scalars():
            theirs[c.resident_id].append(c)
        own = {c.id: c for c in s.execute(select(Case).where(Case.id.in_({h.case_id for h in handoffs}))).scalars()}

        def owner(h: Handoff) -> Optional[Case]:
            if h.case_id is not None:
                return own[h.case_id]
            mine = sorted(theirs.get(h.resident_id, []), key=lambda c: (c.created_at, c.id))
            before = [c for c in mine if c.created_at <= h.created_at]
            return before[-1] if before else (mine[0] if mine else None)

        handoffs = [h for h in handoffs if case_in(owner(h))]
    waits = [(h.taken_at - h.created_at).total_seconds() for h in handoffs if h.taken_at]
    return {
        "intakes": len(intakes),
        "by_type": dict(collections.Counter(c.dispute_type for c in intakes)),
        "steered": len(steered),
        "median_days": round(statistics.median(first) / 86400, 1) if first else None,
        "booked": sum(n for k, n in statuses.items() if k not in ("cancelled", "declined")),
        "held": statuses["done"],
        "outcomes": dict(collections.Counter(o.result for o in outcomes if lo <= o.recorded_at < hi)),
        "jc": sum(1 for o in outcomes if o.jc_requested_at and lo <= o.jc_requested_at < hi),
        "handoffs": len(handoffs),
        "wait_median": round(statistics.median(waits) / 60, 1) if waits else None,
    }


def sql_report(s: Session, area: stats.AreaRef, start: dt.date, end: dt.date) -> dict[str, Any]:
    r = stats.report(s, area=area, start=start, end=end)
    return {
        "intakes": r.intakes, "by_type": {f.key: f.value for f in r.by_type if f.value}, "steered": r.steered,
        "median_days": r.median_days_to_first_appointment, "booked": r.appointments_booked,
        "held": r.appointments_held, "outcomes": {f.key: f.value for f in r.outcomes if f.value},
        "jc": r.jc_requested, "handoffs": r.handoffs, "wait_median": r.handoff_wait_median_min,
    }


def naive_scorecards(s: Session, county_id: int, start: dt.date, end: dt.date) -> dict[int, tuple]:
    lo, hi = _bounds(start, end)
    code = s.get(Place, county_id).county_code
    mediators = s.execute(select(Mediator).options(
        selectinload(Mediator.service_points).selectinload(ServicePoint.place))).scalars().all()
    ids = {m.id for m in mediators if any(p.place.county_code == code for p in m.service_points)}
    created = s.execute(select(Appointment).where(Appointment.created_at >= lo, Appointment.created_at < hi)).scalars().all()
    starting = s.execute(select(Appointment).where(Appointment.starts_at >= lo, Appointment.starts_at < hi)).scalars().all()
    outcomes = s.execute(select(Outcome).where(Outcome.recorded_at >= lo, Outcome.recorded_at < hi)).scalars().all()
    by_appt = {a.id: a.mediator_id for a in s.execute(select(Appointment).where(
        Appointment.id.in_({o.appointment_id for o in outcomes}))).scalars()}
    out = {}
    for m in ids:
        offered = [a for a in created if a.mediator_id == m]
        wins = sum(1 for o in outcomes
                   if by_appt[o.appointment_id] == m and o.result in ("success", "agreement_needs_confirmation"))
        out[m] = (len(offered), sum(1 for a in offered if a.responded_at and a.status != "declined"),
                  sum(1 for a in offered if a.status == "declined"),
                  sum(1 for a in starting if a.mediator_id == m and a.status == "done"), wins)
    return out


def sql_scorecards(s: Session, county_id: int, start: dt.date, end: dt.date) -> dict[int, tuple]:
    return {c.mediator_id: (c.offered, c.accepted, c.declined, c.held, c.successes)
            for c in stats.scorecards(s, county_id=county_id, start=start, end=end)}


# --- timing -------------------------------------------------------------------------------


def _time(db: Any, fn: Callable[[Session], Any]) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(RUNS):
        with db.reader() as s:  # a fresh session each run: no identity-map cache between runs
            t0 = time.perf_counter()
            result = fn(s)
            times.append((time.perf_counter() - t0) * 1000)
    return times, result


def _pg_url(given: Optional[str]) -> str:
    if given:
        return given
    if os.environ.get("TEST_POSTGRES_URL"):
        return os.environ["TEST_POSTGRES_URL"]
    script = Path(__file__).resolve().parent.parent / "bin" / "pg-test-server"
    return subprocess.run([str(script), "url"], check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: TEST_POSTGRES_URL, "
                                           "else bin/pg-test-server url)")
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()

    db = fresh_database("court_report_bench", _pg_url(args.postgres))
    db.migrate()
    seed(db, today=YEAR[1])
    t0 = time.perf_counter()
    with db.transaction() as s:
        truth = generate(s, cases=args.cases, start=YEAR[0], end=YEAR[1], seed=1)
    generated = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    print(f"generated {len(truth.cases):,} cases, {len(truth.appointments):,} appointments, "
          f"{len(truth.outcomes):,} outcomes, {len(truth.handoffs):,} handoffs, {len(truth.audit):,} audit entries "
          f"in {generated:.1f} s (PostgreSQL, one transaction)")

    with db.reader() as s:
        city = stats.parse_area(s, "city")
        county_id = s.execute(select(Place.id).where(Place.county_code == COUNTY_CODE, Place.level == "county")).scalar_one()
        county = stats.parse_area(s, f"county:{county_id}")
    scenarios = [
        ("report: city, one month", lambda s: sql_report(s, city, *MONTH), lambda s: naive_report(s, city, *MONTH)),
        ("report: city, whole year", lambda s: sql_report(s, city, *YEAR), lambda s: naive_report(s, city, *YEAR)),
        ("report: Bei'an county, one month", lambda s: sql_report(s, county, *MONTH),
         lambda s: naive_report(s, county, *MONTH)),
        ("scorecards: Bei'an county, one month", lambda s: sql_scorecards(s, county_id, *MONTH),
         lambda s: naive_scorecards(s, county_id, *MONTH)),
    ]
    table = []
    for name, fast, naive in scenarios:
        fast_ms, fast_result = _time(db, fast)
        naive_ms, naive_result = _time(db, naive)
        if fast_result != naive_result:
            raise SystemExit(f"{name}: SQL and baseline disagree\n{fast_result}\n{naive_result}")
        table.append((name, statistics.median(fast_ms), _p95(fast_ms), statistics.median(naive_ms), _p95(naive_ms)))
    # The statistics page as a clerk opens it: before this issue one report; now the report beside
    # the period before and the year before, the monthly trend and the service-point map.
    def page_now(s: Session, start: dt.date, end: dt.date) -> None:
        stats.compare(s, area=city, start=start, end=end)
        stats.trend(s, area=city, start=start, end=end)
        stats.point_map(s, area=city, start=start, end=end)

    pages = []
    for name, fn in (("page before (report only): city, one month", lambda s: stats.report(s, area=city, start=MONTH[0], end=MONTH[1])),
                     ("page now (+环比/同比, trend, map): city, one month", lambda s: page_now(s, *MONTH)),
                     ("page before (report only): city, whole year", lambda s: stats.report(s, area=city, start=YEAR[0], end=YEAR[1])),
                     ("page now (+环比/同比, trend, map): city, whole year", lambda s: page_now(s, *YEAR))):
        ms, _ = _time(db, fn)
        pages.append((name, statistics.median(ms), _p95(ms)))
    db.dispose()

    width = max(len(row[0]) for row in table) + 2
    print(f"\n{RUNS} runs each, milliseconds; baseline = the period's rows loaded into Python and counted there")
    print(f"{'':<{width}}{'SQL median':>12}{'SQL p95':>10}{'baseline median':>17}{'baseline p95':>14}{'speed-up':>10}")
    for name, med, p95, base_med, base_p95 in table:
        print(f"{name:<{width}}{med:>12.1f}{p95:>10.1f}{base_med:>17.1f}{base_p95:>14.1f}{base_med / med:>9.1f}x")
    print("SQL and baseline figures agree in every scenario.")
    width = max(len(row[0]) for row in pages) + 2
    print(f"\nThe statistics page's queries, {RUNS} runs each, milliseconds")
    print(f"{'':<{width}}{'median':>10}{'p95':>10}")
    for name, med, p95 in pages:
        print(f"{name:<{width}}{med:>10.1f}{p95:>10.1f}")


if __name__ == "__main__":
    main()
