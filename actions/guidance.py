"""Answers that need computing: the litigation fee estimate, the rules behind a
guidance card, and judicial confirmation."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import is_payload, last_typed_text, user_text
from court.reference import fees, guidance

FEE_KIND_ENTITY = "fee_kind"


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


class ActionLitigationCost(Action):
    """Priced by the kind of case the question describes; asks with buttons when it cannot tell."""

    def name(self) -> Text:
        return "action_litigation_cost"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        typed = user_text(tracker)
        # A kind button carries no amount: the question is the last thing the resident typed.
        question = last_typed_text(tracker) if is_payload(typed) else typed
        reply = fees.answer(question, tracker.get_slot("dispute_type"), kind=_entity(tracker, FEE_KIND_ENTITY))
        buttons = [{"title": title, "payload": "/ask_litigation_cost" + json.dumps({FEE_KIND_ENTITY: kind})}
                   for title, kind in reply.buttons]
        dispatcher.utter_message(text=reply.text, buttons=buttons or None)
        return []


class ActionShowDetails(Action):
    """The rules and articles behind the card the resident was just shown ("看详细规定")."""

    def name(self) -> Text:
        return "action_show_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispute = tracker.get_slot("dispute_type")
        if dispute not in guidance.DISPUTE_TYPES:
            dispatcher.utter_message(text="请先说说您遇到了什么纠纷，我再把相关的法律规定发给您。")
            return []
        violence = bool(tracker.get_slot("violence"))
        dispatcher.utter_message(text=guidance.render_details(dispute, violence=violence))
        return []


class ActionJudicialConfirmation(Action):
    def name(self) -> Text:
        return "action_judicial_confirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=guidance.render_judicial_confirmation())
        return []
