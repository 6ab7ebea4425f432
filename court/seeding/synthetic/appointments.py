"""A booked case's appointments, played out: a free slot at the resident's point or a
neighbour, the mediator's answer (or none), declines with their audit entries and a colleague
taking over, cancellations, meetings held or missed, outcomes recorded, and the case's status
after its last appointment. A case meets at most ``MAX_MEETINGS`` times."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Optional

from court.core.settings import LOCAL_TZ
from court.seeding.synthetic.year import MARK, Year, second
from court.store.schema import ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus, CaseStatus, OutcomeResult

MAX_MEETINGS = 3
LEAD = dt.timedelta(minutes=30)
_ACTIVE = frozenset(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


def meetings(year: Year, case: dict[str, Any], point_id: int) -> None:
    """Book, then follow each appointment to its end; some cases need another meeting."""
    rng, truth = year.rng, year.truth
    booking_at = case["created_at"] + dt.timedelta(seconds=rng.randrange(60, 600))
    first_appt, first_outcome = len(truth.appointments), len(truth.outcomes)
    for _ in range(MAX_MEETINGS):
        if booking_at >= year.now:
            break
        slot = _slot(year, point_id, booking_at, case)
        if slot is None:
            break
        booking_at = _follow(year, case, booking_at, slot)
        if booking_at is None:
            break
        if rng.random() < 0.2:  # next time, a point nearer their work or family
            point_id = rng.choice(year.roster.neighbours(point_id))
    _settle(case, truth.appointments[first_appt:], truth.outcomes[first_outcome:])


def _slot(year: Year, point_id: int, booking_at: dt.datetime, case: dict[str, Any]) -> Optional[tuple]:
    rng = year.rng
    hours = min(max(rng.lognormvariate(math.log(72), 0.8), 1.0), 30 * 24.0)
    earliest = booking_at + max(LEAD, dt.timedelta(hours=hours))
    others = [p for p in year.roster.neighbours(point_id) if p != point_id]
    rng.shuffle(others)
    for candidate, days in [(point_id, 14)] + [(p, 14) for p in others[:4]] + [(point_id, 120)]:
        found = year.roster.find(candidate, earliest, case["dispute_type"], days)
        if found is not None:
            return (candidate, *found)
    return None


def _appointment(year: Year, case: dict[str, Any], point_id: int, mediator_id: int, starts: dt.datetime,
                 ends: dt.datetime, created: dt.datetime) -> dict[str, Any]:
    year.roster.hold(mediator_id, starts.astimezone(LOCAL_TZ).date(), starts, ends)
    appt = {
        "id": year.new_id("appointments"), "case_id": case["id"], "service_point_id": point_id,
        "mediator_id": mediator_id, "starts_at": starts, "ends_at": ends,
        "status": AppointmentStatus.BOOKED.value, "revision": 1, "note": None,
        "created_at": created, "updated_at": created, "responded_at": None,
    }
    year.truth.appointments.append(appt)
    case["service_point_id"], case["mediator_id"] = point_id, mediator_id
    if case["booked_at"] is None:
        case["booked_at"] = created
    return appt


def _follow(year: Year, case: dict[str, Any], booking_at: dt.datetime, slot: tuple) -> Optional[dt.datetime]:
    """Play one appointment out; returns when the case is booked again, or None."""
    rng = year.rng
    point_id, mediator_id, starts, ends = slot
    appt = _appointment(year, case, point_id, mediator_id, starts, ends, booking_at)
    mediator = year.roster.mediators[mediator_id]
    answer = second(booking_at + mediator.response_delay(rng))
    if rng.random() < mediator.decline_p and answer < min(starts - LEAD, year.now):
        return _decline(year, case, appt, answer)
    return _meet(year, appt, answer if rng.random() < mediator.respond_p else None)


def _decline(year: Year, case: dict[str, Any], appt: dict[str, Any], answer: dt.datetime) -> Optional[dt.datetime]:
    rng = year.rng
    appt.update(status=AppointmentStatus.DECLINED.value, responded_at=answer, revision=2, updated_at=answer,
                note=f"调解员当天另有安排（{MARK}）")
    _audit(year, answer, appt["mediator_id"], "appointment.decline", appt["id"],
           before={"status": AppointmentStatus.BOOKED.value}, after={"status": appt["status"]})
    colleague = year.roster.find(appt["service_point_id"], appt["starts_at"], case["dispute_type"], 1,
                                 exclude=appt["mediator_id"])
    if colleague is not None and colleague[1] == appt["starts_at"] and rng.random() < 0.8:
        new = _appointment(year, case, appt["service_point_id"], colleague[0], colleague[1], colleague[2], answer)
        _audit(year, answer, appt["mediator_id"], "appointment.reassign", new["id"],
               after={"status": new["status"], "mediator_id": new["mediator_id"], "replaces": appt["id"]})
        colleague_m = year.roster.mediators[new["mediator_id"]]
        response = second(answer + colleague_m.response_delay(rng))
        return _meet(year, new, response if rng.random() < colleague_m.respond_p else None)
    if rng.random() < 0.6:  # the resident picks one of the proposed times
        return answer + dt.timedelta(seconds=rng.randrange(3600, 3 * 86400))
    return None


def _meet(year: Year, appt: dict[str, Any], answer: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """Cancelled, held, missed or still ahead; the mediator's answer if it came in time."""
    rng, now = year.rng, year.now
    starts, ends, created = appt["starts_at"], appt["ends_at"], appt["created_at"]
    if answer is not None and answer >= min(starts, now):
        answer = None
    if rng.random() < 0.07:
        cancelled = second(created + (min(starts, now) - created) * rng.random())
        appt.update(status=AppointmentStatus.CANCELLED.value, revision=2, updated_at=cancelled,
                    responded_at=answer if answer is not None and answer < cancelled else None,
                    note=f"居民取消（{MARK}）")
        again = rng.random() < 0.25
        return second(cancelled + dt.timedelta(days=rng.uniform(1, 5))) if again else None
    appt["responded_at"] = answer
    recorded = second(ends + dt.timedelta(hours=min(rng.lognormvariate(math.log(3), 1.2), 240)))
    if recorded > now:  # ahead, or held and not recorded yet
        if answer is None and rng.random() < 0.05:
            appt.update(status=AppointmentStatus.RESCHEDULED.value, revision=2)
        else:
            appt["status"] = (AppointmentStatus.ACCEPTED if answer else AppointmentStatus.BOOKED).value
        return None
    mediator = year.roster.mediators[appt["mediator_id"]]
    if rng.random() < 0.08:
        result = OutcomeResult.NO_SHOW.value
    elif rng.random() < mediator.success_p:
        result = (OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION if rng.random() < 0.3
                  else OutcomeResult.SUCCESS).value
    else:
        result = OutcomeResult.FAILED.value
    appt.update(status=(AppointmentStatus.NO_SHOW if result == OutcomeResult.NO_SHOW.value
                        else AppointmentStatus.DONE).value, updated_at=recorded)
    _outcome(year, appt, result, recorded)
    if result == OutcomeResult.NO_SHOW.value and rng.random() < 0.4:
        return second(recorded + dt.timedelta(days=rng.uniform(1, 5)))
    return None


def _outcome(year: Year, appt: dict[str, Any], result: str, recorded: dt.datetime) -> None:
    rng = year.rng
    jc = None
    if result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value:
        # Most file at once; some bring the agreement to court a few days later.
        later = recorded + dt.timedelta(seconds=rng.randrange(3600, 5 * 86400))
        jc = later if rng.random() < 0.3 and later <= year.now else recorded
    year.truth.outcomes.append({
        "id": year.new_id("outcomes"), "case_id": appt["case_id"], "appointment_id": appt["id"], "result": result,
        "agreement_summary": f"{MARK}" if result != OutcomeResult.NO_SHOW.value else None,
        "jc_requested_at": jc, "jc_filed_at": None,
        "recorded_by": f"mediator:{appt['mediator_id']}", "recorded_at": recorded,
    })


def _settle(case: dict[str, Any], own: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> None:
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


def _audit(year: Year, at: dt.datetime, mediator_id: int, action: str, appointment_id: int, *,
           before: Optional[dict] = None, after: Optional[dict] = None) -> None:
    """A mediator's decline or a reassignment, in the audit log as the booking engine writes it."""
    year.truth.audit.append({
        "id": year.new_id("audit_log"), "at": at, "actor": f"mediator:{mediator_id}", "action": action,
        "entity_type": "appointment", "entity_id": appointment_id, "before": before, "after": after,
    })
