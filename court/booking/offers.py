"""Free times offered to a resident, as opaque tokens that are re-checked when chosen.

A token is ``S.<point>.<mediator>.<epoch>``: it names a slot but grants nothing;
booking re-validates it against the calendar. Shared by the assistant and the desk.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy.orm import Session

from court.booking import slots
from court.core import clock
from court.core.errors import ValidationError
from court.core.timeutil import format_local, to_local
from court.records import workcalendar
from court.store.schema import ServicePoint

_TOKEN = re.compile(r"^S\.(\d{1,9})\.(\d{1,9})\.(\d{8,10})$")


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


def encode_slot(slot: slots.Slot) -> str:
    return f"S.{slot.service_point_id}.{slot.mediator_id}.{int(slot.starts_at.timestamp())}"


def decode_slot(token: object) -> tuple[int, int, dt.datetime]:
    """A slot token back to (point, mediator, start); never trusted beyond its shape."""
    match = _TOKEN.match(str(token or ""))
    if not match:
        raise ValidationError("这个选项已失效，请从最新的时间列表中重新选择。")
    point_id, mediator_id, epoch = (int(g) for g in match.groups())
    return point_id, mediator_id, dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def offer(session: Session, *, lat: float, lng: float, dispute_type: Optional[str], after: Optional[dt.datetime],
          exclude: Sequence[int] = (), now: Optional[dt.datetime] = None, points: int = 2, first: int = 3,
          others: int = 1) -> list[SlotOffer]:
    """``first`` times at the nearest point with room, then ``others`` at each next point."""
    now = now or clock.now()
    calendar = workcalendar.of(session)
    today = to_local(now).date()
    wanted = to_local(max(now, after)).date() if after else today
    if not calendar.is_confirmed(wanted):
        raise ValidationError(workcalendar.unconfirmed_notice(calendar, wanted, today))
    offers: list[SlotOffer] = []
    for rank, (point, distance, _) in enumerate(
        slots.nearest_points(session, lat, lng, limit=points, dispute_type=dispute_type, now=now, exclude=exclude)
    ):
        earliest = slots.earliest_slots(session, point.id, dispute_type=dispute_type,
                                        count=first if rank == 0 else others, now=now, after=after)
        offers += [SlotOffer(encode_slot(x), point.name, point.address, distance, format_local(x.starts_at),
                             x.mediator_name) for x in earliest]
    if not offers and not calendar.is_confirmed(wanted + dt.timedelta(days=slots.SEARCH_DAYS)):
        # Nothing in the confirmed days left before an unpublished year: say why, not "no times".
        raise ValidationError(workcalendar.unconfirmed_notice(
            calendar, calendar.confirmed_until(wanted) + dt.timedelta(days=1), today))
    return offers


def describe(session: Session, token: str, *, now: Optional[dt.datetime] = None) -> SlotOffer:
    """The slot a token names, if it is still free; raises otherwise."""
    point_id, mediator_id, starts_at = decode_slot(token)
    point = session.get(ServicePoint, point_id)
    if point is None or not point.active:
        raise ValidationError("这个服务点已停止服务，请重新选择。")
    day = to_local(starts_at).date()
    free = [x for x in slots.free_slots(session, point_id, day, day, mediator_id=mediator_id, now=now)
            if x.starts_at == starts_at]
    if not free:
        raise ValidationError("这个时段已经没有了，请重新选一个。")
    return SlotOffer(token, point.name, point.address, 0.0, format_local(starts_at), free[0].mediator_name)
