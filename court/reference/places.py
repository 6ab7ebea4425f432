"""Heihe's places: understanding a place typed in Chinese, and distances.

Residents write "爱辉区西岗子", "西岗子镇" or just "西岗子"; the directory
accepts all three, asks which one when a name fits several places, and says
so plainly when a place is unknown or outside Heihe.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import InvalidCoordinates, OutsideHeihe, PlaceAmbiguous, PlaceNotFound
from court.store.schema import Place, PlaceLevel

# Longest first, so "满族乡" is stripped before "乡".
_SUFFIXES = (
    "街道办事处", "街道地区", "满族达斡尔族乡", "鄂伦春族乡", "朝鲜族乡", "满族乡", "民族乡",
    "林业局", "街道", "居委会", "村委会", "社区", "地区", "农场", "林场", "乡", "镇", "村", "区", "市", "县",
)
_NOISE = re.compile(r"[\s,，。.!！?？、;；:：()（）\[\]【】\"“”'‘’]|黑龙江省?|黑河市")
_FILLER = re.compile(r"^(俺|我|我们|咱|咱们|家)?(在|住在|住|是|就在|来自)?")
_TAIL_FILLER = re.compile(r"(这边|那边|这块|那块|附近|一带|这里|那里|这儿|那儿|的|人)+$")
_CITY_NAMES = ("黑河", "黑河市", "市里", "市区", "黑河市区")

# Names that place a resident outside Heihe (major cities, and every other
# prefecture of Heilongjiang, which residents near the border often mention).
_OUTSIDE = (
    "哈尔滨", "齐齐哈尔", "大庆", "伊春", "绥化", "佳木斯", "牡丹江", "鸡西", "鹤岗", "双鸭山",
    "七台河", "大兴安岭", "加格达奇", "漠河", "呼玛", "塔河", "讷河", "克山", "克东", "依安",
    "北京", "上海", "天津", "重庆", "长春", "吉林", "沈阳", "大连", "呼和浩特", "呼伦贝尔",
    "海拉尔", "满洲里", "广州", "深圳", "杭州", "南京", "武汉", "成都", "西安", "郑州", "济南",
    "青岛", "俄罗斯", "布拉戈维申斯克", "海兰泡",
)
_ADMIN_NAME = re.compile(r"([\u4e00-\u9fff]{2,6}?)(省|自治区|市|县|区|旗)")

# A generous box around Heihe's territory; coordinates outside it are not Heihe's.
HEIHE_BOUNDS = (47.2, 51.9, 124.3, 129.4)  # lat min, lat max, lng min, lng max
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def check_coordinates(lat: object, lng: object) -> tuple[float, float]:
    """Validated (lat, lng) inside Heihe, or a typed error."""
    try:
        la, ln = float(lat), float(lng)  # type: ignore[arg-type]  # any input: float() refuses below
    except (TypeError, ValueError) as exc:
        raise InvalidCoordinates() from exc
    if not (math.isfinite(la) and math.isfinite(ln) and -90 <= la <= 90 and -180 <= ln <= 180):
        raise InvalidCoordinates()
    lat_min, lat_max, lng_min, lng_max = HEIHE_BOUNDS
    if not (lat_min <= la <= lat_max and lng_min <= ln <= lng_max):
        raise OutsideHeihe()
    return la, ln


def base_name(name: str) -> str:
    """The name without its administrative suffix, keeping at least two characters."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = _NOISE.sub("", text)
    text = _FILLER.sub("", text)
    return _TAIL_FILLER.sub("", text)


@dataclass(frozen=True)
class PlaceRef:
    id: int
    code: str
    name: str
    level: str
    county_code: Optional[str]
    county_name: Optional[str]
    lat: Optional[float]
    lng: Optional[float]
    coord_fallback: bool

    @property
    def display_name(self) -> str:
        if self.county_name and self.county_name != self.name:
            return f"{self.county_name}{self.name}"
        return self.name

    @property
    def special_area(self) -> bool:
        """State farms and forest areas may fall under a special court: ask, don't assume."""
        return self.level in (PlaceLevel.STATE_FARM.value, PlaceLevel.FOREST_FARM.value)


@dataclass
class PlaceDirectory:
    """An in-memory index of every place and its aliases, built from the database."""

    places: dict[int, PlaceRef]
    counties: dict[str, PlaceRef]  # alias -> county
    local_index: dict[str, set[int]] = field(default_factory=dict)  # alias -> places below county level
    full_names: dict[str, set[int]] = field(default_factory=dict)  # exact official names and aliases

    @classmethod
    def load(cls, session: Session) -> "PlaceDirectory":
        rows = session.execute(select(Place)).scalars().all()
        county_names = {p.county_code: p.name for p in rows if p.level == PlaceLevel.COUNTY.value}
        places: dict[int, PlaceRef] = {}
        counties: dict[str, PlaceRef] = {}
        local: dict[str, set[int]] = {}
        full: dict[str, set[int]] = {}
        for p in rows:
            ref = PlaceRef(p.id, p.code, p.name, p.level, p.county_code, county_names.get(p.county_code),
                           p.lat, p.lng, bool(p.coord_fallback))
            places[p.id] = ref
            names = {p.name, base_name(p.name)} | {a.alias for a in p.aliases} | {base_name(a.alias) for a in p.aliases}
            if p.level == PlaceLevel.COUNTY.value:
                for n in names:
                    counties[n] = ref
            elif p.level != PlaceLevel.PREFECTURE.value:
                for n in names:
                    local.setdefault(n, set()).add(p.id)
                for n in {p.name} | {a.alias for a in p.aliases}:
                    full.setdefault(n, set()).add(p.id)
        return cls(places, counties, local, full)

    def resolve(self, text: str) -> PlaceRef:
        """The one place the text names; raises PlaceAmbiguous, PlaceNotFound or OutsideHeihe."""
        raw = normalize(text)
        if not raw:
            raise PlaceNotFound()
        if raw in _CITY_NAMES:
            return self.counties["爱辉区"]
        if raw in self.full_names:  # "五大连池镇" is the town, not the county
            exact = [self.places[i] for i in self.full_names[raw]]
            if len(exact) == 1:
                return exact[0]
            raise PlaceAmbiguous(sorted(exact, key=lambda c: c.code))
        if raw.startswith(_OUTSIDE):  # "北京朝阳区" is not 五大连池's 朝阳乡
            raise OutsideHeihe()
        county, rest = self._split_county(raw)
        rest = _TAIL_FILLER.sub("", rest)
        candidates = self._local_matches(rest, county)
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise PlaceAmbiguous(sorted(candidates, key=lambda c: c.code))
        if county is not None:
            return county
        if any(name in raw for name in _OUTSIDE) or self._foreign_admin_name(raw):
            raise OutsideHeihe()
        raise PlaceNotFound()

    def _split_county(self, text: str) -> tuple[Optional[PlaceRef], str]:
        for alias in sorted(self.counties, key=len, reverse=True):
            if text.startswith(alias):
                return self.counties[alias], text[len(alias):]
        for alias in sorted(self.counties, key=len, reverse=True):
            if len(alias) >= 2 and alias in text and text.endswith(alias):
                return self.counties[alias], text[: -len(alias)]
        return None, text

    def _local_matches(self, text: str, county: Optional[PlaceRef]) -> list[PlaceRef]:
        if not text:
            return []
        # Exact name first, then the longest alias contained in the text.
        ordered = [text] + sorted((a for a in self.local_index if a != text and a in text), key=len, reverse=True)
        for alias in ordered:
            ids = self.local_index.get(alias)
            if not ids:
                continue
            refs = [self.places[i] for i in ids]
            if county is not None:
                refs = [r for r in refs if r.county_code == county.county_code]
            if refs:
                return _dedupe(refs)
        return []

    def _foreign_admin_name(self, text: str) -> bool:
        for match in _ADMIN_NAME.finditer(text):
            name = match.group(1)
            if name not in self.counties and match.group(0) not in self.counties and name not in self.local_index:
                return True
        return False


def _dedupe(refs: Iterable[PlaceRef]) -> list[PlaceRef]:
    seen: dict[int, PlaceRef] = {}
    for r in refs:
        seen.setdefault(r.id, r)
    return list(seen.values())
