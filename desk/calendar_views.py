"""The court's holiday calendar (admins): each year's days off and adjusted working days, entered
when the State Council publishes them. The rules are court/workcalendar's; these views read forms,
call them in one transaction and say what happened."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from court.core import clock
from court.core.errors import CourtError, NotFound
from court.core.settings import LOCAL_TZ
from court.records import workcalendar
from desk.admin_forms import flash_errors
from desk.auth import ADMIN_ONLY, restrict
from desk.calendar_forms import AdjustedWorkdayForm, ConfirmWeekdaysForm, HolidayForm, PublishForm, RemoveDayForm
from desk.extensions import court_db

calendar_bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")
restrict(calendar_bp, ADMIN_ONLY)
YEARS = range(2000, 2101)



def _year_or_404(year: int) -> int:
    if year not in YEARS:
        raise NotFound()
    return year


def _write(year: int, action: Callable[[Any], Any], done: str):
    try:
        with court_db().transaction() as s:
            action(s)
        flash(done, "info")
    except CourtError as exc:
        flash(exc.message, "error")
    return redirect(url_for("calendar.year", year=year))


@calendar_bp.route("/")
def index():
    now = clock.now()
    with court_db().reader() as s:
        rows = workcalendar.years(s, now.astimezone(LOCAL_TZ).year)
    return render_template("admin_calendar.html", rows=rows)


@calendar_bp.route("/<int:year>")
def year(year: int):
    _year_or_404(year)
    with court_db().reader() as s:
        days = workcalendar.days_of(s, year)
        published = workcalendar.of(s).is_published(year)
    return render_template("admin_calendar_year.html", year=year, days=days, published=published,
                           holiday=HolidayForm(), adjusted=AdjustedWorkdayForm(), confirm=ConfirmWeekdaysForm(),
                           publish=PublishForm(), remove=RemoveDayForm())


def _enter(year: int, form: Any, days: Callable[[], tuple[dt.date, ...]], change: Callable[[Any], Any],
           done: Callable[[], str]):
    """A valid form for dates of this page's year, written in one transaction; else the reason."""
    _year_or_404(year)
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("calendar.year", year=year))
    return _outside(year, *days()) or _write(year, change, done())


@calendar_bp.route("/<int:year>/holiday", methods=["POST"])
def add_holiday(year: int):
    form = HolidayForm()
    return _enter(year, form, lambda: (form.first.data, form.last.data), lambda s: workcalendar.enter_holiday(
        s, form.first.data, form.last.data, form.name.data, actor=current_user.user.actor, now=clock.now()),
        lambda: f"已录入{form.name.data.strip()}放假：{_md(form.first.data)}至{_md(form.last.data)}。")


@calendar_bp.route("/<int:year>/adjusted", methods=["POST"])
def add_adjusted(year: int):
    form = AdjustedWorkdayForm()
    return _enter(year, form, lambda: (form.day.data,), lambda s: workcalendar.enter_adjusted_workday(
        s, form.day.data, form.name.data or "", actor=current_user.user.actor, now=clock.now()),
        lambda: f"已录入调休上班日：{_md(form.day.data)}（按周一的接待时间）。")


@calendar_bp.route("/<int:year>/confirm", methods=["POST"])
def confirm_weekdays(year: int):
    form = ConfirmWeekdaysForm()
    return _enter(year, form, lambda: (form.first.data, form.last.data), lambda s: workcalendar.confirm_weekdays(
        s, form.first.data, form.last.data, actor=current_user.user.actor, now=clock.now()),
        lambda: f"已确认{_md(form.first.data)}至{_md(form.last.data)}的工作日可以预约。")


@calendar_bp.route("/<int:year>/remove", methods=["POST"])
def remove(year: int):
    form = RemoveDayForm()
    try:
        day = dt.date.fromisoformat(form.day.data or "") if form.validate_on_submit() else None
    except ValueError:
        day = None
    if day is None or day.year != _year_or_404(year):
        flash("没有找到这一天，请刷新页面后重试。", "error")
        return redirect(url_for("calendar.year", year=year))
    return _write(year, lambda s: workcalendar.remove_day(s, day, actor=current_user.user.actor, now=clock.now()),
                  f"已删除{_md(day)}的记录。")


@calendar_bp.route("/<int:year>/publish", methods=["POST"])
def publish(year: int):
    form = PublishForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("calendar.year", year=_year_or_404(year)))
    return _write(year, lambda s: workcalendar.publish(
        s, year, actor=current_user.user.actor, source=form.source.data.strip(), now=clock.now()),
        f"{year}年的节假日安排已发布，居民可以预约{year}年的工作日了。")


def _outside(year: int, *days: dt.date):
    """A redirect with the reason when a date is not in the year of the page, else None."""
    if all(day.year == year for day in days):
        return None
    flash(f"只能录入{year}年的日期；其他年份请到对应年份的页面录入。", "error")
    return redirect(url_for("calendar.year", year=year))


def _md(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"
