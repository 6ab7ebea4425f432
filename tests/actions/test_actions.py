"""The custom actions against a real court database (SQLite and PostgreSQL).

Actions are called the way the action server calls them: with a tracker built
from the events Rasa would send, and a dispatcher that collects messages.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

import actions.common
from actions.appointments import ActionAppointmentLookup, ActionCancelAppointment, ValidateLookupForm
from actions.booking import (
    ActionBookAppointment,
    ActionConfirmSlot,
    ActionCorrectValue,
    ActionProposeSlots,
    ValidateBookingForm,
)
from actions.guidance import ActionLitigationCost, ActionShowDetails
from actions.handoff import ActionRequestHuman
from actions.triage import ActionRouting, ActionTriage, ActionTriageClarify
from court.store.schema import Appointment, Case, Handoff, Resident
from tests.factories import NOW

DOMAIN: dict[str, Any] = {"slots": {}, "forms": {"booking_form": {"required_slots": [
    "consent", "summary", "name", "phone", "place", "preferred_time"]}}}


@pytest.fixture(autouse=True)
def court_db(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("COURT_FAKE_NOW", NOW.isoformat())
    actions.common.court.cache_clear()
    yield db
    actions.common.court.cache_clear()


def tracker(*, slots: dict | None = None, text: str = "", intent: str = "inform", ranking: list | None = None,
            entities: list | None = None, metadata: dict | None = None, requested: str | None = None,
            sender: str | None = None, events: list | None = None) -> Tracker:
    slots = dict(slots or {})
    if requested:
        slots["requested_slot"] = requested
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
              "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}], "metadata": metadata or {}}
    user_event = {"event": "user", "text": text, "parse_data": latest}
    return Tracker(sender or f"tg-{uuid.uuid4().hex[:8]}", slots, latest, (events or []) + [user_event], False,
                   None, {"name": "booking_form"} if requested else {}, "action_listen")


def run(action, t: Tracker, domain: dict | None = None) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, domain or DOMAIN))
    return dispatcher.messages, events


def slot_events(events: list[dict]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_triage_names_the_type_and_keeps_the_description():
    messages, events = run(ActionTriage(), tracker(text="俺家楼上天天漏水咋整", intent="dispute_neighbor"))
    assert "邻里" in messages[0]["text"] and "人民调解" in messages[0]["text"]
    assert slot_events(events)["dispute_type"] == "neighbor"
    assert slot_events(events)["summary"] == "俺家楼上天天漏水咋整"


def test_unsure_triage_offers_the_top_two_and_none():
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "dispute_labor", "confidence": 0.41},
               {"name": "dispute_contract", "confidence": 0.38}]
    messages, _ = run(ActionTriageClarify(), tracker(text="干活的钱没给", intent="nlu_fallback", ranking=ranking))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/dispute_labor", "/dispute_contract", "/deny"]
    assert messages[0]["buttons"][-1]["title"] == "都不是"
    # Each option says in one line what it covers.
    assert "劳动争议、欠薪、工伤：工资、辞退" in messages[0]["text"] and "其他合同纠纷：" in messages[0]["text"]


def test_unsure_between_a_dispute_and_a_crime_offers_both():
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "dispute_injury", "confidence": 0.41},
               {"name": "greet", "confidence": 0.1}, {"name": "criminal", "confidence": 0.38}]
    messages, _ = run(ActionTriageClarify(), tracker(text="被打了", intent="nlu_fallback", ranking=ranking))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/dispute_injury", "/criminal", "/deny"]
    assert "刑事案件：犯罪和刑罚" in messages[0]["text"]


def test_a_third_misunderstanding_in_a_row_hands_over_to_an_agent(court_db):
    sender = "tg-puzzled-1"
    ranking = [{"name": "nlu_fallback", "confidence": 0.7}, {"name": "greet", "confidence": 0.2}]
    messages, events = run(ActionTriageClarify(), tracker(text="就那个事儿", intent="nlu_fallback", ranking=ranking,
                                                          slots={"misunderstood": 1}, sender=sender))
    assert slot_events(events) == {"misunderstood": 2} and messages[0]["response"] == "utter_default"
    with court_db.reader() as s:
        assert s.execute(select(Handoff).where(Handoff.conversation_id == sender)).first() is None
    before = [{"event": "user", "text": t} for t in ("那个事儿你知道吧", "就那个事儿")]
    messages, events = run(ActionTriageClarify(), tracker(text="哎呀就是那个嘛", intent="nlu_fallback", events=before,
                                                          ranking=ranking, slots={"misunderstood": 2}, sender=sender))
    assert "没听明白" in messages[0]["text"] and "12368" in messages[1]["text"]
    assert {"event": "pause"} in [{"event": e["event"]} for e in events]
    assert slot_events(events)["misunderstood"] == 0
    with court_db.reader() as s:
        handoff = s.execute(select(Handoff).where(Handoff.conversation_id == sender)).scalar_one()
        assert (handoff.reason, handoff.status) == ("misunderstood", "waiting")


def test_noise_is_never_handed_to_the_queue_and_a_person_at_most_once_a_day(court_db):
    ranking = [{"name": "nlu_fallback", "confidence": 0.7}, {"name": "greet", "confidence": 0.2}]
    for junk in (["😡😡", "？？？", "😡😡"], ["asdfgh", "qwerty", "zxcvb"], ["啊啊啊啊", "啊啊啊啊", "啊啊啊啊"]):
        sender = f"tg-noise-{uuid.uuid4().hex[:6]}"
        before = [{"event": "user", "text": t} for t in junk[:2]]
        messages, events = run(ActionTriageClarify(), tracker(text=junk[2], intent="nlu_fallback", events=before,
                                                              ranking=ranking, slots={"misunderstood": 2},
                                                              sender=sender))
        assert "pause" not in [e["event"] for e in events] and slot_events(events)["misunderstood"] == 0
        assert "转人工" in messages[0]["text"] and "110" in messages[0]["text"]
        with court_db.reader() as s:
            assert s.execute(select(Handoff).where(Handoff.conversation_id == sender)).first() is None
    # A person trying: handed over once; again the same day only when they ask.
    sender = "tg-trying-twice"
    before = [{"event": "user", "text": t} for t in ("我家那个事说不清", "就是房子那个事情")]
    first = run(ActionTriageClarify(), tracker(text="你们到底管不管这个事", intent="nlu_fallback", events=before,
                                               ranking=ranking, slots={"misunderstood": 2}, sender=sender))[1]
    assert "pause" in [e["event"] for e in first]
    with court_db.transaction() as s:
        s.execute(select(Handoff).where(Handoff.conversation_id == sender)).scalar_one().status = "returned"
    again = run(ActionTriageClarify(), tracker(text="你们到底管不管这个事", intent="nlu_fallback", events=before,
                                               ranking=ranking, slots={"misunderstood": 2}, sender=sender))[1]
    assert "pause" not in [e["event"] for e in again]
    with court_db.reader() as s:
        assert len(s.execute(select(Handoff).where(Handoff.conversation_id == sender)).all()) == 1


def test_emergency_routing_stops_forms_and_never_offers_mediation():
    messages, events = run(ActionRouting(), tracker(text="他拿刀要砍我", intent="emergency", requested="phone"))
    assert "110" in messages[0]["text"] and "调解" not in messages[0]["text"].split("110")[0]
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]


def test_fee_estimate_reads_the_amount():
    messages, _ = run(ActionLitigationCost(), tracker(text="标的十万打官司要多少钱", intent="ask_litigation_cost"))
    assert "2300" in messages[0]["text"].replace(",", "")


def test_a_fee_question_is_priced_by_the_case_it_describes_not_the_slot():
    messages, _ = run(ActionLitigationCost(), tracker(
        text="欠我工钱32000元，仲裁完了还得起诉，这回诉讼费多少", intent="ask_litigation_cost",
        slots={"dispute_type": "debt"}))
    assert "每件10元" in messages[0]["text"] and "600元" not in messages[0]["text"]
    messages, _ = run(ActionLitigationCost(), tracker(text="离婚分财产300000元，诉讼费多少", intent="ask_litigation_cost"))
    assert "550至800元" in messages[0]["text"]


def test_an_unclear_fee_question_is_asked_and_the_button_answers_it():
    question = "干活的工钱三万二没给，起诉多少钱"
    messages, _ = run(ActionLitigationCost(), tracker(text=question, intent="ask_litigation_cost"))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert "哪一类" in messages[0]["text"]
    assert payloads == ['/ask_litigation_cost{"fee_kind": "labor"}', '/ask_litigation_cost{"fee_kind": "property"}']
    asked = [{"event": "user", "text": question, "parse_data": {"intent": {"name": "ask_litigation_cost"}}}]
    for kind, expected in (("labor", "每件10元"), ("property", "受理费约600元")):
        messages, _ = run(ActionLitigationCost(), tracker(
            text=payloads[0 if kind == "labor" else 1], intent="ask_litigation_cost", events=asked,
            entities=[{"entity": "fee_kind", "value": kind}]))
        assert expected in messages[0]["text"] and not messages[0].get("buttons")


def test_details_are_the_rules_behind_the_card_shown():
    messages, _ = run(ActionShowDetails(), tracker(text="/show_details", intent="show_details",
                                                   slots={"dispute_type": "labor"}))
    assert "劳动争议调解仲裁法第14条" in messages[0]["text"] and "【劳动争议、欠薪、工伤：详细规定】" in messages[0]["text"]
    messages, _ = run(ActionShowDetails(), tracker(text="/show_details", intent="show_details",
                                                   slots={"dispute_type": "family", "violence": True}))
    assert messages[0]["text"].index("人身安全保护令") < messages[0]["text"].index("协议离婚")
    messages, _ = run(ActionShowDetails(), tracker(text="/show_details", intent="show_details"))
    assert "请先说说" in messages[0]["text"]


def test_violence_in_the_family_puts_safety_first_whatever_the_model_says():
    messages, events = run(ActionTriage(), tracker(text="我老公喝了酒就打我，我想离婚", intent="dispute_injury"))
    assert slot_events(events)["dispute_type"] == "family" and slot_events(events)["violence"] is True
    card = messages[-1]["text"]
    assert "婚姻家庭" in card and "人身安全保护令" in card and "12338" in card
    _, events = run(ActionTriage(), tracker(text="俺家楼上天天漏水咋整", intent="dispute_neighbor"))
    assert slot_events(events)["violence"] is False


def test_a_suspects_relative_is_not_told_to_report():
    messages, _ = run(ActionRouting(), tracker(text="我儿子被派出所抓走了咋办", intent="criminal"))
    assert "取保候审" in messages[0]["text"] and "12348" in messages[0]["text"] and "报案" not in messages[0]["text"]


def _validate(slot: str, value: Any, **kw) -> tuple[list[dict], dict]:
    form = ValidateBookingForm()
    t = tracker(slots={slot: value, **kw.pop("slots", {})}, requested=slot, **kw)
    dispatcher = CollectingDispatcher()
    result = asyncio.run(getattr(form, f"validate_{slot}")(value, dispatcher, t, DOMAIN))
    return dispatcher.messages, result


def test_consent_is_recorded_before_anything_personal(court_db):
    sender = "tg-consent-1"
    _, result = _validate("consent", True, sender=sender, metadata={"telegram_user_id": 4242})
    assert result == {"consent": True}
    with court_db.reader() as s:
        resident = s.execute(select(Resident).where(Resident.conversation_id == sender)).scalar_one()
        assert resident.consent_at is not None and resident.telegram_user_id == 4242 and resident.phone is None


def test_refused_consent_asks_nothing_more():
    messages, result = _validate("consent", False)
    assert result == {"consent": False} and messages[0]["response"] == "utter_consent_refused"
    form = ValidateBookingForm()
    slots = asyncio.run(form.required_slots(["consent", "name"], CollectingDispatcher(),
                                            tracker(slots={"consent": False}), DOMAIN))
    assert slots == []


@pytest.mark.parametrize("slot,value,expected", [
    ("phone", "139 4561 2378", "13945612378"),
    ("name", "我叫王桂芝", "王桂芝"),
])
def test_good_values_are_normalised(slot, value, expected):
    messages, result = _validate(slot, value)
    assert result[slot] == expected and not messages


@pytest.mark.parametrize("slot,value,words", [
    ("phone", "12345", "手机号"),
    ("name", "13945612378", "姓名"),
    ("preferred_time", "昨天上午", "过去"),
    ("preferred_time", "啥时候都行吧", "没看懂"),
    ("place", "哈尔滨道里区", "不在黑河"),
    ("place", "光明村", "没有找到"),
])
def test_bad_values_get_a_clear_chinese_answer(slot, value, words):
    messages, result = _validate(slot, value)
    assert result[slot] is None
    assert words in messages[0]["text"]


def test_ambiguous_place_offers_buttons():
    messages, result = _validate("place", "和平")
    assert result["place"] is None
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert len(payloads) == 2 and all(p.startswith("/choose_place") for p in payloads)
    code = json.loads(payloads[0].split("choose_place", 1)[1])["place_code"]
    _, chosen = _validate("place", f"code:{code}")
    assert chosen["place_code"] == code and chosen["place_lat"]


def test_telegram_location_fills_the_place():
    form = ValidateBookingForm()
    t = tracker(requested="place", text="[位置]", metadata={"location": {"latitude": 49.8966, "longitude": 127.3387}})
    extracted = asyncio.run(form.extract_place(CollectingDispatcher(), t, DOMAIN))
    assert extracted == {"place": "geo:49.8966,127.3387"}
    _, result = _validate("place", extracted["place"])
    assert result["place_lat"] == 49.8966


@pytest.mark.parametrize("typed", ["geo:50", "geo:", "geo:50,", "geo:a,b", "geo:1,2,3"])
def test_a_malformed_geo_place_is_asked_again_not_a_crash(typed):
    # "geo:50" typed at the place question used to raise TypeError: a 500 echoing every slot.
    messages, result = _validate("place", typed)
    assert result["place"] is None and result["place_lat"] is None
    assert messages and messages[0]["text"]


def test_correction_clears_the_named_value():
    messages, events = run(ActionCorrectValue(), tracker(text="电话写错了", intent="correct_value",
                                                         slots={"phone": "13945612378", "name": "王桂芝"}))
    assert slot_events(events) == {"phone": None} and "手机号" in messages[0]["text"]


def _book(court_db, sender: str, phone: str = "13945612378", **extra: Any) -> tuple[list[dict], dict]:
    """Consent, propose, choose the first time, confirm: returns the final message and slots."""
    _validate("consent", True, sender=sender)
    slots = extra | {"consent": True, "dispute_type": "neighbor", "summary": "楼上漏水", "name": "王桂芝", "phone": phone,
             "place": "西岗子镇", "place_lat": 49.8966, "place_lng": 127.33874,
             "when_start": dt.datetime(2026, 12, 1, 8, 0, tzinfo=NOW.tzinfo).isoformat()}
    messages, events = run(ActionProposeSlots(), tracker(slots=slots, sender=sender))
    slot_buttons = [b for b in messages[0]["buttons"] if "slot_token" in b["payload"]]
    assert "西岗子镇调解工作服务点" in messages[0]["text"] and 2 <= len(slot_buttons) <= 4
    token = json.loads(slot_buttons[0]["payload"].split("choose_slot", 1)[1])["slot_token"]
    slots["slot_token"] = token
    confirm, _ = run(ActionConfirmSlot(), tracker(slots=slots, sender=sender))
    assert "请确认" in confirm[0]["text"] and "王**" in confirm[0]["text"] and f"{phone[:3]}****{phone[-4:]}" in confirm[0]["text"]
    booked, events = run(ActionBookAppointment(), tracker(slots=slots, sender=sender, intent="affirm"))
    return booked, slots


def test_booking_end_to_end_writes_the_case(court_db):
    booked, _ = _book(court_db, "tg-book-1")
    text = booked[0]["text"]
    assert text.startswith("预约成功") and "案件编号：HH" in text
    assert booked[0]["custom"]["venue"]["title"] == "西岗子镇调解工作服务点"
    with court_db.reader() as s:
        case = s.execute(select(Case)).scalars().one()
        assert case.status == "booked" and case.resident.phone == "13945612378" and case.conversation_id == "tg-book-1"
        assert case.reference in text and case.appointments[0].starts_at.date() >= dt.date(2026, 12, 1)
        assert case.place_id == case.service_point.place_id  # no town named: the point's place counts


def test_asking_to_book_right_after_an_administrative_answer_gets_the_reason_again(court_db):
    said = {"event": "user", "text": "城管把我的摊子没收了",
            "parse_data": {"intent": {"name": "administrative", "confidence": 0.9}}}
    routed = [said, {"event": "action", "name": "action_routing"}]
    t = tracker(text="那你帮我预约个调解员吧", intent="book_mediation", events=routed)
    assert asyncio.run(ValidateBookingForm().required_slots(DOMAIN["forms"]["booking_form"]["required_slots"],
                                                            CollectingDispatcher(), t, DOMAIN)) == []
    messages, events = run(ActionProposeSlots(), t)
    assert "本服务无法为您预约" in messages[0]["text"] and "12368" in messages[0]["text"]
    assert "复议" in messages[0]["text"]  # the reason again: reconsideration and its limits
    # A civil matter described since: booking goes ahead.
    civil = routed + [{"event": "user", "text": "邻居家漏水"}, {"event": "action", "name": "action_triage"}]
    t = tracker(text="帮我预约", intent="book_mediation", events=civil, slots={"summary": "邻居家漏水"})
    assert asyncio.run(ValidateBookingForm().required_slots(["consent"], CollectingDispatcher(), t, DOMAIN)) == [
        "consent"]


def test_a_criminal_or_administrative_summary_stops_the_form_and_is_never_booked(court_db):
    for summary in ("他把我打成轻伤二级了，我想让他赔钱", "派出所罚了我五百块，我不服"):
        t = tracker(text=summary, slots={"summary": summary, "consent": True}, requested="summary")
        assert asyncio.run(ValidateBookingForm().required_slots(["consent", "summary"], CollectingDispatcher(), t,
                                                                DOMAIN)) == []
        messages, _ = run(ActionProposeSlots(), t)
        assert "本服务无法为您预约" in messages[0]["text"]
    # And the court refuses it however it gets there, before anything is written.
    messages, _ = run(ActionBookAppointment(), tracker(slots={"consent": True, "summary": "对方被判刑了，谅解书怎么写",
                                                              "name": "王桂芝", "phone": "13945612378",
                                                              "slot_token": "S.1.1.1"}, sender="tg-book-crim2"))
    assert "不属于人民调解" in messages[0]["text"]
    with court_db.reader() as s:
        assert s.execute(select(Case)).first() is None


def test_the_same_dispute_asked_again_minutes_later_is_recognised_not_booked_twice(court_db):
    _book(court_db, "tg-book-twice")
    again, _ = _book(court_db, "tg-book-twice")
    assert again[0]["text"].startswith("您已经预约了") and "案件编号：HH" in again[0]["text"]
    with court_db.reader() as s:
        assert len(s.execute(select(Case)).all()) == 1 and len(s.execute(select(Appointment)).all()) == 1


def test_the_town_the_resident_named_is_the_cases_place(court_db):
    town = actions.common.court().resolve_place("爱辉区上马厂")
    _book(court_db, "tg-book-town", place_code=town.code)
    with court_db.reader() as s:
        case = s.execute(select(Case)).scalars().one()
        assert case.place_id == town.id != case.service_point.place_id


def test_forged_slot_token_is_refused_and_nothing_is_written(court_db):
    sender = "tg-forged"
    _validate("consent", True, sender=sender)
    slots = {"consent": True, "dispute_type": "neighbor", "summary": "楼上漏水", "name": "王桂芝",
             "phone": "13945612378", "slot_token": "S.1.1.1"}
    messages, events = run(ActionBookAppointment(), tracker(slots=slots, sender=sender))
    assert "重新" in messages[0]["text"] or "过去" in messages[0]["text"]
    for bad in ('S.1.1.abc', '{"point":1}', "S.999999.1.1796083200"):
        slots["slot_token"] = bad
        messages, _ = run(ActionConfirmSlot(), tracker(slots=slots, sender=sender))
        assert messages[0]["text"]
    with court_db.reader() as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 0


def test_lookup_check_and_cancel_by_reference_and_phone(court_db):
    booked, _ = _book(court_db, "tg-book-2", phone="13945612379")
    reference = booked[0]["text"].split("案件编号：", 1)[1].split("\n", 1)[0]
    form = ValidateLookupForm()
    result = asyncio.run(form.validate_reference(f"我的编号是{reference.lower()}", CollectingDispatcher(),
                                                 tracker(), DOMAIN))
    assert result == {"reference": reference}
    wrong, _ = run(ActionAppointmentLookup(), tracker(slots={"reference": reference, "phone": "13900000000",
                                                             "lookup_purpose": "check"}))
    assert "没有找到" in wrong[0]["text"]
    slots = {"reference": reference, "phone": "13945612379", "lookup_purpose": "cancel"}
    shown, _ = run(ActionAppointmentLookup(), tracker(slots=slots))
    assert reference in shown[0]["text"] and "等待调解员确认" in shown[0]["text"]
    cancelled, _ = run(ActionCancelAppointment(), tracker(slots=slots, intent="affirm"))
    assert "已取消" in cancelled[0]["text"]
    with court_db.reader() as s:
        assert s.execute(select(Appointment)).scalars().one().status == "cancelled"
    again, _ = run(ActionAppointmentLookup(), tracker(slots=slots))
    assert "不能再取消" in again[-1]["text"]


def test_request_human_queues_and_pauses(court_db):
    messages, events = run(ActionRequestHuman(), tracker(text="转人工", intent="request_human", sender="tg-h1",
                                                         slots={"dispute_type": "labor"}))
    assert "12368" in messages[0]["text"]
    assert any(e.get("event") == "pause" for e in events)
    run(ActionRequestHuman(), tracker(text="转人工", intent="request_human", sender="tg-h1"))
    with court_db.reader() as s:
        handoffs = s.execute(select(Handoff)).scalars().all()
        assert len(handoffs) == 1 and handoffs[0].status == "waiting" and handoffs[0].reason == "request_human"


def test_danger_words_bring_110_even_when_nlu_says_injury():
    messages, _ = run(ActionTriage(), tracker(text="他喝多了拿刀在门口说要砍死我", intent="dispute_injury"))
    assert "110" in messages[0]["text"]


def test_out_of_hours_the_resident_hears_when_the_desk_opens(court_db, monkeypatch):
    monkeypatch.setenv("COURT_FAKE_NOW", "2026-12-04T18:30:00+08:00")  # a Friday evening
    messages, events = run(ActionRequestHuman(), tracker(text="转人工", intent="request_human", sender="tg-h2"))
    assert "下班时间" in messages[0]["text"] and "12月7日（周一）上午8:30" in messages[0]["text"]
    assert any(e.get("event") == "pause" for e in events)  # a message left now is kept for the agent


def test_a_summary_keeps_the_residents_own_punctuation(court_db):
    _, result = _validate("summary", "楼上漏水，物业不管；找了三回！")
    assert result["summary"] == "楼上漏水，物业不管；找了三回！"
