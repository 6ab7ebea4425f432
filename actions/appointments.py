"""Existing appointments: look up by reference number plus phone, then check, cancel or move."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import call, court, error_message, now
from court.core.errors import CourtError
from court.core.validation import normalize_phone

_REFERENCE = re.compile(r"HH\d{6}-[0-9A-Z]{4}")


class ValidateLookupForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_lookup_form"

    async def validate_reference(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        found = _REFERENCE.search(str(value or "").upper().replace(" ", ""))
        if not found:
            dispatcher.utter_message(text="案件编号的格式是 HH 加6位数字、短横线和4位字母数字，例如 HH261129-7K3Q。")
            return {"reference": None}
        return {"reference": found.group(0)}

    async def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        try:
            return {"phone": normalize_phone(value)}
        except CourtError as exc:
            dispatcher.utter_message(text=exc.message)
            return {"phone": None}


class ActionAppointmentLookup(Action):
    def name(self) -> Text:
        return "action_appointment_lookup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        reference, phone = tracker.get_slot("reference"), tracker.get_slot("phone")
        purpose = tracker.get_slot("lookup_purpose") or "check"
        try:
            card = await call(court().find_appointment, reference, phone, conversation_id=tracker.sender_id,
                              now=now())
        except Exception as exc:  # noqa: BLE001
            dispatcher.utter_message(text=error_message(exc))
            return [SlotSet("reference", None), SlotSet("lookup_purpose", None)]
        if purpose != "check" and not card.active:
            dispatcher.utter_message(text=f"{card.render()}\n\n这个预约已经{card.status}，不能再取消或改约。")
            return [SlotSet("lookup_purpose", None)]
        dispatcher.utter_message(text=card.render(), json_message={"venue": {
            "latitude": card.lat, "longitude": card.lng, "title": card.point_name, "address": card.address}})
        if purpose == "cancel":
            dispatcher.utter_message(response="utter_ask_cancel_confirm")
        elif purpose == "reschedule":
            lat, lng, point_id = await call(court().point_location, reference, phone,
                                            conversation_id=tracker.sender_id, now=now())
            return [SlotSet("flow", "reschedule"), SlotSet("place_lat", lat), SlotSet("place_lng", lng),
                    SlotSet("preferred_time", None), SlotSet("when_start", None), SlotSet("excluded_points", [])]
        else:
            return [SlotSet("lookup_purpose", None)]
        return []


class ActionCancelAppointment(Action):
    def name(self) -> Text:
        return "action_cancel_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        try:
            card = await call(court().cancel, tracker.get_slot("reference"), tracker.get_slot("phone"),
                              conversation_id=tracker.sender_id, now=now())
        except Exception as exc:  # noqa: BLE001
            dispatcher.utter_message(text=error_message(exc))
            return [SlotSet("lookup_purpose", None)]
        dispatcher.utter_message(text=f"已取消案件 {card.reference} 的预约，调解员会收到通知。需要时可以重新预约。")
        return [SlotSet("lookup_purpose", None), SlotSet("reference", None)]
