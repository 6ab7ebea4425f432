"""A part of the stack that keeps failing, for the hotline desk: the supervisor gave up
restarting it, so residents get apologies until someone on duty acts."""
from __future__ import annotations

from sqlalchemy.orm import Session

from court.core import clock
from court.records import journal
from court.store.schema import RecipientType

TEMPLATE = "service_down"
COMPONENT_LABELS = {
    "actions": "业务动作服务", "rasa": "对话助手", "desk": "热线工作台", "webchat": "网页聊天",
    "bot": "Telegram 机器人", "housekeeping": "后台清理任务",
}


def label(component: str) -> str:
    return COMPONENT_LABELS.get(component.split("-")[0], component)


def service_down(session: Session, component: str, reason: str, restarts: int) -> None:
    """One alert per component per minute (a flapping launcher must not flood the desk)."""
    now = clock.now()
    journal.enqueue(session, key=f"{TEMPLATE}:{component}:{now:%Y%m%d%H%M}", recipient_type=RecipientType.COURT,
                    recipient_id=None, template=TEMPLATE,
                    payload={"component": component, "reason": reason[:200], "restarts": restarts})
