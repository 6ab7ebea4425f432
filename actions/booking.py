"""Booking a mediator: the booking form, slot proposals, confirmation, corrections."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import call, court, dispute_from_ranking, error_message, metadata, now, user_text
from court.booking import datetext
from court.core.errors import AlreadyBooked, CourtError, NotMediable, PlaceAmbiguous
from court.core.privacy import mask_name, mask_phone
from court.core.validation import clean_text, normalize_phone, validate_name
from court.reference import guidance, triage

# Slots a finished or abandoned booking leaves behind for the next one.
BOOKING_SLOTS = ("summary", "preferred_time", "when_start", "slot_token", "excluded_points", "flow",
                 "proposed_point",
                 "dispute_type", "place", "place_code", "place_lat", "place_lng")
SPECIAL_AREA_NOTE = "（农场、林场地区的纠纷可能由专门法院管辖，调解员会帮您确认。）"
# Intents that interrupt a form: their text is never a slot value (see domain.yml not_intent).
DIGRESSIONS = frozenset({"emergency", "criminal", "administrative", "request_human", "frustration", "stop",
                         "correct_value", "faq", "ask_litigation_cost", "ask_judicial_confirmation", "privacy",
                         "bot_challenge", "choose_slot", "change_time", "change_point", "show_details"})
FALLBACK_NOTE = "（该乡镇暂无准确坐标，按县城位置为您推荐服务点。）"


ROUTED_NO_BOOKING = ("这件事不属于人民调解的范围，本服务无法为您预约调解员。需要帮助请拨打12368诉讼服务热线。"
                     "如果您还有另一件民事纠纷（邻里、欠款、工资等），请直接说说那件事，我再帮您预约。")


def not_mediable(tracker: Tracker) -> Optional[tuple[str, str]]:
    """(kind, what the resident said) when this booking is for a matter mediation cannot take: the
    conversation was last routed away (no civil matter described since), or the summary reads as
    criminal or administrative."""
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") != "action":
            continue
        if event.get("name") in ("action_triage", "action_book_appointment"):
            break  # a civil matter was described (or booked) since
        if event.get("name") == "action_routing":
            said: Dict[str, Any] = next((e for e in reversed(events[:index]) if e.get("event") == "user"), {})
            kind = ((said.get("parse_data") or {}).get("intent") or {}).get("name")
            return (kind if kind in triage.ROUTED_AWAY else "emergency"), said.get("text") or ""
    summary = tracker.get_slot("summary") or ""
    kind = triage.not_mediable(summary)
    return (kind, summary) if kind else None


def distance_text(km: float) -> str:
    """"约0公里" reads as a glitch: under half a kilometre is 就在附近."""
    return "就在附近" if km < 0.5 else f"约{km:g}公里"


def clear(*slots: str) -> List[EventType]:
    return [SlotSet(s, None) for s in slots]


def validate_when(value: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """Shared by the booking form and the reschedule time form."""
    if not value:  # cleared by an action, not typed: ask again without a complaint
        return {"preferred_time": None, "when_start": None}
    try:
        when = datetext.parse_when(clean_text(value, limit=60, field="时间"), now())
    except CourtError as exc:
        dispatcher.utter_message(text=exc.message)
        return {"preferred_time": None, "when_start": None}
    return {"preferred_time": str(value), "when_start": when.start.isoformat()}


class ValidateBookingForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        # A resident who declined consent is asked nothing personal; a matter mediation cannot take
        # is asked nothing at all (action_propose_slots says why).
        if tracker.get_slot("consent") is False or not_mediable(tracker) is not None:
            return []
        return domain_slots

    async def validate_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        if value is not True:
            dispatcher.utter_message(response="utter_consent_refused")
            return {"consent": False}
        try:
            await call(court().record_consent, tracker.sender_id, metadata(tracker).get("telegram_user_id"))
        except Exception as exc:  # noqa: BLE001 - the resident hears why, the log keeps the trace
            dispatcher.utter_message(text=error_message(exc))
            return {"consent": None}
        return {"consent": True}

    async def validate_summary(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        try:
            summary = clean_text(value, field="纠纷简述", fold_width=False)  # read by mediators as typed
        except CourtError as exc:
            dispatcher.utter_message(text=exc.message)
            return {"summary": None}
        result: Dict[Text, Any] = {"summary": summary}
        if not tracker.get_slot("dispute_type"):
            result["dispute_type"] = dispute_from_ranking(tracker) or "other"
        return result

    async def validate_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "").strip()
        for lead in ("我叫", "俺叫", "我是", "俺是", "姓名", "名字"):
            text = text.removeprefix(lead)
        try:
            return {"name": validate_name(text.strip("：: "))}
        except CourtError as exc:
            dispatcher.utter_message(text=exc.message)
            return {"name": None}

    async def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        shared = metadata(tracker).get("contact_phone")  # a Telegram contact share
        try:
            return {"phone": normalize_phone(shared or value)}
        except CourtError as exc:
            dispatcher.utter_message(text=exc.message)
            return {"phone": None}

    async def extract_place(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "place" or tracker.get_intent_of_latest_message() in DIGRESSIONS:
            return {}
        location = metadata(tracker).get("location")
        if isinstance(location, dict):
            return {"place": f"geo:{location.get('latitude')},{location.get('longitude')}"}
        for entity in (tracker.latest_message or {}).get("entities") or []:
            if entity.get("entity") == "place_code":
                return {"place": f"code:{entity.get('value')}"}
        text = user_text(tracker)
        return {"place": text} if text and not text.startswith("/") else {}

    async def validate_place(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "")
        empty = {"place": None, "place_code": None, "place_lat": None, "place_lng": None}
        try:
            if text.startswith("geo:"):
                # Also typed text ("geo:50"): never trust the shape, check_location rejects what is not two numbers.
                lat_text, _, lng_text = text[4:].partition(",")
                lat, lng = court().check_location(lat_text, lng_text)
                return {"place": "您发送的位置", "place_code": None, "place_lat": lat, "place_lng": lng}
            ref = (court().place_by_code(text[5:]) if text.startswith("code:")
                   else await call(court().resolve_place, clean_text(text, limit=60, field="地点")))
        except PlaceAmbiguous as exc:
            dispatcher.utter_message(text=exc.message, buttons=[
                {"title": c.display_name, "payload": f'/choose_place{{"place_code":"{c.code}"}}'}
                for c in exc.candidates[:8]
            ])
            return empty
        except Exception as exc:  # noqa: BLE001 - the resident hears why (or the hotline); never a 500 with every slot
            dispatcher.utter_message(text=error_message(exc))
            return empty
        notes = (SPECIAL_AREA_NOTE if ref.special_area else "") + (FALLBACK_NOTE if ref.coord_fallback else "")
        if notes:
            dispatcher.utter_message(text=f"好的，{ref.display_name}。{notes}")
        return {"place": ref.display_name, "place_code": ref.code, "place_lat": ref.lat, "place_lng": ref.lng}

    async def validate_preferred_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        return validate_when(value, dispatcher)


class ValidateTimeForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_time_form"

    async def validate_preferred_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        return validate_when(value, dispatcher)


def _after(tracker: Tracker) -> Optional[dt.datetime]:
    start = tracker.get_slot("when_start")
    return dt.datetime.fromisoformat(start) if start else None


class ActionProposeSlots(Action):
    """The nearest point's earliest free times (and one at the next point) as buttons."""

    def name(self) -> Text:
        return "action_propose_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        return await propose_slots(dispatcher, tracker)


async def propose_slots(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """The offer itself; also said in place when a chosen time was taken meanwhile (a FollowupAction
    there would leave the dialogue policy guessing what comes after it)."""
    routed = not_mediable(tracker) if tracker.get_slot("flow") != "reschedule" else None
    if routed is not None:
        kind, text = routed
        dispatcher.utter_message(text=(f"{guidance.render_routing(kind, text)}\n\n{ROUTED_NO_BOOKING}"))
        return clear(*BOOKING_SLOTS)
    if tracker.get_slot("flow") != "reschedule" and tracker.get_slot("consent") is not True:
        return [SlotSet("consent", None)]  # refused: ask again next time they want to book
    lat, lng = tracker.get_slot("place_lat"), tracker.get_slot("place_lng")
    if lat is None or lng is None:
        dispatcher.utter_message(response="utter_ask_place")
        return [SlotSet("place", None), FollowupAction("booking_form")]
    extra = [{"title": "换个时间", "payload": "/change_time"}, {"title": "换个服务点", "payload": "/change_point"},
             {"title": "转人工", "payload": "/request_human"}]
    try:
        offers = await call(court().offer_slots, lat=lat, lng=lng, dispute_type=tracker.get_slot("dispute_type"),
                            after=_after(tracker), exclude=[int(x) for x in tracker.get_slot("excluded_points") or []],
                            now=now())
    except CourtError as exc:  # e.g. a date in a year whose holidays the court has not published
        dispatcher.utter_message(text=exc.message, buttons=[extra[0], extra[2]])
        return []
    except Exception as exc:  # noqa: BLE001
        dispatcher.utter_message(text=error_message(exc))
        return []
    if not offers:
        dispatcher.utter_message(text="这段时间附近的服务点都约满了。可以换个日期，或请12368热线工作人员帮您安排。",
                                 buttons=[extra[0], extra[2]])
        return []
    first = offers[0]
    dispatcher.utter_message(
        text=(f"离您最近的是{first.point_name}（{distance_text(first.distance_km)}，{first.address}）。"
              "请选一个时间："),
        buttons=[{"title": o.label, "payload": f'/choose_slot{{"slot_token":"{o.token}"}}'} for o in offers] + extra,
    )
    return [SlotSet("proposed_point", first.token.split(".")[1])]


class ActionConfirmSlot(Action):
    def name(self) -> Text:
        return "action_confirm_slot"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        try:
            offer = await call(court().describe_slot, tracker.get_slot("slot_token"), now=now())
        except Exception as exc:  # noqa: BLE001 - taken meanwhile: say so and offer again, in this turn
            dispatcher.utter_message(text=error_message(exc))
            return [SlotSet("slot_token", None)] + await propose_slots(dispatcher, tracker)
        who = ""
        if tracker.get_slot("flow") != "reschedule":
            who = f"\n预约人：{mask_name(tracker.get_slot('name'))}  电话：{mask_phone(tracker.get_slot('phone'))}"
        dispatcher.utter_message(
            text=f"请确认：\n时间：{offer.time}\n地点：{offer.point_name}（{offer.address}）\n调解员：{offer.mediator}{who}",
            buttons=[{"title": "确认", "payload": "/affirm"}, {"title": "重新选", "payload": "/deny"}],
        )
        return []


class ActionBookAppointment(Action):
    def name(self) -> Text:
        return "action_book_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        token = tracker.get_slot("slot_token")
        rescheduling = tracker.get_slot("flow") == "reschedule"
        try:
            if rescheduling:
                card = await call(court().reschedule, tracker.get_slot("reference"), tracker.get_slot("phone"), token,
                                  conversation_id=tracker.sender_id, now=now())
            else:
                card = await call(court().book, conversation_id=tracker.sender_id, name=tracker.get_slot("name"),
                                  phone=tracker.get_slot("phone"), dispute_type=tracker.get_slot("dispute_type") or "other",
                                  summary=tracker.get_slot("summary") or "（未填写）", token=token,
                                  place_code=tracker.get_slot("place_code"), now=now())
        except (AlreadyBooked, NotMediable) as exc:  # nothing to choose again: say why and stop
            dispatcher.utter_message(text=exc.message)
            return clear(*BOOKING_SLOTS)
        except Exception as exc:  # noqa: BLE001 - e.g. taken meanwhile: say so and offer again, in this turn
            dispatcher.utter_message(text=error_message(exc))
            return [SlotSet("slot_token", None)] + await propose_slots(dispatcher, tracker)
        head = "改约成功！" if rescheduling else "预约成功！"
        dispatcher.utter_message(
            text=(f"{head}\n{card.render()}\n\n调解员确认后会通知您；开始前一天和前两小时会提醒您。"
                  "请带上身份证和相关材料。查询、改约、取消请报案件编号。"),
            json_message={"venue": {"latitude": card.lat, "longitude": card.lng, "title": card.point_name,
                                    "address": card.address},
                          "appointment": {"reference": card.reference, "time": card.time}},
        )
        return clear(*BOOKING_SLOTS, "reference", "lookup_purpose", "appointment_id")


class ActionChangeTime(Action):
    def name(self) -> Text:
        return "action_change_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        form = "time_form" if tracker.get_slot("flow") == "reschedule" else "booking_form"
        return clear("preferred_time", "when_start", "slot_token") + [FollowupAction(form)]


class ActionChangePoint(Action):
    def name(self) -> Text:
        return "action_change_point"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        excluded = list(tracker.get_slot("excluded_points") or [])
        shown = tracker.get_slot("proposed_point")
        if shown and shown not in excluded:
            excluded.append(shown)
        return [SlotSet("excluded_points", excluded), SlotSet("slot_token", None),
                FollowupAction("action_propose_slots")]


class ActionCorrectValue(Action):
    """“电话写错了”: clear the value named (or the last one given) so the form asks again."""

    KEYWORDS = (("phone", ("电话", "手机", "号码", "号")), ("name", ("名字", "姓名", "名", "叫")),
                ("place", ("地址", "地点", "位置", "地方", "乡", "镇", "村", "街道", "社区")),
                ("preferred_time", ("时间", "日期", "哪天", "几点", "点钟", "上午", "下午")))
    LABELS = {"phone": "手机号", "name": "姓名", "place": "地点", "preferred_time": "时间"}

    def name(self) -> Text:
        return "action_correct_value"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        text = user_text(tracker)
        target = next((slot for slot, words in self.KEYWORDS if any(w in text for w in words)), None)
        if target is None:
            filled = [s for s in ("preferred_time", "place", "phone", "name") if tracker.get_slot(s)]
            target = filled[0] if filled else "name"
        dispatcher.utter_message(text=f"好的，我们重新填一下{self.LABELS[target]}。")
        events = clear(target)
        if target == "place":
            events += clear("place_code", "place_lat", "place_lng")
        if target == "preferred_time":
            events += clear("when_start")
        return events


class ActionStopForm(Action):
    def name(self) -> Text:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_form_stopped")
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + clear(*BOOKING_SLOTS, "consent", "name", "phone",
                                                                           "reference", "lookup_purpose")
