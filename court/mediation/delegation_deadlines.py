"""委派调解's deadline: its one extension (with a reason) and the alerts to the desk and the
mediator 7 days and 1 day before it and once it has passed.

Plain functions on the caller's session: audit entries and pushes are written in the same
transaction (court/records/journal.py). What every step shares is in court/mediation/delegation.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import ValidationError
from court.core.timeutil import to_local
from court.core.validation import NOTE_LIMIT, clean_text
from court.mediation.delegation import (
    ALERT_LEVELS,
    ALERT_TEMPLATES,
    OVERDUE,
    check_actor,
    days_left,
    desk_alert,
    get,
)
from court.records import journal
from court.store.schema import OPEN_DELEGATION_STATUSES, Delegation, RecipientType

MAX_EXTENSION_DAYS = 30
_OPEN = tuple(s.value for s in OPEN_DELEGATION_STATUSES)


def extend(session: Session, delegation_id: int, *, days: int, reason: str, actor: str,
           now: dt.datetime) -> Delegation:
    """Once per case, with a reason (e.g. 双方同意延长)."""
    check_actor(actor)
    if not str(reason or "").strip():
        raise ValidationError("请填写延期理由（例如：双方当事人同意延长）。")
    text = clean_text(reason, limit=NOTE_LIMIT, field="延期理由", fold_width=False)
    if not 1 <= int(days) <= MAX_EXTENSION_DAYS:
        raise ValidationError(f"延长天数为1到{MAX_EXTENSION_DAYS}天。")
    delegation = get(session, delegation_id, lock=True)
    if delegation.status not in _OPEN:
        raise ValidationError("案件已办结，不能延期。")
    if delegation.original_deadline is not None:
        raise ValidationError("委派期限只能延长一次，这个案件已经延长过了。")
    before = journal.snapshot("delegation", delegation)
    delegation.original_deadline = delegation.deadline
    # From the old last day, or from today when it already passed.
    start = max(delegation.deadline, to_local(now).date())
    delegation.deadline = start + dt.timedelta(days=int(days))
    delegation.extension_reason, delegation.extended_at = text, now
    delegation.alert_level = None  # the new deadline earns its own warnings
    session.flush()
    journal.audit(session, at=now, actor=actor, action="delegation.extend", entity_type="delegation",
                  entity_id=delegation.id, before=before, after=journal.snapshot("delegation", delegation))
    if delegation.case.mediator_id is not None:
        journal.enqueue(session, key=f"deleg:{delegation.id}:extended", recipient_type=RecipientType.MEDIATOR,
                        recipient_id=delegation.case.mediator_id, template="delegation_extended", due_at=now,
                        payload={"reference": delegation.case.reference, "deadline": delegation.deadline.isoformat(),
                                 "reason": text})
    return delegation


def level_for(left: int) -> Optional[str]:
    if left < 0:
        return OVERDUE
    for level, days in reversed(ALERT_LEVELS):
        if left <= days:
            return level
    return None


_RANK = {None: 0, "d7": 1, "d1": 2, OVERDUE: 3}


def raise_deadline_alerts(session: Session, *, now: dt.datetime) -> int:
    """Open delegated cases whose deadline is 7 days or 1 day away, or passed: a desk alert and a push
    to the mediator, once per level and deadline (a clock that jumps raises only the latest level)."""
    today = to_local(now).date()
    horizon = today + dt.timedelta(days=ALERT_LEVELS[0][1])
    ids = session.execute(
        select(Delegation.id).where(Delegation.status.in_(_OPEN), Delegation.deadline <= horizon)
        .order_by(Delegation.id)
    ).scalars().all()
    raised = 0
    for delegation_id in ids:
        delegation = get(session, delegation_id, lock=True)
        left = days_left(delegation, now)
        level = level_for(left)
        if level is None or delegation.status not in _OPEN or _RANK[level] <= _RANK[delegation.alert_level]:
            continue
        before = journal.snapshot("delegation", delegation)
        delegation.alert_level = level
        session.flush()
        journal.audit(session, at=now, actor="court:deadline", action="delegation.deadline_alert",
                      entity_type="delegation", entity_id=delegation.id, before=before,
                      after=journal.snapshot("delegation", delegation))
        mediator_id = delegation.case.mediator_id
        stamp = f"{level}:{delegation.deadline.isoformat()}"
        desk_alert(session, delegation, ALERT_TEMPLATES[level], stamp, mediator_id=mediator_id, now=now,
                   deadline=delegation.deadline.isoformat(), days_left=left)
        if mediator_id is not None:
            journal.enqueue(session, key=f"deleg:{delegation.id}:deadline:{stamp}",
                            recipient_type=RecipientType.MEDIATOR, recipient_id=mediator_id,
                            template="delegation_deadline", due_at=now,
                            payload={"reference": delegation.case.reference, "level": level, "days_left": left,
                                     "deadline": delegation.deadline.isoformat()})
        raised += 1
    return raised
