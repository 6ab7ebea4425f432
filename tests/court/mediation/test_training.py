"""Training sessions: recorded with their attendees, counted per mediator and year, on the scorecard,
and the mediators below the court's yearly minimum, checked against an independent count."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from court.core.errors import ValidationError
from court.mediation import training
from court.oversight import stats
from court.store.schema import AuditEntry, Mediator, MediatorStatus
from tests.factories import NOW

TODAY = NOW.date()


def _active(s, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    return list(s.execute(select(Mediator.id).where(Mediator.status == MediatorStatus.ACTIVE.value)
                          .order_by(Mediator.id).limit(n)).scalars())


def test_sessions_are_validated(db) -> None:
    with db.transaction() as s:
        a, b = _active(s, 2)
        ok = dict(held_on=dt.date(2026, 11, 20), topic="民法典婚姻家庭编", hours=3, attendees=[a, b], actor="desk:boss",
                  now=NOW, today=TODAY)
        for change, message in (({"held_on": dt.date(2026, 12, 1)}, "不能晚于今天"), ({"topic": "  "}, "主题"),
                                ({"hours": 0}, "学时"), ({"hours": 25}, "学时"), ({"hours": "三"}, "学时"),
                                ({"attendees": []}, "勾选"), ({"attendees": [999999]}, "参加人员有误"),
                                ({"held_on": None}, "日期")):
            with pytest.raises(ValidationError, match=message):
                training.record(s, **(ok | change))
        row = training.record(s, **ok)
        assert [m.id for m in row.attendees] == [a, b]
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "training.record")).scalar_one()
        assert entry.actor == "desk:boss" and entry.after == {"held_on": "2026-11-20", "hours": 3.0, "attendees": [a, b]}


def test_hours_per_year_the_scorecard_and_the_shortfall_match_an_independent_count(db) -> None:
    plan = [(dt.date(2026, 3, 2), 8.0, [0, 1, 2]), (dt.date(2026, 6, 15), 12.5, [0, 1]),
            (dt.date(2026, 11, 20), 4.0, [0]), (dt.date(2025, 12, 30), 20.0, [1, 2])]  # 2025: another year
    with db.transaction() as s:
        people = _active(s, 3)
        for held_on, hours, who in plan:
            training.record(s, held_on=held_on, topic="培训", hours=hours, attendees=[people[i] for i in who],
                            actor="desk:boss", now=NOW, today=TODAY)
    expected = {people[i]: sum(h for day, h, who in plan if day.year == 2026 and i in who) for i in range(3)}
    assert expected == {people[0]: 24.5, people[1]: 20.5, people[2]: 8.0}
    with db.reader() as s:
        assert training.hours_in_year(s, 2026) == expected
        assert training.hours_in_year(s, 2025) == {people[1]: 20.0, people[2]: 20.0}
        short = training.below_minimum(s, 2026, minimum=24)
        active = s.execute(select(Mediator.id).where(Mediator.status == MediatorStatus.ACTIVE.value)).scalars().all()
        cards = {c.mediator_id: c for c in stats.scorecards(s, county_id=None, start=dt.date(2026, 11, 1),
                                                            end=dt.date(2026, 11, 30))}
        last_year = {c.mediator_id: c for c in stats.scorecards(s, county_id=None, start=dt.date(2025, 12, 1),
                                                                end=dt.date(2025, 12, 31))}
    # Everyone active below 24 hours, fewest first; the one with 24.5 is not listed.
    assert {x.mediator_id for x in short} == set(active) - {people[0]}
    assert [x.hours for x in short][-2:] == [8.0, 20.5]
    assert next(x for x in short if x.mediator_id == people[2]).missing == 16.0
    assert {m: cards[m].training_hours for m in people} == expected
    assert {m: last_year[m].training_hours for m in people} == {people[0]: 0.0, people[1]: 20.0, people[2]: 20.0}
