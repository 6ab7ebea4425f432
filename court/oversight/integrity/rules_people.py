"""Rules about the people behind cases: one phone number behind many cases, and a
party with a mediator's phone number."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, case, distinct, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from court.core.privacy import mask_phone
from court.oversight.integrity.finding import HIGH, MEDIUM, Finding
from court.oversight.integrity.readers import id_tuple, load_mediators, who
from court.store.schema import Case, Mediator, Resident

# Rule shared_phone: one (normalised) resident phone number behind SHARED_PHONE_CASES
# or more cases opened in the period.
SHARED_PHONE_CASES = 4


def _norm_phone(column: Any) -> ColumnElement:
    """Digits only, the last 11 (drops +86 / 86): stored phones are normalised already,
    roster imports and old rows may not be."""
    text = column
    for junk in (" ", "-", "+", "(", ")"):
        text = func.replace(text, literal_column(f"'{junk}'", String), literal_column("''", String))
    return case((func.length(text) > 11, func.substr(text, func.length(text) - 10)), else_=text)


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
            case_ids=id_tuple(m.case_id for m in members if m.phone == g.phone),
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
    mediators = load_mediators(session, [r.mediator_id for r in rows] + [r.case_mediator for r in rows])
    found = []
    for case_id, matches in by_case.items():
        r = matches[0]
        own = any(m.mediator_id == m.case_mediator for m in matches)
        masked = mask_phone(r.phone)
        names = "、".join(who(mediators, m.mediator_id) for m in matches)
        summary = (f"案件{r.reference}当事人的手机号{masked}与本案{names}的手机号相同：调解员可能在调解自己或亲属的纠纷。"
                   if own else
                   f"案件{r.reference}当事人的手机号{masked}与{names}的手机号相同，请核实当事人与调解员是否有利害关系。")
        found.append(Finding(
            rule="mediator_party", severity=HIGH if own else MEDIUM, subject=f"case:{r.reference}",
            subject_label=f"案件{r.reference}", summary=summary, first=r.at, last=r.at, case_ids=(case_id,),
            mediator_ids=id_tuple([m.mediator_id for m in matches] + [r.case_mediator]),
        ))
    return found
