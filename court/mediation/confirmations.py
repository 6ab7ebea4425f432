"""The judicial-confirmation request as filed with the court: the filing date, the
30-day deadline from the agreement taking effect (人民调解法第33条、民事诉讼法第205条),
and the court's ruling, confirmed or rejected with its reason (第206条). Every write is
audited, and the integrity rule edit_after_jc sees every change after the filing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select

from court.core import clock
from court.core.errors import ValidationError
from court.core.timeutil import to_local
from court.core.validation import clean_text
from court.mediation import agreements
from court.records import cases, journal, workcalendar
from court.store.schema import Agreement, Case, CaseStatus, ConfirmationRequest, ConfirmationResult, Outcome

NEAR_DAYS = 7  # the desk warns this many days before the deadline
REASON_LIMIT = 500


@dataclass(frozen=True)
class DeadlineState:
    """Where an agreement stands against its deadline on the court's today."""

    deadline: dt.date
    days_left: int  # negative once past
    filed: bool
    late: bool  # filed after the deadline, or not filed and past it

    @property
    def kind(self) -> str:
        if self.filed:
            return "late" if self.late else "filed"
        if self.days_left < 0:
            return "past"
        return "near" if self.days_left <= NEAR_DAYS else "open"

    @property
    def text(self) -> str:
        kind = self.kind
        if kind == "filed":
            return "已按期申请司法确认"
        if kind == "late":
            return "申请时已超过30日期限"
        if kind == "past":
            return f"已超过申请期限{-self.days_left}天（截止{self.deadline.isoformat()}），法院将不予受理"
        if self.days_left == 0:
            return f"今天（{self.deadline.isoformat()}）是申请司法确认的最后一天"
        return f"距申请司法确认截止还有{self.days_left}天（{self.deadline.isoformat()}）"


def deadline_state(session, agreement: Agreement, request: Optional[ConfirmationRequest], *,
                   now: dt.datetime) -> DeadlineState:
    deadline = (request.deadline if request is not None
                else agreements.confirmation_deadline(workcalendar.of(session), agreement.effective_on))
    today = to_local(now).date()
    if request is not None:
        return DeadlineState(deadline=deadline, days_left=(deadline - request.filed_on).days, filed=True,
                             late=request.filed_on > deadline)
    days_left = (deadline - today).days
    return DeadlineState(deadline=deadline, days_left=days_left, filed=False, late=days_left < 0)


def file(session, reference: str, *, filed_on: Optional[dt.date], actor: str,
         now: Optional[dt.datetime] = None) -> ConfirmationRequest:
    """Record that the parties filed their joint application with the agreement's court."""
    now = now or clock.now()
    case = agreements.case_by_reference(session, reference)
    agreement = agreements.of_case(session, case)
    if agreement is None:
        raise ValidationError("请先填写调解协议书，再登记司法确认申请。")
    if agreements.request_of(session, agreement) is not None:
        raise ValidationError("这份协议的司法确认申请已经登记过了。")
    today = to_local(now).date()
    if filed_on is None:
        raise ValidationError("请填写向法院提交申请的日期。")
    if filed_on > today:
        raise ValidationError("申请日期不能晚于今天。")
    if filed_on < agreement.effective_on:
        raise ValidationError(f"申请日期不能早于协议生效日期（{agreement.effective_on.isoformat()}）。")
    deadline = agreements.confirmation_deadline(workcalendar.of(session), agreement.effective_on)
    if case.status == CaseStatus.AGREEMENT.value:  # before the request's own entry: part of filing it
        cases.advance(session, case, CaseStatus.JC_REQUESTED, actor=actor, now=now)
    request = ConfirmationRequest(agreement_id=agreement.id, case_id=case.id, court_id=agreement.court_id,
                                  filed_on=filed_on, deadline=deadline, result=ConfirmationResult.PENDING.value,
                                  recorded_by=actor, created_at=now, updated_at=now)
    session.add(request)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="confirmation.file", entity_type="confirmation",
                  entity_id=request.id, after=journal.snapshot("confirmation", request))
    return request


def record_result(session, reference: str, *, result: str, decided_on: Optional[dt.date],
                  reason: Optional[str] = None, actor: str, now: Optional[dt.datetime] = None) -> ConfirmationRequest:
    """The court's ruling: confirmed, or rejected with its reason."""
    now = now or clock.now()
    case = agreements.case_by_reference(session, reference)
    agreement = agreements.of_case(session, case)
    request = agreements.request_of(session, agreement) if agreement is not None else None
    if request is None:
        raise ValidationError("还没有登记司法确认申请。")
    if request.result != ConfirmationResult.PENDING.value:
        raise ValidationError("法院的决定已经登记过了。")
    try:
        outcome = ConfirmationResult(result)
    except ValueError:
        raise ValidationError("请选择法院的决定：确认有效或驳回申请。") from None
    if outcome == ConfirmationResult.PENDING:
        raise ValidationError("请选择法院的决定：确认有效或驳回申请。")
    if decided_on is None:
        raise ValidationError("请填写法院作出决定的日期。")
    if decided_on < request.filed_on or decided_on > to_local(now).date():
        raise ValidationError("决定日期应在申请日期和今天之间。")
    text = None
    if outcome == ConfirmationResult.REJECTED:
        if not (reason or "").strip():
            raise ValidationError("驳回申请的，请填写法院驳回的理由。")
        text = clean_text(reason, limit=REASON_LIMIT, field="驳回理由", fold_width=False)
    before = journal.snapshot("confirmation", request)
    request.result, request.decided_on, request.reason, request.updated_at = outcome.value, decided_on, text, now
    session.flush()
    journal.audit(session, at=now, actor=actor, action=f"confirmation.{outcome.value}", entity_type="confirmation",
                  entity_id=request.id, before=before, after=journal.snapshot("confirmation", request))
    return request


@dataclass(frozen=True)
class Row:
    """One case with a successful outcome, as the desk's list shows it (no personal data)."""

    case_id: int
    reference: str
    dispute_type: str
    outcome_on: dt.date
    revision: Optional[int]  # None: no agreement drafted yet
    result: Optional[str]  # None: not filed
    state: Optional[DeadlineState]
    waiting_days: Optional[int] = None  # filed and no ruling yet: days since filing, for 及时审查


_ORDER = {"past": 0, "near": 1, None: 2, "open": 3, "late": 4, "filed": 5}


def overview(session, *, now: dt.datetime, limit: int = 200) -> list[Row]:
    """Cases whose latest outcome is an agreement: the most urgent first (past, near the deadline, not drafted)."""
    latest = (select(Outcome.case_id, func.max(Outcome.id).label("outcome_id"))
              .group_by(Outcome.case_id).subquery())
    found = session.execute(
        select(Case, Outcome, Agreement, ConfirmationRequest)
        .join(latest, latest.c.case_id == Case.id)
        .join(Outcome, Outcome.id == latest.c.outcome_id)
        .outerjoin(Agreement, Agreement.case_id == Case.id)
        .outerjoin(ConfirmationRequest, ConfirmationRequest.agreement_id == Agreement.id)
        .where(Outcome.result.in_(agreements.SUCCESSES))
        .order_by(Outcome.recorded_at.desc())
        .limit(limit)
    ).all()
    rows = []
    for case, outcome, agreement, request in found:
        state = deadline_state(session, agreement, request, now=now) if agreement is not None else None
        rows.append(Row(case_id=case.id, reference=case.reference, dispute_type=case.dispute_type,
                        outcome_on=to_local(outcome.recorded_at).date(),
                        revision=agreement.revision if agreement is not None else None,
                        result=request.result if request is not None else None, state=state,
                        waiting_days=(to_local(now).date() - request.filed_on).days
                        if request is not None and request.result == ConfirmationResult.PENDING.value else None))
    rows.sort(key=lambda r: (_ORDER[r.state.kind if r.state else None], r.state.deadline if r.state else r.outcome_on))
    return rows
