"""Cases: reference numbers and the status lifecycle."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import CourtError, InvalidTransition, LookupPaused, NotFound
from court.core.timeutil import to_local
from court.core.validation import clean_text
from court.records import journal
from court.store.schema import Case, CaseSource, CaseStatus, DisputeType, Resident

# Crockford-style alphabet: no 0/O, 1/I/L, so references (and mediators' link codes) survive a phone call.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# A reference has ~20 random bits per day: after this many wrong phones its lookups pause.
LOOKUP_FAILURES = 5
LOOKUP_PAUSE = dt.timedelta(hours=1)

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.INTAKE: frozenset({CaseStatus.BOOKED, CaseStatus.CLOSED}),
    CaseStatus.BOOKED: frozenset({CaseStatus.INTAKE, CaseStatus.MEDIATING, CaseStatus.CLOSED}),
    CaseStatus.MEDIATING: frozenset(
        {CaseStatus.AGREEMENT, CaseStatus.FAILED, CaseStatus.BOOKED, CaseStatus.CLOSED}
    ),
    CaseStatus.AGREEMENT: frozenset({CaseStatus.JC_REQUESTED, CaseStatus.CLOSED}),
    CaseStatus.FAILED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.JC_REQUESTED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}

_STAGE_COLUMN = {
    CaseStatus.BOOKED: "booked_at",
    CaseStatus.MEDIATING: "mediating_at",
    CaseStatus.AGREEMENT: "agreement_at",
    CaseStatus.FAILED: "failed_at",
    CaseStatus.JC_REQUESTED: "jc_requested_at",
    CaseStatus.CLOSED: "closed_at",
}


def new_reference(session: Session, now: Optional[dt.datetime] = None) -> str:
    """HH + local date + 4 random characters, e.g. HH261129-7K3Q."""
    day = to_local(now or clock.now()).strftime("%y%m%d")
    for _ in range(20):
        ref = f"HH{day}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(4))
        if session.execute(select(Case.id).where(Case.reference == ref)).first() is None:
            return ref
    raise RuntimeError("could not allocate a case reference")


def open_case(
    session: Session,
    *,
    dispute_type: DisputeType | str,
    summary: str,
    actor: str,
    source: CaseSource = CaseSource.BOT,
    resident: Optional[Resident] = None,
    recommended_channel: Optional[str] = None,
    conversation_id: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Case:
    now = now or clock.now()
    case = Case(
        reference=new_reference(session, now),
        dispute_type=DisputeType(dispute_type).value,
        summary=clean_text(summary, field="纠纷简述", fold_width=False),  # people read it: keep their punctuation
        recommended_channel=recommended_channel,
        source=source.value,
        status=CaseStatus.INTAKE.value,
        resident=resident,
        conversation_id=conversation_id,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="case.open", entity_type="case", entity_id=case.id,
                  after=journal.snapshot("case", case))
    return case


def advance(session: Session, case: Case, to: CaseStatus, *, actor: str, now: Optional[dt.datetime] = None) -> None:
    """Move a case along its lifecycle, stamping the stage time and auditing it."""
    current = CaseStatus(case.status)
    if to == current:
        return
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(details=f"{current.value}->{to.value}")
    before = journal.snapshot("case", case)
    case.status = to.value
    column = _STAGE_COLUMN.get(to)
    if column and getattr(case, column) is None:
        setattr(case, column, now or clock.now())
    session.flush()
    journal.audit(session, at=now, actor=actor, action=f"case.{to.value}", entity_type="case", entity_id=case.id,
                  before=before, after=journal.snapshot("case", case))


def open_intakes(session: Session, conversation_id: str) -> list[Case]:
    """This conversation's cases still at intake, newest first."""
    return list(session.execute(
        select(Case).where(Case.conversation_id == conversation_id, Case.status == CaseStatus.INTAKE.value)
        .order_by(Case.id.desc())
    ).scalars())


def check_lookup(session: Session, reference: str, phone: str, *, actor: str,
                 now: dt.datetime) -> tuple[Optional[int], Optional[CourtError]]:
    """A resident's lookup by reference and phone: (the case id, None), or (None, the error to show).

    Every failure is audited (never with what was typed) and a wrong phone counts
    against the reference; after LOOKUP_FAILURES its lookups pause for LOOKUP_PAUSE,
    whatever phone comes next. The error is returned, not raised, so the caller's
    transaction commits the count."""
    ref = (reference or "").strip().upper()
    case = session.execute(select(Case).where(Case.reference == ref).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if case is None:
        journal.audit(session, at=now, actor=actor, action="case.lookup_failed", entity_type="case", entity_id=0,
                      after={"reason": "unknown_reference"})
        return None, NotFound()
    if case.lookup_paused_until is not None and case.lookup_paused_until > now:
        journal.audit(session, at=now, actor=actor, action="case.lookup_failed", entity_type="case",
                      entity_id=case.id, after={"reason": "paused"})
        return None, LookupPaused()
    if case.resident is None or case.resident.phone is None or case.resident.phone != phone:
        case.lookup_failures = (case.lookup_failures or 0) + 1
        after = {"reason": "wrong_phone", "failures": case.lookup_failures}
        if case.lookup_failures >= LOOKUP_FAILURES:
            case.lookup_paused_until, case.lookup_failures = now + LOOKUP_PAUSE, 0
            after["paused_until"] = case.lookup_paused_until.isoformat()
        session.flush()
        journal.audit(session, at=now, actor=actor, action="case.lookup_failed", entity_type="case",
                      entity_id=case.id, after=after)
        return None, NotFound()
    if case.lookup_failures:
        case.lookup_failures = 0
        session.flush()
    return case.id, None
