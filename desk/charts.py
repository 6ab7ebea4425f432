"""Drawing helpers for the statistics pages: bar order, drill-down links, the trend's column
heights and the service-point map's projection. Presentation only: the figures come from
court.oversight.stats."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from court.oversight import stats

# Next level down for a bar of the sub-area chart.
_CHILD_KIND = {"city": "county", "county": "town", "town": "point"}
# Waiting for a first meeting: the colour bands of the map (days, upper bound included).
WAIT_BANDS = ((3.0, "ok", "3天以内"), (7.0, "mid", "3—7天"), (math.inf, "long", "7天以上"))


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    percent: float  # of the chart's largest bar, for the drawing
    token: Optional[str]  # area to drill into, if any


def bars(figures: Sequence[stats.Figure], *, drill_from: Optional[str] = None, keep_order: bool = False) -> list[Bar]:
    """Largest first (the unlocated remainder last); ``drill_from`` the area kind the figures split."""
    ordered = list(figures) if keep_order else sorted(
        figures, key=lambda f: (f.key == stats.UNKNOWN, -f.value, f.label))
    top = max((f.value for f in ordered), default=0)
    child = _CHILD_KIND.get(drill_from or "")
    return [Bar(f.label, f.value, round(f.value / top * 100, 1) if top else 0.0,
                f"{child}:{f.key}" if child and f.key != stats.UNKNOWN else None) for f in ordered]


@dataclass(frozen=True)
class Column:
    label: str
    year: str  # shown under January and the first column, so a year's turn is seen
    value: int
    year_before: int
    height: float  # percent of the tallest column of either year
    height_before: float
    in_period: bool


def columns(trend: stats.Trend, key: str) -> list[Column]:
    top = max([m.values[key] for m in trend.months] + [m.year_before[key] for m in trend.months] + [0])
    scale = (lambda v: round(v / top * 100, 1)) if top else (lambda v: 0.0)
    return [Column(m.label, str(m.start.year) if i == 0 or m.start.month == 1 else "", m.values[key], m.year_before[key], scale(m.values[key]), scale(m.year_before[key]),
                   m.in_period) for i, m in enumerate(trend.months)]


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    band: str
    dot: stats.PointDot


@dataclass(frozen=True)
class MapView:
    width: int
    height: int
    dots: list[Dot]


def band(days: Optional[float]) -> str:
    if days is None:
        return "none"
    return next(name for limit, name, _ in WAIT_BANDS if days <= limit)


def map_view(dots: Sequence[stats.PointDot], width: int = 600) -> Optional[MapView]:
    """Points placed by longitude and latitude (equirectangular, shrunk by the cosine of the
    latitude so Heihe keeps its shape), circles with areas proportional to the intakes."""
    if not dots:
        return None
    pad = 24
    lats, lngs = [d.lat for d in dots], [d.lng for d in dots]
    squeeze = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lngs) - min(lngs)) * squeeze, 0.05)
    span_y = max(max(lats) - min(lats), 0.05)
    scale = (width - 2 * pad) / max(span_x, span_y)
    height = int(span_y * scale + 2 * pad)
    most = max((d.cases for d in dots), default=0) or 1
    placed = [Dot(round(pad + (d.lng - min(lngs)) * squeeze * scale, 1), round(pad + (max(lats) - d.lat) * scale, 1),
                  round(3 + 15 * math.sqrt(d.cases / most), 1), band(d.median_days_to_first), d)
              for d in dots]
    # Big circles first, so the small ones stay on top and clickable.
    return MapView(width, height, sorted(placed, key=lambda d: -d.r))
