"""Pushes that could not reach someone, for the hotline desk to follow up by phone.

The outbox writes them as court-recipient rows (court/messaging/outbox.py); here the desk
lists them with masked contacts, opens one with the full number (an audited
read), and marks it handled with a note.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from court.core.errors import NotFound, ValidationError
from court.core.privacy import mask_name, mask_phone
from court.core.validation import clean_text
from court.hotline import service_alerts
from court.hotline.accounts import DeskUser
from court.messaging import outbox
from court.records import journal
from court.store.schema import DelegationParty, Mediator, OutboxMessage, OutboxStatus, RecipientType, Resident

NOTE_LIMIT = 500
KIND_LABELS = {
    "recipient_blocked": "已屏蔽助手",
    "recipient_unreachable": "聊天已不存在（账号可能已注销）",
    "delivery_failed": "多次发送失败",
    service_alerts.TEMPLATE: "系统部件反复故障，已停止自动重启",
    "acceptance_overdue": "调解员超时未确认预约（已转给其他调解员或请居民另约）",
    "delegation_declined": "调解员拒绝委派案件，请在“委派调解”改派",
    "delegation_due_7": "委派调解7天内到期",
    "delegation_due_1": "委派调解明天到期",
    "delegation_overdue": "委派调解已超过期限",
    "delegation_returned": "委派调解不成，转立案",
    "party_unreached": "委派案件当事人短信未发出，请电话告知调解员和服务点",
    "request_overdue": "接诉即办诉求超过答复期限",
}
WHO_LABELS = {RecipientType.RESIDENT.value: "居民", RecipientType.MEDIATOR.value: "调解员",
              RecipientType.CHAT.value: "居民（未登记）"}
PUSH_LABELS = {
    "appointment_new": "新预约通知", "appointment_rescheduled": "改约通知", "appointment_cancelled": "取消通知",
    "appointment_moved_away": "改派通知", "appointment_accepted": "调解员确认通知",
    "appointment_reassigned": "更换调解员通知", "appointment_declined": "重新预约通知",
    "reminder_day_before": "前一天提醒", "reminder_two_hours": "两小时前提醒", "outcome_recorded": "调解结果通知",
    "agent_reply": "坐席回复", "agent_booked": "坐席代约通知", "handoff_returned": "交还助手通知",
    "handoff_closed": "人工服务结束通知", "transcript_erased": "聊天记录已清除通知",
    "delegation_party_sms": "委派调解告知短信", "delegation_offer": "委派案件通知",
    "delegation_deadline": "委派期限提醒",
}


@dataclass(frozen=True)
class Alert:
    alert_id: int
    kind: str
    who: str
    name: str  # masked in the list, whole in the detail
    phone: str  # likewise
    reference: Optional[str]
    push: str
    created_at: dt.datetime


def _contact(session: Session, recipient_type: Optional[str], recipient_id: Optional[int]) -> tuple[str, str]:
    model = {RecipientType.RESIDENT.value: Resident, RecipientType.MEDIATOR.value: Mediator}.get(recipient_type or "")
    row = session.get(model, recipient_id) if model is not None and recipient_id is not None else None
    if row is None:
        return "", ""
    return row.name or "", row.phone or ""


def _alert(session: Session, row: OutboxMessage, *, full: bool) -> Alert:
    p = row.payload or {}
    if row.template == service_alerts.TEMPLATE:  # no person behind it: what broke, and why
        return Alert(alert_id=row.id, kind=KIND_LABELS[row.template], who="系统",
                     name=service_alerts.label(str(p.get("component", ""))), phone="", reference=None,
                     push=str(p.get("reason", "")), created_at=row.created_at)
    if row.template == "request_overdue":  # an organisation, not a person: its name is no personal data
        return Alert(alert_id=row.id, kind=KIND_LABELS[row.template], who="合作单位", name=str(p.get("organisation", "")),
                     phone="", reference=f"诉求 #{p.get('request_id')}",
                     push=f"{p.get('days')}个工作日内未答复", created_at=row.created_at)
    name, phone = _contact(session, p.get("recipient_type"), p.get("recipient_id"))
    who = WHO_LABELS.get(p.get("recipient_type") or "", "未知")
    party = session.get(DelegationParty, p["party_id"]) if p.get("party_id") else None
    if party is not None:  # a delegated case's party, known only to the court
        name, phone, who = party.name, party.phone, "委派案件当事人"
    return Alert(
        alert_id=row.id, kind=KIND_LABELS.get(row.template, row.template), who=who,
        name=name if full else mask_name(name), phone=phone if full else mask_phone(phone),
        reference=p.get("reference"), push=PUSH_LABELS.get(p.get("template") or "", p.get("template") or ""),
        created_at=row.created_at,
    )


def pending(session: Session, *, limit: int = 100) -> list[Alert]:
    """Open alerts, oldest first; every agent sees these, so contacts are masked."""
    return [_alert(session, session.get(OutboxMessage, a.outbox_id), full=False)
            for a in outbox.court_alerts(session, limit=limit)]


def _row(session: Session, alert_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, alert_id)
    if row is None or row.recipient_type != RecipientType.COURT.value:
        raise NotFound()
    return row


def open_alert(session: Session, alert_id: int, user: DeskUser) -> tuple[Alert, bool]:
    """The alert with the whole name and number, for the call; the read is audited.

    Returns (alert, still open)."""
    row = _row(session, alert_id)
    journal.audit(session, actor=user.actor, action="alert.view", entity_type="outbox", entity_id=row.id)
    return _alert(session, row, full=True), row.status == OutboxStatus.PENDING.value


def resolve(session: Session, alert_id: int, user: DeskUser, *, note: str, now: dt.datetime) -> None:
    """Handled (called, informed, rebooked…): the note says how. Two agents at once: one wins."""
    row = _row(session, alert_id)
    text = clean_text(note, limit=NOTE_LIMIT, field="处理备注", fold_width=False)
    # The note stays on the (erasable) row, not in the append-only audit log: it may name people.
    won = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == alert_id, OutboxMessage.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=None,
                payload=dict(row.payload or {}) | {"resolution": text, "resolved_by": user.username})
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise ValidationError("这条提醒已经有人处理了。")
    journal.audit(session, at=now, actor=user.actor, action="alert.resolve", entity_type="outbox", entity_id=alert_id,
                  after={"chars": len(text)})


def open_count(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.recipient_type == RecipientType.COURT.value,
               OutboxMessage.status == OutboxStatus.PENDING.value)
    ).scalar_one()
