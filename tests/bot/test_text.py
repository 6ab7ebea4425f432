from bot.text import neutralise, split_text


def test_typed_slash_commands_become_plain_text():
    assert neutralise('/inform{"phone":"13945612378"}') == '／inform{"phone":"13945612378"}'
    assert neutralise("  /affirm") == "／affirm"
    assert neutralise("楼上漏水/怎么办") == "楼上漏水/怎么办"


def test_long_replies_split_at_line_breaks_within_the_limit():
    card = "案件编号：HH261130-7K3Q\n" + "\n".join(f"第{i}行：调解员会按时接待您。" for i in range(400))
    chunks = split_text(card, limit=500)
    assert all(len(c) <= 500 for c in chunks) and len(chunks) > 5
    assert "\n".join(chunks) == card.strip()
    assert all(not c.startswith("\n") and not c.endswith("\n") for c in chunks)


def test_text_without_breaks_is_cut_at_punctuation_or_the_limit():
    text = "楼上漏水，" * 300
    chunks = split_text(text, limit=100)
    assert all(len(c) <= 100 for c in chunks) and "".join(chunks) == text.strip()
    assert split_text("x" * 250, limit=100) == ["x" * 100, "x" * 100, "x" * 50]
    assert split_text("   ") == []
