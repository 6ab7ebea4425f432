"""What the assistant asks of the court: one call per step, one transaction per call.

The Rasa actions call these functions (from a worker thread) and never touch
the storage layer themselves.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional, Sequence

from sqlalchemy import select

from court.booking import engine, offers
from court.booking.cards import AppointmentCard, card
from court.booking.offers import SlotOffer, decode_slot
from court.core import clock
from court.core.errors import AlreadyBooked, ConsentRequired, NotFound, NotMediable
from court.core.validation import normalize_phone
from court.hotline import handoffs, intake_links
from court.records import cases, journal, residents, workcalendar
from court.reference import guidance, triage
from court.reference.places import PlaceDirectory, PlaceRef, check_coordinates
from court.store.db import Database
from court.store.schema import Appointment, Case, CaseSource, CaseStatus

# A second booking of the same dispute from the same chat within this long is the first one asked again.
REPEAT_WINDOW = dt.timedelta(minutes=30)

# Re-exported: the actions read these from the facade.
__all__ = ["AppointmentCard", "AssistantFacade", "SlotOffer"]

class AssistantFacade:
    """The court as the assistant sees it; one Database shared by all calls."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._directory: Optional[PlaceDirectory] = None

    # --- places -----------------------------------------------------------

    def directory(self) -> PlaceDirectory:
        if self._directory is None:
            with self.db.reader() as s:
                self._directory = PlaceDirectory.load(s)
        return self._directory

    def resolve_place(self, text: str) -> PlaceRef:
        return self.directory().resolve(text)

    def place_by_code(self, code: str) -> PlaceRef:
        for ref in self.directory().places.values():
            if ref.code == code:
                return ref
        raise NotFound("没有找到这个地点，请重新输入。")

    @staticmethod
    def check_location(lat: object, lng: object) -> tuple[float, float]:
        return check_coordinates(lat, lng)

    # --- consent and booking ----------------------------------------------

    def record_consent(self, conversation_id: str, telegram_user_id: Optional[int] = None) -> int:
        with self.db.transaction() as s:
            return residents.record_consent(s, conversation_id=conversation_id, telegram_user_id=telegram_user_id).id

    def offer_slots(self, *, lat: float, lng: float, dispute_type: Optional[str], after: Optional[dt.datetime],
                    exclude: Sequence[int] = (), now: Optional[dt.datetime] = None) -> list[SlotOffer]:
        """Up to three times at the nearest point with room, then one at the next point."""
        with self.db.reader() as s:
            return offers.offer(s, lat=lat, lng=lng, dispute_type=dispute_type, after=after, exclude=exclude,
                                     now=now)

    def describe_slot(self, token: str, *, now: Optional[dt.datetime] = None) -> SlotOffer:
        with self.db.reader() as s:
            return offers.describe(s, token, now=now)

    def book(self, *, conversation_id: str, name: str, phone: str, dispute_type: str, summary: str,
             token: str, source: CaseSource = CaseSource.BOT, place_code: Optional[str] = None,
             now: Optional[dt.datetime] = None) -> AppointmentCard:
        """Resident details, case and appointment: all written, or none. A summary that reads as a
        criminal or administrative matter is refused: no mediator receives it, no statistic counts it."""
        kind = triage.not_mediable(summary or "")
        if kind is not None:
            raise NotMediable(guidance.render_routing(kind, summary) + "\n" + NotMediable.message)
        point_id, mediator_id, starts_at = decode_slot(token)
        with self.db.transaction() as s:
            resident = residents.find(s, conversation_id=conversation_id)
            if resident is None:
                raise ConsentRequired()
            residents.set_contact(s, resident, name=name, phone=phone)
            self._refuse_repeat(s, resident.id, conversation_id, dispute_type, now or clock.now())
            # A hotline intake continued in chat is booked on its own case, not a second one.
            case = next((c for c in cases.open_intakes(s, conversation_id) if c.source == CaseSource.HOTLINE.value),
                        None) or cases.open_case(
                s, dispute_type=dispute_type, summary=summary, actor=journal.chat_actor(conversation_id),
                source=source,
                resident=resident, conversation_id=conversation_id,
                recommended_channel=guidance.card(dispute_type).first_channel[:200])
            if place_code and case.place_id is None:
                case.place_id = self.place_by_code(place_code).id
            appt = engine.book(s, case, point_id=point_id, starts_at=starts_at, mediator_id=mediator_id,
                               actor=journal.chat_actor(conversation_id), now=now)
            return card(appt)

    @staticmethod
    def _refuse_repeat(s, resident_id: int, conversation_id: str, dispute_type: str,
                       now: dt.datetime) -> None:
        recent = s.execute(select(Case).where(
            Case.resident_id == resident_id, Case.conversation_id == conversation_id,
            Case.dispute_type == dispute_type, Case.booked_at.isnot(None), Case.booked_at > now - REPEAT_WINDOW,
            Case.status == CaseStatus.BOOKED.value).order_by(Case.id.desc()).limit(1)).scalar_one_or_none()
        if recent is None or not recent.appointments:
            return
        appt = recent.appointments[-1]
        if appt.status not in ("booked", "accepted", "rescheduled"):
            return
        raise AlreadyBooked(f"您已经预约了这件事，不用再约：\n{card(appt).render()}\n"
                            "需要改时间或取消，请说“改约”或“取消预约”并报案件编号。")

    # --- existing appointments --------------------------------------------

    def _checked(self, reference: str, phone: str, conversation_id: str, now: Optional[dt.datetime]) -> int:
        """The case a reference and phone name; a wrong phone is counted and audited (its own
        transaction, which commits even though the lookup fails)."""
        phone = normalize_phone(phone)
        with self.db.transaction() as s:
            case_id, error = cases.check_lookup(s, reference, phone, actor=journal.chat_actor(conversation_id),
                                                now=now or clock.now())
        if error is not None:
            raise error
        assert case_id is not None  # check_lookup gives the case's id or the error
        return case_id

    @staticmethod
    def _own_chat(appt: Appointment, conversation_id: str) -> bool:
        """The change was made in the resident's own chat, which answers it with the card: no push too."""
        resident = appt.case.resident
        return resident is not None and conversation_id in (resident.conversation_id, appt.case.conversation_id)

    @staticmethod
    def _latest(s, case_id: int) -> Appointment:
        case = s.get(Case, case_id)
        if not case.appointments:
            raise NotFound("这个案件还没有预约。")
        return case.appointments[-1]

    def find_appointment(self, reference: str, phone: str, *, conversation_id: str,
                         now: Optional[dt.datetime] = None) -> AppointmentCard:
        case_id = self._checked(reference, phone, conversation_id, now)
        with self.db.reader() as s:
            return card(self._latest(s, case_id))

    def cancel(self, reference: str, phone: str, *, conversation_id: str,
               now: Optional[dt.datetime] = None) -> AppointmentCard:
        case_id = self._checked(reference, phone, conversation_id, now)
        with self.db.transaction() as s:
            appt = self._latest(s, case_id)
            engine.cancel(s, appt.id, actor=journal.chat_actor(conversation_id), reason="当事人通过助手取消",
                          now=now, tell_resident=not self._own_chat(appt, conversation_id))
            return card(appt)

    def reschedule(self, reference: str, phone: str, token: str, *, conversation_id: str,
                   now: Optional[dt.datetime] = None) -> AppointmentCard:
        point_id, _, starts_at = decode_slot(token)
        case_id = self._checked(reference, phone, conversation_id, now)
        with self.db.transaction() as s:
            appt = self._latest(s, case_id)
            moved = engine.reschedule(s, appt.id, starts_at=starts_at, point_id=point_id,
                                      actor=journal.chat_actor(conversation_id), now=now,
                                      tell_resident=not self._own_chat(appt, conversation_id))
            return card(moved)

    def point_location(self, reference: str, phone: str, *, conversation_id: str,
                       now: Optional[dt.datetime] = None) -> tuple[float, float, int]:
        case_id = self._checked(reference, phone, conversation_id, now)
        with self.db.reader() as s:
            appt = self._latest(s, case_id)
            return appt.service_point.lat, appt.service_point.lng, appt.service_point_id

    # --- the hotline --------------------------------------------------------

    def start_from_link(self, token: str, *, conversation_id: str, telegram_user_id: Optional[int],
                        now: Optional[dt.datetime] = None) -> "intake_links.IntakeStart":
        """A caller opened the desk's one-time deep link: bind the chat to their intake."""
        with self.db.transaction() as s:
            return intake_links.redeem_intake(s, token, conversation_id=conversation_id,
                                              telegram_user_id=telegram_user_id, now=now or clock.now())

    def request_human(self, conversation_id: str, *, reason: str, dispute_type: Optional[str] = None) -> int:
        """Queue the conversation for a 12368 agent; returns how many are waiting ahead."""
        with self.db.transaction() as s:
            return handoffs.request(s, conversation_id, reason=reason, dispute_type=dispute_type)[1]

    def desk_hours(self, now: dt.datetime) -> tuple[bool, dt.datetime]:
        """Whether 12368 agents are at their desks at ``now``, and when they next are."""
        with self.db.reader() as s:
            calendar = workcalendar.of(s)
            return handoffs.desk_open(calendar, now), handoffs.next_opening(calendar, now)

    # --- while paused --------------------------------------------------------

    def handoff_status(self, conversation_id: str) -> Optional[str]:
        """The court's word on a conversation: 'waiting', 'taken', 'returning', or None (the assistant has it)."""
        with self.db.reader() as s:
            handoff = handoffs.open_handoff(s, conversation_id)
            return handoff.status if handoff is not None else None

    def leave_queue(self, conversation_id: str, *, now: Optional[dt.datetime] = None) -> bool:
        with self.db.transaction() as s:
            return handoffs.leave(s, conversation_id, now=now or clock.now())

    def acknowledge_wait(self, conversation_id: str, *, now: Optional[dt.datetime] = None) -> bool:
        with self.db.transaction() as s:
            return handoffs.acknowledge(s, conversation_id, now=now or clock.now())

    def confirm_resumed(self, conversation_id: str, *, now: Optional[dt.datetime] = None) -> None:
        """The assistant has the chat again: a give-back that was waiting for it is done."""
        with self.db.transaction() as s:
            handoff = handoffs.open_handoff(s, conversation_id, lock=True)
            if handoff is not None:
                handoffs.resumed(s, handoff, now=now or clock.now())

    def auto_handoff_allowed(self, conversation_id: str, *, now: Optional[dt.datetime] = None) -> bool:
        with self.db.reader() as s:
            return handoffs.auto_allowed(s, conversation_id, now=now or clock.now())
