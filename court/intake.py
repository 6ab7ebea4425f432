"""What the assistant asks of the court: one call per step, one transaction per call.

The Rasa actions call these functions (from a worker thread) and never touch
the storage layer themselves.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from court import booking, cases, desk, guidance, handoffs, residents
from court.errors import ConsentRequired, NotFound, ValidationError
from court.places import PlaceDirectory, PlaceRef, check_coordinates
from court.store.db import Database
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    CaseSource,
    ServicePoint,
)
from court.timeutil import format_local, now_utc, to_local
from court.validation import normalize_phone

_TOKEN = re.compile(r"^S\.(\d{1,9})\.(\d{1,9})\.(\d{8,10})$")
STATUS_LABELS = {
    AppointmentStatus.BOOKED.value: "已预约，等待调解员确认",
    AppointmentStatus.ACCEPTED.value: "调解员已确认",
    AppointmentStatus.RESCHEDULED.value: "已改约，等待调解员确认",
    AppointmentStatus.DECLINED.value: "调解员无法接待，正在重新安排",
    AppointmentStatus.CANCELLED.value: "已取消",
    AppointmentStatus.DONE.value: "已完成",
    AppointmentStatus.NO_SHOW.value: "当事人未到",
}


@dataclass(frozen=True)
class SlotOffer:
    token: str
    point_name: str
    address: str
    distance_km: float
    time: str
    mediator: str

    @property
    def label(self) -> str:
        return f"{self.time} {self.point_name.replace('调解工作服务点', '')} {self.mediator}"


@dataclass(frozen=True)
class AppointmentCard:
    appointment_id: int
    reference: str
    status: str
    time: str
    point_name: str
    address: str
    mediator: str
    lat: float
    lng: float
    active: bool

    def render(self) -> str:
        return (f"案件编号：{self.reference}\n状态：{self.status}\n时间：{self.time}\n"
                f"地点：{self.point_name}（{self.address}）\n调解员：{self.mediator}")


def encode_slot(slot: booking.Slot) -> str:
    return f"S.{slot.service_point_id}.{slot.mediator_id}.{int(slot.starts_at.timestamp())}"


def decode_slot(token: object) -> tuple[int, int, dt.datetime]:
    """A slot token back to (point, mediator, start); never trusted beyond its shape."""
    match = _TOKEN.match(str(token or ""))
    if not match:
        raise ValidationError("这个选项已失效，请从最新的时间列表中重新选择。")
    point_id, mediator_id, epoch = (int(g) for g in match.groups())
    return point_id, mediator_id, dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


class Court:
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
        now = now or now_utc()
        offers: list[SlotOffer] = []
        with self.db.reader() as s:
            for rank, (point, distance, _) in enumerate(
                booking.nearest_points(s, lat, lng, limit=2, dispute_type=dispute_type, now=now, exclude=exclude)
            ):
                slots = booking.earliest_slots(s, point.id, dispute_type=dispute_type, count=3 if rank == 0 else 1,
                                               now=now, after=after)
                offers += [SlotOffer(encode_slot(x), point.name, point.address, distance, format_local(x.starts_at),
                                     x.mediator_name) for x in slots]
        return offers

    def describe_slot(self, token: str, *, now: Optional[dt.datetime] = None) -> SlotOffer:
        point_id, mediator_id, starts_at = decode_slot(token)
        with self.db.reader() as s:
            point = s.get(ServicePoint, point_id)
            if point is None or not point.active:
                raise ValidationError("这个服务点已停止服务，请重新选择。")
            day = to_local(starts_at).date()
            free = [x for x in booking.free_slots(s, point_id, day, day, mediator_id=mediator_id, now=now)
                    if x.starts_at == starts_at]
            if not free:
                raise ValidationError("这个时段已经没有了，请重新选一个。")
            return SlotOffer(token, point.name, point.address, 0.0, format_local(starts_at), free[0].mediator_name)

    def book(self, *, conversation_id: str, name: str, phone: str, dispute_type: str, summary: str,
             token: str, source: CaseSource = CaseSource.BOT, now: Optional[dt.datetime] = None) -> AppointmentCard:
        """Resident details, case and appointment: all written, or none."""
        point_id, mediator_id, starts_at = decode_slot(token)
        with self.db.transaction() as s:
            resident = residents.find(s, conversation_id=conversation_id)
            if resident is None:
                raise ConsentRequired()
            residents.set_contact(s, resident, name=name, phone=phone)
            # A hotline intake continued in chat is booked on its own case, not a second one.
            case = next((c for c in cases.open_intakes(s, conversation_id) if c.source == CaseSource.HOTLINE.value),
                        None) or cases.open_case(
                s, dispute_type=dispute_type, summary=summary, actor=f"bot:{conversation_id}", source=source,
                resident=resident, conversation_id=conversation_id,
                recommended_channel=guidance.card(dispute_type).first_channel[:200])
            appt = booking.book(s, case, point_id=point_id, starts_at=starts_at, mediator_id=mediator_id,
                                actor=f"bot:{conversation_id}", now=now)
            return _card(appt)

    # --- existing appointments --------------------------------------------

    def _latest(self, s, reference: str, phone: str) -> Appointment:  # type: ignore[no-untyped-def]
        case = cases.find_by_reference(s, reference, normalize_phone(phone))
        if not case.appointments:
            raise NotFound("这个案件还没有预约。")
        return case.appointments[-1]

    def find_appointment(self, reference: str, phone: str) -> AppointmentCard:
        with self.db.reader() as s:
            return _card(self._latest(s, reference, phone))

    def cancel(self, reference: str, phone: str, *, conversation_id: str) -> AppointmentCard:
        with self.db.transaction() as s:
            appt = self._latest(s, reference, phone)
            booking.cancel(s, appt.id, actor=f"bot:{conversation_id}", reason="当事人通过助手取消")
            return _card(appt)

    def reschedule(self, reference: str, phone: str, token: str, *, conversation_id: str,
                   now: Optional[dt.datetime] = None) -> AppointmentCard:
        point_id, _, starts_at = decode_slot(token)
        with self.db.transaction() as s:
            appt = self._latest(s, reference, phone)
            moved = booking.reschedule(s, appt.id, starts_at=starts_at, point_id=point_id,
                                       actor=f"bot:{conversation_id}", now=now)
            return _card(moved)

    def point_location(self, reference: str, phone: str) -> tuple[float, float, int]:
        with self.db.reader() as s:
            appt = self._latest(s, reference, phone)
            return appt.service_point.lat, appt.service_point.lng, appt.service_point_id

    # --- the hotline --------------------------------------------------------

    def start_from_link(self, token: str, *, conversation_id: str, telegram_user_id: Optional[int],
                        now: Optional[dt.datetime] = None) -> "desk.IntakeStart":
        """A caller opened the desk's one-time deep link: bind the chat to their intake."""
        with self.db.transaction() as s:
            return desk.redeem_intake(s, token, conversation_id=conversation_id, telegram_user_id=telegram_user_id,
                                      now=now or now_utc())

    def request_human(self, conversation_id: str, *, reason: str, dispute_type: Optional[str] = None) -> int:
        """Queue the conversation for a 12368 agent; returns how many are waiting ahead."""
        with self.db.transaction() as s:
            return handoffs.request(s, conversation_id, reason=reason, dispute_type=dispute_type)[1]


def _card(appt: Appointment) -> AppointmentCard:
    point = appt.service_point
    return AppointmentCard(
        appointment_id=appt.id, reference=appt.case.reference, status=STATUS_LABELS[appt.status],
        time=format_local(appt.starts_at), point_name=point.name, address=point.address, mediator=appt.mediator.name,
        lat=point.lat, lng=point.lng,
        active=appt.status in {s.value for s in ACTIVE_APPOINTMENT_STATUSES},
    )
