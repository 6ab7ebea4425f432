"""What the agreement (人民调解协议书) and the joint application for judicial confirmation
(司法确认申请书) say, as one value both the printable page and the DOCX render; and what
the verification page shows for a scanned copy."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy.orm import Session

from court.core.errors import NotFound
from court.core.timeutil import to_local
from court.mediation import agreements, confirmations, document_links
from court.store.schema import Agreement, Case

TITLES = {"agreement": "人民调解协议书", "application": "司法确认申请书"}


@dataclass(frozen=True)
class Party:
    name: str
    id_number: str
    address: str


@dataclass(frozen=True)
class Documents:
    reference: str
    agreement_id: int
    revision: int
    content_hash: str
    check_code: str
    issued_on: dt.date
    organisation: str
    service_point: str
    service_point_address: str
    mediator: str
    parties: tuple[Party, ...]
    facts: str
    terms: str
    performance: str
    effective_on: dt.date
    court: str
    intermediate: bool
    deadline: dt.date

    def title(self, kind: str) -> str:
        return TITLES[kind]

    def verify_path(self, kind: str) -> str:
        return document_links.path(kind, self.agreement_id, self.revision, self.content_hash)


def date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def build(session: Session, case: Case, agreement: Agreement, *, now: dt.datetime) -> Documents:
    request = agreements.request_of(session, agreement)
    state = confirmations.deadline_state(session, agreement, request, now=now)
    point = case.service_point
    return Documents(
        reference=case.reference, agreement_id=agreement.id, revision=agreement.revision,
        content_hash=agreement.content_hash, check_code=document_links.check_code(agreement.content_hash),
        issued_on=to_local(agreement.updated_at).date(), organisation=agreement.organisation,
        service_point=point.name if point is not None else "", service_point_address=point.address if point else "",
        mediator=case.mediator.name if case.mediator is not None else "",
        parties=tuple(Party(p.name or "", p.id_number or "", p.address or "") for p in agreement.parties),
        facts=agreement.facts, terms=agreement.terms, performance=agreement.performance,
        effective_on=agreement.effective_on, court=agreement.court.name, intermediate=agreement.intermediate,
        deadline=state.deadline,
    )


def for_reference(session: Session, reference: str, *, now: dt.datetime) -> Documents:
    case = agreements.case_by_reference(session, reference)
    agreement = agreements.of_case(session, case)
    if agreement is None:
        raise NotFound("这个案件还没有调解协议书。")
    return build(session, case, agreement, now=now)


@dataclass(frozen=True)
class Verification:
    reference: str
    kind: str
    title: str
    revision: int
    check_code: str  # what the scanned copy carries
    issued_on: Optional[dt.date]  # the date of the scanned revision, when it is the current one
    current: bool  # the copy matches the agreement as the court holds it now
    current_revision: int


def verify(session: Session, token: str) -> Optional[Verification]:
    """What the court holds about a scanned copy; None for a token it did not sign."""
    ref = document_links.read(token)
    if ref is None:
        return None
    agreement = session.get(Agreement, ref.agreement_id)
    if agreement is None:
        return None
    current = agreement.revision == ref.revision and agreement.content_hash.startswith(ref.hash_prefix)
    return Verification(
        reference=agreement.case.reference, kind=ref.kind, title=TITLES[ref.kind], revision=ref.revision,
        check_code=document_links.check_code(ref.hash_prefix), issued_on=to_local(agreement.updated_at).date()
        if current else None, current=current, current_revision=agreement.revision)
