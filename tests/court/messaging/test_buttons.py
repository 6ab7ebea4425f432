"""Server-side button payloads: a token works once, in its own chat, until it expires."""
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from court.core.errors import ButtonExpired, ButtonInvalid, ButtonUsed, ValidationError
from court.messaging import buttons as chat_buttons
from court.store.schema import ChatButton
from tests.factories import NOW
from tests.races import race

CHAT = 8_000_000_001
OTHER_CHAT = 8_000_000_002


def _issue(db, buttons=(("接受", "m:accept:1"), ("拒绝", "m:decline:1")), chat_id=CHAT, **kw):
    with db.transaction() as s:
        return chat_buttons.issue(s, chat_id=chat_id, buttons=list(buttons), now=NOW, **kw)


def _press(db, token, chat_id=CHAT, now=NOW):
    with db.transaction() as s:
        return chat_buttons.press(s, chat_id=chat_id, token=token, now=now)


def test_issue_and_press_once_per_keyboard(db):
    accept, decline = _issue(db)
    other_keyboard = _issue(db, [("改约", "/reschedule")])[0]
    for token in (accept, decline):
        assert len(token.encode()) <= 64 and chat_buttons.valid_token(token)
    assert accept != decline
    pressed = _press(db, accept)
    assert (pressed.label, pressed.payload) == ("接受", "m:accept:1")
    with pytest.raises(ButtonUsed) as err:
        _press(db, accept)
    assert err.value.message == "这个选项已经处理过了。"
    with pytest.raises(ButtonUsed):  # the other button of the same keyboard is used up too
        _press(db, decline)
    # Another keyboard of the same chat is unaffected.
    assert _press(db, other_keyboard).payload == "/reschedule"
    with db.reader() as s:
        rows = s.execute(select(ChatButton).where(ChatButton.keyboard == pressed.keyboard)).scalars().all()
        assert len(rows) == 2 and all(r.used_at == NOW for r in rows)


def test_long_labels_are_truncated_and_empty_keyboards_store_nothing(db):
    (token,) = _issue(db, [("很" * 100, "p" * 500)])
    pressed = _press(db, token)
    assert pressed.label == "很" * 64 and pressed.payload == "p" * 500
    assert _issue(db, []) == []


def test_another_chats_token_is_invalid_and_stays_usable_by_its_owner(db):
    (token,) = _issue(db, [("确认", "confirm")])
    with pytest.raises(ButtonInvalid) as err:
        _press(db, token, chat_id=OTHER_CHAT)
    assert "已失效" in err.value.message
    assert _press(db, token).payload == "confirm"


def test_expired_token(db):
    (token,) = _issue(db, [("确认", "confirm")], ttl=dt.timedelta(hours=1))
    with pytest.raises(ButtonExpired) as err:
        _press(db, token, now=NOW + dt.timedelta(hours=1))
    assert err.value.message
    assert _press(db, token, now=NOW + dt.timedelta(minutes=59)).payload == "confirm"


@pytest.mark.parametrize("forged", [
    "", "m:accept:1", "a" * 65, "' OR 1=1 --", "%00", "abc def", "令牌", None, 12345, "A" * 16,
])
def test_forged_tokens_are_invalid(db, forged):
    _issue(db)
    with pytest.raises(ButtonInvalid):
        _press(db, forged)


def test_errors_are_validation_errors():
    for cls in (ButtonInvalid, ButtonExpired, ButtonUsed):
        assert issubclass(cls, ValidationError) and cls().message


def test_concurrent_presses_exactly_one_wins(db):
    tokens = _issue(db, [("接受", "accept"), ("拒绝", "decline")])
    presses = 20
    counted = Counter(race(presses, lambda i: _press(db, tokens[i % 2]).payload))
    winners = counted["accept"] + counted["decline"]
    assert winners == 1 and counted[ButtonUsed.__name__] == presses - 1, counted


def test_purge_deletes_old_buttons_only(db):
    _issue(db, [("旧", "old")], ttl=dt.timedelta(days=1))
    (used,) = _issue(db, [("用过", "used")], ttl=dt.timedelta(days=90))
    _press(db, used, now=NOW + dt.timedelta(days=2))
    _issue(db, [("长期", "live")], ttl=dt.timedelta(days=90))
    with db.transaction() as s:
        assert chat_buttons.purge(s, now=NOW + dt.timedelta(days=31)) == 0
        assert chat_buttons.purge(s, now=NOW + dt.timedelta(days=33)) == 2
        assert [b.payload for b in s.execute(select(ChatButton)).scalars()] == ["live"]
        assert s.execute(select(func.count()).select_from(ChatButton)).scalar_one() == 1
