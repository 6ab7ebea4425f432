"""Admins manage the roster from the desk: appointing (选聘), reassigning, suspending,
reinstating and retiring (退出) mediators; opening, moving and closing service points.

Plain functions on the caller's session, like court/booking/engine.py: a change, its audit
entries and its pushes commit together or not at all. Appointments that lose their
mediator or their point go through the booking engine (engine.reassign, reschedule),
so residents and mediators are told exactly as after a decline.

Modules: ``checks`` (what every action checks at the boundary, and what the others
share), ``handover`` (what happens to the appointments), ``mediator_roster``,
``service_points``, ``reads`` (what the desk's pages show), ``finder`` (a mediator by case
reference, name or service point), ``posters`` (a printable QR poster per point) and ``cli``
(the clerk's command line). Callers import from here:
``from court import admin; admin.suspend_mediator(...)``.
"""
from court.admin.checks import (
    EARLIEST,
    LATEST,
    LEAVE_KINDS,
    REASON_LIMIT,
    STATUS_LABELS,
    WEEKDAYS,
    Window,
    check_hours,
    clean_reason,
    hours_spec,
    hours_text,
    parse_hours,
)
from court.admin.finder import Found, find_mediators
from court.admin.handover import Change, HandOver
from court.admin.mediator_roster import (
    add_leave,
    appoint_mediator,
    reinstate_mediator,
    request_link_code,
    retire_mediator,
    suspend_mediator,
    unlink_telegram,
    update_assignment,
    update_hours,
)
from court.admin.reads import (
    ACTION_LABELS,
    AppointmentRow,
    County,
    HistoryRow,
    MediatorDetail,
    MediatorRow,
    PointDetail,
    PointRow,
    counties,
    court_choices,
    history,
    list_mediators,
    list_points,
    mediator_detail,
    place_choices,
    point_choices,
    point_detail,
    telegram_label,
)
from court.admin.service_points import MOVE_RADIUS_KM, close_point, move_point, open_point

__all__ = [
    "ACTION_LABELS", "EARLIEST", "LATEST", "MOVE_RADIUS_KM", "REASON_LIMIT", "STATUS_LABELS", "WEEKDAYS",
    "AppointmentRow", "Change", "County", "HandOver", "HistoryRow", "MediatorDetail", "MediatorRow", "PointDetail",
    "PointRow", "Window",
    "appoint_mediator", "check_hours", "clean_reason", "close_point", "counties", "court_choices",
    "history", "hours_spec", "hours_text", "request_link_code", "list_mediators", "list_points", "mediator_detail",
    "move_point", "open_point", "parse_hours", "place_choices", "point_choices", "point_detail", "reinstate_mediator",
    "retire_mediator", "suspend_mediator", "telegram_label", "unlink_telegram", "update_assignment",
    "LEAVE_KINDS", "add_leave", "update_hours", "Found", "find_mediators",
]
