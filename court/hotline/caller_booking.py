"""Booking for a 12368 phone caller, keyed by the case their phone intake opened.

A caller on the phone cannot scan a QR code or take a link down by ear: the agent
types the caller's town, reads out the offered times, ticks that the caller agreed
to the one chosen, and books. The booking, its audit entry and a fresh one-time
link to the web chat (texted to the caller, so they can see the booking there)
are written in the caller's one transaction. Agents and admins only.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.booking import engine
from court.booking import offers as slot_offers
from court.booking.cards import AppointmentCard, card
from court.booking.offers import SlotOffer, decode_slot
from court.core.errors import ConsentRequired, NotFound, PermissionDenied, ValidationError
from court.core.privacy import mask_phone
from court.core.settings import LOCAL_TZ
from court.core.validation import clean_text
from court.hotline import accounts, intake_links
from court.records import journal
from court.reference import guidance
from court.reference.places import PlaceDirectory, PlaceRef
from court.store.schema import ACTIVE_APPOINTMENT_STATUSES, Case, CaseSource

ROLES = ("agent", "admin")
LINK_TTL_MIN = dt.timedelta(hours=24)
LINK_TTL_MAX = dt.timedelta(days=30)
# The desk reads a longer list to a caller than the chat shows.
POINTS, FIRST, OTHERS = 3, 6, 2
_REFERENCE = re.compile(r"^[A-Z]{2}\d{6}-[0-9A-Z]{4}$")
_ACTIVE = frozenset(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass(frozen=True)
class CallerCase:
    """What the booking page of a phone intake shows."""

    reference: str
    dispute_type: str
    dispute_label: str
    summary: str
    name: Optional[str]
    phone_masked: str
    appointments: list[AppointmentCard]  # active ones, soonest first

    @property
    def booked(self) -> bool:
        return bool(self.appointments)


@dataclass(frozen=True)
class CallerBooking:
    """The booking, and what the caller is texted: their phone and a one-time web chat token."""

    card: AppointmentCard
    phone: str
    link_token: str


def _check_role(user: accounts.DeskUser) -> None:
    if user.role not in ROLES:
        raise PermissionDenied("只有12368坐席和管理员可以为来电人预约。")


def normalise_reference(reference: object) -> str:
    text = str(reference or "").strip().upper()
    if not _REFERENCE.match(text):
        raise ValidationError("案件编号格式不对，应像 HH261129-7K3Q。")
    return text


def _case(session: Session, reference: object, user: accounts.DeskUser, *, lock: bool = False) -> Case:
    _check_role(user)
    query = select(Case).where(Case.reference == normalise_reference(reference))
    case = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if case is None:
        raise NotFound()
    if case.source != CaseSource.HOTLINE.value:
        raise PermissionDenied("这个案件不是12368电话登记的：请从居民的对话中为其预约。")
    resident = case.resident
    if resident is None or resident.anonymised_at is not None or not resident.phone:
        raise ValidationError("来电人的信息已删除，不能再为其预约。")
    return case


def _active(case: Case) -> list[AppointmentCard]:
    rows = sorted((a for a in case.appointments if a.status in _ACTIVE), key=lambda a: a.starts_at)
    return [card(a) for a in rows]


def caller_case(session: Session, reference: object, user: accounts.DeskUser) -> CallerCase:
    case = _case(session, reference, user)
    return CallerCase(reference=case.reference, dispute_type=case.dispute_type,
                      dispute_label=guidance.card(case.dispute_type).label, summary=case.summary or "",
                      name=case.resident.name, phone_masked=mask_phone(case.resident.phone),
                      appointments=_active(case))


def find_times(session: Session, reference: object, user: accounts.DeskUser, *, place: str,
               after: Optional[dt.date] = None, now: dt.datetime) -> tuple[PlaceRef, list[SlotOffer]]:
    """Free times for the case's dispute near the town the caller named, nearest service point first."""
    case = _case(session, reference, user)
    ref = PlaceDirectory.load(session).resolve(clean_text(place, limit=60, field="地点"))
    if ref.lat is None or ref.lng is None:
        raise ValidationError(f"{ref.display_name}还没有坐标，请换一个附近的乡镇或县区名称。")
    start = dt.datetime.combine(after, dt.time(0), LOCAL_TZ) if after else None
    offers = slot_offers.offer(session, lat=ref.lat, lng=ref.lng, dispute_type=case.dispute_type, after=start,
                               now=now, points=POINTS, first=FIRST, others=OTHERS)
    return ref, offers


def book(session: Session, reference: object, user: accounts.DeskUser, *, token: str, consent: bool,
         now: dt.datetime) -> CallerBooking:
    """Book the chosen time on the caller's case: appointment, audit and web chat link, all or nothing."""
    if consent is not True:
        raise ConsentRequired("请先在电话中向来电人读出时间和地点并征得同意，再勾选“来电人已同意这次预约”。")
    point_id, mediator_id, starts_at = decode_slot(token)
    case = _case(session, reference, user, lock=True)
    appt = engine.book(session, case, point_id=point_id, starts_at=starts_at, mediator_id=mediator_id,
                       actor=user.actor, now=now)
    expires = min(max(appt.starts_at - now, LINK_TTL_MIN), LINK_TTL_MAX)
    token_out = intake_links.issue_intake_link(session, case, user, expires_at=now + expires,
                                               action="intake.link_for_booking", now=now)
    journal.audit(session, at=now, actor=user.actor, action="case.desk_book", entity_type="case", entity_id=case.id,
                  after={"appointment_id": appt.id, "caller_consented": True})
    return CallerBooking(card=card(appt), phone=case.resident.phone, link_token=token_out)
