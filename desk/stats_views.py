"""Court oversight: the monthly statistics and the mediators' scorecards, on screen, in print,
as CSV and as Excel."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask import Blueprint, Response, flash, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional as Optional_

from court.core import clock, settings
from court.core.errors import CourtError
from court.core.settings import LOCAL_TZ
from court.hotline import support_requests
from court.mediation import training
from court.oversight import stats
from desk import charts
from desk.auth import OVERSIGHT, restrict
from desk.exports import CSV_MIME, XLSX_MIME, Sheet, csv_bytes, xlsx_bytes
from desk.extensions import court_db

stats_bp = Blueprint("stats", __name__, url_prefix="/stats")
restrict(stats_bp, OVERSIGHT)

SCORE_HEADER = ("调解员", "县区", "服务点", "状态", "推送预约", "接受", "拒绝", "未回复", "居民先取消", "待回复",
                "接受率（未回复计入）", "响应时间中位数（小时）",
                "已调解", "当事人未到", "成功", "不成", "成功率", "申请司法确认",
                "委派案件", "委派已接受", "委派达成协议", "委派转立案", "委派成功率", "委派办结天数（中位数）", "本年度培训学时")
COURT_NAME = "黑河市中级人民法院"


class PeriodForm(FlaskForm):
    """GET filters: they change nothing, so no CSRF token."""

    class Meta:
        csrf = False

    start = DateField("开始日期", validators=[Optional_()])
    end = DateField("结束日期", validators=[Optional_()])


class ReportForm(PeriodForm):
    # The choice is checked by court.oversight.stats.parse_area, which answers in Chinese.
    area = SelectField("地区", validate_choice=False)


class ScorecardForm(PeriodForm):
    county = SelectField("县区")


# WTForms' own messages are English; residents' staff read Chinese.
FIELD_ERRORS = {"start": "开始日期格式不对，请按“年-月-日”填写。", "end": "结束日期格式不对，请按“年-月-日”填写。",
                "area": "请选择地区。", "county": "请从列表中选择县区。"}


def _flash_errors(form: FlaskForm) -> None:
    for name in form.errors:
        flash(FIELD_ERRORS.get(name, "筛选条件有误，请重新选择。"), "error")



def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month before ``today``'s: what the monthly meeting looks at."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _today() -> dt.date:
    return clock.now().astimezone(LOCAL_TZ).date()


def _period(form: PeriodForm) -> tuple[dt.date, dt.date]:
    """The period asked for, else last month; written back into the form so the fields show it."""
    default_start, default_end = last_month(_today())
    start, end = form.start.data or default_start, form.end.data or default_end
    if not form.start.errors and not form.end.errors:
        form.start.data, form.end.data = start, end
    return start, end


def printed_at() -> str:
    return f"{clock.now().astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}"


def change(value: Optional[float], kind: str) -> str:
    """A 环比/同比 change as people read it: +12.5%, −3.0 个百分点, +1.5 分钟; — when there is no base."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    size = abs(value)
    if kind == "count":
        return f"{sign}{size * 100:.1f}%"
    if kind == "share":
        return f"{sign}{size * 100:.1f} 个百分点"
    return f"{sign}{size:.1f} {'分钟' if kind == 'minutes' else '天'}"


def headline_value(value: Optional[float], kind: str) -> str:
    if kind == "share":
        return percent(value)
    if kind == "minutes":
        return duration(value)
    if kind == "days":
        return number(value, " 天")
    return "—" if value is None else f"{int(value)}"


def percent(share: Optional[float]) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def number(value: Optional[float], unit: str = "") -> str:
    return "—" if value is None else f"{value:g}{unit}"


def duration(minutes: Optional[float]) -> str:
    """Waiting times read best in the unit they are in: minutes, hours, days."""
    if minutes is None:
        return "—"
    if minutes < 120:
        return f"{minutes:g} 分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} 小时"
    return f"{minutes / 1440:.1f} 天"


def _report_form(session) -> ReportForm:
    form = ReportForm(request.args)
    # Grouped by county unit: the county itself, its towns, then its service points.
    choices: dict[str, list[tuple[str, str]]] = {"全市": [("city", stats.areas(session)[0].label + "（全市）")]}
    for county, children in stats.area_groups(session):
        choices[county.label] = [(county.token, f"{county.label}（全县区）")] + [
            (a.token, ("服务点：" if a.kind == "point" else "") + a.label) for a in children]
    form.area.choices = choices
    form.area.data = form.area.data or "city"
    return form


def _build_report(full: bool = False) -> tuple[ReportForm, Optional[stats.Report], dict[str, Any]]:
    """The form and the report; with ``full``, also the comparisons, trend, map and breadcrumb."""
    with court_db().reader() as s:
        form = _report_form(s)
        start, end = _period(form)
        if not form.validate():
            _flash_errors(form)
            return form, None, {}
        try:
            area = stats.parse_area(s, form.area.data or "city")
            if not full:
                return form, stats.report(s, area=area, start=start, end=end), {}
            comparison = stats.compare(s, area=area, start=start, end=end)
            extra = {
                "requests": stats.request_figures(s, start=start, end=end),
                "training_short": training.below_minimum(s, end.year),
                "training_year": end.year,
                "comparison": comparison,
                "trend": stats.trend(s, area=area, start=start, end=end),
                "dots": stats.point_map(s, area=area, start=start, end=end),
                "lineage": stats.lineage(s, area),
            }
            return form, comparison.current, extra
        except CourtError as exc:
            flash(exc.message, "error")
            return form, None, {}


def _quick_links(area: str) -> list[dict[str, Any]]:
    return [{"label": p.label, "url": url_for("stats.index", area=area, start=p.start.isoformat(),
                                             end=p.end.isoformat()), "start": p.start, "end": p.end}
            for p in stats.quick_periods(_today())]


def _render(form: ReportForm, report: Optional[stats.Report], extra: dict[str, Any]) -> str:
    return render_template(
        "stats.html", form=form, r=report, percent=percent, number=number, duration=duration, change=change,
        headline_value=headline_value, charts=charts, describe=stats.describe, series=stats.SERIES,
        quick=_quick_links(report.area.token if report else (form.area.data or "city")),
        links=_query(report) if report else {},
        period={"start": report.start.isoformat(), "end": report.end.isoformat()} if report else {},
        printed_at=printed_at(), court_name=COURT_NAME,
        previous=stats.previous, year_before=stats.year_before, map=charts.map_view(extra.get("dots", [])),
        wait_bands=charts.WAIT_BANDS, request_kinds=support_requests.KIND_LABELS,
        training_minimum=settings.TRAINING_MIN_HOURS, **extra)


def _query(report: stats.Report) -> dict[str, str]:
    return {"area": report.area.token, "start": report.start.isoformat(), "end": report.end.isoformat()}


@stats_bp.route("/")
def index():
    return _render(*_build_report(full=True))


def _filename(kind: str, report_area: str, start: dt.date, end: dt.date, ext: str) -> str:
    # ASCII only: the Chinese area name would need RFC 5987 quoting in every browser.
    return f"heihe-{kind}-{report_area.replace(':', '-')}-{start:%Y%m%d}-{end:%Y%m%d}.{ext}"


def _download(body: bytes, mime: str, filename: str) -> Response:
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                  "Cache-Control": "no-store"})


REPORT_HEADER = ("类别", "项目", "数值")
COMPARE_HEADER = ("指标", "统计口径", "本期", "上期", "环比", "去年同期", "同比")
TREND_HEADER = ("月份",) + tuple(f"{label}（{basis}）" for label, basis in stats.SERIES.values()) + tuple(
    f"去年同月{label}" for label, _ in stats.SERIES.values())


def _report_rows(report: stats.Report) -> list[tuple[str, str, object]]:
    return [(section, label, value) for section, label, value in stats.rows(report)]


def _raw(value: Optional[float], kind: str) -> object:
    if value is None:
        return None
    return round(value, 4) if kind in ("count", "share") and not float(value).is_integer() else value


def _compare_rows(comparison: stats.Comparison) -> list[tuple[object, ...]]:
    """The headline figures with their 环比 and 同比 (relative for counts, differences otherwise)."""
    return [(h.label, h.basis, _raw(h.value, h.kind), _raw(h.previous, h.kind), change(h.vs_previous, h.kind),
             _raw(h.year_before, h.kind), change(h.vs_year_before, h.kind)) for h in comparison.headlines]


def _trend_rows(trend: stats.Trend) -> list[tuple[object, ...]]:
    return [(f"{m.start:%Y-%m}",) + tuple(m.values[k] for k in stats.SERIES) + tuple(m.year_before[k] for k in stats.SERIES)
            for m in trend.months]


def _request_rows(figures: stats.RequestFigures) -> list[tuple[str, str, object]]:
    """接诉即办 for the period, in the report's three columns (类别, 项目, 数值)."""
    head = "接诉即办（全市，按提交日期）"
    rows: list[tuple[str, str, object]] = [
        (head, "收到诉求", figures.filed), (head, "其中已答复", figures.answered),
        (head, "答复时间中位数（小时）", figures.response_median_hours),
        (head, "答复时间P90（小时）", figures.response_p90_hours),
        (head, "评价条数（按评价日期）", figures.rated), (head, "平均满意度（1-5分）", figures.rating_mean),
        (head, "满意（4-5分）", figures.satisfied)]
    rows += [("接诉即办按类型", support_requests.KIND_LABELS[k], n) for k, n in figures.by_kind]
    rows += [("接诉即办按乡镇街道或单位", town, n) for town, n in figures.by_township]
    return rows


def _full_export() -> tuple[ReportForm, Optional[stats.Report], dict[str, Any]]:
    return _build_report(full=True)


def _period_notes(report: stats.Report, comparison: stats.Comparison) -> list[str]:
    prev, last = comparison.previous, comparison.year_before
    return [f"{COURT_NAME} 诉前调解统计", _report_title(report),
            f"上期（环比）：{prev.start:%Y-%m-%d} 至 {prev.end:%Y-%m-%d}；去年同期（同比）：{last.start:%Y-%m-%d} 至 {last.end:%Y-%m-%d}",
            f"生成时间：{printed_at()}"]


def _report_title(report: stats.Report) -> str:
    return f"{report.area.label} 诉前调解统计（{report.start:%Y-%m-%d} 至 {report.end:%Y-%m-%d}）"


@stats_bp.route("/report.csv")
def report_csv():
    form, report, extra = _full_export()
    if report is None:
        return _render(form, None, {}), 400
    # One file, four blocks a spreadsheet reads in turn: the report, the comparisons, the months, 接诉即办.
    body = csv_bytes(REPORT_HEADER, _report_rows(report))
    body += csv_bytes(COMPARE_HEADER, _compare_rows(extra["comparison"]), bom=False, blank_line=True)
    body += csv_bytes(TREND_HEADER, _trend_rows(extra["trend"]), bom=False, blank_line=True)
    body += csv_bytes(REPORT_HEADER, _request_rows(extra["requests"]), bom=False, blank_line=True)
    return _download(body, CSV_MIME, _filename("report", report.area.token, report.start, report.end, "csv"))


@stats_bp.route("/report.xlsx")
def report_xlsx():
    form, report, extra = _full_export()
    if report is None:
        return _render(form, None, {}), 400
    rows = _report_rows(report)
    notes = _period_notes(report, extra["comparison"])
    by_type = [i for i, row in enumerate(rows, start=1) if row[0] == "按纠纷类型"]
    chart = ("按纠纷类型的受理数", by_type[0], by_type[-1], 2, 3) if by_type else None
    sheet = Sheet("统计", REPORT_HEADER, rows, chart=chart, notes=notes)
    compared = Sheet("环比同比", COMPARE_HEADER, _compare_rows(extra["comparison"]), notes=notes)
    months = Sheet("月度趋势", TREND_HEADER, _trend_rows(extra["trend"]), notes=notes)
    with court_db().reader() as s:
        county = report.area.id if report.area.kind == "county" else None
        cards = stats.scorecards(s, county_id=county, start=report.start, end=report.end)
    scores = Sheet("调解员", SCORE_HEADER, [_score_row(c) for c in cards], notes=[_report_title(report)])
    requests = Sheet("接诉即办", REPORT_HEADER, _request_rows(extra["requests"]), notes=notes)
    return _download(xlsx_bytes([sheet, compared, months, scores, requests]), XLSX_MIME,
                     _filename("report", report.area.token, report.start, report.end, "xlsx"))


# --- mediators' scorecards -------------------------------------------------------------


def _score_row(c: stats.Scorecard) -> tuple[object, ...]:
    return (c.name, c.county, c.points, c.status, c.offered, c.accepted, c.declined, c.unanswered, c.withdrawn,
            c.pending, None if c.acceptance_rate is None else round(c.acceptance_rate, 3), c.response_median_hours,
            c.held, c.no_shows, c.successes, c.failures,
            None if c.success_rate is None else round(c.success_rate, 3), c.jc_requested,
            c.delegated.delegated, c.delegated.accepted, c.delegated.settled, c.delegated.returned,
            None if c.delegated.success_rate is None else round(c.delegated.success_rate, 3),
            c.delegated.days_to_outcome_median, c.training_hours)


def _build_scorecards() -> tuple[ScorecardForm, Optional[list[stats.Scorecard]], dict[str, Any]]:
    with court_db().reader() as s:
        form = ScorecardForm(request.args)
        counties = [a for a in stats.areas(s) if a.kind == "county"]
        form.county.choices = [("", "全市")] + [(str(a.id), a.label) for a in counties]
        form.county.data = form.county.data or ""
        start, end = _period(form)
        meta = {"start": start, "end": end, "county": form.county.data or ""}
        if not form.validate():
            _flash_errors(form)
            return form, None, meta
        try:
            county_id = int(form.county.data) if form.county.data else None
            return form, stats.scorecards(s, county_id=county_id, start=start, end=end), meta
        except CourtError as exc:
            flash(exc.message, "error")
            return form, None, meta


@stats_bp.route("/mediators")
def mediators():
    form, cards, meta = _build_scorecards()
    query = {"county": meta["county"], "start": meta["start"].isoformat(), "end": meta["end"].isoformat()}
    return render_template("scorecards.html", form=form, cards=cards, meta=meta, percent=percent, number=number,
                           training_minimum=settings.TRAINING_MIN_HOURS,
                           csv_url=url_for("stats.mediators_csv", **query), describe=stats.describe,
                           printed_at=printed_at(), court_name=COURT_NAME, county_label=_county_label(form),
                           quick=[{"label": p.label, "url": url_for("stats.mediators", county=meta["county"],
                                                                   start=p.start.isoformat(), end=p.end.isoformat()),
                                   "start": p.start, "end": p.end} for p in stats.quick_periods(_today())])


def _county_label(form: ScorecardForm) -> str:
    return dict(form.county.choices).get(form.county.data or "", "全市")


@stats_bp.route("/mediators.csv")
def mediators_csv():
    form, cards, meta = _build_scorecards()
    if cards is None:
        return render_template("scorecards.html", form=form, cards=None, meta=meta, percent=percent, number=number,
                               training_minimum=settings.TRAINING_MIN_HOURS,
                               csv_url="", describe=stats.describe, printed_at=printed_at(), court_name=COURT_NAME,
                               county_label=_county_label(form), quick=[]), 400
    body = csv_bytes(SCORE_HEADER, [_score_row(c) for c in cards])
    return _download(body, CSV_MIME, _filename("mediators", meta["county"] or "city", meta["start"], meta["end"], "csv"))
