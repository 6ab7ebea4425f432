"""A printable poster per service point: what a resident reads on the wall, and the
signed web chat link its QR code opens (court/messaging/poster_links.py)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from court.admin.checks import hours_text
from court.core.errors import NotFound, ValidationError
from court.messaging import poster_links
from court.store.schema import ServicePoint

HOTLINE = "12368"


@dataclass(frozen=True)
class Poster:
    point_id: int
    name: str
    address: str
    hours: list[str]
    url: str
    hotline: str = HOTLINE


def poster(session: Session, point_id: int, *, base_url: str) -> Poster:
    """The poster of an active point; ``base_url`` is the web chat's public address."""
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound("没有找到这个服务点。")
    if not point.active:
        raise ValidationError("这个服务点已撤销，不能再打印二维码海报。")
    return Poster(point_id=point.id, name=point.name, address=point.address,
                  hours=hours_text((h.weekday, h.opens, h.closes) for h in point.hours),
                  url=base_url.rstrip("/") + poster_links.path(point.id))
