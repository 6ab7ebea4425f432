from bot.replies import Outgoing, Venue, plan


def test_text_buttons_and_custom_hints_become_telegram_messages():
    replies = [
        {"recipient_id": "tg-1", "text": "请选一个时间：",
         "buttons": [{"title": "12月1日 上午09:00", "payload": '/choose_slot{"slot_token":"S.1.2.1764550800"}'},
                     {"title": "换个时间", "payload": "/change_time"}]},
        {"recipient_id": "tg-1", "text": "您在哪个乡镇？"},
        {"recipient_id": "tg-1", "custom": {"keyboard": "location"}},
        {"recipient_id": "tg-1", "custom": {"venue": {"latitude": 49.9, "longitude": 127.3, "title": "西岗子镇调解工作服务点",
                                                      "address": "西岗子镇政府"}}},
    ]
    out = plan(replies)
    assert out[0].buttons == [("12月1日 上午09:00", '/choose_slot{"slot_token":"S.1.2.1764550800"}'),
                              ("换个时间", "/change_time")]
    assert out[1] == Outgoing(text="您在哪个乡镇？", keyboard="location")
    assert out[2].venue == Venue(49.9, 127.3, "西岗子镇调解工作服务点", "西岗子镇政府")
    assert len(out) == 3


def test_a_reply_keyboard_never_replaces_inline_buttons_and_bad_custom_is_ignored():
    out = plan([{"text": "同意吗？", "buttons": [{"title": "同意", "payload": "/affirm"}]},
                {"custom": {"keyboard": "contact"}},
                {"custom": {"venue": {"latitude": "north"}}},
                {"custom": {"keyboard": "camera"}},
                {"text": ""}])
    assert out == [Outgoing(text="同意吗？", buttons=[("同意", "/affirm")])]


def test_long_text_is_split_and_buttons_stay_on_the_last_part():
    out = plan([{"text": "很长的说明。\n" * 800, "buttons": [{"title": "帮我预约", "payload": "/book_mediation"}]}])
    assert len(out) >= 2 and all(len(o.text) <= 4096 for o in out)
    assert [o.buttons for o in out[:-1]] == [[]] * (len(out) - 1) and out[-1].buttons
