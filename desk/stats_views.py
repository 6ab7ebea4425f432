"""Court oversight: the monthly statistics and the mediators' scorecards, on screen, in print,
as CSV and as Excel."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from flask import Blueprint, Response, current_app, flash, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional as Optional_

from court import clock, stats
from court.errors import CourtError
from court.settings import LOCAL_TZ
from desk.auth import OVERSIGHT, restrict
from desk.exports import CSV_MIME, XLSX_MIME, Sheet, csv_bytes, xlsx_bytes

stats_bp = Blueprint("stats", __name__, url_prefix="/stats")
restrict(stats_bp, OVERSIGHT)

SCORE_HEADER = ("调解员", "县区", "服务点", "状态", "推送预约", "接受", "拒绝", "接受率", "响应时间中位数（小时）",
                "已调解", "当事人未到", "成功", "不成", "成功率", "申请司法确认")


class PeriodForm(FlaskForm):
    """GET filters: they change nothing, so no CSRF token."""

    class Meta:
        csrf = False

    start = DateField("开始日期", validators=[Optional_()])
    end = DateField("结束日期", validators=[Optional_()])


class ReportForm(PeriodForm):
    # The choice is checked by court.stats.parse_area, which answers in Chinese.
    area = SelectField("地区", validate_choice=False)


class ScorecardForm(PeriodForm):
    county = SelectField("县区")


# WTForms' own messages are English; residents' staff read Chinese.
FIELD_ERRORS = {"start": "开始日期格式不对，请按“年-月-日”填写。", "end": "结束日期格式不对，请按“年-月-日”填写。",
                "area": "请选择地区。", "county": "请从列表中选择县区。"}


def _flash_errors(form: FlaskForm) -> None:
    for name in form.errors:
        flash(FIELD_ERRORS.get(name, "筛选条件有误，请重新选择。"), "error")


def _db():  # type: ignore[no-untyped-def]
    return current_app.extensions["desk_db"]


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month before ``today``'s: what the monthly meeting looks at."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _period(form: PeriodForm) -> tuple[dt.date, dt.date]:
    default_start, default_end = last_month(clock.now().astimezone(LOCAL_TZ).date())
    return form.start.data or default_start, form.end.data or default_end


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


def _report_form(session) -> ReportForm:  # type: ignore[no-untyped-def]
    form = ReportForm(request.args)
    form.area.choices = [(a.token, a.label) for a in stats.areas(session)]
    form.area.data = form.area.data or "city"
    return form


def _build_report() -> tuple[ReportForm, Optional[stats.Report]]:
    with _db().reader() as s:
        form = _report_form(s)
        start, end = _period(form)
        if not form.validate():
            _flash_errors(form)
            return form, None
        try:
            area = stats.parse_area(s, form.area.data or "city")
            return form, stats.report(s, area=area, start=start, end=end)
        except CourtError as exc:
            flash(exc.message, "error")
            return form, None


def _query(report: stats.Report) -> dict[str, str]:
    return {"area": report.area.token, "start": report.start.isoformat(), "end": report.end.isoformat()}


@stats_bp.route("/")
def index():  # type: ignore[no-untyped-def]
    form, report = _build_report()
    return render_template("stats.html", form=form, r=report, percent=percent, number=number, duration=duration,
                           links=_query(report) if report else {})


def _filename(kind: str, report_area: str, start: dt.date, end: dt.date, ext: str) -> str:
    # ASCII only: the Chinese area name would need RFC 5987 quoting in every browser.
    return f"heihe-{kind}-{report_area.replace(':', '-')}-{start:%Y%m%d}-{end:%Y%m%d}.{ext}"


def _download(body: bytes, mime: str, filename: str) -> Response:
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                  "Cache-Control": "no-store"})


def _report_rows(report: stats.Report) -> list[tuple[str, str, object]]:
    return [(section, label, value) for section, label, value in stats.rows(report)]


def _report_title(report: stats.Report) -> str:
    return f"{report.area.label} 诉前调解统计（{report.start:%Y-%m-%d} 至 {report.end:%Y-%m-%d}）"


@stats_bp.route("/report.csv")
def report_csv():  # type: ignore[no-untyped-def]
    form, report = _build_report()
    if report is None:
        return render_template("stats.html", form=form, r=None, percent=percent, number=number, duration=duration,
                               links={}), 400
    body = csv_bytes(("类别", "项目", "数值"), _report_rows(report))
    return _download(body, CSV_MIME, _filename("report", report.area.token, report.start, report.end, "csv"))


@stats_bp.route("/report.xlsx")
def report_xlsx():  # type: ignore[no-untyped-def]
    form, report = _build_report()
    if report is None:
        return render_template("stats.html", form=form, r=None, percent=percent, number=number, duration=duration,
                               links={}), 400
    rows = _report_rows(report)
    by_type = [i for i, row in enumerate(rows, start=1) if row[0] == "按纠纷类型"]
    chart = ("按纠纷类型的受理数", by_type[0], by_type[-1], 2, 3) if by_type else None
    sheet = Sheet("统计", ("类别", "项目", "数值"), rows, chart=chart, notes=[_report_title(report)])
    with _db().reader() as s:
        county = report.area.id if report.area.kind == "county" else None
        cards = stats.scorecards(s, county_id=county, start=report.start, end=report.end)
    scores = Sheet("调解员", SCORE_HEADER, [_score_row(c) for c in cards], notes=[_report_title(report)])
    return _download(xlsx_bytes([sheet, scores]), XLSX_MIME,
                     _filename("report", report.area.token, report.start, report.end, "xlsx"))


# --- mediators' scorecards -------------------------------------------------------------


def _score_row(c: stats.Scorecard) -> tuple[object, ...]:
    return (c.name, c.county, c.points, c.status, c.offered, c.accepted, c.declined,
            None if c.acceptance_rate is None else round(c.acceptance_rate, 3), c.response_median_hours,
            c.held, c.no_shows, c.successes, c.failures,
            None if c.success_rate is None else round(c.success_rate, 3), c.jc_requested)


def _build_scorecards() -> tuple[ScorecardForm, Optional[list[stats.Scorecard]], dict[str, Any]]:
    with _db().reader() as s:
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
def mediators():  # type: ignore[no-untyped-def]
    form, cards, meta = _build_scorecards()
    query = {"county": meta["county"], "start": meta["start"].isoformat(), "end": meta["end"].isoformat()}
    return render_template("scorecards.html", form=form, cards=cards, meta=meta, percent=percent, number=number,
                           csv_url=url_for("stats.mediators_csv", **query))


@stats_bp.route("/mediators.csv")
def mediators_csv():  # type: ignore[no-untyped-def]
    form, cards, meta = _build_scorecards()
    if cards is None:
        return render_template("scorecards.html", form=form, cards=None, meta=meta, percent=percent, number=number,
                               csv_url=""), 400
    body = csv_bytes(SCORE_HEADER, [_score_row(c) for c in cards])
    return _download(body, CSV_MIME, _filename("mediators", meta["county"] or "city", meta["start"], meta["end"], "csv"))
