"""Handing the conversation to a 12368 hotline agent."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import call, court, error_message, now
from court.core.timeutil import format_relative
from court.hotline import waiting


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[Dict[Text, Any]]:
    """Queue the conversation for a 12368 agent, tell the resident how long, and pause the bot."""
    try:
        ahead = await call(court().request_human, tracker.sender_id, reason=reason,
                           dispute_type=tracker.get_slot("dispute_type"))
    except Exception as exc:  # noqa: BLE001
        dispatcher.utter_message(text=error_message(exc))
        return []
    is_open, opening = await call(court().desk_hours, now())
    if is_open:
        queue = f"前面还有{ahead}位在等，" if ahead else ""
        text = f"已为您转接12368热线工作人员，{queue}工作人员会在这里直接回复您，请稍候。着急也可以直接拨打12368。"
    else:
        text = (f"现在是热线下班时间（工作日8:30—17:00有人工服务），下次上班是{format_relative(opening, now())}。"
                "您可以直接在这里留言，工作人员上班后会第一时间回复您；也可以拨打12368使用自助服务。")
    text += "\n不想等了，点“取消转人工”回到助手。遇到危险请立即拨打110。"
    dispatcher.utter_message(text=text, buttons=[waiting.LEAVE_BUTTON])
    return [ActiveLoop(None), SlotSet("requested_slot", None), ConversationPaused()]


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        return await hand_over(dispatcher, tracker, tracker.get_intent_of_latest_message() or "request_human")
