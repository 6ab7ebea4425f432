"""What the audit log holds about findings: admins' reviews, written there as a fixed
category, and the trail of entries behind a finding, rendered for the admin."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import ValidationError
from court.core.privacy import mask_text
from court.oversight.integrity.finding import REVIEW_CATEGORIES, Finding, Review
from court.oversight.integrity.readers import load_mediators, local_text, who
from court.records import journal
from court.reference import guidance, labels
from court.store.schema import Agreement, Appointment, AuditEntry, Case, ConfirmationRequest, Mediator, Outcome

REVIEW_ACTION = "integrity.review"
REVIEW_ENTITY = "integrity"


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
    "appointment.reassign": "改派调解员", "appointment.lapse": "调解员超时未确认", "appointment.reschedule": "改约", "appointment.cancel": "取消预约",
    "appointment.done": "调解结束", "appointment.no_show": "当事人未到",
    "outcome.record": "登记调解结果",
    "agreement.draft": "制作调解协议书", "agreement.revise": "修改调解协议书", "agreement.erase": "删除协议中的个人信息",
    "confirmation.file": "登记司法确认申请", "confirmation.confirmed": "法院裁定确认协议有效",
    "confirmation.rejected": "法院裁定驳回申请",
    "mediator.load": "导入调解员名册", "mediator.link": "绑定Telegram", "mediator.unlink": "解除Telegram绑定",
    "mediator.link_code_issued": "发放绑定码",
    REVIEW_ACTION: "廉政核查",
}
_FIELD_LABELS = {
    "status": "状态", "result": "结果", "mediator_id": "调解员", "service_point_id": "服务点", "starts_at": "开始",
    "ends_at": "结束", "revision": "版本", "jc_requested_at": "申请司法确认", "jc_filed_at": "司法确认立案",
    "case_id": "案件", "appointment_id": "预约", "dispute_type": "纠纷类型", "source": "来源", "resident_id": "居民",
    "telegram_chat_id": "Telegram", "is_demo": "演示数据", "category": "核查结论",
    "content_hash": "协议内容校验值", "effective_on": "协议生效日期", "court_id": "受理法院", "intermediate": "中级法院管辖",
    "agreement_id": "调解协议", "filed_on": "申请日期", "deadline": "申请截止日期", "decided_on": "法院决定日期",
}
_VALUE_LABELS = {
    "case": labels.CASE_STATUS,
    "appointment": labels.APPOINTMENT_STATUS,
    "mediator": labels.MEDIATOR_STATUS,
    "result": labels.OUTCOME_RESULT,
    "category": REVIEW_CATEGORIES,
    "confirmation": {"pending": "待法院审查", "confirmed": "确认有效", "rejected": "驳回申请"},
    "source": labels.CASE_SOURCE,
}
_CHANGE_LIMIT = 300


def _value(entity_type: str, field: str, value: Any) -> str:
    if value is None:
        return "空"
    if field == "status":
        return _VALUE_LABELS.get(entity_type, {}).get(value, str(value))
    if field == "result" and entity_type == "confirmation":
        return _VALUE_LABELS["confirmation"].get(value, str(value))
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
            return local_text(dt.datetime.fromisoformat(value))
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
        return who(mediators, int(rest))
    if kind == "desk":
        return f"工作台用户 {rest}"
    if kind == "bot":
        return "助手"
    if kind == "resident":
        return "居民本人"
    return mask_text(actor)


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


def _references(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(case_ids)
    if not wanted:
        return {}
    return dict(session.execute(select(Case.id, Case.reference).where(Case.id.in_(wanted))).all())


def trail(session: Session, finding: Finding) -> list[AuditLine]:
    """The audit entries behind a finding, oldest first: its cases with all their
    appointments and outcomes, the appointments and outcomes it names, its mediators."""
    appointment_ids, outcome_ids = set(finding.appointment_ids), set(finding.outcome_ids)
    if finding.case_ids:
        appointment_ids.update(session.execute(
            select(Appointment.id).where(Appointment.case_id.in_(finding.case_ids))).scalars())
        outcome_ids.update(session.execute(
            select(Outcome.id).where(Outcome.case_id.in_(finding.case_ids))).scalars())
    agreement_ids = set(session.execute(
        select(Agreement.id).where(Agreement.case_id.in_(finding.case_ids))).scalars()) if finding.case_ids else set()
    request_ids = set(session.execute(
        select(ConfirmationRequest.id).where(ConfirmationRequest.case_id.in_(finding.case_ids))).scalars()
    ) if finding.case_ids else set()
    about = [
        and_(AuditEntry.entity_type == "agreement", AuditEntry.entity_id.in_(agreement_ids)) if agreement_ids else None,
        and_(AuditEntry.entity_type == "confirmation", AuditEntry.entity_id.in_(request_ids)) if request_ids else None,
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
    mediators = load_mediators(session, actor_ids + [e.entity_id for e in entries if e.entity_type == "mediator"])
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
            entity = who(mediators, e.entity_id)
        elif e.entity_type == "agreement":
            entity = f"调解协议书#{e.entity_id}"
        elif e.entity_type == "confirmation":
            entity = f"司法确认申请#{e.entity_id}"
        else:
            entity = f"{e.entity_type}#{e.entity_id}"
        lines.append(AuditLine(
            id=e.id, at=e.at, actor=e.actor, actor_label=_actor_label(e.actor, mediators), action=e.action,
            action_label=_ACTION_LABELS.get(e.action, e.action), entity_label=entity,
            change=_change(e.entity_type, e.before, e.after),
        ))
    return lines
