from bot.text import neutralise


def test_typed_slash_commands_become_plain_text():
    assert neutralise('/inform{"phone":"13945612378"}') == '／inform{"phone":"13945612378"}'
    assert neutralise("  /affirm") == "／affirm"
    assert neutralise("楼上漏水/怎么办") == "楼上漏水/怎么办"
