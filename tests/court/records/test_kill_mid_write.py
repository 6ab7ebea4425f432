"""A process killed in the middle of a booking, a reschedule, an outcome or an erasure
leaves the database as before or as after, never between (SQLite and PostgreSQL).

The child (tests/court/records/kill_child.py) runs the court's own code and stops once every
statement of the writing transaction is sent but not committed, or just after the
commit; then it is SIGKILLed, as a crash or a pulled plug would."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from court.facades.assistant import AssistantFacade
from court.records import residents
from court.store.schema import Appointment, Base, Case, Resident, ServicePoint

ROOT = Path(__file__).resolve().parents[3]
PHONE = "13945612378"


def snapshot(db) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Every table's row count, and what the operations change."""
    with db.reader() as s:
        state: dict[str, object] = {t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
                                    for t in Base.metadata.sorted_tables}
        state["appointments"] = sorted(s.execute(select(Appointment.id, Appointment.status,
                                                        Appointment.starts_at)).all())
        state["cases"] = sorted(s.execute(select(Case.id, Case.status)).all())
        state["residents"] = sorted(s.execute(select(Resident.id, Resident.name, Resident.phone)).all())
    return state


def kill_at(db, when: str, table: str, op: str, args: dict) -> None:  # type: ignore[no-untyped-def]
    child = subprocess.Popen([sys.executable, "-m", "tests.court.records.kill_child", db.url, when, table, op,
                              json.dumps(args, ensure_ascii=False)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env=os.environ | {"PYTHONPATH": str(ROOT)})
    try:
        line = child.stdout.readline().strip()
        assert line == "READY", f"the child never reached its stop ({line!r}, exit {child.poll()})"
    finally:
        child.kill()
        child.wait(timeout=10)


def offer(court: AssistantFacade, not_at: str = "") -> str:
    with court.db.reader() as s:
        sp = s.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars().first()
        lat, lng = sp.lat, sp.lng
    offers = court.offer_slots(lat=lat, lng=lng, dispute_type="neighbor", after=None)
    return next(o.token for o in offers if o.time != not_at)


def consented(db, conversation_id: str) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        residents.record_consent(s, conversation_id=conversation_id)


def book_args(court: AssistantFacade, conversation_id: str) -> dict:
    return {"conversation_id": conversation_id, "name": "王桂芝", "phone": PHONE, "dispute_type": "neighbor",
            "summary": "楼上天天漏水，找他好几回也不管", "token": offer(court)}


def booked(court: AssistantFacade, conversation_id: str) -> dict:
    consented(court.db, conversation_id)
    return dataclasses.asdict(court.book(**book_args(court, conversation_id)))


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_booking_killed_mid_commit(db, when: str) -> None:
    court = AssistantFacade(db)
    consented(db, f"kill-{when}")
    args = book_args(court, f"kill-{when}")
    start = snapshot(db)
    kill_at(db, when, "appointments", "book", args)
    end = snapshot(db)
    if when == "before":
        assert end == start
        return
    assert end["appointments"] != start["appointments"] and end["cases"] != start["cases"]
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.conversation_id == f"kill-{when}")).scalar_one()
        assert case.resident.phone == PHONE and len(case.appointments) == 1


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_reschedule_killed_mid_commit(db, when: str) -> None:
    court = AssistantFacade(db)
    card = booked(court, f"move-{when}")
    token = offer(court, not_at=card["time"])
    with db.reader() as s:
        was = s.get(Appointment, card["appointment_id"]).starts_at
    start = snapshot(db)
    kill_at(db, when, "appointments", "reschedule",
            {"reference": card["reference"], "phone": PHONE, "token": token, "conversation_id": f"move-{when}"})
    end = snapshot(db)
    with db.reader() as s:
        appt = s.execute(select(Appointment).where(Appointment.case_id == s.get(Appointment, card["appointment_id"])
                                                   .case_id).order_by(Appointment.id.desc())).scalars().first()
        moved = (appt.id, appt.starts_at) != (card["appointment_id"], was)
    if when == "before":
        assert not moved
        # Only the lookup's own small transaction (checked phone) may have committed.
        assert end["appointments"] == start["appointments"] and end["cases"] == start["cases"]
    else:
        assert moved


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_outcome_killed_mid_commit(db, when: str) -> None:
    court = AssistantFacade(db)
    card = booked(court, f"outcome-{when}")
    with db.reader() as s:
        appt = s.get(Appointment, card["appointment_id"])
        mediator_id, later = appt.mediator_id, appt.starts_at + dt.timedelta(hours=2)
    start = snapshot(db)
    kill_at(db, when, "appointments", "outcome",
            {"mediator_id": mediator_id, "reference": card["reference"], "now": later.isoformat()})
    end = snapshot(db)
    with db.reader() as s:
        status = s.get(Appointment, card["appointment_id"]).status
        case_status = s.get(Appointment, card["appointment_id"]).case.status
    if when == "before":
        assert end == start and status != "done"
    else:
        assert status == "done" and case_status != "booked"


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_erasure_killed_mid_commit(db, when: str) -> None:
    court = AssistantFacade(db)
    booked(court, f"erase-{when}")
    start = snapshot(db)
    kill_at(db, when, "residents", "erase", {"conversation_id": f"erase-{when}"})
    end = snapshot(db)
    with db.reader() as s:
        phones = s.execute(select(Resident.phone).where(Resident.phone == PHONE)).scalars().all()
    if when == "before":
        assert end == start and phones  # nothing erased: the resident can ask again
    else:
        assert not phones
