"""The areas a report covers: the city, a county unit, a town or a service point.

Listing them for a <select>, reading an ``AreaRef.token`` back, and the SQL
conditions that put a case (or a row pointing at one) in an area.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from court.core.errors import ValidationError
from court.store.schema import Case, Place, PlaceLevel, ServicePoint

CITY_FALLBACK_LABEL = "黑河市"
BELOW_COUNTY = tuple(level.value for level in PlaceLevel
                     if level not in (PlaceLevel.PREFECTURE, PlaceLevel.COUNTY))


@dataclass(frozen=True)
class AreaRef:
    kind: str  # "city" | "county" | "town" | "point"
    id: Optional[int]  # places.id for county/town, service_points.id for point, None for the city
    label: str

    @property
    def token(self) -> str:
        return "city" if self.kind == "city" else f"{self.kind}:{self.id}"


_TOKEN = re.compile(r"(county|town|point):([1-9][0-9]{0,8})")  # 9 digits: stays inside a 32-bit id


def _city(session: Session) -> AreaRef:
    name = session.execute(select(Place.name).where(Place.level == PlaceLevel.PREFECTURE.value)
                           .order_by(Place.code).limit(1)).scalar_one_or_none()
    return AreaRef("city", None, name or CITY_FALLBACK_LABEL)


def _point_label(name: str, active: bool) -> str:
    return name if active else f"{name}（已停用）"


def areas(session: Session) -> list[AreaRef]:
    """The city, each county unit followed by its towns, then every service point (for a <select>)."""
    places = session.execute(select(Place.id, Place.name, Place.level, Place.county_code).order_by(Place.code)).all()
    towns: dict[str, list[Any]] = {}
    for p in places:
        if p.level in BELOW_COUNTY and p.county_code:
            towns.setdefault(p.county_code, []).append(p)
    out = [_city(session)]
    for county in (p for p in places if p.level == PlaceLevel.COUNTY.value):
        out.append(AreaRef("county", county.id, county.name))
        out += [AreaRef("town", t.id, county.name + t.name) for t in towns.get(county.county_code, [])]
    points = session.execute(
        select(ServicePoint.id, ServicePoint.name, ServicePoint.active)
        .join(Place, Place.id == ServicePoint.place_id).order_by(Place.code, ServicePoint.id)
    ).all()
    out += [AreaRef("point", p.id, _point_label(p.name, p.active)) for p in points]
    return out


def parse_area(session: Session, token: str) -> AreaRef:
    """The area a token from ``AreaRef.token`` names; ValidationError for anything else."""
    text = token.strip() if isinstance(token, str) else ""
    if text == "city":
        return _city(session)
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise ValidationError("地区参数不正确，请从列表中选择地区。")
    kind, ident = match.group(1), int(match.group(2))
    found: Optional[AreaRef] = None
    if kind == "point":
        row = session.execute(select(ServicePoint.name, ServicePoint.active).where(ServicePoint.id == ident)).first()
        found = AreaRef("point", ident, _point_label(row.name, row.active)) if row else None
    else:
        row = session.execute(select(Place.name, Place.level, Place.county_code).where(Place.id == ident)).first()
        if row is not None and kind == "county" and row.level == PlaceLevel.COUNTY.value:
            found = AreaRef("county", ident, row.name)
        elif row is not None and kind == "town" and row.level in BELOW_COUNTY:
            county = session.execute(select(Place.name).where(
                Place.county_code == row.county_code, Place.level == PlaceLevel.COUNTY.value)).scalar_one_or_none()
            found = AreaRef("town", ident, (county or "") + row.name)
    if found is None:
        raise ValidationError("没有找到这个地区，请从列表中重新选择。")
    return found


def county_code_of(session: Session, county_id: Optional[int]) -> str:
    """The county's code; a missing county (no id, or not a county) is the user's error."""
    if county_id is None:
        raise ValidationError("没有找到这个县区，请从列表中重新选择。")
    code = session.execute(select(Place.county_code).where(
        Place.id == county_id, Place.level == PlaceLevel.COUNTY.value)).scalar_one_or_none()
    if code is None:
        raise ValidationError("没有找到这个县区，请从列表中重新选择。")
    return code


def _area_test(value: Any, area: AreaRef, county_code: Optional[str]) -> list[ColumnElement]:
    """Conditions on a case's place (county, town) or service point (point) for the area."""
    if area.kind == "county":
        return [value.in_(select(Place.id).where(Place.county_code == county_code))]
    return [value == area.id] if area.kind in ("town", "point") else []


def case_area(area: AreaRef, county_code: Optional[str]) -> list[ColumnElement]:
    """Conditions putting a case in the area: its place (the town of the dispute), or its point."""
    return _area_test(Case.service_point_id if area.kind == "point" else Case.place_id, area, county_code)


def owner_in_area(case_id: Any, area: AreaRef, county_code: Optional[str]) -> list[ColumnElement]:
    """Conditions putting the case ``case_id`` points at in the area. A per-row lookup by primary
    key: cheaper than joining every case of a county when a month's rows are few."""
    if area.kind == "city":
        return []
    owner = aliased(Case)
    column = owner.service_point_id if area.kind == "point" else owner.place_id
    return _area_test(select(column).where(owner.id == case_id).scalar_subquery(), area, county_code)


def area_groups(session: Session) -> list[tuple[AreaRef, list[AreaRef]]]:
    """Each county unit with its towns and then its service points, for a picker by county then town."""
    listed = areas(session)
    point_codes = dict(session.execute(select(ServicePoint.id, Place.county_code)
                                       .join(Place, Place.id == ServicePoint.place_id)).all())
    county_codes = dict(session.execute(select(Place.id, Place.county_code)
                                        .where(Place.level == PlaceLevel.COUNTY.value)).all())
    groups: list[tuple[AreaRef, list[AreaRef]]] = []
    by_code: dict[str, list[AreaRef]] = {}
    for area in listed:
        if area.kind == "county":
            groups.append((area, []))
            by_code[county_codes[area.id]] = groups[-1][1]
        elif area.kind == "town" and groups:
            groups[-1][1].append(AreaRef("town", area.id, area.label[len(groups[-1][0].label):] or area.label))
        elif area.kind == "point" and point_codes.get(area.id) in by_code:
            by_code[point_codes[area.id]].append(area)
    return groups


def lineage(session: Session, area: AreaRef) -> list[AreaRef]:
    """The areas above ``area``, city first, for a breadcrumb back up the drill-down."""
    if area.kind == "city":
        return []
    city = _city(session)
    if area.kind == "point":
        place_id = session.execute(select(ServicePoint.place_id).where(ServicePoint.id == area.id)).scalar_one()
        place = session.execute(select(Place.id, Place.level).where(Place.id == place_id)).one()
        town = [parse_area(session, f"town:{place.id}")] if place.level in BELOW_COUNTY else []
    else:
        place_id, town = area.id, []
    if area.kind == "county":
        return [city]
    code = session.execute(select(Place.county_code).where(Place.id == place_id)).scalar_one()
    county_id = session.execute(select(Place.id).where(Place.county_code == code,
                                                       Place.level == PlaceLevel.COUNTY.value)).scalar_one_or_none()
    county = [AreaRef("county", county_id, parse_area(session, f"county:{county_id}").label)] if county_id else []
    return [city, *county, *town]
