"""Admin pages: appointing, reassigning, suspending and retiring mediators; opening,
moving and closing service points. The rules are court/admin/'s; these views
only read forms, call them in one transaction and say what happened."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Optional

import segno
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import OperationalError

from court import admin as management
from court.admin import posters
from court.core import clock
from court.core.errors import CourtError, NotFound, PermissionDenied
from court.core.settings import LOCAL_TZ
from court.mediation.linking import LINK_CODE_TTL
from court.store.db import IntegrityConflict
from desk.admin_forms import (
    HOURS_HINT,
    AppointForm,
    AssignmentForm,
    ClosePointForm,
    HoursForm,
    LeaveForm,
    LinkCodeForm,
    MediatorFilterForm,
    MovePointForm,
    OpenPointForm,
    PointFilterForm,
    ReinstateForm,
    RetireForm,
    SuspendForm,
    UnlinkForm,
    flash_errors,
)
from desk.auth import ADMIN_ONLY, restrict
from desk.extensions import court_db
from desk.views import webchat_base

log = logging.getLogger(__name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
restrict(admin_bp, ADMIN_ONLY)

BUSY = "刚才有其他管理员同时修改了这条记录，请刷新页面后重试。"
SHOWN_HANDOVERS = 10  # flashed one by one; the rest are counted



def _today() -> dt.date:
    return clock.now().astimezone(LOCAL_TZ).date()


def _write(action: Callable[[Any], Any]) -> tuple[bool, Any]:
    """Run ``action`` in one transaction; refusals are flashed in Chinese, nothing is half done."""
    try:
        with court_db().transaction() as s:
            return True, action(s)
    except (PermissionDenied, NotFound):
        raise  # their own pages
    except CourtError as exc:
        flash(exc.message, "error")
    except IntegrityConflict as exc:
        log.warning("admin change refused by constraint %s", exc.constraint)
        flash(BUSY, "error")
    except OperationalError as exc:  # e.g. a deadlock between two admins: rolled back whole
        log.warning("admin change rolled back: %s", exc.orig)
        flash(BUSY, "error")
    return False, None


def _tell(change: management.Change, done: str) -> None:
    summary = change.summary()
    flash(f"{done}{'；' + summary if summary else ''}。", "info")
    for item in change.handed_over[:SHOWN_HANDOVERS]:
        flash(item.text, "info")
    if len(change.handed_over) > SHOWN_HANDOVERS:
        flash(f"……另有{len(change.handed_over) - SHOWN_HANDOVERS}个预约，详见审计日志。", "info")
    if change.stranded:
        flash(f"以下调解员已没有在用的服务点，请为其重新分配：{'、'.join(change.stranded)}。", "warning")


def _county_choices(session) -> list[tuple[str, str]]:
    return [("", "全市")] + [(c.code, c.name) for c in management.counties(session)]


@admin_bp.route("/")
def index():
    return redirect(url_for("admin.mediators"))


# --- mediators -------------------------------------------------------------------------

@admin_bp.route("/mediators")
def mediators():
    with court_db().reader() as s:
        form = MediatorFilterForm(request.args)
        form.county.choices = _county_choices(s)
        form.county.data, form.status.data = form.county.data or "", form.status.data or ""
        rows: list = []
        if form.validate():
            try:
                rows = management.list_mediators(s, now=clock.now(), county_code=form.county.data or "",
                                                 status=form.status.data or "")
            except CourtError as exc:
                flash(exc.message, "error")
        else:
            flash_errors(form)
    return render_template("admin_mediators.html", form=form, rows=rows)


def _appoint_form() -> AppointForm:
    with court_db().reader() as s:
        choices = management.point_choices(s)
    return AppointForm(points=choices)


@admin_bp.route("/mediators/new", methods=["GET", "POST"])
def new_mediator():
    form = _appoint_form()
    if request.method == "GET":
        form.appointed_on.data = _today()
        form.hours.data = "1-5 08:30-11:30\n1-5 13:30-16:30"
        return render_template("admin_mediator_new.html", form=form, hours_hint=HOURS_HINT)
    if form.validate_on_submit():
        ok, made = _write(lambda s: _appoint(s, form))
        if ok:
            flash(f"已选聘调解员{made[1]}（编号{made[2]}）。请发放 Telegram 绑定码，让调解员接收预约推送。", "info")
            return redirect(url_for("admin.mediator", mediator_id=made[0]))
    else:
        flash_errors(form)
    return render_template("admin_mediator_new.html", form=form, hours_hint=HOURS_HINT), 422


def _appoint(session, form: AppointForm) -> tuple[int, str, str]:
    mediator = management.appoint_mediator(
        session, current_user.user, name=form.name.data, phone=form.phone.data, points=form.points.data,
        dispute_types=form.dispute_types.data, hours=management.parse_hours(form.hours.data),
        appointed_on=form.appointed_on.data, now=clock.now())
    return mediator.id, mediator.name, mediator.code


def _mediator_page(mediator_id: int, *, assignment: Optional[AssignmentForm] = None,
                   hours: Optional[HoursForm] = None, leave: Optional[LeaveForm] = None,
                   status: int = 200):
    with court_db().reader() as s:
        m = management.mediator_detail(s, mediator_id, now=clock.now())
        choices = management.point_choices(s, keep=m.point_ids)
    if assignment is None:
        assignment = AssignmentForm(points=choices, data={"points": m.point_ids, "dispute_types": m.dispute_types})
    else:
        assignment.points.choices = choices
    return render_template(
        "admin_mediator.html", m=m, assignment=assignment, suspend=SuspendForm(),
        retire=RetireForm(data={"retired_on": _today()}), reinstate=ReinstateForm(), link=LinkCodeForm(),
        unlink=UnlinkForm(), hours=hours or HoursForm(data={"hours": m.hours_spec}),
        leave=leave or LeaveForm(data={"starts_on": _today(), "ends_on": _today()}), hours_hint=HOURS_HINT), status


@admin_bp.route("/mediators/<int:mediator_id>")
def mediator(mediator_id: int):
    return _mediator_page(mediator_id)


def _back(mediator_id: int):
    return redirect(url_for("admin.mediator", mediator_id=mediator_id))


@admin_bp.route("/mediators/<int:mediator_id>/assignment", methods=["POST"])
def assignment(mediator_id: int):
    with court_db().reader() as s:
        keep = management.mediator_detail(s, mediator_id, now=clock.now()).point_ids
        form = AssignmentForm(points=management.point_choices(s, keep=keep))
    if not form.validate_on_submit():
        flash_errors(form)
        return _mediator_page(mediator_id, assignment=form, status=422)
    ok, change = _write(lambda s: management.update_assignment(
        s, current_user.user, mediator_id, points=form.points.data, dispute_types=form.dispute_types.data,
        now=clock.now()))
    if not ok:
        return _mediator_page(mediator_id, assignment=form, status=422)
    _tell(change, "已保存服务点和擅长的纠纷类型")
    return _back(mediator_id)


@admin_bp.route("/mediators/<int:mediator_id>/hours", methods=["POST"])
def hours(mediator_id: int):
    form = HoursForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _mediator_page(mediator_id, hours=form, status=422)
    ok, change = _write(lambda s: management.update_hours(
        s, current_user.user, mediator_id, hours=management.parse_hours(form.hours.data), now=clock.now()))
    if not ok:
        return _mediator_page(mediator_id, hours=form, status=422)
    _tell(change, "已保存接待时间")
    return _back(mediator_id)


@admin_bp.route("/mediators/<int:mediator_id>/leave", methods=["POST"])
def leave(mediator_id: int):
    form = LeaveForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _mediator_page(mediator_id, leave=form, status=422)
    ok, change = _write(lambda s: management.add_leave(
        s, current_user.user, mediator_id, starts_on=form.starts_on.data, ends_on=form.ends_on.data,
        kind=form.kind.data, note=form.note.data, now=clock.now()))
    if not ok:
        return _mediator_page(mediator_id, leave=form, status=422)
    _tell(change, "已登记")
    return _back(mediator_id)


def _leave(mediator_id: int, form: Any, done: str, action: Callable[[Any], management.Change]):
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(mediator_id)
    ok, change = _write(action)
    if ok:
        _tell(change, done)
    return _back(mediator_id)


@admin_bp.route("/mediators/<int:mediator_id>/suspend", methods=["POST"])
def suspend(mediator_id: int):
    form = SuspendForm()
    return _leave(mediator_id, form, "已停用", lambda s: management.suspend_mediator(
        s, current_user.user, mediator_id, reason=form.reason.data, now=clock.now()))


@admin_bp.route("/mediators/<int:mediator_id>/retire", methods=["POST"])
def retire(mediator_id: int):
    form = RetireForm()
    return _leave(mediator_id, form, "已办理退出", lambda s: management.retire_mediator(
        s, current_user.user, mediator_id, reason=form.reason.data, retired_on=form.retired_on.data,
        now=clock.now()))


@admin_bp.route("/mediators/<int:mediator_id>/reinstate", methods=["POST"])
def reinstate(mediator_id: int):
    form = ReinstateForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(mediator_id)
    ok, _ = _write(lambda s: management.reinstate_mediator(s, current_user.user, mediator_id,
                                                           reason=form.reason.data, now=clock.now()))
    if ok:
        flash("已恢复，这位调解员重新接收预约。", "info")
    return _back(mediator_id)


@admin_bp.route("/mediators/<int:mediator_id>/link-code", methods=["POST"])
def link_code(mediator_id: int):
    form = LinkCodeForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(mediator_id)
    now = clock.now()
    ok, code = _write(lambda s: management.request_link_code(s, current_user.user, mediator_id, now))
    if not ok:
        return _back(mediator_id)
    with court_db().reader() as s:
        m = management.mediator_detail(s, mediator_id, now=now)
    expires = (now + LINK_CODE_TTL).astimezone(LOCAL_TZ)
    page = render_template("admin_link_code.html", m=m, code=code, expires=f"{expires:%Y-%m-%d %H:%M}")
    # Only its hash is stored: this response is the one place the code exists, so no cache keeps it.
    return Response(page, headers={"Cache-Control": "no-store"})


@admin_bp.route("/mediators/<int:mediator_id>/unlink", methods=["POST"])
def unlink(mediator_id: int):
    form = UnlinkForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _back(mediator_id)
    ok, done = _write(lambda s: management.unlink_telegram(s, current_user.user, mediator_id, clock.now()))
    if ok:
        flash("已解除 Telegram 绑定。" if done else "这位调解员没有绑定 Telegram。", "info")
    return _back(mediator_id)


# --- service points ----------------------------------------------------------------------

@admin_bp.route("/points")
def points():
    with court_db().reader() as s:
        form = PointFilterForm(request.args)
        form.county.choices = _county_choices(s)
        form.county.data = form.county.data or ""
        rows: list = []
        if form.validate():
            rows = management.list_points(s, now=clock.now(), county_code=form.county.data or "")
        else:
            flash_errors(form)
    return render_template("admin_points.html", form=form, rows=rows)


@admin_bp.route("/points/new", methods=["GET", "POST"])
def new_point():
    with court_db().reader() as s:
        form = OpenPointForm(places=management.place_choices(s), courts=management.court_choices(s))
    if request.method == "GET":
        form.hours.data = "1-5 08:30-11:30\n1-5 13:30-16:30"
        return render_template("admin_point_new.html", form=form, hours_hint=HOURS_HINT)
    if form.validate_on_submit():
        ok, made = _write(lambda s: _open(s, form))
        if ok:
            flash(f"已设立服务点{made[1]}（编号{made[2]}）。请在调解员页面为其分配调解员。", "info")
            return redirect(url_for("admin.point", point_id=made[0]))
    else:
        flash_errors(form)
    return render_template("admin_point_new.html", form=form, hours_hint=HOURS_HINT), 422


def _open(session, form: OpenPointForm) -> tuple[int, str, str]:
    point = management.open_point(
        session, current_user.user, name=form.name.data, place_id=form.place.data, address=form.address.data,
        lat=form.lat.data, lng=form.lng.data, court_id=form.court.data or None,
        hours=management.parse_hours(form.hours.data), slot_minutes=form.slot_minutes.data, now=clock.now())
    return point.id, point.name, point.code


def _point_page(point_id: int, *, move: Optional[MovePointForm] = None, status: int = 200):
    with court_db().reader() as s:
        p = management.point_detail(s, point_id, now=clock.now())
        places = management.place_choices(s)
    if move is None:
        move = MovePointForm(places=places, data={"place": p.place_id, "address": p.address, "lat": str(p.lat),
                                                  "lng": str(p.lng)})
    else:
        move.place.choices = places
    return render_template("admin_point.html", p=p, move=move, close=ClosePointForm()), status


@admin_bp.route("/points/<int:point_id>")
def point(point_id: int):
    return _point_page(point_id)


@admin_bp.route("/points/<int:point_id>/poster")
def poster(point_id: int):
    """An A4 poster for the point's wall: name, address, hours, 12368 and the QR code of its web chat link."""
    try:
        with court_db().reader() as s:
            sheet = posters.poster(s, point_id, base_url=webchat_base())
    except NotFound:
        raise
    except CourtError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.point", point_id=point_id))
    qr = Markup(segno.make_qr(sheet.url, error="q").svg_inline(scale=10, border=2,
                                                               title=f"扫码打开黑河法院网页助手：{sheet.name}"))
    return render_template("admin_poster.html", poster=sheet, qr=qr)


@admin_bp.route("/points/<int:point_id>/move", methods=["POST"])
def move(point_id: int):
    with court_db().reader() as s:
        form = MovePointForm(places=management.place_choices(s))
    if not form.validate_on_submit():
        flash_errors(form)
        return _point_page(point_id, move=form, status=422)
    ok, change = _write(lambda s: management.move_point(
        s, current_user.user, point_id, address=form.address.data, lat=form.lat.data, lng=form.lng.data,
        place_id=form.place.data, now=clock.now()))
    if not ok:
        return _point_page(point_id, move=form, status=422)
    told = f"，已通知{change.notified}位有预约的居民新地址" if change.notified else ""
    flash(f"已迁址{told}。", "info")
    return redirect(url_for("admin.point", point_id=point_id))


@admin_bp.route("/points/<int:point_id>/close", methods=["POST"])
def close(point_id: int):
    form = ClosePointForm()
    if form.validate_on_submit():
        ok, change = _write(lambda s: management.close_point(s, current_user.user, point_id,
                                                             reason=form.reason.data, now=clock.now()))
        if ok:
            _tell(change, "已撤销服务点")
    else:
        flash_errors(form)
    return redirect(url_for("admin.point", point_id=point_id))
