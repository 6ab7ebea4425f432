"""委派调解 once the mediator has accepted: the short log of contact attempts and sessions, and
the outcome (an agreement, on to 司法确认 when asked, or back to the court for filing).

Plain functions on the caller's session: audit entries and pushes are written in the same
transaction (court/records/journal.py). What every step shares is in court/mediation/delegation.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import NotFound, ValidationError
from court.core.validation import NOTE_LIMIT, clean_text
from court.mediation import outcomes
from court.mediation.delegation import LOG_LABELS, by_reference, check_owner, desk_alert, get
from court.records import cases, journal
from court.store.schema import (
    Case,
    CaseStatus,
    Delegation,
    DelegationLog,
    DelegationStatus,
    Outcome,
    OutcomeResult,
)


def _mine_open(session: Session, mediator_id: int, reference: str) -> Delegation:
    found = by_reference(session, reference)
    if found is None:
        raise NotFound("没有找到这个委派案件编号，请核对后重新输入。")
    delegation = get(session, found.id, lock=True)
    check_owner(delegation, mediator_id)
    if delegation.status == DelegationStatus.OFFERED.value:
        raise ValidationError("请先接受这个委派案件。")
    if delegation.status != DelegationStatus.ACCEPTED.value:
        raise ValidationError("这个委派案件已经办结。")
    return delegation


def add_log(session: Session, mediator_id: int, reference: str, kind: str, note: str, *,
            now: dt.datetime) -> DelegationLog:
    """A contact attempt or a session, as the mediator tells it (a short note)."""
    if kind not in LOG_LABELS:
        raise ValidationError("记录类型只能是联系或调解。")
    text = clean_text(note, limit=NOTE_LIMIT, field="记录内容", fold_width=False)
    delegation = _mine_open(session, mediator_id, reference)
    entry = DelegationLog(delegation_id=delegation.id, kind=kind, at=now, note=text,
                          recorded_by=f"mediator:{mediator_id}")
    session.add(entry)
    session.flush()
    journal.audit(session, at=now, actor=f"mediator:{mediator_id}", action=f"delegation.log_{kind}",
                  entity_type="delegation", entity_id=delegation.id, after={"log_id": entry.id, "chars": len(text)})
    return entry


def outcome_question(session: Session, mediator_id: int, reference: str) -> str:
    delegation = _mine_open(session, mediator_id, reference)
    return f"委派案件 {delegation.case.reference} 的调解结果是？调解不成的案件会退回法院转立案。"


def record_outcome(session: Session, mediator_id: int, reference: str, result: OutcomeResult | str, *,
                   note: Optional[str] = None, now: dt.datetime) -> Outcome:
    """How the delegated mediation ended: an agreement (to 司法确认 when asked) or back to the court."""
    outcome_result = outcomes.parse_outcome(result)
    text = clean_text(note, limit=NOTE_LIMIT, field="结果说明", fold_width=False) if note and note.strip() else None
    delegation = _mine_open(session, mediator_id, reference)
    case = session.execute(select(Case).where(Case.id == delegation.case_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()
    actor = f"mediator:{mediator_id}"
    before = journal.snapshot("delegation", delegation)
    if outcome_result in (OutcomeResult.FAILED, OutcomeResult.NO_SHOW):
        delegation.status = DelegationStatus.RETURNED.value
        default = "当事人未到" if outcome_result == OutcomeResult.NO_SHOW else "调解不成"
        delegation.return_note = text or default
        cases.advance(session, case, CaseStatus.FAILED, actor=actor, now=now)
    else:
        delegation.status = DelegationStatus.SETTLED.value
        path = [CaseStatus.AGREEMENT]
        if outcome_result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION:
            path.append(CaseStatus.JC_REQUESTED)
        for stage in path:
            cases.advance(session, case, stage, actor=actor, now=now)
    delegation.outcome_at = now
    session.flush()
    journal.audit(session, at=now, actor=actor, action=f"delegation.{delegation.status}", entity_type="delegation",
                  entity_id=delegation.id, before=before, after=journal.snapshot("delegation", delegation))
    outcome = Outcome(case_id=case.id, appointment_id=None, result=outcome_result.value, agreement_summary=text,
                      recorded_by=actor, recorded_at=now,
                      jc_requested_at=now if outcome_result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION else None)
    session.add(outcome)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="outcome.record", entity_type="outcome", entity_id=outcome.id,
                  after=journal.snapshot("outcome", outcome))
    if delegation.status == DelegationStatus.RETURNED.value:
        desk_alert(session, delegation, "delegation_returned", "returned", mediator_id=mediator_id, now=now)
    return outcome
