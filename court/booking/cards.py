"""An appointment as residents and agents read it: no internal ids beyond its own."""
from __future__ import annotations

from dataclasses import dataclass

from court.core.timeutil import format_local
from court.reference import labels
from court.store.schema import ACTIVE_APPOINTMENT_STATUSES, Appointment

STATUS_LABELS = labels.APPOINTMENT_STATUS_FOR_RESIDENTS
_ACTIVE = frozenset(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


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


def card(appt: Appointment) -> AppointmentCard:
    point = appt.service_point
    return AppointmentCard(
        appointment_id=appt.id, reference=appt.case.reference, status=STATUS_LABELS[appt.status],
        time=format_local(appt.starts_at), point_name=point.name, address=point.address, mediator=appt.mediator.name,
        lat=point.lat, lng=point.lng, active=appt.status in _ACTIVE,
    )
