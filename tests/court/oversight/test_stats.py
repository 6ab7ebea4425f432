"""Oversight statistics against a synthetic year: every figure of every report, and the
scorecards, recomputed in plain Python from what the generator says it wrote."""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import shutil
import statistics
import uuid
from typing import Any, Iterator, Optional

import chinese_calendar
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from court.core.errors import ValidationError
from court.core.settings import LOCAL_TZ
from court.oversight import stats
from court.records import cases
from court.reference import guidance
from court.seeding.synthetic import REFERENCE_PREFIX, GeneratedTruth, generate
from court.store.db import Database
from court.store.schema import Case, DisputeType, Handoff, Mediator, OutcomeResult, Place, ServicePoint
from tests.conftest import _backends, _pg_admin, _pg_url
from tests.factories import new_case

YEAR = (dt.date(2025, 12, 1), dt.date(2026, 11, 30))
CASES = 2000
DELEGATED = 120  # 委派调解, counted apart from the residents' cases
BEIAN = "231181"  # 北安市, one of the larger county units


# --- one generated year per database for the whole module -----------------------------


@dataclasses.dataclass
class World:
    db: Database
    truth: GeneratedTruth


@pytest.fixture(scope="module", params=_backends())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The seeded template copied once for this module (the `db` fixture is per test), plus a year."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("stats") / "court.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db, name = Database(f"sqlite:///{path}"), None
    else:
        template = request.getfixturevalue("pg_template")
        name = f"court_stats_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
        admin.dispose()
        db = Database(make_url(_pg_url()).set(database=name).render_as_string(hide_password=False))
    with db.transaction() as s:
        truth = generate(s, cases=CASES, start=YEAR[0], end=YEAR[1], seed=7, delegated=DELEGATED)
    yield World(db, truth)
    db.dispose()
    if name:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# --- expected figures, from the truth alone --------------------------------------------


def bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(start, dt.time.min, LOCAL_TZ),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, LOCAL_TZ))


def nearest_rank_p90(values: list[float]) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def median_or_none(values: list[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def rounded(value: Optional[float], unit: float) -> Optional[float]:
    return None if value is None else round(value / unit, 1)


class Expect:
    """The report and scorecards as a clerk would count them by hand from the truth."""

    def __init__(self, truth: GeneratedTruth, working: Any = None) -> None:
        self.t = truth
        # Working days from the package the seed copies the court's calendar from, not WorkCalendar.
        self.working = working or chinese_calendar.is_workday
        self.cases = {c["id"]: c for c in truth.cases}
        self.residents_cases = [c for c in truth.cases if c["source"] != "delegated"]
        self.delegations = [(d, self.cases[d["case_id"]]) for d in truth.delegations]
        self.appts = {a["id"]: a for a in truth.appointments}
        self.by_resident: dict[int, list[dict]] = collections.defaultdict(list)
        for c in self.residents_cases:
            self.by_resident[c["resident_id"]].append(c)
        self.appts_of: dict[int, list[dict]] = collections.defaultdict(list)
        for a in truth.appointments:
            self.appts_of[a["case_id"]].append(a)

    @staticmethod
    def case_in(area: stats.AreaRef, case: Optional[dict]) -> bool:
        if area.kind == "city":
            return True
        if case is None:
            return False
        field = {"county": "county_id", "town": "place_id", "point": "service_point_id"}[area.kind]
        return case[field] == area.id

    def handoff_case(self, h: dict) -> Optional[dict]:
        if h["case_id"] is not None:
            return self.cases[h["case_id"]]
        theirs = sorted(self.by_resident.get(h["resident_id"], []), key=lambda c: (c["created_at"], c["id"]))
        before = [c for c in theirs if c["created_at"] <= h["created_at"]]
        return before[-1] if before else (theirs[0] if theirs else None)

    def report(self, area: stats.AreaRef, start: dt.date, end: dt.date) -> dict[str, Any]:
        lo, hi = bounds(start, end)
        inside = lambda moment: moment is not None and lo <= moment < hi  # noqa: E731
        intakes = [c for c in self.residents_cases if inside(c["created_at"]) and self.case_in(area, c)]
        steered = [c for c in intakes if self.appts_of[c["id"]]]
        first_waits = [(min(a["starts_at"] for a in self.appts_of[c["id"]]) - c["created_at"]).total_seconds()
                       for c in steered]

        def appt_in(a: dict) -> bool:
            if area.kind == "point":
                return a["service_point_id"] == area.id
            return self.case_in(area, self.cases[a["case_id"]])

        appts = collections.Counter(a["status"] for a in self.t.appointments if inside(a["starts_at"]) and appt_in(a))
        outcomes = [o for o in self.t.outcomes if appt_in(self.appts[o["appointment_id"]])]
        handoffs = [h for h in self.t.handoffs if inside(h["created_at"])
                    and (area.kind == "city" or self.case_in(area, self.handoff_case(h)))]
        waits = [(h["taken_at"] - h["created_at"]).total_seconds() for h in handoffs if h["taken_at"] is not None]
        return {
            "intakes": len(intakes),
            "by_type": collections.Counter(c["dispute_type"] for c in intakes),
            "by_source": collections.Counter(c["source"] for c in intakes),
            "subarea_cases": intakes,
            "steered": len(steered),
            "steered_share": len(steered) / len(intakes) if intakes else None,
            "appointments_booked": sum(n for s, n in appts.items() if s not in ("cancelled", "declined")),
            "appointments_held": appts["done"],
            "appointments_no_show": appts["no_show"],
            "appointments_cancelled": appts["cancelled"],
            "outcomes": collections.Counter(o["result"] for o in outcomes if inside(o["recorded_at"])),
            "jc_requested": sum(1 for o in outcomes if inside(o["jc_requested_at"])),
            "median_days_to_first_appointment": rounded(median_or_none(first_waits), 86400),
            "handoffs": len(handoffs),
            "handoffs_by_reason": collections.Counter(h["reason"] for h in handoffs),
            "handoff_wait_median_min": rounded(median_or_none(waits), 60),
            "handoff_wait_p90_min": rounded(nearest_rank_p90(waits), 60),
            "handoffs_never_taken": sum(1 for h in handoffs if h["taken_at"] is None),
            "appointments_declined": appts["declined"],
            "appointments_pending": sum(n for s, n in appts.items() if s in ("booked", "accepted", "rescheduled")),
            "jc_recorded_in_period": sum(1 for o in outcomes if inside(o["jc_requested_at"]) and inside(o["recorded_at"])),
            "jc_recorded_before": sum(1 for o in outcomes if inside(o["jc_requested_at"])
                                      and not inside(o["recorded_at"])),
            "agreements_jc_later": sum(1 for o in outcomes if o["result"] == "agreement_needs_confirmation"
                                       and inside(o["recorded_at"]) and not inside(o["jc_requested_at"])),
            **self.desk_hours(handoffs),
            "delegated": self.delegated([d for d, c in self.delegations
                                         if inside(d["delegated_at"]) and self.case_in(area, c)]),
        }

    def delegated(self, rows: list[dict]) -> dict[str, Any]:
        """委派调解 of the period (by the day delegated), as they stand now."""
        settled = [d for d in rows if d["status"] == "settled"]
        returned = [d for d in rows if d["status"] == "returned"]
        days = [(d["outcome_at"] - d["delegated_at"]).total_seconds() for d in rows if d["outcome_at"]]
        return dict(
            delegated=len(rows), accepted=sum(1 for d in rows if d["accepted_at"]), settled=len(settled),
            jc_requested=sum(1 for d in settled if self.cases[d["case_id"]]["jc_requested_at"]),
            returned=len(returned), still_open=len(rows) - len(settled) - len(returned),
            success_rate=len(settled) / (len(settled) + len(returned)) if settled or returned else None,
            days_to_outcome_median=rounded(median_or_none(days), 86400))

    def desk_hours(self, handoffs: list[dict]) -> dict[str, Any]:
        """Hand-overs asked in desk hours and the others, by the generator's own calendar reading."""
        in_hours = [h for h in handoffs if self.t_calendar_open(h["created_at"])]
        after = [h for h in handoffs if not self.t_calendar_open(h["created_at"])]
        in_waits = [(h["taken_at"] - h["created_at"]).total_seconds() for h in in_hours if h["taken_at"]]
        after_waits = [max(0.0, (h["taken_at"] - self.opening(h["created_at"])).total_seconds())
                       for h in after if h["taken_at"]]
        return {
            "handoffs_in_hours": len(in_hours), "handoffs_after_hours": len(after),
            "wait_in_hours_median_min": rounded(median_or_none(in_waits), 60),
            "wait_in_hours_p90_min": rounded(nearest_rank_p90(in_waits), 60),
            "wait_after_opening_median_min": rounded(median_or_none(after_waits), 60),
            "wait_after_opening_p90_min": rounded(nearest_rank_p90(after_waits), 60),
        }

    def t_calendar_open(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(LOCAL_TZ)
        return self.working(local.date()) and dt.time(8, 30) <= local.time() < dt.time(17, 0)

    def opening(self, moment: dt.datetime) -> dt.datetime:
        local = moment.astimezone(LOCAL_TZ)
        day = local.date() + dt.timedelta(days=1 if local.time() >= dt.time(8, 30) else 0)
        while not self.working(day):
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(8, 30), LOCAL_TZ)

    def subareas(self, s, area: stats.AreaRef, intakes: list[dict]) -> dict[str, int]:
        """Expected by_subarea as key -> value, zeros for every listed sub-area."""
        if area.kind == "point":
            return {}
        if area.kind == "city":
            expected = {str(i): 0 for i in s.execute(select(Place.id).where(Place.level == "county")).scalars()}
            key = lambda c: str(c["county_id"]) if c["county_id"] else "unknown"  # noqa: E731
        elif area.kind == "county":
            code = s.execute(select(Place.county_code).where(Place.id == area.id)).scalar_one()
            expected = {str(i): 0 for i in s.execute(select(Place.id).where(
                Place.county_code == code, Place.level.notin_(("county", "prefecture")))).scalars()}
            key = lambda c: "unknown" if c["place_id"] == area.id else str(c["place_id"])  # noqa: E731
        else:
            expected = {str(i): 0 for i in s.execute(select(ServicePoint.id).where(
                ServicePoint.place_id == area.id)).scalars()}
            key = lambda c: str(c["service_point_id"]) if c["service_point_id"] else "unknown"  # noqa: E731
        for c in intakes:
            expected[key(c)] = expected.get(key(c), 0) + 1
        return expected

    def scorecards(self, mediators: dict[int, dict], start: dt.date, end: dt.date,
                   now: Optional[dt.datetime] = None) -> list[dict]:
        lo, hi = bounds(start, end)
        now = now or self.t.now
        inside = lambda moment: moment is not None and lo <= moment < hi  # noqa: E731
        cards = []
        for m, info in mediators.items():
            offered = [a for a in self.t.appointments if a["mediator_id"] == m and inside(a["created_at"])]
            accepted = [a for a in offered if a["responded_at"] is not None and a["status"] != "declined"]
            declined = [a for a in offered if a["status"] == "declined"]
            silent = [a for a in offered if a["responded_at"] is None]
            withdrawn = [a for a in silent if a["status"] == "cancelled"]
            pending = [a for a in silent if a["status"] in ("booked", "accepted", "rescheduled")
                       and a["starts_at"] > now]
            unanswered = [a for a in silent if a not in withdrawn and a not in pending]
            answered = [(a["responded_at"] - a["created_at"]).total_seconds() for a in offered if a["responded_at"]]
            meetings = [a for a in self.t.appointments if a["mediator_id"] == m and inside(a["starts_at"])]
            theirs = [o for o in self.t.outcomes if self.appts[o["appointment_id"]]["mediator_id"] == m]
            recorded = [o["result"] for o in theirs if inside(o["recorded_at"])]
            wins = sum(1 for r in recorded if r in ("success", "agreement_needs_confirmation"))
            losses = recorded.count("failed")
            cards.append(dict(
                mediator_id=m, name=info["name"], county=info["county"], points=info["points"], status="在任",
                offered=len(offered), accepted=len(accepted), declined=len(declined), unanswered=len(unanswered),
                withdrawn=len(withdrawn), pending=len(pending),
                acceptance_rate=(len(accepted) / (len(accepted) + len(declined) + len(unanswered))
                                 if accepted or declined or unanswered else None),
                response_median_hours=rounded(median_or_none(answered), 3600),
                held=sum(1 for a in meetings if a["status"] == "done"),
                no_shows=sum(1 for a in meetings if a["status"] == "no_show"),
                successes=wins, failures=losses,
                success_rate=wins / (wins + losses) if wins + losses else None,
                jc_requested=sum(1 for o in theirs if inside(o["jc_requested_at"])),
                delegated=self.mediator_delegated([d for d, c in self.delegations
                                                   if c["mediator_id"] == m and inside(d["delegated_at"])]),
                training_hours=0.0,  # the synthetic year records no training (tests/court/mediation/test_training.py does)
            ))
        return sorted(cards, key=lambda c: (-c["held"], c["name"], c["mediator_id"]))

    def mediator_delegated(self, rows: list[dict]) -> dict[str, Any]:
        if not rows:  # a mediator without delegated cases of the period: the empty card
            return dict(delegated=0, accepted=0, settled=0, returned=0, success_rate=None, days_to_outcome_median=None)
        d = self.delegated(rows)
        return {k: d[k] for k in ("delegated", "accepted", "settled", "returned", "success_rate",
                                  "days_to_outcome_median")}


# --- the areas and periods under test ----------------------------------------------------


def county_area(s, code: str) -> stats.AreaRef:
    place_id = s.execute(select(Place.id).where(Place.county_code == code, Place.level == "county")).scalar_one()
    return stats.parse_area(s, f"county:{place_id}")


def busiest(values) -> int:  # noqa: ANN001
    return sorted(collections.Counter(v for v in values if v is not None).items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def combinations(s, truth: GeneratedTruth) -> list[tuple[stats.AreaRef, dt.date, dt.date]]:
    quarter, may = (dt.date(2026, 4, 1), dt.date(2026, 6, 30)), (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    expect = Expect(truth)

    def most_handoffs(field: str, start: dt.date, end: dt.date) -> int:
        """Where the cases behind the most handoffs of the period are: exercises the handoffs' case lookup."""
        lo, hi = bounds(start, end)
        return busiest((expect.handoff_case(h) or {}).get(field) for h in truth.handoffs if lo <= h["created_at"] < hi)

    town, point = most_handoffs("place_id", *quarter), most_handoffs("service_point_id", *may)
    # A point that held meetings of cases that then moved on to another point.
    held_at = {o["id"]: expect.appts[o["appointment_id"]]["service_point_id"] for o in truth.outcomes}
    moved = busiest(held_at[o["id"]] for o in truth.outcomes
                    if held_at[o["id"]] != expect.cases[o["case_id"]]["service_point_id"])
    return [
        (stats.parse_area(s, "city"), *YEAR),
        (county_area(s, BEIAN), dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        (stats.parse_area(s, f"town:{town}"), *quarter),
        (stats.parse_area(s, f"point:{point}"), *may),
        (stats.parse_area(s, "city"), dt.date(2026, 12, 1), dt.date(2026, 12, 31)),  # only appointments ahead
        (stats.parse_area(s, f"point:{moved}"), *YEAR),
        (stats.parse_area(s, "city"), dt.date(2027, 3, 1), dt.date(2027, 3, 31)),  # nothing at all
    ]


SCALARS = ("intakes", "steered", "steered_share", "appointments_booked", "appointments_held", "appointments_no_show",
           "appointments_cancelled", "jc_requested", "median_days_to_first_appointment", "handoffs",
           "handoff_wait_median_min", "handoff_wait_p90_min", "handoffs_never_taken", "appointments_declined",
           "appointments_pending", "jc_recorded_in_period", "jc_recorded_before", "agreements_jc_later",
           "handoffs_in_hours", "handoffs_after_hours", "wait_in_hours_median_min", "wait_in_hours_p90_min",
           "wait_after_opening_median_min", "wait_after_opening_p90_min")


def test_every_report_figure_matches_an_independent_count(world: World) -> None:
    expect = Expect(world.truth)
    with world.db.reader() as s:
        for area, start, end in combinations(s, world.truth):
            got = stats.report(s, area=area, start=start, end=end)
            want = expect.report(area, start, end)
            where = f"{area.token} {start}..{end}"
            assert (got.area, got.start, got.end) == (area, start, end)
            for name in SCALARS:
                assert getattr(got, name) == pytest.approx(want[name]), f"{name} for {where}"
            assert [(f.key, f.label) for f in got.by_type] == [(t.value, guidance.card(t.value).label) for t in DisputeType]
            assert {f.key: f.value for f in got.by_type} == {t.value: want["by_type"][t.value] for t in DisputeType}
            assert [(f.key, f.label, f.value) for f in got.by_source] == [
                ("bot", "助手", want["by_source"]["bot"]), ("hotline", "12368热线", want["by_source"]["hotline"])]
            subareas = {f.key: f.value for f in got.by_subarea}
            assert len(subareas) == len(got.by_subarea), where
            assert subareas == expect.subareas(s, area, want["subarea_cases"]), where
            assert sum(subareas.values()) == (got.intakes if area.kind != "point" else 0)
            assert [f.key for f in got.outcomes] == [r.value for r in OutcomeResult]
            assert [f.label for f in got.outcomes] == ["调解成功", "调解不成", "达成协议并申请司法确认", "当事人未到"]
            assert {f.key: f.value for f in got.outcomes} == {r.value: want["outcomes"][r.value] for r in OutcomeResult}
            reasons = {f.key: f.value for f in got.handoffs_by_reason}
            assert {k: v for k, v in reasons.items() if v} == dict(want["handoffs_by_reason"]), where
            assert sum(reasons.values()) == got.handoffs
            assert dataclasses.asdict(got.delegated) == pytest.approx(want["delegated"]), where


def test_the_chosen_periods_are_not_trivial(world: World) -> None:
    """Guards the test above: each combination really exercises its figures."""
    with world.db.reader() as s:
        reports = [stats.report(s, area=a, start=b, end=e) for a, b, e in combinations(s, world.truth)]
    city_year, county_month, town_quarter, point_month, next_month, _, empty = reports
    assert city_year.intakes == CASES  # delegated cases are not residents' intakes
    d = city_year.delegated
    assert d.delegated == DELEGATED and d.settled > 0 and d.returned > 0 and d.jc_requested > 0 and d.still_open > 0
    assert county_month.delegated.delegated > 0
    for r in (city_year, county_month, town_quarter, point_month):
        assert r.intakes > 0 and r.steered > 0 and r.appointments_held > 0 and r.handoffs > 0, r.area
    assert any(f.key == "unknown" and f.value for f in city_year.by_subarea)
    assert any(f.key == "unknown" and f.value for f in county_month.by_subarea + town_quarter.by_subarea)
    assert city_year.handoffs_never_taken > 0 and city_year.jc_requested > 0
    assert next_month.intakes == 0 and next_month.appointments_booked > 0
    assert empty.intakes == empty.appointments_booked == empty.handoffs == 0
    assert empty.steered_share is None and empty.median_days_to_first_appointment is None
    assert empty.handoff_wait_median_min is None and empty.handoff_wait_p90_min is None
    assert [f.value for f in empty.by_subarea] == [0] * 6


def mediators_of(s, code: str) -> dict[int, dict]:
    out = {}
    county_names = dict(s.execute(select(Place.county_code, Place.name).where(Place.level == "county")).all())
    for m in s.execute(select(Mediator).order_by(Mediator.id)).scalars():
        points = sorted(m.service_points, key=lambda p: p.id)
        codes = sorted({p.place.county_code for p in points})
        if code in codes:
            out[m.id] = {"name": m.name, "county": "、".join(county_names[c] for c in codes),
                         "points": "、".join(p.name for p in points)}
    return out


def test_scorecards_of_a_county_match_an_independent_count(world: World) -> None:
    expect = Expect(world.truth)
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    with world.db.reader() as s:
        county = county_area(s, BEIAN)
        mediators = mediators_of(s, BEIAN)
        got = stats.scorecards(s, county_id=county.id, start=start, end=end, now=world.truth.now)
        everyone = stats.scorecards(s, county_id=None, start=start, end=end, now=world.truth.now)
        assert len(everyone) == s.execute(select(func.count()).select_from(Mediator)).scalar_one()
    want = expect.scorecards(mediators, start, end)
    flat = [dataclasses.asdict(c) for c in got]
    # 委派调解 per mediator, beside the appointments' figures (approx does not nest).
    assert [f.pop("delegated") for f in flat] == [pytest.approx(w.pop("delegated")) for w in want]
    assert flat == [pytest.approx(w) for w in want]
    # Over the year and every mediator, the delegated figures are not trivial.
    with world.db.reader() as s:
        year = stats.scorecards(s, county_id=None, start=YEAR[0], end=YEAR[1], now=world.truth.now)
    lo, hi = bounds(*YEAR)
    for card in year:
        theirs = [d for d, c in expect.delegations if c["mediator_id"] == card.mediator_id
                  and lo <= d["delegated_at"] < hi]
        assert dataclasses.asdict(card.delegated) == pytest.approx(expect.mediator_delegated(theirs))
    assert sum(c.delegated.delegated for c in year) == sum(1 for d, c in expect.delegations if c["mediator_id"])
    assert sum(c.delegated.returned for c in year) > 0 and sum(c.delegated.settled for c in year) > 0
    assert sum(c.held for c in got) > 0 and sum(c.declined for c in got) > 0 and sum(c.unanswered for c in got) > 0
    assert all(c.offered == c.accepted + c.declined + c.unanswered + c.withdrawn + c.pending for c in got)
    assert {c.mediator_id for c in got} < {c.mediator_id for c in everyone}
    # Declines read from the appointments agree with the audit log the decline writes.
    lo, hi = bounds(start, end)
    offered = {a["id"] for a in world.truth.appointments if lo <= a["created_at"] < hi}
    audited = collections.Counter(int(e["actor"].split(":")[1]) for e in world.truth.audit
                                  if e["action"] == "appointment.decline" and e["entity_id"] in offered)
    assert {c.mediator_id: c.declined for c in got if c.declined} == {
        m: n for m, n in audited.items() if m in mediators}


def test_the_synthetic_year_looks_like_heihe(world: World) -> None:
    t = world.truth
    sources = collections.Counter(c["source"] for c in t.cases)
    assert 0.72 < sources["bot"] / CASES < 0.88 and sources["delegated"] == DELEGATED
    types = collections.Counter(c["dispute_type"] for c in t.cases)
    common = min(types[k] for k in ("neighbor", "family", "labor", "debt"))
    assert common > 3 * max(types[k] for k in ("traffic", "consumer"))
    assert all(c["reference"].startswith(REFERENCE_PREFIX) and len(c["reference"]) <= 20 for c in t.cases)
    statuses = collections.Counter(a["status"] for a in t.appointments)
    assert statuses["done"] > statuses["no_show"] + statuses["cancelled"] + statuses["declined"]
    assert all(statuses[k] for k in ("no_show", "cancelled", "declined", "accepted"))
    assert any(e["action"] == "appointment.reassign" for e in t.audit)
    assert len({c["county_id"] for c in t.cases if c["county_id"]}) == 6
    with world.db.reader() as s:
        refs = s.execute(select(Case.reference).where(Case.reference.like(f"{REFERENCE_PREFIX}%"))).scalars().all()
        assert len(refs) == CASES + DELEGATED
        # Active appointments of one mediator never overlap (the database would have refused them anyway).
        active = sorted((a["mediator_id"], a["starts_at"], a["ends_at"]) for a in t.appointments
                        if a["status"] in ("booked", "accepted", "rescheduled"))
        assert all(not (m1 == m2 and s2 < e1) for (m1, _, e1), (m2, s2, _) in zip(active, active[1:]))


# --- areas, refusals and rows (fresh databases) -----------------------------------------


def test_areas_list_city_counties_towns_then_points_and_parse_back(db: Database) -> None:
    with db.reader() as s:
        listed = stats.areas(s)
        assert listed[0] == stats.AreaRef("city", None, "黑河市") and listed[0].token == "city"
        kinds = [a.kind for a in listed]
        assert kinds.count("county") == 6 and kinds.count("point") == 115
        assert kinds.index("point") > max(i for i, k in enumerate(kinds) if k == "town")
        aihui = listed[1]
        assert aihui.label == "爱辉区" and aihui.token == f"county:{aihui.id}"
        assert "爱辉区西岗子镇" in [a.label for a in listed if a.kind == "town"]
        assert "西岗子镇调解工作服务点" in [a.label for a in listed if a.kind == "point"]
        # Each county's towns follow it, before the next county.
        current = None
        for area in listed:
            if area.kind == "county":
                current = area.label
            elif area.kind == "town":
                assert area.label.startswith(current)
        assert all(stats.parse_area(s, a.token) == a for a in listed)


REFUSED_TOKENS = ("", " ", "town", "county:", "county:abc", "county:0", "county:-2", "county:1.5", "county:1",
                  "nation:2", "city:1", "point:99999", "county:12345678901234", "county:２", "town:1", None, 42)


def test_parse_area_refuses_anything_else(db: Database) -> None:
    with db.reader() as s:
        for token in REFUSED_TOKENS:
            with pytest.raises(ValidationError) as err:
                stats.parse_area(s, token)
            assert "地区" in err.value.message, token


def test_a_county_is_not_a_town_and_a_town_not_a_county(db: Database) -> None:
    with db.reader() as s:
        county = s.execute(select(Place.id).where(Place.level == "county")).scalars().first()
        town = s.execute(select(Place.id).where(Place.level == "town")).scalars().first()
        for token in (f"town:{county}", f"county:{town}"):
            with pytest.raises(ValidationError):
                stats.parse_area(s, token)


def test_periods_are_checked(db: Database) -> None:
    with db.reader() as s:
        city = stats.parse_area(s, "city")
        with pytest.raises(ValidationError, match="结束日期不能早于开始日期"):
            stats.report(s, area=city, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1))
        with pytest.raises(ValidationError, match="366"):
            stats.report(s, area=city, start=dt.date(2025, 1, 1), end=dt.date(2026, 1, 2))
        assert stats.report(s, area=city, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)).intakes == 0
        with pytest.raises(ValidationError):
            stats.scorecards(s, county_id=None, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1))
        with pytest.raises(ValidationError):
            stats.scorecards(s, county_id=999_999, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))


def test_periods_are_local_days(db: Database) -> None:
    """Beijing midnight is 16:00 UTC the day before: a case just after it belongs to the new month."""
    moments = [dt.datetime(2026, 2, 28, 23, 59, 59), dt.datetime(2026, 3, 1, 0, 0), dt.datetime(2026, 3, 31, 23, 59, 59),
               dt.datetime(2026, 4, 1, 0, 0)]
    with db.transaction() as s:
        for moment in moments:
            new_case(s).created_at = moment.replace(tzinfo=LOCAL_TZ)
    with db.reader() as s:
        march = stats.report(s, area=stats.parse_area(s, "city"), start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
        assert march.intakes == 2
        assert march.by_subarea[-1] == stats.Figure("unknown", "未定位", 2)  # no place named, nothing booked


def test_a_handoff_counts_where_its_case_is(db: Database) -> None:
    """Its own case, else the resident's latest case opened by then, else their first one."""
    at = lambda day: dt.datetime(2026, 3, day, 10, 0, tzinfo=LOCAL_TZ)  # noqa: E731
    with db.transaction() as s:
        t1, t2 = s.execute(select(Place.id).where(Place.level == "town").order_by(Place.id).limit(2)).scalars()
        first = new_case(s)
        second = cases.open_case(s, dispute_type="debt", summary="借款不还", actor="test", resident=first.resident)
        first.created_at, first.place_id = at(2), t1
        second.created_at, second.place_id = at(10), t2
        s.flush()
        for day, case_id, resident_id in ((1, None, first.resident_id), (5, None, first.resident_id),
                                          (12, None, first.resident_id), (15, first.id, first.resident_id),
                                          (16, None, None)):
            s.add(Handoff(conversation_id=f"tg-{day}", reason="request_human", case_id=case_id,
                          resident_id=resident_id, created_at=at(day)))
    with db.reader() as s:
        march = lambda token: stats.report(s, area=stats.parse_area(s, token),  # noqa: E731
                                           start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
        assert march(f"town:{t1}").handoffs == 3
        assert march(f"town:{t2}").handoffs == 1
        assert march("city").handoffs == 5 and march("city").handoffs_never_taken == 5


def test_rows_cover_every_section_and_field(world: World) -> None:
    with world.db.reader() as s:
        for area, start, end in combinations(s, world.truth)[:4]:
            r = stats.report(s, area=area, start=start, end=end)
            flat = stats.rows(r)
            sections = list(dict.fromkeys(section for section, _, _ in flat))
            subarea = {"city": ["按县区"], "county": ["按乡镇"], "town": ["按服务点"], "point": []}[area.kind]
            assert sections == ["概况", "按纠纷类型", "按来源", *subarea, "调解预约", "调解结果（按结果登记日期）",
                                "司法确认", "12368转人工", "转人工原因", "委派调解（按委派日期，不计入以上各项）"]
            assert len(flat) == 4 + 13 + 2 + len(r.by_subarea) + 6 + 4 + 4 + 10 + len(r.handoffs_by_reason) + 8
            assert all(isinstance(v, (int, float)) or v is None for _, _, v in flat)
            assert all(isinstance(label, str) and label for _, label, _ in flat)
            values = dict(((sec, label), v) for sec, label, v in flat)
            assert values[("概况", "受理纠纷")] == r.intakes
            assert values[("调解预约", "其中：已调解")] == r.appointments_held
            # The breakdowns on the page add up.
            assert r.appointments_booked == r.appointments_held + r.appointments_no_show + r.appointments_pending
            assert r.jc_requested == r.jc_recorded_in_period + r.jc_recorded_before
            assert r.handoffs == r.handoffs_in_hours + r.handoffs_after_hours
            assert values[("12368转人工", "未被接手")] == r.handoffs_never_taken
            assert values[("按纠纷类型", guidance.card("labor").label)] == r.by_type[2].value


def test_generation_is_deterministic_for_a_seed(db: Database) -> None:
    def run(seed: int) -> GeneratedTruth:
        with db.reader() as s:  # rolled back: the next run starts from the same database
            return generate(s, cases=150, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), seed=seed)

    first, again, other = run(3), run(3), run(4)
    assert dataclasses.asdict(first) == dataclasses.asdict(again)
    assert [c["created_at"] for c in first.cases] != [c["created_at"] for c in other.cases]
