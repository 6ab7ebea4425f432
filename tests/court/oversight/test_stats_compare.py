"""Periods, 环比 and 同比, the monthly trend, the drill-down and the service-point map against
two synthetic years, each figure recounted in plain Python from what the generator wrote."""
from __future__ import annotations

import collections
import datetime as dt
import shutil
import uuid
from typing import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from court.oversight import stats
from court.oversight.stats.periods import add_months, months_ending
from court.seeding.synthetic import generate
from court.store.db import Database
from tests.conftest import _backends, _pg_admin, _pg_url
from tests.court.oversight.test_stats import BEIAN, Expect, World, bounds, county_area

TWO_YEARS = (dt.date(2024, 12, 1), dt.date(2026, 11, 30))


@pytest.fixture(scope="module", params=_backends())
def years(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("stats-compare") / "court.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db, name = Database(f"sqlite:///{path}"), None
    else:
        template = request.getfixturevalue("pg_template")
        name = f"court_cmp_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
        admin.dispose()
        db = Database(make_url(_pg_url()).set(database=name).render_as_string(hide_password=False))
    with db.transaction() as s:
        truth = generate(s, cases=3000, start=TWO_YEARS[0], end=TWO_YEARS[1], seed=19)
    yield World(db, truth)
    db.dispose()
    if name:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# --- periods ---------------------------------------------------------------------------


def test_previous_and_year_before_periods() -> None:
    d = dt.date
    assert stats.previous(d(2026, 3, 1), d(2026, 3, 31)) == (d(2026, 2, 1), d(2026, 2, 28))
    assert stats.previous(d(2026, 4, 1), d(2026, 6, 30)) == (d(2026, 1, 1), d(2026, 3, 31))
    assert stats.previous(d(2026, 1, 1), d(2026, 12, 31)) == (d(2025, 1, 1), d(2025, 12, 31))
    assert stats.previous(d(2026, 12, 1), d(2026, 12, 7)) == (d(2026, 11, 1), d(2026, 11, 7))  # 上月同期
    assert stats.previous(d(2026, 3, 1), d(2026, 3, 30)) == (d(2026, 2, 1), d(2026, 2, 28))  # clamped
    assert stats.previous(d(2026, 3, 10), d(2026, 3, 16)) == (d(2026, 3, 3), d(2026, 3, 9))  # a week: days
    assert stats.year_before(d(2028, 2, 1), d(2028, 2, 29)) == (d(2027, 2, 1), d(2027, 2, 28))
    assert stats.year_before(d(2028, 2, 29), d(2028, 3, 5)) == (d(2027, 2, 28), d(2027, 3, 5))
    assert stats.year_before(d(2026, 12, 1), d(2026, 12, 31)) == (d(2025, 12, 1), d(2025, 12, 31))


def test_quick_periods_and_how_a_period_is_said() -> None:
    quick = {p.label: (p.start, p.end) for p in stats.quick_periods(dt.date(2026, 5, 20))}
    d = dt.date
    assert quick == {"本月": (d(2026, 5, 1), d(2026, 5, 20)), "上月": (d(2026, 4, 1), d(2026, 4, 30)),
                     "本季度": (d(2026, 4, 1), d(2026, 5, 20)), "上季度": (d(2026, 1, 1), d(2026, 3, 31)),
                     "本年": (d(2026, 1, 1), d(2026, 5, 20)), "去年": (d(2025, 1, 1), d(2025, 12, 31))}
    january = {p.label: (p.start, p.end) for p in stats.quick_periods(dt.date(2027, 1, 1))}
    assert january["上月"] == (d(2026, 12, 1), d(2026, 12, 31)) and january["上季度"] == (d(2026, 10, 1), d(2026, 12, 31))
    assert stats.describe(d(2026, 3, 1), d(2026, 3, 31)) == "2026年3月"
    assert stats.describe(d(2026, 4, 1), d(2026, 6, 30)) == "2026年第二季度"
    assert stats.describe(d(2026, 1, 1), d(2026, 12, 31)) == "2026年"
    assert stats.describe(d(2026, 3, 2), d(2026, 3, 8)) == "2026年3月2日至2026年3月8日"
    assert months_ending(d(2026, 2, 14), 3) == [(d(2025, 12, 1), d(2025, 12, 31)), (d(2026, 1, 1), d(2026, 1, 31)),
                                                 (d(2026, 2, 1), d(2026, 2, 28))]
    assert add_months(d(2024, 3, 31), -1) == d(2024, 2, 29)


# --- comparisons, trend, drill-down, map -----------------------------------------------


def _headline_values(want: dict) -> dict[str, object]:
    wins = want["outcomes"]["success"] + want["outcomes"]["agreement_needs_confirmation"]
    decided = wins + want["outcomes"]["failed"]
    return {"intakes": want["intakes"], "steered": want["steered"], "steered_share": want["steered_share"],
            "booked": want["appointments_booked"], "held": want["appointments_held"], "successes": wins,
            "success_rate": wins / decided if decided else None, "jc_requested": want["jc_requested"],
            "handoffs": want["handoffs"], "wait_in_hours": want["wait_in_hours_median_min"]}


def test_headlines_beside_the_previous_period_and_the_year_before(years: World) -> None:
    expect = Expect(years.truth)
    with years.db.reader() as s:
        for area, start, end in ((stats.parse_area(s, "city"), dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
                                 (county_area(s, BEIAN), dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
                                 (stats.parse_area(s, "city"), dt.date(2026, 1, 1), dt.date(2026, 11, 30))):
            got = stats.compare(s, area=area, start=start, end=end)
            now = _headline_values(expect.report(area, start, end))
            before = _headline_values(expect.report(area, *stats.previous(start, end)))
            last_year = _headline_values(expect.report(area, *stats.year_before(start, end)))
            assert (got.previous.start, got.previous.end) == stats.previous(start, end)
            assert (got.year_before.start, got.year_before.end) == stats.year_before(start, end)
            for h in got.headlines:
                where = f"{h.key} {area.token} {start}"
                assert h.value == pytest.approx(now[h.key]), where
                assert h.previous == pytest.approx(before[h.key]), where
                assert h.year_before == pytest.approx(last_year[h.key]), where
                if h.kind == "count":
                    want = (now[h.key] - before[h.key]) / before[h.key] if before[h.key] else None
                    assert h.vs_previous == pytest.approx(want), where
                    want = (now[h.key] - last_year[h.key]) / last_year[h.key] if last_year[h.key] else None
                    assert h.vs_year_before == pytest.approx(want), where
                elif now[h.key] is not None and last_year[h.key] is not None:
                    assert h.vs_year_before == pytest.approx(now[h.key] - last_year[h.key]), where
            # Both comparisons have figures to compare with: the test is not comparing zeros.
            intakes = got.headlines[0]
            assert intakes.previous > 0 and intakes.year_before > 0 and intakes.vs_year_before is not None


def test_the_monthly_trend_counts_each_month_and_the_same_month_a_year_earlier(years: World) -> None:
    expect = Expect(years.truth)
    with years.db.reader() as s:
        for area in (stats.parse_area(s, "city"), county_area(s, BEIAN)):
            got = stats.trend(s, area=area, start=dt.date(2025, 12, 1), end=dt.date(2026, 11, 30))
            assert [m.start for m in got.months] == [add_months(dt.date(2025, 12, 1), i) for i in range(12)]
            assert all(m.in_period for m in got.months)
            for m in got.months:
                for values, (first, last) in ((m.values, (m.start, m.end)),
                                              (m.year_before, (add_months(m.start, -12), stats.year_before(m.start, m.end)[1]))):
                    want = expect.report(area, first, last)
                    assert values == {
                        "intakes": want["intakes"], "steered": want["steered"], "held": want["appointments_held"],
                        "successes": want["outcomes"]["success"] + want["outcomes"]["agreement_needs_confirmation"],
                        "handoffs": want["handoffs"]}, f"{area.token} {first}"
            # The months add up to the year's report.
            year = stats.report(s, area=area, start=dt.date(2025, 12, 1), end=dt.date(2026, 11, 30))
            assert got.total("intakes") == year.intakes and got.total("held") == year.appointments_held
            assert got.total("handoffs") == year.handoffs and got.total("steered") == year.steered
            assert sum(m.year_before["intakes"] for m in got.months) > 0
        short = stats.trend(s, area=stats.parse_area(s, "city"), start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
        assert [m.in_period for m in short.months] == [False] * 11 + [True]
        assert short.months[-1].start == dt.date(2026, 3, 1)


def test_drilling_down_the_sub_areas_add_up_level_by_level(years: World) -> None:
    start, end = dt.date(2025, 12, 1), dt.date(2026, 11, 30)
    with years.db.reader() as s:
        city = stats.report(s, area=stats.parse_area(s, "city"), start=start, end=end)
        assert sum(f.value for f in city.by_subarea) == city.intakes
        for bar in city.by_subarea:
            if bar.key == stats.UNKNOWN:
                continue
            county = stats.report(s, area=stats.parse_area(s, f"county:{bar.key}"), start=start, end=end)
            assert county.intakes == bar.value, bar.label
            assert sum(f.value for f in county.by_subarea) == county.intakes
            assert stats.lineage(s, county.area) == [city.area]
            for town_bar in county.by_subarea:
                if town_bar.key == stats.UNKNOWN:
                    continue
                town = stats.report(s, area=stats.parse_area(s, f"town:{town_bar.key}"), start=start, end=end)
                assert town.intakes == town_bar.value, town_bar.label
                assert sum(f.value for f in town.by_subarea) == town.intakes
        busiest = max((f for f in city.by_subarea if f.key != stats.UNKNOWN), key=lambda f: f.value)
        county = stats.report(s, area=stats.parse_area(s, f"county:{busiest.key}"), start=start, end=end)
        town_bar = max((f for f in county.by_subarea if f.key != stats.UNKNOWN), key=lambda f: f.value)
        town = stats.parse_area(s, f"town:{town_bar.key}")
        assert [a.kind for a in stats.lineage(s, town)] == ["city", "county"]
        point = next(f for f in stats.report(s, area=town, start=start, end=end).by_subarea if f.key != stats.UNKNOWN)
        assert [a.kind for a in stats.lineage(s, stats.parse_area(s, f"point:{point.key}"))] == ["city", "county", "town"]


def test_the_point_map_counts_each_points_intakes(years: World) -> None:
    start, end = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
    lo, hi = bounds(start, end)
    want = collections.Counter(c["service_point_id"] for c in years.truth.cases
                               if lo <= c["created_at"] < hi and c["service_point_id"])
    with years.db.reader() as s:
        dots = stats.point_map(s, area=stats.parse_area(s, "city"), start=start, end=end)
        assert {d.point_id: d.cases for d in dots if d.cases} == dict(want)
        assert [d.cases for d in dots] == sorted((d.cases for d in dots), reverse=True)
        assert all(45 < d.lat < 53 and 120 < d.lng < 130 for d in dots)
        assert any(d.median_days_to_first for d in dots)
        beian = stats.point_map(s, area=county_area(s, BEIAN), start=start, end=end)
        assert 0 < len(beian) < len(dots)
