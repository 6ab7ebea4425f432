"""Free slots: opening hours, the mediators' hours, the court's calendar and leave."""
import datetime as dt

import chinese_calendar

from court.booking import slots
from court.core.timeutil import to_local
from court.store.schema import MediatorException
from tests.factories import NOW, TUESDAY, local, mediators_of, point, single_mediator_point


def test_free_slots_follow_opening_hours_and_mediator_hours(db):
    with db.reader() as s:
        sp = point(s, "SP-231102101")  # 西岗子镇
        free = slots.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW)
        starts = sorted({to_local(x.starts_at).strftime("%H:%M") for x in free})
        assert starts == ["08:30", "09:30", "10:30", "13:30", "14:30", "15:30"]
        assert all(x.ends_at - x.starts_at == dt.timedelta(hours=1) for x in free)
        # Weekend: nothing; today only after the 30-minute lead time.
        assert slots.free_slots(s, sp.id, dt.date(2026, 12, 5), dt.date(2026, 12, 6), now=NOW) == []
        today = slots.free_slots(s, sp.id, NOW.date(), NOW.date(), now=local(NOW.date(), 9, 10))
        assert min(to_local(x.starts_at).hour for x in today) == 10


def test_public_holidays_and_adjusted_working_days(db):
    with db.reader() as s:
        sp = point(s, "SP-231102101")
        before = dt.datetime(2026, 1, 1, tzinfo=NOW.tzinfo)
        assert slots.free_slots(s, sp.id, dt.date(2026, 10, 1), dt.date(2026, 10, 7), now=before) == []
        weekend_workdays = [d for d in chinese_calendar.get_workdays(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
                            if d.weekday() >= 5]
        assert weekend_workdays, "the 2026 schedule has adjusted working weekend days"
        day = weekend_workdays[0]
        assert slots.free_slots(s, sp.id, day, day, now=before)


def test_leave_removes_a_mediator(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        only = mediators_of(sp)[0]
        only.exceptions.append(MediatorException(starts_on=TUESDAY, ends_on=TUESDAY, kind="leave"))
    with db.reader() as s:
        assert slots.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW) == []
        assert slots.free_slots(s, sp.id, TUESDAY + dt.timedelta(days=1), TUESDAY + dt.timedelta(days=1), now=NOW)
