"""Heihe's county-level and township-level units from the two statistics listings."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.settings import DATA_DIR
from court.reference.places import base_name
from court.store.schema import Place, PlaceAlias, PlaceLevel

MAIN_FILE = DATA_DIR / "heihe_divisions.csv"
NBS_FILE = DATA_DIR / "heihe_divisions_nbs2022.csv"
FALLBACK_SOURCE = "县城位置代替（乡镇坐标未知）"
_TOWNSHIP_LIKE = {PlaceLevel.STREET.value, PlaceLevel.TOWN.value, PlaceLevel.TOWNSHIP.value}

# The listings disagree on these; both names are aliases of one place (see the domain README).
EXPLICIT_ALIASES = {"朝阳山镇": "231182210000", "红色边疆农场": "231124500000"}


def classify(name: str) -> str:
    if name.endswith(("街道", "街道地区")):
        return PlaceLevel.STREET.value
    if name.endswith("镇"):
        return PlaceLevel.TOWN.value
    if name.endswith("乡"):
        return PlaceLevel.TOWNSHIP.value
    if name.endswith("农场"):
        return PlaceLevel.STATE_FARM.value
    if name.endswith(("林场", "林业局")):
        return PlaceLevel.FOREST_FARM.value
    return PlaceLevel.OTHER_UNIT.value


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _float(value: str) -> Optional[float]:
    return float(value) if value and value.strip() else None


def _upsert(session: Session, by_code: dict[str, Place], code: str, **values: object) -> Place:
    place = by_code.get(code)
    if place is None:
        place = Place(code=code)
        session.add(place)
        by_code[code] = place
    for key, value in values.items():
        setattr(place, key, value)
    return place


def _add_alias(place: Place, alias: str) -> None:
    if alias and alias != place.name and alias not in {a.alias for a in place.aliases}:
        place.aliases.append(PlaceAlias(alias=alias))


def load_divisions(session: Session) -> int:
    """Insert or update every place; safe to run again. Returns the number of places."""
    by_code = {p.code: p for p in session.execute(select(Place)).scalars()}
    main = _read(MAIN_FILE)
    seats: dict[str, tuple[Optional[float], Optional[float]]] = {}

    for row in main:  # prefecture and counties first, so towns can fall back to their seat
        if row["level"] not in ("prefecture", "county"):
            continue
        level = PlaceLevel.PREFECTURE.value if row["level"] == "prefecture" else PlaceLevel.COUNTY.value
        parent = by_code.get(row["parent_code"].ljust(12, "0"))
        place = _upsert(session, by_code, row["stats_code_12"], name=row["name"], level=level, parent=parent,
                        county_code=row["code"] if level == PlaceLevel.COUNTY.value else None,
                        lat=_float(row["lat"]), lng=_float(row["lng"]), coord_source=row["coord_source"],
                        coord_fallback=False)
        _add_alias(place, row["short"])
        seats[row["code"]] = (place.lat, place.lng)

    for row in main:
        if row["level"] != "township":
            continue
        county = row["parent_code"]
        lat, lng = _float(row["lat"]), _float(row["lng"])
        fallback = lat is None or lng is None
        if fallback:
            lat, lng = seats[county]
        place = _upsert(session, by_code, row["stats_code_12"], name=row["name"], level=classify(row["name"]),
                        parent=by_code[county.ljust(12, "0")], county_code=county, lat=lat, lng=lng,
                        coord_source=FALLBACK_SOURCE if fallback else row["coord_source"], coord_fallback=fallback)
        _add_alias(place, row["short"])
    session.flush()

    for row in _read(NBS_FILE):
        if row["level"] == "county":
            continue
        twin = _find_twin(by_code, row)
        if twin is not None:
            _add_alias(twin, row["name"])
            continue
        county = row["county_code"]
        lat, lng = seats[county]
        _upsert(session, by_code, row["code12"], name=row["name"], level=classify(row["name"]),
                parent=by_code[county.ljust(12, "0")], county_code=county, lat=lat, lng=lng,
                coord_source=FALLBACK_SOURCE, coord_fallback=True)
    session.flush()
    return len(by_code)


def _find_twin(by_code: dict[str, Place], row: dict[str, str]) -> Optional[Place]:
    """The place of the main listing that this NBS row names, if any."""
    if row["code12"] in by_code:
        return by_code[row["code12"]]
    if row["name"] in EXPLICIT_ALIASES:
        return by_code[EXPLICIT_ALIASES[row["name"]]]
    same_county = [p for p in by_code.values() if p.county_code == row["county_code"] and p.level != PlaceLevel.COUNTY.value]
    exact = [p for p in same_county if p.name == row["name"]]
    if len(exact) == 1:
        return exact[0]
    level = classify(row["name"])
    similar = [
        p for p in same_county
        if base_name(p.name) == base_name(row["name"])
        and (p.level == level or {p.level, level} <= _TOWNSHIP_LIKE)
    ]
    return similar[0] if len(similar) == 1 else None
