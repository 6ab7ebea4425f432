"""The welcome, and a caller continuing in chat what they started on the 12368 phone line."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import call, court, error_message, metadata, now
from court.reference import guidance


class ActionGreet(Action):
    """A deep link from the hotline desk carries a one-time token: greet by the
    intake, fill what the agent already took down, and go on to the booking form."""

    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        token = metadata(tracker).get("start_payload")
        if not token:
            dispatcher.utter_message(response="utter_welcome")
            return []
        try:
            start = await call(court().start_from_link, str(token), conversation_id=tracker.sender_id,
                               telegram_user_id=metadata(tracker).get("telegram_user_id"), now=now())
        except Exception as exc:  # noqa: BLE001 - an expired link still gets a normal welcome
            dispatcher.utter_message(text=error_message(exc))
            dispatcher.utter_message(response="utter_welcome")
            return []
        label = guidance.card(start.dispute_type).label
        if start.booked:  # the agent booked on the phone: show it, never a second booking form
            dispatcher.utter_message(text=(
                f"您好！12368热线已为您登记了【{label}】方面的纠纷，并已为您预约调解：\n{start.booked}\n"
                "需要改时间或取消，可以点“我的预约”，或说“改约”“取消预约”。"))
            return [SlotSet("dispute_type", start.dispute_type), SlotSet("phone", start.phone),
                    SlotSet("consent", True)]
        dispatcher.utter_message(text=(
            f"您好！12368热线已为您登记了【{label}】方面的纠纷（案件编号 {start.reference}）：{start.summary}\n"
            "接下来帮您预约离您最近的调解员，只需要再告诉我几项信息。"))
        events: List[EventType] = [SlotSet("dispute_type", start.dispute_type), SlotSet("summary", start.summary),
                                   SlotSet("phone", start.phone), SlotSet("consent", True)]
        if start.name:
            events.append(SlotSet("name", start.name))
        return events + [FollowupAction("booking_form")]
