"""The people's mediation agreement (人民调解协议书) and the joint application for
judicial confirmation (司法确认申请书) drafted from a case with a successful outcome.

What the outcome does not hold (the parties' ID numbers and addresses, the facts, the
agreed terms, how and by when they are performed, the date it took effect) is entered
on the desk and validated here. Every save bumps the revision and the content hash a
printed copy carries (court/mediation/document_links.py), and is audited without personal data.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import NotFound, ValidationError
from court.core.timeutil import to_local
from court.core.validation import clean_text, validate_id_number, validate_name
from court.records import journal, workcalendar
from court.reference import jc_court
from court.store.schema import (
    Agreement,
    AgreementParty,
    Case,
    ConfirmationRequest,
    Outcome,
    OutcomeResult,
)

JC_DAYS = 30  # 民事诉讼法第205条、人民调解法第33条
PARTIES = 2  # a joint application of the two sides
FACTS_LIMIT = TERMS_LIMIT = 2000
PERFORMANCE_LIMIT = 500
ADDRESS_LIMIT = 200
AHEAD_DAYS = 30  # a draft may name the day it will be signed, not later than this
SUCCESSES = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)


@dataclass(frozen=True)
class PartyInput:
    name: str
    id_number: str
    address: str


@dataclass(frozen=True)
class AgreementInput:
    organisation: str
    parties: Sequence[PartyInput]
    facts: str
    terms: str
    performance: str
    effective_on: Optional[dt.date]
    intermediate: bool = False


def confirmation_deadline(calendar: workcalendar.WorkCalendar, effective_on: dt.date) -> dt.date:
    """Thirty days from the agreement taking effect; a last day off moves to the next working day (第85条)."""
    day = effective_on + dt.timedelta(days=JC_DAYS)
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def case_by_reference(session: Session, reference: str) -> Case:
    ref = (reference or "").strip().upper()
    case = session.execute(select(Case).where(Case.reference == ref)).scalar_one_or_none()
    if case is None:
        raise NotFound("没有找到这个案件编号。")
    return case


def successful_outcome(session: Session, case: Case) -> Outcome:
    """The case's latest outcome, which must be an agreement."""
    outcome = session.execute(
        select(Outcome).where(Outcome.case_id == case.id).order_by(Outcome.recorded_at.desc(), Outcome.id.desc())
        .limit(1)).scalar_one_or_none()
    if outcome is None or outcome.result not in SUCCESSES:
        raise ValidationError("这个案件没有调解成功的结果，不能制作调解协议书。")
    return outcome


def of_case(session: Session, case: Case) -> Optional[Agreement]:
    return session.execute(select(Agreement).where(Agreement.case_id == case.id)).scalar_one_or_none()


def content_hash(case: Case, organisation: str, parties: Sequence[PartyInput], facts: str, terms: str,
                 performance: str, effective_on: dt.date, court_name: str) -> str:
    """SHA-256 of what the documents say, in a canonical form: the same content, the same hash."""
    content = {
        "reference": case.reference, "organisation": organisation, "facts": facts, "terms": terms,
        "performance": performance, "effective_on": effective_on.isoformat(), "court": court_name,
        "parties": [[p.name, p.id_number, p.address] for p in parties],
    }
    raw = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _clean(data: AgreementInput, *, earliest: dt.date, today: dt.date) -> AgreementInput:
    errors: list[str] = []

    def check(label: str, fn, value, **kwargs):
        if not str(value or "").strip():
            errors.append(f"请填写{label}。")
            return ""
        try:
            return fn(value, **kwargs)
        except ValidationError as exc:
            errors.append(f"{label}：{exc.message}")
            return ""

    organisation = check("调解组织名称", clean_text, data.organisation, limit=80, field="调解组织名称")
    parties = []
    if len(data.parties) != PARTIES:
        errors.append("司法确认须由双方共同申请，请填写两方当事人。")
    for n, p in enumerate(data.parties, start=1):
        label = f"第{n}方当事人"
        name = check(f"{label}姓名", validate_name, p.name)
        id_number = check(f"{label}身份证号码", validate_id_number, p.id_number)
        address = check(f"{label}住址", clean_text, p.address, limit=ADDRESS_LIMIT, field="住址")
        parties.append(PartyInput(name=name, id_number=id_number, address=address))
    numbers = [p.id_number for p in parties if p.id_number]
    if len(numbers) != len(set(numbers)):
        errors.append("两方当事人的身份证号码相同，请核对。")
    facts = check("纠纷事实", clean_text, data.facts, limit=FACTS_LIMIT, field="纠纷事实", fold_width=False)
    terms = check("协议内容", clean_text, data.terms, limit=TERMS_LIMIT, field="协议内容", fold_width=False)
    performance = check("履行方式和期限", clean_text, data.performance, limit=PERFORMANCE_LIMIT,
                        field="履行方式和期限", fold_width=False)
    effective_on = data.effective_on
    if effective_on is None:
        errors.append("请填写协议生效日期（双方和调解员签名、调解委员会盖章之日）。")
    elif effective_on < earliest:
        errors.append(f"协议生效日期不能早于调解结果登记的日期（{earliest.isoformat()}）。")
    elif effective_on > today + dt.timedelta(days=AHEAD_DAYS):
        errors.append(f"协议生效日期不能晚于今天之后{AHEAD_DAYS}天。")
    if errors:
        raise ValidationError("；".join(dict.fromkeys(errors)))
    return AgreementInput(organisation=organisation, parties=parties, facts=facts, terms=terms,
                          performance=performance, effective_on=effective_on, intermediate=bool(data.intermediate))


def save(session: Session, reference: str, data: AgreementInput, *, actor: str,
         now: Optional[dt.datetime] = None) -> Agreement:
    """Draft or revise the case's agreement: validated, a new revision, audited."""
    now = now or clock.now()
    case = case_by_reference(session, reference)
    outcome = successful_outcome(session, case)
    clean = _clean(data, earliest=to_local(outcome.recorded_at).date(), today=to_local(now).date())
    assert clean.effective_on is not None  # _clean refuses an agreement without its date
    court = jc_court.confirmation_court(session, case.service_point_id, intermediate=clean.intermediate)
    digest = content_hash(case, clean.organisation, clean.parties, clean.facts, clean.terms, clean.performance,
                          clean.effective_on, court.name)
    agreement = of_case(session, case)
    before = journal.snapshot("agreement", agreement) if agreement is not None else None
    if agreement is None:
        agreement = Agreement(case_id=case.id, revision=1, created_at=now)
        session.add(agreement)
    elif agreement.content_hash == digest and agreement.intermediate == clean.intermediate:
        return agreement  # nothing changed: no new revision for a printed copy to fall behind
    else:
        agreement.revision += 1
    agreement.organisation, agreement.facts, agreement.terms = clean.organisation, clean.facts, clean.terms
    agreement.performance, agreement.effective_on = clean.performance, clean.effective_on
    agreement.court_id, agreement.intermediate = court.id, clean.intermediate
    agreement.content_hash, agreement.updated_at, agreement.updated_by = digest, now, actor
    # In place by position: replacing the rows would insert before deleting and trip the unique key.
    rows = {row.position: row for row in agreement.parties}
    for n, p in enumerate(clean.parties, start=1):
        row = rows.pop(n, None) or AgreementParty(position=n)
        row.name, row.id_number, row.address = p.name, p.id_number, p.address
        if row not in agreement.parties:
            agreement.parties.append(row)
    for row in rows.values():
        agreement.parties.remove(row)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="agreement.draft" if before is None else "agreement.revise",
                  entity_type="agreement", entity_id=agreement.id, before=before,
                  after=journal.snapshot("agreement", agreement))
    return agreement


def form_defaults(session: Session, case: Case) -> AgreementInput:
    """What a new draft starts from: the service point as the organisation, the outcome's note as the terms."""
    outcome = successful_outcome(session, case)
    organisation = case.service_point.name if case.service_point is not None else ""
    resident = case.resident
    first = PartyInput(name=(resident.name or "") if resident is not None else "", id_number="", address="")
    return AgreementInput(organisation=organisation, parties=[first, PartyInput("", "", "")],
                          facts="", terms=outcome.agreement_summary or "", performance="",
                          effective_on=to_local(outcome.recorded_at).date())


def request_of(session: Session, agreement: Agreement) -> Optional[ConfirmationRequest]:
    return session.execute(select(ConfirmationRequest).where(ConfirmationRequest.agreement_id == agreement.id)
                           ).scalar_one_or_none()


def erase_for_resident(session: Session, resident_id: int, *, text: str, actor: str, now: dt.datetime) -> int:
    """A resident's erasure: the parties' names, ID numbers and addresses and the agreement's
    text go; the row, its dates and its hash stay for the court's counts and checks."""
    found = session.execute(
        select(Agreement).join(Case, Case.id == Agreement.case_id).where(Case.resident_id == resident_id)
    ).scalars().all()
    for agreement in found:
        for party in agreement.parties:
            party.name = party.id_number = party.address = None
        agreement.facts = agreement.terms = agreement.performance = text
        agreement.updated_at = now
        session.flush()
        journal.audit(session, at=now, actor=actor, action="agreement.erase", entity_type="agreement",
                      entity_id=agreement.id, after=journal.snapshot("agreement", agreement))
    return len(found)
