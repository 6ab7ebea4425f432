"""A phone caller is served on the phone: the web chat's one-time link goes out by SMS
(a local recording provider here), and the agent still sees it to copy."""
from __future__ import annotations

import json
import re

from tests.desk.test_desk_app import PHONE, _login, _post, app  # noqa: F401 - app is a fixture


def test_intake_texts_the_web_chat_link_when_a_sender_is_configured(app, db, tmp_path, monkeypatch) -> None:  # noqa: F811
    record = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SMS_PROVIDER", "record")
    monkeypatch.setenv("SMS_RECORD_FILE", str(record))
    monkeypatch.setenv("WEBCHAT_PUBLIC_URL", "https://chat.hhcourt.example")
    client = _login(app)
    form = {"dispute_type": "labor", "summary": "工地拖欠工资。", "phone": PHONE, "consent": "y", "send_sms": "y"}
    page = _post(client, "/intake", form, token_from="/intake").get_data(as_text=True)
    link = re.search(r'value="(https://chat\.hhcourt\.example/i/[A-Za-z0-9_-]+)"', page).group(1)
    assert "已用短信" in page and "<svg" in page
    [sent] = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert sent["phone"] == PHONE and link in sent["text"] and sent["text"].startswith("【黑河法院】")
    assert "工资" not in sent["text"]  # a notice and a link, never what the caller told us


def test_without_a_sender_the_agent_is_told_to_copy_the_link(app, db, monkeypatch) -> None:  # noqa: F811
    monkeypatch.delenv("SMS_PROVIDER", raising=False)
    client = _login(app)
    form = {"dispute_type": "labor", "summary": "工地拖欠工资。", "phone": PHONE, "consent": "y", "send_sms": "y"}
    page = _post(client, "/intake", form, token_from="/intake").get_data(as_text=True)
    assert "短信发送未开通" in page and re.search(r'value="http://127\.0\.0\.1:8090/i/[A-Za-z0-9_-]+"', page)
