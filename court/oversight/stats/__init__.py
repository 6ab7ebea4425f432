"""Court oversight statistics: disputes by area and period, and mediators' scorecards.

Pure queries on the caller's Session. The counting happens in the database
(GROUP BY, COUNT, SUM(CASE ...)) in SQL both SQLite and PostgreSQL run; medians
and p90s too: window functions rank the durations and only the middle and 90th
rows come back. Periods are local (Asia/Shanghai) calendar days, both ends included.

Modules: ``area_scope`` (which areas there are, and the SQL putting a case in one),
``sql`` (periods, durations, medians and conditional counts in portable SQL),
``figures`` (the report of an area and period, and its rows for CSV and Excel) and
``mediator_scores`` (mediators' scorecards), ``periods`` (quick periods, 环比 and 同比 periods),
``comparison`` (headline figures beside both), ``trend`` (months), ``point_map`` (service points
with their intakes and waits) and ``requests`` (接诉即办: requests, response times, satisfaction). Callers import from here:
``from court import stats; stats.report(...)``.
"""
from court.oversight.stats.area_scope import CITY_FALLBACK_LABEL, AreaRef, area_groups, areas, lineage, parse_area
from court.oversight.stats.comparison import Comparison, Headline, compare
from court.oversight.stats.figures import (
    HANDOFF_REASON_LABELS,
    OUTCOME_LABELS,
    SOURCE_LABELS,
    UNKNOWN,
    Figure,
    Report,
    report,
    rows,
)
from court.oversight.stats.mediator_scores import MEDIATOR_STATUS_LABELS, Scorecard, scorecards
from court.oversight.stats.periods import Period, describe, previous, quick_periods, year_before
from court.oversight.stats.point_map import PointDot, point_map
from court.oversight.stats.requests import RequestFigures, request_figures
from court.oversight.stats.sql import MAX_SPAN_DAYS, Spread, seconds_between
from court.oversight.stats.trend import SERIES, Month, Trend, trend

__all__ = [
    "CITY_FALLBACK_LABEL", "HANDOFF_REASON_LABELS", "MAX_SPAN_DAYS", "MEDIATOR_STATUS_LABELS", "OUTCOME_LABELS",
    "SOURCE_LABELS", "UNKNOWN",
    "SERIES", "AreaRef", "Comparison", "Figure", "Headline", "Month", "Period", "PointDot", "Report", "Scorecard",
    "RequestFigures", "Spread", "Trend",
    "area_groups", "areas", "compare", "lineage", "describe", "parse_area", "point_map", "previous", "quick_periods", "report", "request_figures", "rows",
    "scorecards", "seconds_between", "trend", "year_before",
]
