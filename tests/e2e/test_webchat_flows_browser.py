"""More of the web chat in Debian's Chromium as a resident's phone in WeChat (360×740, touch):
moving and cancelling an appointment, the emergency advice in every state (paused included),
and an agent taking the conversation, replying live and handing it back."""
from __future__ import annotations

from sqlalchemy import select

from court.booking import engine
from court.booking import offers as slot_offers
from court.booking.offers import decode_slot
from court.hotline import queue
from court.records import residents
from court.store.schema import Appointment, Case, Handoff
from desk.tracker_client import TrackerClient
from tests.e2e.test_telegram import DESCRIPTION, xigangzi
from tests.e2e.test_webchat import agent
from tests.e2e.test_webchat_browser import answered, phone, send, tap
from tests.factories import NOW

KNIFE = "他拿着刀说要砍我"


def _booked(db, phone_number: str) -> tuple[str, int]:
    """An appointment made earlier (on the phone, say): its reference, for the resident to type."""
    lat, lng = xigangzi(db)
    with db.transaction() as s:
        offers = slot_offers.offer(s, lat=lat, lng=lng, dispute_type="neighbor", after=None, now=NOW)
        point_id, mediator_id, starts_at = decode_slot(offers[0].token)
        resident = residents.record_consent(s, now=NOW)
        residents.set_contact(s, resident, name="王桂芝", phone=phone_number)
        from court.records import cases
        case = cases.open_case(s, dispute_type="neighbor", summary="楼上漏水", actor="test", resident=resident)
        appt = engine.book(s, case, point_id=point_id, starts_at=starts_at, mediator_id=mediator_id, actor="test",
                           now=NOW)
        return case.reference, appt.id


def _ready(page) -> None:  # type: ignore[no-untyped-def]
    page.locator(".msg", has_text="诉前调解助手").first.wait_for(timeout=30000)


def test_a_resident_moves_and_then_cancels_an_appointment_from_the_page(browser, webchat, stack_db):
    reference, appointment_id = _booked(stack_db, "13945617701")
    with stack_db.reader() as s:
        was = s.get(Appointment, appointment_id).starts_at
    page = phone(browser, webchat, *xigangzi(stack_db))
    _ready(page)
    send(page, "俺约的那天有事去不了，能改个时间不", "案件编号")
    send(page, reference, "手机号")
    send(page, "13945617701", "哪天")
    assert page.locator(".msg", has_text=reference).count() >= 1  # the card of the appointment being moved
    send(page, "明天下午", "请选一个时间")
    before = page.locator(".msg").count()
    page.locator(".buttons").last.locator("button").first.tap()
    answered(page, before, "请确认")
    tap(page, "确认", "改约成功")
    with stack_db.reader() as s:
        moved = s.execute(select(Appointment).join(Case).where(Case.reference == reference)
                          .order_by(Appointment.id.desc())).scalars().first()
        assert moved.starts_at != was and moved.status in ("rescheduled", "booked")
    # Then the resident cannot go after all.
    send(page, "取消预约", "案件编号")
    send(page, reference, "确定要取消")  # the phone was checked a moment ago in this conversation
    tap(page, "确定取消", "已取消")
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert not [a for a in case.appointments if a.status in ("booked", "accepted", "rescheduled")]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_an_emergency_brings_110_in_every_state_paused_included(browser, webchat, stack_db):
    page = phone(browser, webchat, *xigangzi(stack_db))
    _ready(page)
    send(page, KNIFE, "110")  # at the start
    send(page, DESCRIPTION, "人民调解")
    tap(page, "帮我预约", "同意")
    tap(page, "同意", "称呼")
    send(page, KNIFE, "110")  # in the middle of the booking form
    send(page, "转人工", "工作人员")
    send(page, KNIFE, "110")  # waiting for an agent: the assistant is paused
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id.like("web-%"))
                               .order_by(Handoff.id.desc())).scalars().first()
    clerk = agent(stack_db, "emergency.agent")
    with stack_db.transaction() as s:
        queue.take(s, handoff_id, clerk, now=NOW)
    send(page, "他又来了，在砸我家门，要打死我", "110")  # an agent holds it: still the advice at once
    with stack_db.transaction() as s:
        queue.close(s, handoff_id, clerk, note="已告知报警", now=NOW)


def test_an_agent_takes_the_web_conversation_replies_live_and_hands_it_back(browser, webchat, stack, stack_db):
    page = phone(browser, webchat, *xigangzi(stack_db))
    _ready(page)
    send(page, "转人工", "工作人员")
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id.like("web-%"))
                               .order_by(Handoff.id.desc())).scalars().first()
    clerk = agent(stack_db, "handback.agent")
    with stack_db.transaction() as s:
        queue.take(s, handoff_id, clerk, now=NOW)
        queue.reply(s, handoff_id, clerk, "您好，我是12368的李敏，请说说是什么事。", now=NOW)
    page.locator(".msg.push", has_text="请说说是什么事").wait_for(timeout=15000)  # live, no reload
    before = page.locator(".msg").count()
    page.fill("#text", "楼上漏水的事")
    page.click("#send")
    page.locator(".msg.resident", has_text="楼上漏水的事").wait_for(timeout=10000)
    page.wait_for_timeout(1500)
    # Paused: the assistant says nothing of its own while the agent holds the conversation.
    assert not [t for t in page.locator(".msg").all_inner_texts()[before:] if "人民调解" in t or "没能处理" in t]
    with stack_db.transaction() as s:
        queue.reply(s, handoff_id, clerk, "好的，漏水的事可以先找人民调解，我把您交还给助手。", now=NOW)
        conversation = queue.give_back(s, handoff_id, clerk, now=NOW)
    page.locator(".msg.push", has_text="交还给助手").wait_for(timeout=15000)
    TrackerClient(stack.rasa_url).resume(conversation)
    page.locator(".msg", has_text="助手继续为您服务").wait_for(timeout=15000)
    send(page, DESCRIPTION, "人民调解")  # the assistant again
