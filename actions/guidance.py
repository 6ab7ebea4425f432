"""Answers that need computing: the litigation fee estimate and judicial confirmation."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import user_text
from court import fees, guidance


class ActionLitigationCost(Action):
    def name(self) -> Text:
        return "action_litigation_cost"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        amount = fees.parse_amount(user_text(tracker))
        dispatcher.utter_message(text=fees.render_estimate(amount, tracker.get_slot("dispute_type")))
        return []


class ActionJudicialConfirmation(Action):
    def name(self) -> Text:
        return "action_judicial_confirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=guidance.render_judicial_confirmation())
        return []
