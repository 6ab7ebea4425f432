"""Finding a mediator the way a clerk asks: by a case reference (who has, or had, the case),
by name (part of it is enough) or code, or by service point (its code or part of its name).

One search box: a text shaped like a case reference is looked up as one; anything else is
matched against names, codes and service points. Phones are masked, as on the roster pages.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from court.admin.reads import MediatorRow, mediator_rows
from court.core.errors import ValidationError
from court.store.schema import Appointment, Case, Mediator, ServicePoint

QUERY_LIMIT = 40
RESULT_LIMIT = 50
_REFERENCE = re.compile(r"[A-Z]{2}\d{6}-?[0-9A-Z]{4}")


@dataclass(frozen=True)
class Found:
    row: MediatorRow
    matched: str  # why this mediator is listed, in Chinese


def normalise(text: object) -> str:
    """Half width, trimmed; dashes of any width become '-'."""
    folded = unicodedata.normalize("NFKC", str(text or "")).strip()
    return "".join("-" if unicodedata.category(ch) == "Pd" else ch for ch in folded if not ch.isspace())


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _load(session: Session, ids: list[int]) -> dict[int, Mediator]:
    rows = session.execute(select(Mediator).where(Mediator.id.in_(ids)).options(
        selectinload(Mediator.service_points).selectinload(ServicePoint.place),
        selectinload(Mediator.specialities))).scalars().all() if ids else []
    return {m.id: m for m in rows}


def _by_reference(session: Session, reference: str) -> list[tuple[int, str]]:
    ref = reference if "-" in reference else f"{reference[:8]}-{reference[8:]}"
    case = session.execute(select(Case).where(Case.reference == ref)).scalar_one_or_none()
    if case is None:
        return []
    found: list[tuple[int, str]] = []
    appts = session.execute(select(Appointment.mediator_id).where(Appointment.case_id == case.id)
                            .order_by(Appointment.id.desc())).scalars().all()
    for mediator_id in appts:
        if all(mediator_id != m for m, _ in found):
            now_or_before = "现在负责" if mediator_id == case.mediator_id and not found else "曾经负责"
            found.append((mediator_id, f"案件 {ref}（{now_or_before}）"))
    if case.mediator_id is not None and all(case.mediator_id != m for m, _ in found):
        found.insert(0, (case.mediator_id, f"案件 {ref}（现在负责）"))
    return found


def _by_words(session: Session, text: str) -> list[tuple[int, str]]:
    pattern = _like(text)
    found: list[tuple[int, str]] = []
    for m in session.execute(select(Mediator.id, Mediator.name, Mediator.code).where(or_(
            Mediator.name.like(pattern, escape="\\"), func.upper(Mediator.code).like(pattern.upper(), escape="\\")))
            .order_by(Mediator.code)).all():
        found.append((m.id, f"姓名 {m.name}" if text in m.name else f"编号 {m.code}"))
    points = session.execute(select(ServicePoint).where(or_(
        ServicePoint.name.like(pattern, escape="\\"), func.upper(ServicePoint.code).like(pattern.upper(), escape="\\")))
        .options(selectinload(ServicePoint.mediators)).order_by(ServicePoint.code)).scalars().all()
    for point in points:
        for m in sorted(point.mediators, key=lambda m: m.code):
            found.append((m.id, f"服务点 {point.name}"))
    return found


def find_mediators(session: Session, query: object, *, now: dt.datetime) -> list[Found]:
    """Mediators matching a case reference, a name or code, or a service point; each listed once,
    with the first reason it matched."""
    text = normalise(query)
    if not text:
        raise ValidationError("请输入案件编号、调解员姓名或服务点。")
    if len(text) > QUERY_LIMIT:
        raise ValidationError(f"搜索内容不能超过{QUERY_LIMIT}个字。")
    upper = text.upper()
    hits = _by_reference(session, upper) if _REFERENCE.fullmatch(upper) else _by_words(session, text)
    reasons: dict[int, str] = {}
    for mediator_id, why in hits:
        reasons.setdefault(mediator_id, why)
    ids = list(reasons)[:RESULT_LIMIT]
    loaded = _load(session, ids)
    rows = mediator_rows(session, [loaded[i] for i in ids if i in loaded], now=now)
    return [Found(row=row, matched=reasons[row.id]) for row in rows]
