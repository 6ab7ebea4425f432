"""What a resident's message means while the conversation waits for (or is with) a 12368 agent.

Rasa answers nothing while a conversation is paused, so the court's channel
decides here, for every channel alike: danger always brings the emergency advice,
the resident can always leave the queue or start again, and one short
acknowledgement (not one per message) says their words are kept for the agent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from court.reference import guidance, safety

# The front ends' own payloads: /start, /cancel, and the buttons of the waiting messages.
LEAVE_PAYLOAD = "/cancel_handoff"
BOOK_PAYLOAD = "/book_mediation"
KEEP_PAYLOAD = "/keep_waiting"
# Only meaningful while waiting; pressed later, they get NOT_WAITING.
WAITING_PAYLOADS = frozenset({LEAVE_PAYLOAD, KEEP_PAYLOAD})
# Leave the queue, then let the assistant answer them as usual.
RESTART_PAYLOADS = frozenset({"/greet", "/stop", BOOK_PAYLOAD})
_LEAVE_WORDS = re.compile(
    r"(取消(转)?人工|不(用|要|转|需要)(转)?人工了?|不等了|不想等了|别等了|退出排队|取消排队|回到助手|继续用助手|"
    r"还是用助手|我自己来|算了吧?不等)")

LEFT = "好的，已为您取消转人工，助手继续为您服务。可以说“预约调解”“查询预约”，需要时再说“转人工”。"
KEEP = "好的，您的对话仍在排队，留言都会保存，工作人员接手后会在这里回复您。不想等了随时说“取消转人工”。"
NOT_WAITING = "您现在没有在排队，助手正在为您服务。可以直接说说您遇到的事。"
LEAVE_BUTTON = {"title": "取消转人工", "payload": LEAVE_PAYLOAD}
CONTINUE_BUTTONS = [{"title": "继续用助手", "payload": LEAVE_PAYLOAD}, {"title": "预约调解", "payload": BOOK_PAYLOAD}]


@dataclass(frozen=True)
class WhilePaused:
    """``leave``: close the handoff and resume the assistant; ``rerun``: then let it answer the message."""

    leave: bool = False
    rerun: bool = False
    emergency: Optional[str] = None  # the advice, when the message reads as danger now
    say: Optional[str] = None  # a direct answer (the resident chose to keep waiting)


def wants_to_leave(text: str) -> bool:
    return text == LEAVE_PAYLOAD or bool(_LEAVE_WORDS.search(text or ""))


def decide(text: str) -> WhilePaused:
    text = (text or "").strip()
    if text in RESTART_PAYLOADS:
        return WhilePaused(leave=True, rerun=True)
    if wants_to_leave(text):
        return WhilePaused(leave=True)
    if text == KEEP_PAYLOAD:
        return WhilePaused(say=KEEP)
    if not text.startswith("/") and safety.danger_signs(text):
        return WhilePaused(emergency=guidance.render_routing("emergency", text))
    return WhilePaused()


def acknowledgement(status: Optional[str], *, desk_open: bool, next_opening: str) -> str:
    """The one answer to what a resident writes while waiting."""
    if status == "taken":
        kept = "您的留言已转给正在处理的12368热线工作人员，请稍候，他们会在这里回复您。"
    elif desk_open:
        kept = "您的留言已记下，12368热线工作人员接手后会先看到，并在这里回复您。之后的留言也都会保存，不再逐条回复。"
    else:
        kept = (f"您的留言已记下。现在是热线下班时间，工作人员{next_opening}上班后会先看到，并在这里回复您。"
                "之后的留言也都会保存，不再逐条回复。")
    return kept + "\n不想等了可以点“取消转人工”，回到助手或重新开始。遇到危险请立即拨打110。"
