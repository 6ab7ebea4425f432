"""Service points and mediators from records (YAML or generated), validated.

The court replaces the demo roster with its own through this same loader:

    service_points:
      - code: SP-231102101
        name: 西岗子镇调解工作服务点
        place: "231102101000"          # 12-digit place code
        address: 西岗子镇政府一楼
        hours: ["1-5 08:30-11:30", "1-5 13:30-17:00"]   # weekdays 1=Mon..7=Sun
    mediators:
      - code: M-0001
        name: 张桂兰
        phone: "13945612378"
        points: [SP-231102101]
        dispute_types: [family, neighbor]
        availability: ["1,3,5 08:30-11:30"]
        leave: ["2026-12-07..2026-12-09 年假"]
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import CourtError
from court.core.validation import clean_text, normalize_phone, validate_name
from court.records import journal
from court.store.schema import (
    Court,
    DisputeType,
    Mediator,
    MediatorAvailability,
    MediatorException,
    MediatorSpeciality,
    MediatorStatus,
    Place,
    ServicePoint,
    ServicePointHours,
)

_WINDOW = re.compile(r"^\s*([1-7](?:\s*[-,]\s*[1-7])*)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_LEAVE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?(?:\s+(.*))?$")


class RosterError(CourtError):
    code = "roster_invalid"

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"名册数据有误（{where}）：{problem}")


def parse_weekly(spec: str, where: str) -> list[tuple[int, dt.time, dt.time]]:
    """"1-5 08:30-11:30" -> [(0, 08:30, 11:30), ... (4, ...)] with Monday = 0."""
    match = _WINDOW.match(str(spec))
    if not match:
        raise RosterError(where, f"时间段格式应为“1-5 08:30-11:30”，收到“{spec}”")
    days: set[int] = set()
    for part in match.group(1).replace(" ", "").split(","):
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-"))
            if lo > hi:
                raise RosterError(where, f"星期范围颠倒：{part}")
            days.update(range(lo, hi + 1))
        else:
            days.add(int(part))
    try:
        start = dt.time.fromisoformat(match.group(2).zfill(5))
        end = dt.time.fromisoformat(match.group(3).zfill(5))
    except ValueError as exc:
        raise RosterError(where, f"时间无效：{spec}") from exc
    if start >= end:
        raise RosterError(where, f"开始时间应早于结束时间：{spec}")
    return [(d - 1, start, end) for d in sorted(days)]


def parse_leave(spec: str, where: str) -> tuple[dt.date, dt.date, str]:
    match = _LEAVE.match(str(spec))
    if not match:
        raise RosterError(where, f"请假格式应为“2026-12-07..2026-12-09 年假”，收到“{spec}”")
    try:
        start = dt.date.fromisoformat(match.group(1))
        end = dt.date.fromisoformat(match.group(2) or match.group(1))
    except ValueError as exc:
        raise RosterError(where, f"日期无效：{spec}") from exc
    if end < start:
        raise RosterError(where, f"结束日期早于开始日期：{spec}")
    return start, end, (match.group(3) or "请假").strip()


def load_roster_file(session: Session, path: Path, *, actor: str) -> tuple[int, int]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise RosterError(str(path), "文件顶层应包含 service_points 和 mediators")
    return load_roster(session, data.get("service_points") or [], data.get("mediators") or [], actor=actor)


def load_roster(
    session: Session,
    points: Iterable[Mapping[str, Any]],
    mediators: Iterable[Mapping[str, Any]],
    *,
    actor: str,
) -> tuple[int, int]:
    """Upsert points and mediators by code; the caller's transaction keeps it all-or-nothing."""
    places = {p.code: p for p in session.execute(select(Place)).scalars()}
    courts = session.execute(select(Court)).scalars().all()
    by_code = {p.code: p for p in session.execute(select(ServicePoint)).scalars()}
    n_points = 0
    for i, rec in enumerate(points):
        _load_point(session, rec, f"service_points[{i}]", places, courts, by_code, actor)
        n_points += 1
    session.flush()
    existing = {m.code: m for m in session.execute(select(Mediator)).scalars()}
    n_mediators = 0
    for i, rec in enumerate(mediators):
        _load_mediator(session, rec, f"mediators[{i}]", by_code, existing, actor)
        n_mediators += 1
    session.flush()
    return n_points, n_mediators


def _required(rec: Mapping[str, Any], key: str, where: str) -> Any:
    value = rec.get(key)
    if value in (None, "", []):
        raise RosterError(where, f"缺少 {key}")
    return value


def _load_point(session: Session, rec: Mapping[str, Any], where: str, places: dict[str, Place],
                courts: list[Court], by_code: dict[str, ServicePoint], actor: str) -> None:
    code = str(_required(rec, "code", where))
    place = places.get(str(_required(rec, "place", where)))
    if place is None:
        raise RosterError(where, f"地点编码 {rec['place']} 不在黑河市行政区划中")
    court_name = rec.get("court")
    if court_name:
        court = next((c for c in courts if c.name == court_name), None)
        if court is None:
            raise RosterError(where, f"未知法院：{court_name}")
    else:
        court = next((c for c in courts if c.level == "basic" and c.county_code == place.county_code), None)
        if court is None:
            raise RosterError(where, "找不到该地点所属的基层法院")
    lat = float(rec.get("lat", place.lat)) if rec.get("lat", place.lat) is not None else None
    lng = float(rec.get("lng", place.lng)) if rec.get("lng", place.lng) is not None else None
    if lat is None or lng is None:
        raise RosterError(where, "缺少坐标")
    slot = int(rec.get("slot_minutes", 60))
    if not 15 <= slot <= 240:
        raise RosterError(where, "slot_minutes 应在15到240之间")
    hours = [w for spec in _required(rec, "hours", where) for w in parse_weekly(spec, where)]

    point = by_code.get(code)
    before = None if point is None else journal.snapshot("service_point", point)
    if point is None:
        point = ServicePoint(code=code)
        session.add(point)
        by_code[code] = point
    point.name = clean_text(_required(rec, "name", where), limit=80, field="服务点名称")
    point.place = place
    point.address = clean_text(_required(rec, "address", where), limit=200, field="地址")
    point.lat, point.lng = lat, lng
    point.court = court
    point.slot_minutes = slot
    point.active = bool(rec.get("active", True))
    point.is_demo = bool(rec.get("demo", False))
    point.hours = [ServicePointHours(weekday=d, opens=s, closes=e) for d, s, e in hours]
    session.flush()
    after = journal.snapshot("service_point", point)
    if before != after:
        journal.audit(session, actor=actor, action="service_point.load", entity_type="service_point",
                      entity_id=point.id, before=before, after=after)


def _load_mediator(session: Session, rec: Mapping[str, Any], where: str, points: dict[str, ServicePoint],
                   existing: dict[str, Mediator], actor: str) -> None:
    code = str(_required(rec, "code", where))
    try:
        name = validate_name(_required(rec, "name", where))
        phone = normalize_phone(_required(rec, "phone", where))
    except CourtError as exc:
        raise RosterError(where, exc.message) from exc
    point_codes = [str(c) for c in _required(rec, "points", where)]
    unknown = [c for c in point_codes if c not in points]
    if unknown:
        raise RosterError(where, f"未知服务点：{', '.join(unknown)}")
    try:
        types = sorted({DisputeType(t).value for t in _required(rec, "dispute_types", where)})
    except ValueError as exc:
        raise RosterError(where, f"未知纠纷类型：{exc}") from exc
    status = str(rec.get("status", MediatorStatus.ACTIVE.value))
    if status not in {s.value for s in MediatorStatus}:
        raise RosterError(where, f"未知状态：{status}")
    windows = [w for spec in _required(rec, "availability", where) for w in parse_weekly(spec, where)]
    leaves = [parse_leave(spec, where) for spec in rec.get("leave") or []]

    mediator = existing.get(code)
    before = None if mediator is None else journal.snapshot("mediator", mediator)
    if mediator is None:
        mediator = Mediator(code=code)
        session.add(mediator)
        existing[code] = mediator
    mediator.name, mediator.phone, mediator.status = name, phone, status
    mediator.is_demo = bool(rec.get("demo", False))
    if rec.get("appointed_on"):
        mediator.appointed_on = dt.date.fromisoformat(str(rec["appointed_on"]))
    mediator.service_points = [points[c] for c in point_codes]
    mediator.specialities = [MediatorSpeciality(dispute_type=t) for t in types]
    mediator.availability = [MediatorAvailability(weekday=d, starts=s, ends=e) for d, s, e in windows]
    mediator.exceptions = [MediatorException(starts_on=s, ends_on=e, kind="leave", note=n) for s, e, n in leaves]
    session.flush()
    after = journal.snapshot("mediator", mediator)
    if before != after:
        journal.audit(session, actor=actor, action="mediator.load", entity_type="mediator",
                      entity_id=mediator.id, before=before, after=after)
