"""The web chat's rules: anonymous conversations bound to a cookie, the messages
the page shows, what is unread, and a resident's appointments.

The browser holds only a long random id (an HttpOnly cookie); the court keeps its
SHA-256, so a leaked database opens no conversation. The conversation id the
assistant sees is ``web-<id>`` (court/messaging/conversations.py), never the cookie.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from court.booking import cards
from court.booking.cards import AppointmentCard
from court.core import clock
from court.core.errors import ButtonInvalid
from court.messaging import buttons as chat_buttons
from court.messaging import conversations, inbox
from court.messaging.buttons import Pressed
from court.records import residents
from court.store.db import Database
from court.store.schema import Appointment, Case, ServicePoint, WebConversation, WebMessage

COOKIE_BYTES = 32
_COOKIE = re.compile(r"^[A-Za-z0-9_-]{43}$")
HISTORY_LIMIT = 200
IDLE_KEPT = dt.timedelta(days=90)  # the default; retention passes COURT_WEB_MESSAGE_DAYS
ROLES = ("resident", "assistant", "push")
PLACE_KEYBOARD = "location"  # the question that asks where the resident is
# The last visit counts for retention (days): a request writes it only when it is this old.
SEEN_TOUCH = dt.timedelta(minutes=10)
SEEN_CACHE = 50_000  # conversations the web chat remembers by cookie between visits' writes


def timedelta_between(earlier: dt.datetime, later: dt.datetime) -> dt.timedelta:
    """``later - earlier``; a clock moved back counts as stale, never as fresh."""
    delta = later - earlier
    return delta if delta >= dt.timedelta(0) else SEEN_TOUCH


def new_cookie() -> str:
    return secrets.token_urlsafe(COOKIE_BYTES)  # 43 characters, 256 bits


def valid_cookie(value: object) -> bool:
    return isinstance(value, str) and _COOKIE.fullmatch(value) is not None


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Conversation:
    number: int

    @property
    def conversation_id(self) -> str:
        return conversations.web(self.number)

    @property
    def chat_key(self) -> int:
        return conversations.web_key(self.number)


def number_of(chat_key: int) -> int:
    if not conversations.is_web_key(chat_key):
        raise ValueError("not a web chat key")
    return chat_key - conversations.WEB_BASE


def find(session: Session, cookie: object, *, now: dt.datetime) -> Optional[Conversation]:
    """The conversation a cookie opens, or None; a malformed cookie is not looked up."""
    if not valid_cookie(cookie):
        return None
    row = session.execute(select(WebConversation).where(WebConversation.cookie_hash == _hash(str(cookie)))
                          ).scalar_one_or_none()
    if row is None:
        return None
    if now - row.last_seen_at >= SEEN_TOUCH:
        row.last_seen_at = now
    return Conversation(row.id)


def open_or_create(session: Session, cookie: str, *, now: dt.datetime) -> tuple[Conversation, bool]:
    found = find(session, cookie, now=now)
    if found is not None:
        return found, False
    if not valid_cookie(cookie):
        raise ValueError("malformed cookie")
    row = WebConversation(cookie_hash=_hash(cookie), created_at=now, last_seen_at=now, read_up_to=0)
    session.add(row)
    session.flush()
    return Conversation(row.id), True


def _message(m: WebMessage) -> dict[str, Any]:
    return {"id": m.id, "role": m.role, "text": m.text, "at": m.created_at.isoformat(),
            "buttons": [] if m.chosen else [{"label": label, "token": token} for label, token in m.buttons or []],
            "chosen": m.chosen, "venue": m.venue, "keyboard": m.keyboard}


def append(session: Session, number: int, *, role: str, text: str = "", buttons: Sequence[tuple[str, str]] = (),
           venue: Optional[dict[str, Any]] = None, keyboard: Optional[str] = None, outbox_id: Optional[int] = None,
           now: dt.datetime) -> Optional[dict[str, Any]]:
    """Store one message for the page; None when the push was stored before (at-least-once delivery)."""
    if role not in ROLES:
        raise ValueError(role)
    if outbox_id is not None and session.execute(
            select(WebMessage.id).where(WebMessage.outbox_id == outbox_id)).first() is not None:
        return None
    row = WebMessage(conversation_id=number, role=role, text=text, buttons=[list(b) for b in buttons], venue=venue,
                     keyboard=keyboard, outbox_id=outbox_id, created_at=now)
    session.add(row)
    session.flush()
    return _message(row)


def history(session: Session, number: int, *, after: int = 0, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The latest ``limit`` messages after ``after``, oldest first."""
    rows = session.execute(select(WebMessage).where(WebMessage.conversation_id == number, WebMessage.id > after)
                           .order_by(WebMessage.id.desc()).limit(limit)).scalars().all()
    return [_message(m) for m in reversed(rows)]


def unread(session: Session, number: int) -> int:
    """Messages to the resident after the last one the page showed them."""
    read_up_to = session.execute(select(WebConversation.read_up_to).where(WebConversation.id == number)).scalar_one()
    return session.execute(select(func.count()).select_from(WebMessage).where(
        WebMessage.conversation_id == number, WebMessage.id > read_up_to, WebMessage.role != "resident")).scalar_one()


def read_up_to(session: Session, number: int) -> int:
    return session.execute(select(WebConversation.read_up_to).where(WebConversation.id == number)).scalar_one()


def mark_read(session: Session, number: int, up_to: int) -> None:
    """Only forward, and never past what exists."""
    last = session.execute(select(func.max(WebMessage.id)).where(WebMessage.conversation_id == number)).scalar() or 0
    session.execute(update(WebConversation).where(WebConversation.id == number,
                                                  WebConversation.read_up_to < min(up_to, last))
                    .values(read_up_to=min(up_to, last)).execution_options(synchronize_session=False))


def press(session: Session, number: int, token: str, *, now: dt.datetime) -> Pressed:
    """A button of this conversation's page, once per keyboard; another resident's token is unknown here."""
    pressed = chat_buttons.press(session, chat_id=conversations.web_key(number), token=token, now=now)
    for m in session.execute(select(WebMessage).where(WebMessage.conversation_id == number, WebMessage.chosen.is_(None))
                             .order_by(WebMessage.id.desc()).limit(50)).scalars():
        if any(t == token for _, t in m.buttons or []):
            m.chosen = pressed.label[:64]
            break
    return pressed


def remember_point(session: Session, number: int, point_id: int) -> Optional[ServicePoint]:
    """The point whose poster the resident scanned, kept as their starting place; None if it no longer serves."""
    point = session.get(ServicePoint, point_id)
    if point is None or not point.active:
        return None
    session.execute(update(WebConversation).where(WebConversation.id == number).values(start_point_id=point.id)
                    .execution_options(synchronize_session=False))
    return point


def start_point_button(session: Session, number: int) -> Optional[tuple[str, str]]:
    """When the assistant asks where the resident is: the remembered point's town, as one button."""
    point = session.execute(select(ServicePoint).join(WebConversation, WebConversation.start_point_id == ServicePoint.id)
                            .where(WebConversation.id == number)).scalar_one_or_none()
    if point is None or not point.active:
        return None
    short = point.name.replace("调解工作服务点", "")
    return f"就在{short}附近", '/choose_place{"place_code":"%s"}' % point.place.code


def appointments(session: Session, number: int) -> list[AppointmentCard]:
    """The resident's appointments still ahead (active), soonest first."""
    resident = residents.find(session, conversation_id=conversations.web(number))
    if resident is None:
        return []
    rows = session.execute(select(Appointment).join(Case, Appointment.case_id == Case.id)
                           .where(Case.resident_id == resident.id).order_by(Appointment.starts_at)).scalars().all()
    return [c for c in (cards.card(a) for a in rows) if c.active]


def resident_phone(session: Session, number: int) -> Optional[str]:
    resident = residents.find(session, conversation_id=conversations.web(number))
    return resident.phone if resident is not None and resident.anonymised_at is None else None


def clear(session: Session, number: int) -> None:
    """The page's copy of what was said, at the resident's erasure; the cookie still opens the (empty) chat."""
    session.execute(delete(WebMessage).where(WebMessage.conversation_id == number))
    session.execute(update(WebConversation).where(WebConversation.id == number).values(read_up_to=0)
                    .execution_options(synchronize_session=False))


def forget(session: Session, number: int) -> None:
    """The conversation and its messages: the cookie opens nothing any more."""
    session.execute(delete(WebMessage).where(WebMessage.conversation_id == number))
    session.execute(delete(WebConversation).where(WebConversation.id == number))


def purge(session: Session, *, now: dt.datetime, idle: dt.timedelta = IDLE_KEPT) -> int:
    """Retention: conversations silent for ``idle`` go with their messages; returns how many."""
    stale = session.execute(select(WebConversation.id).where(WebConversation.last_seen_at < now - idle)).scalars().all()
    for number in stale:
        forget(session, number)
    return len(stale)


class WebChatDesk:
    """What the web chat server asks of the court, one transaction per call (from worker threads)."""

    def __init__(self, db: Database, *, now: Callable[[], dt.datetime] = clock.now) -> None:
        self.db, self.now = db, now
        # cookie hash -> (conversation number, when the last visit was last written): a page's
        # requests within SEEN_TOUCH need no database. Retention keeps a conversation at least a
        # day after its last visit, so an entry this young never names a deleted conversation.
        self._seen: dict[str, tuple[int, dt.datetime]] = {}
        self._seen_lock = threading.Lock()

    def cached(self, cookie: object) -> Optional[Conversation]:
        """The conversation if this process saw the cookie within SEEN_TOUCH (no database: safe on the event loop)."""
        if not valid_cookie(cookie):
            return None
        with self._seen_lock:
            cached = self._seen.get(_hash(str(cookie)))
        if cached is not None and timedelta_between(cached[1], self.now()) < SEEN_TOUCH:
            return Conversation(cached[0])
        return None

    def find(self, cookie: object) -> Optional[Conversation]:
        """No database on most requests; a read on the first of a page's, a write only to renew the last visit."""
        found = self.cached(cookie)
        if found is not None or not valid_cookie(cookie):
            return found
        now, key = self.now(), _hash(str(cookie))
        with self.db.reader() as s:
            row = s.execute(select(WebConversation.id, WebConversation.last_seen_at)
                            .where(WebConversation.cookie_hash == key)).first()
        if row is None:
            return None
        seen = row.last_seen_at
        if now - seen >= SEEN_TOUCH:
            with self.db.transaction() as s:
                s.execute(update(WebConversation).where(WebConversation.id == row.id,
                                                        WebConversation.last_seen_at < now)
                          .values(last_seen_at=now).execution_options(synchronize_session=False))
            seen = now
        with self._seen_lock:
            if len(self._seen) >= SEEN_CACHE:
                self._seen.clear()  # rare (that many pages within minutes): start over rather than grow
            self._seen[key] = (row.id, seen)
        return Conversation(row.id)

    def receive(self, number: int, *, shown: Optional[str], relayed: str,
                meta: dict[str, Any]) -> tuple[Optional[dict[str, Any]], int]:
        """A resident's message, in one transaction: the page's copy (``shown``; None for the greeting)
        and the inbound journal's row for the relay (``relayed``: the text or payload the assistant gets)."""
        with self.db.transaction() as s:
            now = self.now()
            mine = append(s, number, role="resident", text=shown, now=now) if shown is not None else None
            inbound_id, _ = inbox.receive(s, update_id=None, chat_id=conversations.web_key(number),
                                          conversation_id=conversations.web(number), text=relayed, meta=meta, now=now)
            return mine, inbound_id

    def settle(self, number: int, inbound_id: int, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """After the assistant answered: the journal row delivered and every reply stored, in one transaction."""
        with self.db.transaction() as s:
            now = self.now()
            inbox.delivered(s, inbound_id, now=now)
            shown = [self._show(s, number, now=now, **item) for item in items]
            return [m for m in shown if m is not None]

    def open(self, cookie: str) -> tuple[Conversation, bool]:
        with self.db.transaction() as s:
            return open_or_create(s, cookie, now=self.now())

    def append(self, number: int, **kwargs: Any) -> Optional[dict[str, Any]]:
        with self.db.transaction() as s:
            return append(s, number, now=self.now(), **kwargs)

    def show_plan_item(self, number: int, *, text: str, buttons: Sequence[tuple[str, str]] = (),
                       venue: Optional[dict[str, Any]] = None, keyboard: Optional[str] = None, role: str = "assistant",
                       outbox_id: Optional[int] = None) -> Optional[dict[str, Any]]:
        """One message with its buttons issued as opaque tokens bound to this conversation, in one transaction."""
        with self.db.transaction() as s:
            return self._show(s, number, text=text, buttons=buttons, venue=venue, keyboard=keyboard, role=role,
                              outbox_id=outbox_id, now=self.now())

    @staticmethod
    def _show(s: Session, number: int, *, text: str, buttons: Sequence[tuple[str, str]] = (),
              venue: Optional[dict[str, Any]] = None, keyboard: Optional[str] = None, role: str = "assistant",
              outbox_id: Optional[int] = None, now: dt.datetime) -> Optional[dict[str, Any]]:
        if keyboard == PLACE_KEYBOARD and role == "assistant":
            remembered = start_point_button(s, number)
            buttons = [remembered, *buttons] if remembered else buttons
        tokens = chat_buttons.issue(s, chat_id=conversations.web_key(number), buttons=list(buttons), now=now)
        shown = [(label, token) for (label, _), token in zip(buttons, tokens)]
        return append(s, number, role=role, text=text, buttons=shown, venue=venue, keyboard=keyboard,
                      outbox_id=outbox_id, now=now)

    def history(self, number: int, *, after: int = 0) -> dict[str, Any]:
        with self.db.reader() as s:
            return {"messages": history(s, number, after=after), "unread": unread(s, number),
                    "read_up_to": read_up_to(s, number)}

    def mark_read(self, number: int, up_to: int) -> None:
        with self.db.transaction() as s:
            mark_read(s, number, up_to)

    def press(self, number: int, token: str) -> Pressed:
        if not chat_buttons.valid_token(token):
            raise ButtonInvalid()
        with self.db.transaction() as s:
            return press(s, number, token, now=self.now())

    def appointments(self, number: int) -> list[AppointmentCard]:
        with self.db.reader() as s:
            return appointments(s, number)

    def resident_phone(self, number: int) -> Optional[str]:
        with self.db.reader() as s:
            return resident_phone(s, number)

    def remember_point(self, number: int, point_id: int) -> Optional[dict[str, str]]:
        with self.db.transaction() as s:
            point = remember_point(s, number, point_id)
            return {"name": point.name, "address": point.address} if point is not None else None

    def exists(self, number: int) -> bool:
        with self.db.reader() as s:
            return s.get(WebConversation, number) is not None
