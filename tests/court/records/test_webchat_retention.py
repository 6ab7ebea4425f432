"""The web chat's copy of what residents said (web_messages) is kept COURT_WEB_MESSAGE_DAYS
after the last visit, by the scheduled retention job, on both databases. The test moves
the one clock (court/core/clock.py) instead of waiting."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.housekeeping import enforce_retention
from court.core import clock
from court.facades.messenger import MessengerFacade
from court.messaging import webchat
from court.messaging.webchat import WebChatDesk
from court.records import retention
from court.store.schema import WebConversation, WebMessage
from tests.factories import NOW


def _chat_with_a_message(db, cookie: str) -> int:
    web = WebChatDesk(db)  # reads the court's clock at each call
    chat, _ = web.open(cookie)
    web.append(chat.number, role="resident", text="邻居家漏水，我的电话是13945612378")
    return chat.number


def _kept(db) -> tuple[set[int], int]:
    with db.reader() as s:
        return (set(s.execute(select(WebConversation.id)).scalars()),
                s.execute(select(func.count()).select_from(WebMessage)).scalar_one())


def test_messages_go_the_set_number_of_days_after_the_last_visit(db, monkeypatch) -> None:
    monkeypatch.setenv("COURT_WEB_MESSAGE_DAYS", "30")
    court_clock = clock.FixedClock(NOW)
    with clock.use(court_clock):
        quiet_cookie, back_cookie = webchat.new_cookie(), webchat.new_cookie()
        quiet = _chat_with_a_message(db, quiet_cookie)
        back = _chat_with_a_message(db, back_cookie)
        court_clock.advance(dt.timedelta(days=20))
        assert WebChatDesk(db).find(back_cookie) is not None  # a visit renews the 30 days
        court_clock.advance(dt.timedelta(days=10, minutes=1))  # 30 days and a minute after the first visit
        report = enforce_retention(MessengerFacade(db), tracker_url=None)
        assert report.web_chats_deleted == 1
        assert _kept(db) == ({back}, 1)
        assert WebChatDesk(db).find(quiet_cookie) is None  # the cookie opens nothing any more
        court_clock.advance(dt.timedelta(days=20))
        assert enforce_retention(MessengerFacade(db), tracker_url=None).web_chats_deleted == 1
        assert _kept(db) == (set(), 0)
    assert quiet != back


def test_the_default_is_90_days(db, monkeypatch) -> None:
    monkeypatch.delenv("COURT_WEB_MESSAGE_DAYS", raising=False)
    court_clock = clock.FixedClock(NOW)
    with clock.use(court_clock):
        number = _chat_with_a_message(db, webchat.new_cookie())
        court_clock.advance(dt.timedelta(days=89, hours=23))
        assert enforce_retention(MessengerFacade(db), tracker_url=None).web_chats_deleted == 0
        assert _kept(db) == ({number}, 1)
        court_clock.advance(dt.timedelta(hours=2))
        assert enforce_retention(MessengerFacade(db), tracker_url=None).web_chats_deleted == 1
        assert _kept(db) == (set(), 0)


@pytest.mark.parametrize("bad", ["0", "-5", "九十", "99999"])
def test_a_bad_setting_stops_the_pass_with_a_clear_error(db, monkeypatch, bad) -> None:
    monkeypatch.setenv("COURT_WEB_MESSAGE_DAYS", bad)
    with pytest.raises(ValueError, match="COURT_WEB_MESSAGE_DAYS"):
        retention.web_message_days()
    with clock.use(clock.FixedClock(NOW + dt.timedelta(days=400))), pytest.raises(ValueError):
        enforce_retention(MessengerFacade(db), tracker_url=None)
