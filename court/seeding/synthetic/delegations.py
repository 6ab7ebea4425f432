"""委派调解 over the year: cases the court delegated to a mediator, with the judge's parties;
offered, declined back to the clerk, accepted, then settled or returned. Their own random
stream, so a seed gives the residents' cases it always gave."""
from __future__ import annotations

import datetime as dt
import random

from court.core.settings import LOCAL_TZ
from court.seeding.synthetic.world import GIVEN, SURNAMES, TYPE_WEIGHTS
from court.seeding.synthetic.year import MARK, REFERENCE_PREFIX, Year, second
from court.store.schema import CaseSource, CaseStatus, DelegationStatus


def delegate(year: Year, n: int, rng: random.Random) -> None:
    """Cases the court delegated: offered, declined back, accepted, then settled or returned."""
    staffed = [t for t in year.roster.towns if t.county_code in year.roster.points_in]
    span = (year.now - year.begin).total_seconds()
    for _ in range(n):
        town = rng.choice(staffed)
        point_id = rng.choice(year.roster.points_at.get(town.id) or year.roster.points_in[town.county_code])
        mediator_id = rng.choice(year.roster.staff[point_id])
        delegated = second(year.begin + dt.timedelta(seconds=rng.uniform(0, span)))
        case_id = year.new_id("cases")
        case = {
            "id": case_id, "reference": f"{REFERENCE_PREFIX}{delegated.astimezone(LOCAL_TZ):%y%m%d}-{case_id:07d}",
            "dispute_type": rng.choice(list(TYPE_WEIGHTS)), "summary": f"委派（{MARK}）",
            "recommended_channel": None, "source": CaseSource.DELEGATED.value, "status": CaseStatus.INTAKE.value,
            "resident_id": None, "service_point_id": point_id, "mediator_id": mediator_id, "conversation_id": None,
            "place_id": town.id, "county_id": year.roster.county_ids[town.county_code],
            "created_at": delegated, "updated_at": delegated,
            "booked_at": None, "mediating_at": None, "agreement_at": None, "failed_at": None,
            "jc_requested_at": None, "closed_at": None,
        }
        row = {
            "id": year.new_id("delegations"), "case_id": case_id, "court_id": rng.choice(year.court_ids),
            "judge": "合成法官", "channel": rng.choice(("window", "hotline", "judge")),
            "amount_cents": rng.randrange(100000, 50000000), "status": DelegationStatus.OFFERED.value,
            "delegated_at": delegated, "created_by": "desk:sy.clerk", "consent_by": "desk:sy.clerk",
            "deadline": (delegated.astimezone(LOCAL_TZ) + dt.timedelta(days=30)).date(), "offers": 1,
            "offered_at": delegated, "accepted_at": None, "outcome_at": None, "return_note": None,
        }
        year.truth.cases.append(case)
        year.truth.delegations.append(row)
        for role in ("applicant", "respondent"):
            year.truth.delegation_parties.append({
                "id": year.new_id("delegation_parties"), "delegation_id": row["id"], "role": role,
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN), "phone": f"13{rng.randrange(10 ** 9):09d}"})
        answered = delegated + dt.timedelta(seconds=rng.randrange(600, 3 * 86400))
        if answered > year.now:
            continue
        if rng.random() < 0.1:  # declined: back with the clerk, nobody holds it
            row["status"], case["mediator_id"] = DelegationStatus.DECLINED.value, None
            continue
        row.update(status=DelegationStatus.ACCEPTED.value, accepted_at=answered)
        case.update(status=CaseStatus.MEDIATING.value, booked_at=answered, mediating_at=answered)
        ended = second(answered + dt.timedelta(days=rng.uniform(1, 40)))
        if ended > year.now:
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
        year.truth.delegated_outcomes.append({
            "id": year.new_id("outcomes"), "case_id": case_id, "appointment_id": None, "result": result,
            "agreement_summary": None, "jc_requested_at": case["jc_requested_at"], "jc_filed_at": None,
            "recorded_by": f"mediator:{mediator_id}", "recorded_at": ended})
