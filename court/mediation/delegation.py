"""委派调解: the court delegates a dispute to a service point's mediator, with a deadline,
and gets the result back.

A delegated case is a Case (source 'delegated', no resident) plus its Delegation row:
the delegating court and judge, the parties the clerk entered (with their consent, held
by the court for the case), the deadline, and how it came back. The mediator answers
接受 / 拒绝 and records the outcome as for an appointment; contact attempts and sessions
are a short log. Plain functions on the caller's session: audit entries and pushes are
written in the same transaction (court/records/journal.py).

This module holds what every step shares: the vocabulary, the checks at the boundary,
finding a delegated case, the desk's alerts and the mediator's list. The steps:
proposing a mediator, delegating, offering and the mediator's answer
(``delegation_offers``); the mediator's log and the outcome (``delegation_outcomes``);
the deadline, its one extension and its alerts (``delegation_deadlines``); the desk's
list and case page (``delegation_reads``).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.core.timeutil import to_local
from court.records import journal
from court.reference import labels
from court.store.schema import (
    Case,
    Delegation,
    DelegationChannel,
    DelegationLogKind,
    DelegationStatus,
    PartyRole,
    RecipientType,
)

DEFAULT_DAYS = 30  # 最高人民法院《关于人民法院特邀调解的规定》第20条：委派调解期限三十日
ALERT_LEVELS = (("d7", 7), ("d1", 1))  # days left at which the desk and the mediator are warned
OVERDUE = "overdue"

CHANNEL_LABELS = {DelegationChannel.WINDOW.value: "立案窗口", DelegationChannel.HOTLINE.value: "12368热线",
                  DelegationChannel.JUDGE.value: "法官立案前委派"}
ROLE_LABELS = {PartyRole.APPLICANT.value: "申请人", PartyRole.RESPONDENT.value: "被申请人"}
STATUS_LABELS = labels.DELEGATION_STATUS
LOG_LABELS = {DelegationLogKind.CONTACT.value: "联系", DelegationLogKind.SESSION.value: "调解"}
ALERT_TEMPLATES = {"d7": "delegation_due_7", "d1": "delegation_due_1", OVERDUE: "delegation_overdue"}


@dataclass(frozen=True)
class PartyIn:
    role: str
    name: str
    phone: str


# --- checks at the boundary -----------------------------------------------------


def parse_amount(raw: object) -> Optional[int]:
    """标的额 in yuan ("12,345.5", "１２３４５元") to cents; blank is None."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().replace(",", "").replace("元", "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", text):
        raise ValidationError("标的额请填写数字（单位：元），最多两位小数，例如 12000 或 12000.50。")
    yuan, _, fen = text.partition(".")
    return int(yuan) * 100 + int((fen + "00")[:2])


def amount_text(cents: Optional[int]) -> str:
    """In yuan, without the unit: labels say "标的额（元）" (a bare "N元" reads as a fee to court/reference/legal.py)."""
    if cents is None:
        return "未填写"
    yuan, fen = divmod(cents, 100)
    return f"{yuan:,}" if not fen else f"{yuan:,}.{fen:02d}"


def default_deadline(now: dt.datetime, days: int = DEFAULT_DAYS) -> dt.date:
    """The last local day: today plus ``days``."""
    return to_local(now).date() + dt.timedelta(days=days)


def days_left(delegation: Delegation, now: dt.datetime) -> int:
    """Days from today to the last day (0 on the last day, negative once it passed)."""
    return (delegation.deadline - to_local(now).date()).days


def check_actor(actor: str) -> str:
    if not actor:
        raise ValidationError("缺少经办人。")
    return actor


# --- finding a delegated case ---------------------------------------------------------


def get(session: Session, delegation_id: int, *, lock: bool = False) -> Delegation:
    query = select(Delegation).where(Delegation.id == delegation_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise NotFound("没有找到这个委派案件。")
    return found


def by_reference(session: Session, reference: str) -> Optional[Delegation]:
    ref = unicodedata.normalize("NFKC", reference or "").strip().upper()
    return session.execute(
        select(Delegation).join(Case, Delegation.case_id == Case.id).where(Case.reference == ref)
    ).scalar_one_or_none()


def check_owner(delegation: Delegation, mediator_id: int) -> None:
    if delegation.case.mediator_id != mediator_id:
        raise PermissionDenied("这个委派案件不是交给您的，或已改派给其他调解员。")


def desk_alert(session: Session, delegation: Delegation, template: str, key: str, *, mediator_id: Optional[int],
               now: dt.datetime, **extra: object) -> None:
    journal.enqueue(session, key=f"deleg:{delegation.id}:alert:{key}", recipient_type=RecipientType.COURT,
                    recipient_id=None, template=template, due_at=now,
                    payload={"recipient_type": RecipientType.MEDIATOR.value if mediator_id else None,
                             "recipient_id": mediator_id, "reference": delegation.case.reference,
                             "template": "delegation_deadline" if template in ALERT_TEMPLATES.values()
                             else "delegation_offer", "delegation_id": delegation.id} | extra)


# --- the mediator's list ------------------------------------------------------------------


def mediator_cases(session: Session, mediator_id: int, *, now: dt.datetime) -> list[tuple[int, str, str]]:
    """(delegation id, status, one line) for the mediator's open delegated cases, nearest deadline first."""
    rows = session.execute(
        select(Delegation).join(Case, Delegation.case_id == Case.id)
        .where(Case.mediator_id == mediator_id, Delegation.status.in_((DelegationStatus.OFFERED.value,
                                                                       DelegationStatus.ACCEPTED.value)))
        .order_by(Delegation.deadline, Delegation.id)
    ).scalars().all()
    out = []
    for d in rows:
        left = days_left(d, now)
        due = f"期限{d.deadline.month}月{d.deadline.day}日" + (f"（剩{left}天）" if left >= 0 else f"（已超期{-left}天）")
        out.append((d.id, d.status, f"{d.case.reference}｜{STATUS_LABELS[d.status]}｜{due}"))
    return out


def parties_text(delegation: Delegation) -> str:
    return "\n".join(f"{ROLE_LABELS[p.role]}：{p.name}  电话：{p.phone}" for p in delegation.parties)
