"""Integrity alerts (廉政风险): patterns around mediation agreements and judicial
confirmation (司法确认) that deserve a second look by an admin.

Each rule is one function ``(session, *, start, end, now) -> list[Finding]`` over
the period [start, end), reading with SQL that runs the same on SQLite and
PostgreSQL. Findings are computed on demand and never stored; only an admin's
review enters the (append-only) audit log, as a category code without free text.

A finding is a reason to look, not a verdict: most will have an innocent
explanation, which is why reviews are recorded rather than findings hidden.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Optional, Sequence

from sqlalchemy import Float, String, and_, case, distinct, func, literal_column, not_, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from court import clock, guidance, journal
from court.errors import ValidationError
from court.privacy import mask_phone, mask_text
from court.settings import LOCAL_TZ
from court.store.schema import (
    Appointment,
    AuditEntry,
    Case,
    Mediator,
    Outcome,
    OutcomeResult,
    Place,
    PlaceLevel,
    Resident,
    ServicePoint,
)

# --- thresholds -----------------------------------------------------------------

# Rule jc_burst: JC_BURST agreements sent to judicial confirmation by one mediator
# within JC_BURST_WINDOW. A normal point sends a handful a month.
JC_BURST = 5
JC_BURST_WINDOW = dt.timedelta(days=7)

# Rule shared_phone: one (normalised) resident phone number behind SHARED_PHONE_CASES
# or more cases opened in the period.
SHARED_PHONE_CASES = 4

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
# requested that are part of the normal lifecycle, not edits.
ROUTINE_AFTER_JC = frozenset({"case.closed"})

HIGH, MEDIUM = "high", "medium"
SEVERITY_LABELS = {HIGH: "高", MEDIUM: "中"}
_SEVERITY_RANK = {HIGH: 0, MEDIUM: 1}

_SUCCESSES = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)

# Reviews: a fixed choice only. Free-text notes could name people, and the audit
# log can never be erased.
REVIEW_ACTION = "integrity.review"
REVIEW_ENTITY = "integrity"
REVIEW_CATEGORIES: dict[str, str] = {
    "cleared": "已核实无问题",
    "referred": "已转纪检",
    "watch": "需继续观察",
}

KEY_RE = re.compile(r"^[a-z_]+:[a-z]+:[A-Za-z0-9-]+:\d{14}$")


# --- data -------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    audit_id: int
    at: dt.datetime
    actor: str
    category: str

    @property
    def category_label(self) -> str:
        return REVIEW_CATEGORIES.get(self.category, self.category)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # HIGH or MEDIUM
    subject: str  # stable and free of personal data: "mediator:12", "phone:r34", "case:HH261129-7K3Q"
    subject_label: str  # what the admin reads (phones masked)
    summary: str
    first: dt.datetime
    last: dt.datetime
    case_ids: tuple[int, ...] = ()
    appointment_ids: tuple[int, ...] = ()
    outcome_ids: tuple[int, ...] = ()
    audit_ids: tuple[int, ...] = ()
    mediator_ids: tuple[int, ...] = ()
    review: Optional[Review] = None  # the latest one

    @property
    def key(self) -> str:
        """Rule + subject + first time: the same finding keeps its key on every reading."""
        return f"{self.rule}:{self.subject}:{self.first.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}"

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    @property
    def title(self) -> str:
        return RULE_BY_KEY[self.rule].title


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: dt.datetime
    actor: str
    actor_label: str
    action: str
    action_label: str
    entity_label: str
    change: str  # a short Chinese rendering of before/after, phones masked


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    why: str
    check: Callable[..., list[Finding]]


# --- portable SQL helpers -----------------------------------------------------------


class _epoch_seconds(FunctionElement):
    """Seconds since 1970 of a stored (naive UTC) time, for differences in SQL."""

    type = Float()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(_epoch_seconds)
def _epoch_default(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return "EXTRACT(EPOCH FROM %s)" % compiler.process(element.clauses, **kw)


@compiles(_epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):  # type: ignore[no-untyped-def]
    # Whole seconds: exact integers, unlike julianday's floating point.
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


def _norm_phone(column: Any) -> ColumnElement:
    """Digits only, the last 11 (drops +86 / 86): stored phones are normalised already,
    roster imports and old rows may not be."""
    text = column
    for junk in (" ", "-", "+", "(", ")"):
        text = func.replace(text, literal_column(f"'{junk}'", String), literal_column("''", String))
    return case((func.length(text) > 11, func.substr(text, func.length(text) - 10)), else_=text)


def _mediator_of_outcome() -> ColumnElement:
    return func.coalesce(Appointment.mediator_id, Case.mediator_id)


# --- small readers ----------------------------------------------------------------


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _mediators(session: Session, ids: Iterable[int]) -> dict[int, Mediator]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m for m in session.execute(select(Mediator).where(Mediator.id.in_(wanted))).scalars()}


def _who(mediators: dict[int, Mediator], mediator_id: Optional[int]) -> str:
    m = mediators.get(mediator_id) if mediator_id is not None else None
    return f"调解员{m.name}（{m.code}）" if m is not None else f"调解员#{mediator_id}"


def _references(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(case_ids)
    if not wanted:
        return {}
    return dict(session.execute(select(Case.id, Case.reference).where(Case.id.in_(wanted))).all())


def _ids(values: Iterable[Optional[int]]) -> tuple[int, ...]:
    return tuple(sorted({v for v in values if v is not None}))


# --- rule 1: judicial confirmation bursts ---------------------------------------------


def jc_burst(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    jc = (
        select(Outcome.id.label("outcome_id"), Outcome.case_id.label("case_id"),
               Outcome.appointment_id.label("appointment_id"), _mediator_of_outcome().label("mediator_id"),
               Outcome.jc_requested_at.label("at"))
        .join(Case, Case.id == Outcome.case_id)
        .outerjoin(Appointment, Appointment.id == Outcome.appointment_id)
        .where(Outcome.jc_requested_at.is_not(None))
        .subquery()
    )
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
    mediators = _mediators(session, runs)
    found = []
    for mediator_id, spans in runs.items():
        for lo, hi in spans:
            rows = [r for r in members if r.mediator_id == mediator_id and lo <= r.at < hi]
            first, last = rows[0].at, rows[-1].at
            found.append(Finding(
                rule="jc_burst", severity=HIGH, subject=f"mediator:{mediator_id}",
                subject_label=_who(mediators, mediator_id),
                summary=(f"{_who(mediators, mediator_id)}自{_local(first)}至{_local(last)}共有{len(rows)}份调解协议"
                         f"申请司法确认（提示线：{JC_BURST_WINDOW.days}天内{JC_BURST}份）。"),
                first=first, last=last,
                case_ids=_ids(r.case_id for r in rows), appointment_ids=_ids(r.appointment_id for r in rows),
                outcome_ids=_ids(r.outcome_id for r in rows), mediator_ids=(mediator_id,),
            ))
    return found


# --- rule 2a: one phone behind many cases ------------------------------------------------


def shared_phone(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    cases_in_period = (
        select(Case.id.label("case_id"), Resident.id.label("resident_id"), Case.created_at.label("at"),
               _norm_phone(Resident.phone).label("phone"))
        .join(Resident, Resident.id == Case.resident_id)
        .where(Resident.phone.is_not(None), Resident.phone != "", Case.created_at >= start, Case.created_at < end)
        .subquery()
    )
    groups = session.execute(
        select(cases_in_period.c.phone, func.count(distinct(cases_in_period.c.case_id)).label("cases"),
               func.count(distinct(cases_in_period.c.resident_id)).label("residents"),
               func.min(cases_in_period.c.resident_id).label("first_resident"),
               func.min(cases_in_period.c.at).label("first"), func.max(cases_in_period.c.at).label("last"))
        .group_by(cases_in_period.c.phone)
        .having(func.count(distinct(cases_in_period.c.case_id)) >= SHARED_PHONE_CASES)
        .order_by(cases_in_period.c.phone)
    ).all()
    if not groups:
        return []
    members = session.execute(
        select(cases_in_period.c.phone, cases_in_period.c.case_id)
        .where(cases_in_period.c.phone.in_([g.phone for g in groups]))
    ).all()
    found = []
    for g in groups:
        masked = mask_phone(g.phone)
        found.append(Finding(
            rule="shared_phone", severity=MEDIUM,
            # The smallest resident id names the group: a phone must not enter the audit log, even hashed.
            subject=f"phone:r{g.first_resident}", subject_label=f"手机号{masked}",
            summary=(f"手机号{masked}在本期关联{g.cases}个案件（{g.residents}个居民记录；提示线：{SHARED_PHONE_CASES}个），"
                     "请核实是否为同一人代办、虚构当事人或拆分案件。"),
            first=g.first, last=g.last,
            case_ids=_ids(m.case_id for m in members if m.phone == g.phone),
        ))
    return found


# --- rule 2b: a resident with a mediator's phone -------------------------------------------


def mediator_party(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    parties = (
        select(Case.id.label("case_id"), Case.reference.label("reference"), Case.mediator_id.label("case_mediator"),
               Case.created_at.label("at"), _norm_phone(Resident.phone).label("phone"))
        .join(Resident, Resident.id == Case.resident_id)
        .where(Resident.phone.is_not(None), Resident.phone != "", Case.created_at >= start, Case.created_at < end)
        .subquery()
    )
    staff = select(Mediator.id.label("mediator_id"), _norm_phone(Mediator.phone).label("phone")).subquery()
    rows = session.execute(
        select(parties.c.case_id, parties.c.reference, parties.c.case_mediator, parties.c.at, parties.c.phone,
               staff.c.mediator_id)
        .join(staff, staff.c.phone == parties.c.phone)
        .order_by(parties.c.case_id, staff.c.mediator_id)
    ).all()
    by_case: dict[int, list[Any]] = {}
    for r in rows:
        by_case.setdefault(r.case_id, []).append(r)
    mediators = _mediators(session, [r.mediator_id for r in rows] + [r.case_mediator for r in rows])
    found = []
    for case_id, matches in by_case.items():
        r = matches[0]
        own = any(m.mediator_id == m.case_mediator for m in matches)
        masked = mask_phone(r.phone)
        names = "、".join(_who(mediators, m.mediator_id) for m in matches)
        summary = (f"案件{r.reference}当事人的手机号{masked}与本案{names}的手机号相同：调解员可能在调解自己或亲属的纠纷。"
                   if own else
                   f"案件{r.reference}当事人的手机号{masked}与{names}的手机号相同，请核实当事人与调解员是否有利害关系。")
        found.append(Finding(
            rule="mediator_party", severity=HIGH if own else MEDIUM, subject=f"case:{r.reference}",
            subject_label=f"案件{r.reference}", summary=summary, first=r.at, last=r.at, case_ids=(case_id,),
            mediator_ids=_ids([m.mediator_id for m in matches] + [r.case_mediator]),
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
    ).subquery()


_CHANGE_WORDS = {"outcome": "改动调解结果", "appointment": "改动预约", "case": "改动案件"}


def edit_after_jc(session: Session, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[Finding]:
    owner = _entity_cases()
    # The moment of the request: the first audit entry showing an outcome of the case with a
    # jc_requested_at. The log cannot be edited, so the marker survives any later change.
    marker_id = (
        select(Outcome.case_id.label("case_id"), func.min(AuditEntry.id).label("marker_id"))
        .join(AuditEntry, and_(AuditEntry.entity_type == "outcome", AuditEntry.entity_id == Outcome.id))
        .where(AuditEntry.after["jc_requested_at"].as_string().is_not(None))
        .group_by(Outcome.case_id)
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
        .where(AuditEntry.id > marker.c.marker_id, AuditEntry.at >= start, AuditEntry.at < end,
               not_(and_(AuditEntry.entity_type == "case", AuditEntry.action.in_(ROUTINE_AFTER_JC))))
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
            case_ids=(case_id,), appointment_ids=_ids(item["appointments"]), outcome_ids=_ids(item["outcomes"]),
            audit_ids=_ids(item["audit"]), mediator_ids=_ids([info[case_id].mediator_id]),
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
    mediators = _mediators(session, ids)
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
            subject_label=_who(mediators, h.mediator_id),
            summary=(f"{_who(mediators, h.mediator_id)}本期调解成功率{h.ok * 100 // h.n}%（{h.n}件中{h.ok}件成功），"
                     f"{county}其他调解员为{peers_ok * 100 // peers_n}%（{peers_n}件）。成功率高不等于有问题，"
                     "建议抽查几份协议。"),
            first=h.first, last=h.last,
            case_ids=_ids(r.case_id for r in rows), appointment_ids=_ids(r.appointment_id for r in rows),
            outcome_ids=_ids(r.outcome_id for r in rows), mediator_ids=(h.mediator_id,),
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
    mediators = _mediators(session, [g.mediator_id for g in groups])
    minutes = int(FAST_OUTCOME.total_seconds() // 60)
    found = []
    for g in groups:
        rows = [m for m in members if m.mediator_id == g.mediator_id]
        early = int(g.early or 0)
        summary = f"{_who(mediators, g.mediator_id)}有{g.n}个预约在开始后不到{minutes}分钟就登记了调解结果（当事人未到的除外）"
        if early:
            summary += f"，其中{early}个的登记时间早于预约开始时间"
        found.append(Finding(
            rule="fast_outcome", severity=HIGH if early else MEDIUM, subject=f"mediator:{g.mediator_id}",
            subject_label=_who(mediators, g.mediator_id),
            summary=summary + "，调解可能并未真正进行。",
            first=g.first, last=g.last,
            case_ids=_ids(r.case_id for r in rows), appointment_ids=_ids(r.appointment_id for r in rows),
            outcome_ids=_ids(r.outcome_id for r in rows), mediator_ids=(g.mediator_id,),
        ))
    return found


RULES: tuple[Rule, ...] = (
    Rule("jc_burst", "集中申请司法确认",
         "同一调解员短期内大量协议送司法确认，可能是批量制作虚假协议、借司法确认取得执行依据。", jc_burst),
    Rule("edit_after_jc", "申请司法确认后改动记录",
         "协议已送法院确认后再改结果、预约或案件，可能是在审查前后篡改调解记录。", edit_after_jc),
    Rule("mediator_party", "当事人与调解员手机号相同",
         "调解员调解自己或亲属的纠纷，违反回避要求，协议的真实性存疑。", mediator_party),
    Rule("shared_phone", "同一手机号关联多个案件",
         "同一号码反复作为当事人出现，可能是代办、虚构当事人或拆分案件刷数量。", shared_phone),
    Rule("fast_outcome", "调解结果登记过快",
         "预约开始不到10分钟就登记调解结果（当事人未到的除外），甚至早于预约时间，调解可能并未真正进行。", fast_outcome),
    Rule("success_outlier", "调解成功率异常偏高",
         "成功率远高于本县区其他调解员，可能如实，也可能只登记成功的案件或协议流于形式，值得抽查。", success_outlier),
)
RULE_BY_KEY: dict[str, Rule] = {r.key: r for r in RULES}


# --- all rules, reviews -------------------------------------------------------------------


def review_entity_id(key: str) -> int:
    """A stable integer for the audit log's entity_id (31 bits: PostgreSQL's INTEGER)."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) & 0x7FFFFFFF


def reviews(session: Session, keys: Sequence[str]) -> dict[str, list[Review]]:
    """Reviews recorded for these finding keys, oldest first."""
    if not keys:
        return {}
    wanted = set(keys)
    out: dict[str, list[Review]] = {}
    for entry in session.execute(
        select(AuditEntry)
        .where(AuditEntry.action == REVIEW_ACTION, AuditEntry.entity_type == REVIEW_ENTITY,
               AuditEntry.entity_id.in_({review_entity_id(k) for k in wanted}))
        .order_by(AuditEntry.id)
    ).scalars():
        key = (entry.after or {}).get("key")
        if key in wanted:  # entity ids may collide; the key decides
            out.setdefault(key, []).append(Review(audit_id=entry.id, at=entry.at, actor=entry.actor,
                                                  category=(entry.after or {}).get("category", "")))
    return out


def findings(session: Session, *, start: dt.datetime, end: dt.datetime,
             now: Optional[dt.datetime] = None) -> list[Finding]:
    """Every rule over [start, end): high before medium, then the newest first."""
    now = now or clock.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    found: list[Finding] = []
    for rule in RULES:
        found.extend(rule.check(session, start=start, end=end, now=now))
    done = reviews(session, [f.key for f in found])
    found = [replace(f, review=done[f.key][-1]) if f.key in done else f for f in found]
    found.sort(key=lambda f: f.key)
    found.sort(key=lambda f: f.first, reverse=True)
    found.sort(key=lambda f: _SEVERITY_RANK[f.severity])
    return found


def find(session: Session, key: str, *, start: dt.datetime, end: dt.datetime,
         now: Optional[dt.datetime] = None) -> Optional[Finding]:
    """The finding with this key in the period, or None."""
    if not KEY_RE.match(key or ""):
        return None
    rule = RULE_BY_KEY.get(key.split(":", 1)[0])
    if rule is None:
        return None
    now = now or clock.now()
    for f in rule.check(session, start=start, end=end, now=now):
        if f.key == key:
            done = reviews(session, [key]).get(key)
            return replace(f, review=done[-1]) if done else f
    return None


def key_time(key: str) -> Optional[dt.datetime]:
    """The first time a key names (UTC), or None for a malformed key."""
    if not KEY_RE.match(key or ""):
        return None
    try:
        return dt.datetime.strptime(key.rsplit(":", 1)[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def review(session: Session, finding: Finding, *, category: str, actor: str,
           now: Optional[dt.datetime] = None) -> Review:
    """Mark a finding reviewed: who and which fixed category, nothing else."""
    if category not in REVIEW_CATEGORIES:
        raise ValidationError("请选择核查结论。")
    entry = journal.audit(session, actor=actor, action=REVIEW_ACTION, entity_type=REVIEW_ENTITY,
                          entity_id=review_entity_id(finding.key),
                          after={"key": finding.key, "rule": finding.rule, "category": category})
    entry.at = now or clock.now()
    session.flush()
    return Review(audit_id=entry.id, at=entry.at, actor=actor, category=category)


# --- the audit trail behind a finding ---------------------------------------------------------

_ACTION_LABELS = {
    "case.open": "立案登记", "case.intake": "退回待预约", "case.booked": "案件已预约", "case.mediating": "开始调解",
    "case.agreement": "达成协议", "case.failed": "调解不成", "case.jc_requested": "申请司法确认", "case.closed": "结案",
    "intake.create": "热线电话登记", "intake.redeem": "热线登记转入对话",
    "appointment.book": "预约", "appointment.accept": "调解员接受预约", "appointment.decline": "调解员拒绝预约",
    "appointment.reassign": "改派调解员", "appointment.reschedule": "改约", "appointment.cancel": "取消预约",
    "appointment.done": "调解结束", "appointment.no_show": "当事人未到",
    "outcome.record": "登记调解结果",
    "mediator.load": "导入调解员名册", "mediator.link": "绑定Telegram", "mediator.unlink": "解除Telegram绑定",
    "mediator.link_code_issued": "发放绑定码",
    REVIEW_ACTION: "廉政核查",
}
_FIELD_LABELS = {
    "status": "状态", "result": "结果", "mediator_id": "调解员", "service_point_id": "服务点", "starts_at": "开始",
    "ends_at": "结束", "revision": "版本", "jc_requested_at": "申请司法确认", "jc_filed_at": "司法确认立案",
    "case_id": "案件", "appointment_id": "预约", "dispute_type": "纠纷类型", "source": "来源", "resident_id": "居民",
    "telegram_chat_id": "Telegram", "is_demo": "演示数据", "category": "核查结论",
}
_VALUE_LABELS = {
    "case": {"intake": "待预约", "booked": "已预约", "mediating": "调解中", "agreement": "达成协议", "failed": "调解不成",
             "jc_requested": "已申请司法确认", "closed": "已结案"},
    "appointment": {"booked": "待确认", "accepted": "已接受", "declined": "已拒绝", "rescheduled": "已改期",
                    "cancelled": "已取消", "done": "已结束", "no_show": "当事人未到"},
    "mediator": {"active": "在岗", "suspended": "停用", "retired": "已退休"},
    "result": {"success": "调解成功", "failed": "调解失败", "agreement_needs_confirmation": "达成协议，需司法确认",
               "no_show": "当事人未到"},
    "category": REVIEW_CATEGORIES,
    "source": {"bot": "助手", "hotline": "热线"},
}
_CHANGE_LIMIT = 300


def _value(entity_type: str, field: str, value: Any) -> str:
    if value is None:
        return "空"
    if field == "status":
        return _VALUE_LABELS.get(entity_type, {}).get(value, str(value))
    if field in ("result", "category", "source"):
        return _VALUE_LABELS[field].get(value, str(value))
    if field == "dispute_type":
        try:
            return guidance.card(value).label
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and field.endswith("_at"):
        try:
            return _local(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if field.endswith("_id") and isinstance(value, int):
        return f"#{value}"
    return str(value)


def _change(entity_type: str, before: Any, after: Any) -> str:
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    parts = []
    if before:
        for field in list(before) + [f for f in after if f not in before]:
            old, new = before.get(field), after.get(field)
            if old != new:
                label = _FIELD_LABELS.get(field, field)
                parts.append(f"{label}：{_value(entity_type, field, old)} → {_value(entity_type, field, new)}")
    else:
        for field, new in after.items():
            if new is not None and field != "key":
                parts.append(f"{_FIELD_LABELS.get(field, field)}：{_value(entity_type, field, new)}")
    text = "；".join(parts)
    text = text if len(text) <= _CHANGE_LIMIT else text[:_CHANGE_LIMIT] + "…"
    return mask_text(text)  # the log keeps no phones by policy; an older or future path might


def _actor_label(actor: str, mediators: dict[int, Mediator]) -> str:
    kind, _, rest = actor.partition(":")
    if kind == "mediator" and rest.isdigit():
        return _who(mediators, int(rest))
    if kind == "desk":
        return f"工作台用户 {rest}"
    if kind == "bot":
        return "助手"
    if kind == "resident":
        return "居民本人"
    return mask_text(actor)


def trail(session: Session, finding: Finding) -> list[AuditLine]:
    """The audit entries behind a finding, oldest first: its cases with all their
    appointments and outcomes, the appointments and outcomes it names, its mediators."""
    appointment_ids, outcome_ids = set(finding.appointment_ids), set(finding.outcome_ids)
    if finding.case_ids:
        appointment_ids.update(session.execute(
            select(Appointment.id).where(Appointment.case_id.in_(finding.case_ids))).scalars())
        outcome_ids.update(session.execute(
            select(Outcome.id).where(Outcome.case_id.in_(finding.case_ids))).scalars())
    about = [
        and_(AuditEntry.entity_type == "case", AuditEntry.entity_id.in_(finding.case_ids)) if finding.case_ids else None,
        and_(AuditEntry.entity_type == "appointment", AuditEntry.entity_id.in_(appointment_ids))
        if appointment_ids else None,
        and_(AuditEntry.entity_type == "outcome", AuditEntry.entity_id.in_(outcome_ids)) if outcome_ids else None,
        and_(AuditEntry.entity_type == "mediator", AuditEntry.entity_id.in_(finding.mediator_ids))
        if finding.mediator_ids else None,
        AuditEntry.id.in_(finding.audit_ids) if finding.audit_ids else None,
    ]
    conditions = [c for c in about if c is not None]
    if not conditions:
        return []
    entries = session.execute(select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.id)).scalars().all()
    actor_ids = [int(e.actor.split(":", 1)[1]) for e in entries
                 if e.actor.startswith("mediator:") and e.actor.split(":", 1)[1].isdigit()]
    mediators = _mediators(session, actor_ids + [e.entity_id for e in entries if e.entity_type == "mediator"])
    refs = _references(session, [e.entity_id for e in entries if e.entity_type == "case"])
    lines = []
    for e in entries:
        if e.entity_type == "case":
            entity = f"案件{refs.get(e.entity_id, '#' + str(e.entity_id))}"
        elif e.entity_type == "appointment":
            entity = f"预约#{e.entity_id}"
        elif e.entity_type == "outcome":
            entity = f"调解结果#{e.entity_id}"
        elif e.entity_type == "mediator":
            entity = _who(mediators, e.entity_id)
        else:
            entity = f"{e.entity_type}#{e.entity_id}"
        lines.append(AuditLine(
            id=e.id, at=e.at, actor=e.actor, actor_label=_actor_label(e.actor, mediators), action=e.action,
            action_label=_ACTION_LABELS.get(e.action, e.action), entity_label=entity,
            change=_change(e.entity_type, e.before, e.after),
        ))
    return lines
