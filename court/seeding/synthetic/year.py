"""The state every part of the synthetic year shares: the period, its random stream, the
roster, the next id of each table, and what was written so far (``GeneratedTruth``)."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court.core.settings import LOCAL_TZ
from court.seeding.synthetic.world import UTC, Roster
from court.store.schema import (
    Appointment,
    AuditEntry,
    Case,
    Court,
    Delegation,
    DelegationParty,
    Handoff,
    Outcome,
    Resident,
)

REFERENCE_PREFIX = "SY"
MARK = "合成数据"


@dataclass
class GeneratedTruth:
    """What ``generate`` wrote, row by row, as dicts of column values (aware UTC times).

    Cases carry one key more than their table: ``county_id``, the places.id of the
    county unit of their place (None without a place).
    """

    now: dt.datetime
    residents: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    # 委派调解: delegated cases are in ``cases`` too (source 'delegated', no resident); their
    # outcomes (no appointment) are kept apart from ``outcomes``.
    delegations: list[dict[str, Any]] = field(default_factory=list)
    delegation_parties: list[dict[str, Any]] = field(default_factory=list)
    delegated_outcomes: list[dict[str, Any]] = field(default_factory=list)


def second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


class Year:
    """A period between two local dates (inclusive); its "now" is the end of the period."""

    def __init__(self, session: Session, rng: random.Random, start: dt.date, end: dt.date) -> None:
        self.rng = rng
        self.roster = Roster(session, rng)
        self.start, self.end = start, end
        self.begin = dt.datetime.combine(start, dt.time.min, LOCAL_TZ).astimezone(UTC)
        self.now = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, LOCAL_TZ).astimezone(UTC)
        self.truth = GeneratedTruth(now=self.now)
        self.next_id = {
            model.__tablename__: int(session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1
            for model in (Resident, Case, Appointment, Outcome, Handoff, AuditEntry, Delegation, DelegationParty)
        }
        self.court_ids = list(session.execute(select(Court.id).order_by(Court.id)).scalars())

    def new_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] += 1
        return value
