"""The residents' cases over the year: when they come in (bot at any hour, hotline in desk
hours, busier before the Spring Festival), from where, of which kind, by whom (some residents
come back with another dispute); booked cases go on to their appointments, and some bot
conversations ask for a person."""
from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from court.core.settings import CONSENT_VERSION, LOCAL_TZ
from court.reference import guidance
from court.seeding.synthetic import appointments, handoffs
from court.seeding.synthetic.world import COUNTY_SHARES, GIVEN, LEVEL_WEIGHTS, SURNAMES, TYPE_WEIGHTS, UTC
from court.seeding.synthetic.year import MARK, REFERENCE_PREFIX, Year, second
from court.store.schema import CaseSource, CaseStatus

# Wage arrears and debts come before the Spring Festival; summer is farm work.
MONTH_WEIGHTS = {1: 1.25, 2: 1.1, 3: 1.0, 4: 1.0, 5: 0.9, 6: 0.85, 7: 0.85, 8: 0.9, 9: 0.95, 10: 1.0, 11: 1.05, 12: 1.15}
BOT_HOUR_WEIGHTS = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0,
                    1.5, 1.5, 2.0, 2.0, 1.8, 1.5, 1.5, 2.0, 2.0, 1.5, 1.0, 0.5)
HOTLINE_SHARE = 0.2
BOOKED_SHARE = {CaseSource.BOT.value: 0.75, CaseSource.HOTLINE.value: 0.6}
SECOND_CASE_SHARE = 0.05  # residents who come back with another dispute
HANDOFF_SHARE = 0.14  # bot cases whose resident asked for a person
ANONYMOUS_HANDOFF_SHARE = 0.03  # per case: conversations that never gave a name


def run(year: Year, n: int) -> None:
    """``n`` cases of residents, then the handoffs of conversations that never gave a name."""
    rng = year.rng
    moments = sorted(_moments(year, n))
    towns = year.roster.towns
    town_weights = _town_weights(year)
    places = rng.choices(towns, weights=town_weights, k=n)
    types = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()), k=n)
    for (created, source), town, kind in zip(moments, places, types):
        _case(year, created, source, town, kind)
    for _ in range(int(n * ANONYMOUS_HANDOFF_SHARE)):
        created = year.begin + dt.timedelta(seconds=rng.uniform(0, (year.now - year.begin).total_seconds()))
        handoffs.handoff(year, second(created), resident=None, case_id=None, conversation=None)


def _town_weights(year: Year) -> list[float]:
    totals: dict[str, float] = {}
    for town in year.roster.towns:
        totals[town.county_code] = totals.get(town.county_code, 0.0) + LEVEL_WEIGHTS[town.level]
    return [COUNTY_SHARES[t.county_code] * LEVEL_WEIGHTS[t.level] / totals[t.county_code]
            for t in year.roster.towns]


def _moments(year: Year, n: int) -> list[tuple[dt.datetime, str]]:
    """Creation times: bot cases any hour (weekends quieter), hotline calls in desk hours."""
    rng, roster = year.rng, year.roster
    days = [year.start + dt.timedelta(days=i) for i in range((year.end - year.start).days + 1)]
    working = [d for d in days if roster.working(d)] or days
    day_weights = list(itertools.accumulate(
        MONTH_WEIGHTS[d.month] * (1.0 if roster.working(d) else 0.45) for d in days))
    hour_weights = list(itertools.accumulate(BOT_HOUR_WEIGHTS))
    out = []
    for _ in range(n):
        if rng.random() < HOTLINE_SHARE:
            day = rng.choice(working)
            clock = dt.timedelta(hours=8.5) + dt.timedelta(seconds=rng.randrange(int(8.5 * 3600)))
            source = CaseSource.HOTLINE.value
        else:
            day = rng.choices(days, cum_weights=day_weights)[0]
            hour = rng.choices(range(24), cum_weights=hour_weights)[0]
            clock = dt.timedelta(hours=hour, seconds=rng.randrange(3600))
            source = CaseSource.BOT.value
        local = dt.datetime.combine(day, dt.time.min, LOCAL_TZ) + clock
        out.append((local.astimezone(UTC), source))
    return out


def _resident(year: Year, created: dt.datetime) -> dict[str, Any]:
    rng, truth = year.rng, year.truth
    returning = truth.residents and rng.random() < SECOND_CASE_SHARE
    if returning:
        return rng.choice(truth.residents)
    consent = created - dt.timedelta(seconds=rng.randrange(60, 1200))
    resident_id = year.new_id("residents")
    resident = {
        "id": resident_id,
        "name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
        "phone": f"1{rng.choice('35789')}{rng.randrange(10 ** 9):09d}",
        "conversation_id": f"sy-{resident_id}",
        "consent_at": consent, "consent_version": CONSENT_VERSION, "created_at": consent,
    }
    truth.residents.append(resident)
    return resident


def _case(year: Year, created: dt.datetime, source: str, town: Any, kind: str) -> None:
    rng, roster = year.rng, year.roster
    resident = _resident(year, created)
    case_id = year.new_id("cases")
    # A county unit without a staffed point (a real roster may have gaps) books nobody.
    booked = rng.random() < BOOKED_SHARE[source] and town.county_code in roster.points_in
    county_place = roster.county_ids[town.county_code]
    roll = rng.random()
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
    year.truth.cases.append(case)
    if booked:
        appointments.meetings(year, case, _point_for(year, town))
    if source == CaseSource.BOT.value and rng.random() < HANDOFF_SHARE:
        handoffs.resident_handoff(year, case, resident)


def _point_for(year: Year, town: Any) -> int:
    rng = year.rng
    own = year.roster.points_at.get(town.id)
    county = year.roster.points_in[town.county_code]
    if own and rng.random() < 0.92:
        return rng.choice(own)
    return rng.choice(county)  # no point in their town, or one nearer their work
