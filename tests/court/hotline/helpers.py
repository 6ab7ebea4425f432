"""What the hotline's tests share: a desk account, a resident's handoff, the audit entries and pushes."""
from __future__ import annotations

from sqlalchemy import select

from court.hotline import accounts, handoffs
from court.records import residents
from court.store.schema import AuditEntry, OutboxMessage
from tests.factories import NOW

PASSWORD = "correct horse 12368"
PHONE = "13945612378"
RACERS = 20


def new_user(db, username: str, role: str = "agent", name: str = "李敏") -> accounts.DeskUser:
    with db.transaction() as s:
        return accounts.create_user(s, username, PASSWORD, role=role, display_name=name, actor="test", now=NOW)


def new_handoff(db, conversation_id: str = "tg-501", *, dispute_type: str | None = "neighbor",
                phone: str | None = PHONE) -> int:
    with db.transaction() as s:
        if phone is not None:
            resident = residents.record_consent(s, conversation_id=conversation_id)
            residents.set_contact(s, resident, name="张三", phone=phone)
        handoff, _ = handoffs.request(s, conversation_id, reason="request_human", dispute_type=dispute_type)
        return handoff.id


def audits(s, action: str) -> list[AuditEntry]:
    return s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars().all()


def pushes(s, template: str) -> list[OutboxMessage]:
    return s.execute(select(OutboxMessage).where(OutboxMessage.template == template)
                     .order_by(OutboxMessage.id)).scalars().all()
