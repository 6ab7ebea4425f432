"""Triage: name the dispute type, show its three-line guidance card, or ask when unsure."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import DISPUTE_PREFIX, call, court, last_typed_text, now, recent_typed_texts, user_text
from actions.handoff import hand_over
from court.reference import guidance, triage
from court.reference.safety import danger_signs, domestic_violence, violence_signs

SUMMARY_PREFILL = 200  # the first description becomes the case summary, trimmed
HAND_OVER_AFTER = 3  # misunderstandings in a row before an agent takes over
NOT_UNDERSTOOD = ("抱歉，我还是没看明白。请用一两句话说说遇到了什么事，例如“邻居家往我家漏水”“老板欠工资不给”。"
                  "需要人工帮忙请说“转人工”，或拨打12368诉讼服务热线；遇到危险请立即拨打110。")


class ActionTriage(Action):
    def name(self) -> Text:
        return "action_triage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = tracker.get_intent_of_latest_message() or ""
        dispute = intent[len(DISPUTE_PREFIX):] if intent.startswith(DISPUTE_PREFIX) else "other"
        text = user_text(tracker)
        # Violence in the family is a family matter whatever the model says, and safety comes first.
        violence = domestic_violence(text) or (dispute == "family" and violence_signs(text))
        if violence:
            dispute = "family"
        card = guidance.card(dispute)
        if danger_signs(text):
            dispatcher.utter_message(text=guidance.render_routing("emergency", text))
        dispatcher.utter_message(text=guidance.render_card(
            dispute, violence=violence, heading=f"听起来是【{card.label}】方面的纠纷。"))
        events: List[Dict[Text, Any]] = [SlotSet("dispute_type", dispute), SlotSet("misunderstood", 0),
                                         SlotSet("violence", violence)]
        described = last_typed_text(tracker)
        if described and not tracker.get_slot("summary"):
            events.append(SlotSet("summary", described[:SUMMARY_PREFILL]))
        return events


class ActionTriageClarify(Action):
    """Low confidence: offer the two likeliest kinds of matter, each with a line saying what it covers."""

    def name(self) -> Text:
        return "action_triage_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        ranking = [i.get("name") or "" for i in (tracker.latest_message or {}).get("intent_ranking") or []]
        options = triage.clarify_options(ranking)
        misunderstood = int(tracker.get_slot("misunderstood") or 0) + 1
        if danger_signs(user_text(tracker)):
            dispatcher.utter_message(text=guidance.render_routing("emergency", user_text(tracker)))
        if misunderstood >= HAND_OVER_AFTER:
            # Only a person trying to explain goes to the 12368 queue, and at most once a day:
            # emoji, noise and repeated junk would fill it and silence the sender.
            trying = triage.reads_as_trying(recent_typed_texts(tracker, HAND_OVER_AFTER))
            if trying and await call(court().auto_handoff_allowed, tracker.sender_id, now=now()):
                dispatcher.utter_message(text="抱歉，我几次都没听明白，请12368热线工作人员来帮您。")
                return [SlotSet("misunderstood", 0), *await hand_over(dispatcher, tracker, "misunderstood")]
            dispatcher.utter_message(text=NOT_UNDERSTOOD)
            return [SlotSet("misunderstood", 0)]
        if len(options) == triage.OPTIONS_WHEN_UNSURE:
            lines = [f"· {_title(n)}：{triage.hint(n)}" for n in options]
            buttons = [{"title": _title(n), "payload": f"/{n}"} for n in options]
            buttons.append({"title": "都不是", "payload": "/deny"})
            dispatcher.utter_message(text="我想确认一下，您说的更接近哪一种？\n" + "\n".join(lines), buttons=buttons)
            return [SlotSet("misunderstood", misunderstood)]
        dispatcher.utter_message(response="utter_default")
        return [SlotSet("misunderstood", misunderstood)]


def _title(label: str) -> str:
    if label.startswith(DISPUTE_PREFIX):
        return guidance.card(label[len(DISPUTE_PREFIX):]).label
    return triage.ROUTED_TITLES[label]


class ActionRouting(Action):
    """Emergencies, crimes and administrative matters: never people's mediation; stops any form."""

    def name(self) -> Text:
        return "action_routing"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        kind = tracker.get_intent_of_latest_message()
        if kind not in ("emergency", "criminal", "administrative"):
            kind = "emergency"
        dispatcher.utter_message(text=guidance.render_routing(kind, user_text(tracker)))
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
