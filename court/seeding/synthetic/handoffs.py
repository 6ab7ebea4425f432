"""Conversations handed to the hotline's agents: a resident asking for a person while describing
the problem or coming back later, and conversations that never gave a name; some residents leave
before anyone takes them, the rest are taken after the desk opens, then closed or handed back."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Optional

from court.hotline.handoffs import next_opening
from court.seeding.synthetic.year import MARK, Year, second
from court.store.schema import HandoffStatus

HANDOFF_REASONS = {"request_human": 50, "misunderstood": 25, "frustration": 15, "assistant_down": 10}
AGENTS = ("sy.agent1", "sy.agent2", "sy.agent3", "sy.agent4")


def resident_handoff(year: Year, case: dict[str, Any], resident: dict[str, Any]) -> None:
    rng = year.rng
    if rng.random() < 0.7:  # asked for a person while describing the problem
        created = case["created_at"] - dt.timedelta(seconds=rng.randrange(60, 3600))
    else:  # came back later with a question
        created = case["created_at"] + dt.timedelta(seconds=rng.randrange(3600, 10 * 86400))
    if created < year.now:
        linked = case["id"] if rng.random() < 0.15 else None
        handoff(year, created, resident=resident, case_id=linked, conversation=resident["conversation_id"])


def handoff(year: Year, created: dt.datetime, *, resident: Optional[dict], case_id: Optional[int],
            conversation: Optional[str]) -> None:
    rng, now = year.rng, year.now
    handoff_id = year.new_id("handoffs")
    reason = rng.choices(list(HANDOFF_REASONS), weights=list(HANDOFF_REASONS.values()))[0]
    row = {
        "id": handoff_id, "conversation_id": conversation or f"sy-anon-{handoff_id}", "case_id": case_id,
        "resident_id": resident["id"] if resident else None, "reason": reason,
        "status": HandoffStatus.WAITING.value, "agent": None, "created_at": created,
        "taken_at": None, "returned_at": None, "closed_at": None, "note": MARK,
    }
    year.truth.handoffs.append(row)
    if rng.random() < 0.07:  # the resident left before anyone took it
        gave_up = created + dt.timedelta(seconds=rng.randrange(600, 7200))
        if gave_up <= now:
            row.update(status=HandoffStatus.CLOSED.value, closed_at=gave_up)
        return
    opening = next_opening(year.roster.calendar, created)
    minutes = min(rng.lognormvariate(math.log(4 if opening == created else 10), 1.0), 240)
    taken = second(opening + dt.timedelta(minutes=minutes))
    if taken > now:
        return
    row.update(status=HandoffStatus.TAKEN.value, taken_at=taken, agent=rng.choice(AGENTS))
    done = taken + dt.timedelta(seconds=rng.randrange(300, 2400))
    if done <= now:
        if rng.random() < 0.2:
            row.update(status=HandoffStatus.RETURNED.value, returned_at=done)
        else:
            row.update(status=HandoffStatus.CLOSED.value, closed_at=done)
