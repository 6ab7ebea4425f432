"""What the mediator-side tests share: two Telegram chats, a meeting time, booking an
appointment, issuing and redeeming a link code, reading the audit log."""
import datetime as dt

from sqlalchemy import select

from court.booking import engine
from court.mediation import linking
from court.store.schema import AuditEntry
from tests.factories import NOW, TUESDAY, local, new_case, single_mediator_point

CHAT = 7_100_000_001
OTHER_CHAT = 7_100_000_002
START = local(TUESDAY, 9, 30)
AFTER = START + dt.timedelta(hours=1)


def audits(s, action, entity_id=None):
    query = select(AuditEntry).where(AuditEntry.action == action)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return s.execute(query.order_by(AuditEntry.id)).scalars().all()


def issue_code(db, mediator_code, **kwargs):
    with db.transaction() as s:
        return linking.issue_link_code(s, mediator_code, actor="clerk:test", now=kwargs.pop("now", NOW), **kwargs)


def redeem_code(db, code, chat_id, now=NOW):
    with db.transaction() as s:
        return linking.redeem_link_code(s, code, chat_id, now=now)


def book_appointment(s, start=START, sp=None, accept=False, dispute_type="neighbor"):
    sp = sp or single_mediator_point(s)
    appt = engine.book(s, new_case(s, dispute_type), point_id=sp.id, starts_at=start, actor="bot", now=NOW)
    if accept:
        engine.accept(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
    return appt
