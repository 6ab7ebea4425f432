"""The checks every management action makes at the boundary, and what they share:
the admin check, reasons, weekly hours (parsing, checking, rendering), the
timezone-aware clock, and the lock on a service point."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Iterable, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.core.privacy import mask_text
from court.core.validation import clean_text
from court.hotline.accounts import DeskUser
from court.reference import labels
from court.store.schema import ACTIVE_APPOINTMENT_STATUSES, ServicePoint

EARLIEST = dt.time(7, 0)  # weekly hours must lie within 07:00-20:00
LATEST = dt.time(20, 0)
REASON_LIMIT = 200
LEAVE_KINDS = {"leave": "请假", "training": "培训", "other": "其他"}  # mediator_exceptions.kind
WEEKDAYS = "一二三四五六日"
STATUS_LABELS = labels.MEDIATOR_STATUS
ACTIVE_STATUSES = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
_WINDOW = re.compile(r"^([1-7](?:\s*[-~至到,、]\s*[1-7])*)\s+(\d{1,2}:\d{2})\s*[-~至到]\s*(\d{1,2}:\d{2})$")

Window = tuple[int, dt.time, dt.time]  # weekday (Monday = 0), start, end


def require_admin(user: Optional[DeskUser]) -> str:
    """The admin's actor name for the audit log; anyone else is refused."""
    if user is None or not user.is_admin:
        raise PermissionDenied("只有管理员可以管理调解员和服务点。")
    return user.actor


def check_now(now: Optional[dt.datetime]) -> dt.datetime:
    """Every action is given its clock; a naive one is a programming error."""
    if now is None or now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


def clean_reason(raw: object, field_name: str = "原因") -> str:
    """Staff read it as written, so no width folding; at most REASON_LIMIT characters."""
    return clean_text(raw, limit=REASON_LIMIT, field=field_name, fold_width=False)


def logged_reason(reason: str) -> str:
    # The audit log can never be erased: no phone or ID number typed into a reason enters it.
    return mask_text(reason)


def parse_hours(text: object) -> list[Window]:
    """Weekly hours typed one window a line, e.g. "1-5 08:30-11:30" (1 = Monday … 7 = Sunday)."""
    raw = unicodedata.normalize("NFKC", str(text or ""))
    windows: list[Window] = []
    for n, line in enumerate((ln.strip() for ln in re.split(r"[\n;；]", raw)), 1):
        if not line:
            continue
        match = _WINDOW.match(line)
        if not match:
            raise ValidationError(f"第{n}行“{line}”看不懂。请按“1-5 08:30-11:30”的格式填写，"
                                  "1到7表示周一到周日，每行一个时间段。")
        days: set[int] = set()
        for part in re.split(r"\s*[,、]\s*", match.group(1)):
            ends = [int(x) for x in re.split(r"\s*[-~至到]\s*", part)]
            if len(ends) == 2 and ends[0] > ends[1]:
                raise ValidationError(f"第{n}行的星期范围颠倒了：{part}。")
            days.update(range(ends[0], ends[-1] + 1))
        try:
            start = dt.time.fromisoformat(match.group(2).zfill(5))
            end = dt.time.fromisoformat(match.group(3).zfill(5))
        except ValueError:
            raise ValidationError(f"第{n}行的时间无效：{line}。") from None
        windows.extend((d - 1, start, end) for d in sorted(days))
    return check_hours(windows)


def check_hours(windows: Iterable[Window]) -> list[Window]:
    """Sane weekly hours: 07:00-20:00, start before end, no overlaps on one weekday."""
    out = sorted(set(windows))
    if not out:
        raise ValidationError("请至少填写一个每周时间段。")
    for weekday, start, end in out:
        if not 0 <= weekday <= 6:
            raise ValidationError("星期只能是1到7（周一到周日）。")
        if start >= end:
            raise ValidationError(f"周{WEEKDAYS[weekday]} {start:%H:%M}-{end:%H:%M}：开始时间要早于结束时间。")
        if start < EARLIEST or end > LATEST:
            raise ValidationError(f"周{WEEKDAYS[weekday]} {start:%H:%M}-{end:%H:%M}：时间段要在07:00到20:00之间。")
    for (d1, s1, e1), (d2, s2, e2) in zip(out, out[1:]):
        if d1 == d2 and s2 < e1:
            raise ValidationError(f"周{WEEKDAYS[d1]}的时间段 {s1:%H:%M}-{e1:%H:%M} 和 {s2:%H:%M}-{e2:%H:%M} 重叠了。")
    return out


def hours_spec(windows: Iterable[Window]) -> str:
    """The typed form of weekly hours, weekdays with equal windows grouped: "1-5 08:30-11:30"."""
    by_window: dict[tuple[dt.time, dt.time], list[int]] = {}
    for weekday, start, end in sorted(windows, key=lambda w: (w[1], w[2], w[0])):
        by_window.setdefault((start, end), []).append(weekday + 1)
    lines = []
    for (start, end), days in by_window.items():
        lines.append(f"{_day_runs(days, sep='-', join=',')} {start:%H:%M}-{end:%H:%M}")
    return "\n".join(lines)


def hours_text(windows: Iterable[Window]) -> list[str]:
    """Weekly hours as people read them: "周一至周五 08:30-11:30"."""
    by_window: dict[tuple[dt.time, dt.time], list[int]] = {}
    for weekday, start, end in sorted(windows, key=lambda w: (w[1], w[2], w[0])):
        by_window.setdefault((start, end), []).append(weekday + 1)
    return [f"{_day_runs(days, sep='至', join='、', prefix='周', names=True)} {s:%H:%M}-{e:%H:%M}"
            for (s, e), days in by_window.items()]


def _day_runs(days: Sequence[int], *, sep: str, join: str, prefix: str = "", names: bool = False) -> str:
    label = (lambda d: WEEKDAYS[d - 1]) if names else str
    runs: list[list[int]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) < 3:  # "1,2" reads better than "1-2"
            parts += [prefix + label(d) for d in run]
        else:
            parts.append(f"{prefix}{label(run[0])}{sep}{prefix}{label(run[-1])}")
    return join.join(parts)


def lock_point(session: Session, point_id: int) -> ServicePoint:
    """The point, locked for this transaction and freshly read; NotFound if there is none."""
    point = session.execute(
        select(ServicePoint).where(ServicePoint.id == point_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if point is None:
        raise NotFound("没有找到这个服务点。")
    return point
