"""Portable SQL for the statistics, run the same by SQLite and PostgreSQL.

A period's bounds in local days, seconds between two timestamps, medians and
p90s picked by window functions, and conditional sums and shares.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import and_, case, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from court.core.errors import ValidationError
from court.core.timeutil import local_datetime

MAX_SPAN_DAYS = 366


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ValidationError("请填写开始日期和结束日期。")


def period(start: Any, end: Any) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """Checked dates and the instants [start 00:00, end+1 00:00) in Beijing time."""
    first, last = _as_date(start), _as_date(end)
    if last < first:
        raise ValidationError("结束日期不能早于开始日期。")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise ValidationError(f"统计期间最长{MAX_SPAN_DAYS}天，请缩短日期范围。")
    return first, last, local_datetime(first, dt.time.min), local_datetime(last + dt.timedelta(days=1), dt.time.min)


def within(column: Any, lo: dt.datetime, hi: dt.datetime) -> ColumnElement:
    return and_(column >= lo, column < hi)


class seconds_between(FunctionElement):
    """Seconds from the second timestamp to the first, in either database's dialect."""

    name = "seconds_between"
    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # float8, not numeric: psycopg2 would hand back a Decimal per row.
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@dataclass(frozen=True)
class Spread:
    median: Optional[float]
    p90: Optional[float]  # nearest rank: the smallest value at least 90% of the values do not exceed


def _is_middle(rank: Any, count: Any) -> Any:
    return and_(rank * 2 >= count, rank * 2 <= count + 2)  # rank (n+1)/2, or n/2 and n/2+1


def _is_p90(rank: Any, count: Any) -> Any:
    return and_(rank * 10 >= count * 9, (rank - 1) * 10 < count * 9)  # rank = ceil(0.9 n)


def spreads(session: Session, durations: Select) -> dict[Any, Spread]:
    """Median and p90 of the seconds in the last column of ``durations``, per value of its
    first column when it has two. The database ranks the values (window functions), so only
    the two or three rows that matter come back, not every duration."""
    inner = durations.subquery()
    group = inner.c[0] if len(inner.c) > 1 else None
    value = inner.c[len(inner.c) - 1]
    window = {"partition_by": group} if group is not None else {}
    ranked = select(group.label("g") if group is not None else literal_column("0").label("g"), value.label("v"),
                    func.row_number().over(order_by=value, **window).label("rn"),
                    func.count().over(**window).label("n")).where(value.isnot(None)).subquery()
    r = ranked.c
    picked: dict[Any, list[tuple[int, int, float]]] = {}
    for key, seconds, rank, count in session.execute(
            select(r.g, r.v, r.rn, r.n).where(or_(_is_middle(r.rn, r.n), _is_p90(r.rn, r.n)))):
        # Millisecond rounding hides julianday's floating-point noise on SQLite.
        picked.setdefault(key, []).append((int(rank), int(count), round(float(seconds), 3)))
    out = {}
    for key, found in picked.items():
        middle = [v for rank, n, v in found if n <= rank * 2 <= n + 2]
        tail = [v for rank, n, v in found if rank * 10 >= n * 9 > (rank - 1) * 10]
        out[key] = Spread(sum(middle) / len(middle), tail[0])
    return out


def spread_of(seconds: list[float]) -> Spread:
    """The same median and nearest-rank p90 as ``spreads``, of values already in Python."""
    if not seconds:
        return Spread(None, None)
    ordered = sorted(round(v, 3) for v in seconds)
    n = len(ordered)
    middle = ordered[(n - 1) // 2:n // 2 + 1]
    return Spread(sum(middle) / len(middle), ordered[-(-9 * n // 10) - 1])


def spread(session: Session, durations: Select) -> Spread:
    return next(iter(spreads(session, durations).values()), Spread(None, None))


def scaled(value: Optional[float], unit_seconds: float) -> Optional[float]:
    return None if value is None else round(value / unit_seconds, 1)


def share(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def sum_when(condition: ColumnElement) -> Any:
    return func.sum(case((condition, 1), else_=0))
