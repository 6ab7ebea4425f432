"""Rules about outcomes and judicial confirmation (司法确认): bursts of confirmation
requests, changes after a request, outcomes recorded implausibly fast, and success
rates far above the county's."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from sqlalchemy import Float, String, and_, case, func, literal_column, not_, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from court.oversight.integrity.finding import HIGH, MEDIUM, Finding
from court.oversight.integrity.readers import id_tuple, load_mediators, local_text, who
from court.store.schema import (
    Agreement,
    Appointment,
    AuditEntry,
    Case,
    ConfirmationRequest,
    Outcome,
    OutcomeResult,
    Place,
    PlaceLevel,
    ServicePoint,
)

# --- thresholds -----------------------------------------------------------------

# Rule jc_burst: JC_BURST agreements sent to judicial confirmation by one mediator
# within JC_BURST_WINDOW. A normal point sends a handful a month.
JC_BURST = 5
JC_BURST_WINDOW = dt.timedelta(days=7)

# Rule success_outlier: a mediator with at least SUCCESS_MIN_OUTCOMES mediations
# (no-shows excluded) and a success rate above SUCCESS_HIGH_PERCENT, while the other
# mediators of their county (at least COUNTY_MIN_OUTCOMES mediations) stay below
# COUNTY_LOW_PERCENT. Success = 调解成功 or 达成协议需司法确认.
SUCCESS_MIN_OUTCOMES = 10
SUCCESS_HIGH_PERCENT = 95
COUNTY_LOW_PERCENT = 70
COUNTY_MIN_OUTCOMES = 5

# Rule fast_outcome: an outcome other than a no-show recorded less than FAST_OUTCOME
# after the appointment started (or before it). A no-show may be recorded at once.
FAST_OUTCOME = dt.timedelta(minutes=10)

# Rule edit_after_jc: audit actions on a case after judicial confirmation was
# requested that are part of the normal lifecycle, not edits: closing the case, filing
# the request and the court's ruling, and a resident's erasure.
ROUTINE_AFTER_JC = frozenset({"case.closed", "confirmation.file", "confirmation.confirmed",
                              "confirmation.rejected", "agreement.erase"})

_SUCCESSES = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)


# --- portable SQL helpers -----------------------------------------------------------


class _epoch_seconds(FunctionElement):
    """Seconds since 1970 of a stored (naive UTC) time, for differences in SQL."""

    type = Float()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(_epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return "EXTRACT(EPOCH FROM %s)" % compiler.process(element.clauses, **kw)


@compiles(_epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # Whole seconds: exact integers, unlike julianday's floating point.
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


def _mediator_of_outcome() -> ColumnElement:
    return func.coalesce(Appointment.mediator_id, Case.mediator_id)


# --- rule 1: judicial confirmation bursts ---------------------------------------------


def jc_burst(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    marked = select(Outcome.case_id).where(Outcome.jc_requested_at.is_not(None))
    jc = union_all(
        select(Outcome.id.label("outcome_id"), Outcome.case_id.label("case_id"),
               Outcome.appointment_id.label("appointment_id"), _mediator_of_outcome().label("mediator_id"),
               Outcome.jc_requested_at.label("at"))
        .join(Case, Case.id == Outcome.case_id)
        .outerjoin(Appointment, Appointment.id == Outcome.appointment_id)
        .where(Outcome.jc_requested_at.is_not(None)),
        # Requests recorded on the desk for an outcome of 调解成功 (which carries no request time).
        select(Outcome.id, Outcome.case_id, Outcome.appointment_id, _mediator_of_outcome(),
               ConfirmationRequest.created_at)
        .join(Case, Case.id == ConfirmationRequest.case_id)
        .join(Outcome, and_(Outcome.case_id == Case.id, Outcome.result.in_(_SUCCESSES)))
        .outerjoin(Appointment, Appointment.id == Outcome.appointment_id)
        .where(ConfirmationRequest.case_id.not_in(marked)),
    ).subquery()
    anchor, other = aliased(jc), aliased(jc)
    window = JC_BURST_WINDOW.total_seconds()
    # Each JC request in the period that starts a run of JC_BURST within the window.
    anchors = session.execute(
        select(anchor.c.mediator_id, anchor.c.at)
        .join(other, and_(other.c.mediator_id == anchor.c.mediator_id, other.c.at >= anchor.c.at,
                          _epoch_seconds(other.c.at) - _epoch_seconds(anchor.c.at) < window))
        .where(anchor.c.mediator_id.is_not(None), anchor.c.at >= start, anchor.c.at < end)
        .group_by(anchor.c.outcome_id, anchor.c.mediator_id, anchor.c.at)
        .having(func.count(other.c.outcome_id) >= JC_BURST)
        .order_by(anchor.c.mediator_id, anchor.c.at)
    ).all()
    if not anchors:
        return []
    # Overlapping anchor windows of one mediator make one burst.
    runs: dict[int, list[list[dt.datetime]]] = {}
    for mediator_id, at in anchors:
        spans = runs.setdefault(mediator_id, [])
        if spans and at < spans[-1][1]:
            spans[-1][1] = at + JC_BURST_WINDOW
        else:
            spans.append([at, at + JC_BURST_WINDOW])
    members = session.execute(
        select(jc.c.mediator_id, jc.c.outcome_id, jc.c.case_id, jc.c.appointment_id, jc.c.at)
        .where(jc.c.mediator_id.in_(list(runs)), jc.c.at >= min(a for _, a in anchors),
               jc.c.at < max(a for _, a in anchors) + JC_BURST_WINDOW)
        .order_by(jc.c.at, jc.c.outcome_id)
    ).all()
    mediators = load_mediators(session, runs)
    found = []
    for mediator_id, spans in runs.items():
        for lo, hi in spans:
            rows = [r for r in members if r.mediator_id == mediator_id and lo <= r.at < hi]
            first, last = rows[0].at, rows[-1].at
            found.append(Finding(
                rule="jc_burst", severity=HIGH, subject=f"mediator:{mediator_id}",
                subject_label=who(mediators, mediator_id),
                summary=(f"{who(mediators, mediator_id)}自{local_text(first)}至{local_text(last)}共有{len(rows)}份调解协议"
                         f"申请司法确认（提示线：{JC_BURST_WINDOW.days}天内{JC_BURST}份）。"),
                first=first, last=last,
                case_ids=id_tuple(r.case_id for r in rows), appointment_ids=id_tuple(r.appointment_id for r in rows),
                outcome_ids=id_tuple(r.outcome_id for r in rows), mediator_ids=(mediator_id,),
            ))
    return found


# --- rule 3: changes after judicial confirmation was requested ----------------------------


def _entity_cases() -> Any:
    """(entity_type, entity_id, case_id) for audit entries about a case, its appointments, its outcomes."""
    return union_all(
        select(literal_column("'case'", String).label("entity_type"), Case.id.label("entity_id"),
               Case.id.label("case_id")),
        select(literal_column("'appointment'", String), Appointment.id, Appointment.case_id),
        select(literal_column("'outcome'", String), Outcome.id, Outcome.case_id),
        select(literal_column("'agreement'", String), Agreement.id, Agreement.case_id),
        select(literal_column("'confirmation'", String), ConfirmationRequest.id, ConfirmationRequest.case_id),
    ).subquery()


_CHANGE_WORDS = {"outcome": "改动调解结果", "appointment": "改动预约", "case": "改动案件",
                 "agreement": "改动调解协议书", "confirmation": "改动司法确认申请记录"}


def _filings() -> Any:
    """(case_id, audit id) of each case's judicial-confirmation filing on the desk."""
    return (
        select(ConfirmationRequest.case_id.label("case_id"), func.min(AuditEntry.id).label("filed_id"))
        .join(AuditEntry, and_(AuditEntry.entity_type == "confirmation",
                               AuditEntry.entity_id == ConfirmationRequest.id))
        .where(AuditEntry.action == "confirmation.file")
        .group_by(ConfirmationRequest.case_id)
        .subquery()
    )


def edit_after_jc(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    owner = _entity_cases()
    # The moment of the request: the first audit entry showing an outcome of the case with a
    # jc_requested_at. The log cannot be edited, so the marker survives any later change.
    # A filing recorded on the desk is a marker too (an outcome of 调解成功 carries none).
    filings = _filings()
    marks = union_all(
        select(Outcome.case_id.label("case_id"), AuditEntry.id.label("audit_id"))
        .join(AuditEntry, and_(AuditEntry.entity_type == "outcome", AuditEntry.entity_id == Outcome.id))
        .where(AuditEntry.after["jc_requested_at"].as_string().is_not(None)),
        select(filings.c.case_id, filings.c.filed_id),
    ).subquery()
    marker_id = (
        select(marks.c.case_id.label("case_id"), func.min(marks.c.audit_id).label("marker_id"))
        .group_by(marks.c.case_id)
        .subquery()
    )
    marker = (select(marker_id.c.case_id, marker_id.c.marker_id, AuditEntry.at.label("marker_at"))
              .join(AuditEntry, AuditEntry.id == marker_id.c.marker_id).subquery())
    changes = session.execute(
        select(marker.c.case_id, marker.c.marker_id, marker.c.marker_at, AuditEntry.id, AuditEntry.at,
               AuditEntry.entity_type, AuditEntry.entity_id)
        .join(owner, owner.c.case_id == marker.c.case_id)
        .join(AuditEntry, and_(AuditEntry.entity_type == owner.c.entity_type,
                               AuditEntry.entity_id == owner.c.entity_id))
        .outerjoin(filings, filings.c.case_id == marker.c.case_id)
        .where(AuditEntry.id > marker.c.marker_id, AuditEntry.at >= start, AuditEntry.at < end,
               not_(AuditEntry.action.in_(ROUTINE_AFTER_JC)),
               # The agreement is drafted and revised until it goes to court: only what follows counts.
               or_(AuditEntry.entity_type != "agreement",
                   and_(filings.c.filed_id.is_not(None), AuditEntry.id > filings.c.filed_id)))
        .order_by(AuditEntry.id)
    ).all()
    # Outcome rows written after a JC outcome of the same case, audited or not (a direct
    # insert leaves no audit entry to find).
    jc, later = aliased(Outcome), aliased(Outcome)
    extra = session.execute(
        select(jc.case_id, func.min(jc.id).label("jc_id"), func.min(jc.jc_requested_at).label("jc_at"), later.id,
               later.appointment_id, later.recorded_at)
        .join(later, and_(later.case_id == jc.case_id, later.id > jc.id))
        .where(jc.jc_requested_at.is_not(None), later.recorded_at >= start, later.recorded_at < end)
        .group_by(jc.case_id, later.id, later.appointment_id, later.recorded_at)
        .order_by(later.id)
    ).all()
    per_case: dict[int, dict[str, Any]] = {}
    for c in changes:
        item = per_case.setdefault(c.case_id, {"first": c.marker_at, "times": [], "audit": {c.marker_id},
                                               "outcomes": set(), "appointments": set(), "words": [], "n": 0})
        item["first"] = c.marker_at
        item["times"].append(c.at)
        item["audit"].add(c.id)
        item["n"] += 1
        if c.entity_type == "outcome":
            item["outcomes"].add(c.entity_id)
        elif c.entity_type == "appointment":
            item["appointments"].add(c.entity_id)
        if _CHANGE_WORDS[c.entity_type] not in item["words"]:
            item["words"].append(_CHANGE_WORDS[c.entity_type])
    for x in extra:
        item = per_case.setdefault(x.case_id, {"first": x.jc_at, "times": [], "audit": set(), "outcomes": set(),
                                               "appointments": set(), "words": [], "n": 0})
        item["times"].append(x.recorded_at)
        item["outcomes"].update({x.jc_id, x.id})
        item["appointments"].add(x.appointment_id)
        item["n"] += 1
        if "再次登记调解结果" not in item["words"]:
            item["words"].append("再次登记调解结果")
    if not per_case:
        return []
    info = {row.id: row for row in session.execute(
        select(Case.id, Case.reference, Case.mediator_id).where(Case.id.in_(per_case))).all()}
    found = []
    for case_id, item in per_case.items():
        ref = info[case_id].reference
        found.append(Finding(
            rule="edit_after_jc", severity=HIGH, subject=f"case:{ref}", subject_label=f"案件{ref}",
            summary=(f"案件{ref}申请司法确认后又有{item['n']}处改动（{'、'.join(item['words'])}），"
                     "请核查调解结果是否被事后篡改。"),
            first=item["first"], last=max(item["times"]),
            case_ids=(case_id,), appointment_ids=id_tuple(item["appointments"]), outcome_ids=id_tuple(item["outcomes"]),
            audit_ids=id_tuple(item["audit"]), mediator_ids=id_tuple([info[case_id].mediator_id]),
        ))
    return found


# --- rule 4: a success rate far above the county's ------------------------------------------


def _county_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return dict(session.execute(
        select(Place.county_code, Place.name)
        .where(Place.level == PlaceLevel.COUNTY.value, Place.county_code.in_(wanted))).all())


def success_outlier(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    held = (
        select(Outcome.id.label("outcome_id"), Outcome.case_id.label("case_id"),
               Outcome.appointment_id.label("appointment_id"), Outcome.recorded_at.label("at"),
               _mediator_of_outcome().label("mediator_id"), Place.county_code.label("county"),
               case((Outcome.result.in_(_SUCCESSES), 1), else_=0).label("ok"))
        .join(Case, Case.id == Outcome.case_id)
        .outerjoin(Appointment, Appointment.id == Outcome.appointment_id)
        .join(ServicePoint, ServicePoint.id == func.coalesce(Appointment.service_point_id, Case.service_point_id))
        .join(Place, Place.id == ServicePoint.place_id)
        .where(Outcome.result != OutcomeResult.NO_SHOW.value, Outcome.recorded_at >= start, Outcome.recorded_at < end)
        .subquery()
    )
    n, ok = func.count(held.c.outcome_id), func.sum(held.c.ok)
    # Integer arithmetic: ok / n > 95% as ok * 100 > 95 * n.
    high = session.execute(
        select(held.c.mediator_id, n.label("n"), ok.label("ok"), func.min(held.c.at).label("first"),
               func.max(held.c.at).label("last"))
        .where(held.c.mediator_id.is_not(None))
        .group_by(held.c.mediator_id)
        .having(and_(n >= SUCCESS_MIN_OUTCOMES, ok * 100 > SUCCESS_HIGH_PERCENT * n))
    ).all()
    if not high:
        return []
    ids = [h.mediator_id for h in high]
    by_pair = session.execute(
        select(held.c.mediator_id, held.c.county, n.label("n"), ok.label("ok"))
        .where(held.c.mediator_id.in_(ids))
        .group_by(held.c.mediator_id, held.c.county)
    ).all()
    counties = {r.county: (r.n, r.ok) for r in session.execute(
        select(held.c.county, n.label("n"), ok.label("ok")).group_by(held.c.county)).all()}
    members = session.execute(
        select(held.c.mediator_id, held.c.outcome_id, held.c.case_id, held.c.appointment_id)
        .where(held.c.mediator_id.in_(ids))
    ).all()
    mediators = load_mediators(session, ids)
    names = _county_names(session, counties)
    found = []
    for h in high:
        pairs = sorted((p for p in by_pair if p.mediator_id == h.mediator_id), key=lambda p: (-p.n, p.county or ""))
        home = pairs[0]  # where most of their mediations were held
        peers_n = counties[home.county][0] - home.n
        peers_ok = (counties[home.county][1] or 0) - (home.ok or 0)
        if peers_n < COUNTY_MIN_OUTCOMES or peers_ok * 100 >= COUNTY_LOW_PERCENT * peers_n:
            continue
        rows = [m for m in members if m.mediator_id == h.mediator_id]
        county = names.get(home.county, "本县区")
        found.append(Finding(
            rule="success_outlier", severity=MEDIUM, subject=f"mediator:{h.mediator_id}",
            subject_label=who(mediators, h.mediator_id),
            summary=(f"{who(mediators, h.mediator_id)}本期调解成功率{h.ok * 100 // h.n}%（{h.n}件中{h.ok}件成功），"
                     f"{county}其他调解员为{peers_ok * 100 // peers_n}%（{peers_n}件）。成功率高不等于有问题，"
                     "建议抽查几份协议。"),
            first=h.first, last=h.last,
            case_ids=id_tuple(r.case_id for r in rows), appointment_ids=id_tuple(r.appointment_id for r in rows),
            outcome_ids=id_tuple(r.outcome_id for r in rows), mediator_ids=(h.mediator_id,),
        ))
    return found


# --- rule 5: outcomes recorded implausibly fast ------------------------------------------------


def fast_outcome(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    gap = _epoch_seconds(Outcome.recorded_at) - _epoch_seconds(Appointment.starts_at)
    quick = (
        select(Outcome.id.label("outcome_id"), Outcome.case_id.label("case_id"),
               Appointment.id.label("appointment_id"), Appointment.mediator_id.label("mediator_id"),
               Outcome.recorded_at.label("at"), gap.label("gap"))
        .join(Appointment, Appointment.id == Outcome.appointment_id)
        .where(Outcome.result != OutcomeResult.NO_SHOW.value, Outcome.recorded_at >= start,
               Outcome.recorded_at < end, gap < FAST_OUTCOME.total_seconds())
        .subquery()
    )
    groups = session.execute(
        select(quick.c.mediator_id, func.count(quick.c.outcome_id).label("n"),
               func.sum(case((quick.c.gap < 0, 1), else_=0)).label("early"),
               func.min(quick.c.at).label("first"), func.max(quick.c.at).label("last"))
        .group_by(quick.c.mediator_id)
        .having(func.count(quick.c.outcome_id) >= 1)
    ).all()
    if not groups:
        return []
    members = session.execute(select(quick.c.mediator_id, quick.c.outcome_id, quick.c.case_id,
                                     quick.c.appointment_id)).all()
    mediators = load_mediators(session, [g.mediator_id for g in groups])
    minutes = int(FAST_OUTCOME.total_seconds() // 60)
    found = []
    for g in groups:
        rows = [m for m in members if m.mediator_id == g.mediator_id]
        early = int(g.early or 0)
        summary = f"{who(mediators, g.mediator_id)}有{g.n}个预约在开始后不到{minutes}分钟就登记了调解结果（当事人未到的除外）"
        if early:
            summary += f"，其中{early}个的登记时间早于预约开始时间"
        found.append(Finding(
            rule="fast_outcome", severity=HIGH if early else MEDIUM, subject=f"mediator:{g.mediator_id}",
            subject_label=who(mediators, g.mediator_id),
            summary=summary + "，调解可能并未真正进行。",
            first=g.first, last=g.last,
            case_ids=id_tuple(r.case_id for r in rows), appointment_ids=id_tuple(r.appointment_id for r in rows),
            outcome_ids=id_tuple(r.outcome_id for r in rows), mediator_ids=(g.mediator_id,),
        ))
    return found
