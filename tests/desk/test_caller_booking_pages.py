"""The desk's pages for booking a phone caller by their case: from the intake to a booking,
the caller texted a link (a local recording provider), clerks kept out."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from court.core import clock
from court.hotline import accounts
from court.store.schema import Appointment, Case
from tests.desk.test_desk_app import PASSWORD, PHONE, _login, _post, app  # noqa: F401 - app is a fixture


def _intake(client) -> str:  # type: ignore[no-untyped-def]
    form = {"dispute_type": "neighbor", "summary": "楼上漏水，协商不成。", "phone": PHONE, "consent": "y"}
    page = _post(client, "/intake", form, token_from="/intake").get_data(as_text=True)
    reference = re.search(r'class="reference">([A-Z0-9-]+)<', page).group(1)
    assert f"/cases/{reference}/booking" in page  # the intake page leads on to booking on the phone
    return reference


def test_an_agent_books_for_a_caller_and_the_caller_is_texted(app, db, tmp_path, monkeypatch) -> None:  # noqa: F811
    record = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SMS_PROVIDER", "record")
    monkeypatch.setenv("SMS_RECORD_FILE", str(record))
    monkeypatch.setenv("WEBCHAT_PUBLIC_URL", "https://chat.hhcourt.example")
    client = _login(app)
    reference = _intake(client)
    record.unlink(missing_ok=True)  # the intake did not ask for a text
    found = client.get(f"/cases/find?reference={reference.lower()}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/cases/{reference}/booking")
    page = client.get(f"/cases/{reference}/booking?place=爱辉区西岗子").get_data(as_text=True)
    tokens = re.findall(r'name="slot" value="([^"]+)"', page)
    assert len(tokens) >= 3 and "来电人已在电话中听过时间和地点" in page
    path = f"/cases/{reference}/booking"
    refused = _post(client, f"/cases/{reference}/book", {"slot": tokens[0], "place": "爱辉区西岗子", "send_sms": "y"},
                    token_from=path)
    assert refused.status_code == 422 and "请先征得来电人同意" in refused.get_data(as_text=True)
    assert not record.exists()
    done = _post(client, f"/cases/{reference}/book", {"slot": tokens[0], "consent": "y", "send_sms": "y"},
                 token_from=path)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store" and "已用短信告知来电人" in text
    link = re.search(r'value="(https://chat\.hhcourt\.example/i/[A-Za-z0-9_-]+)"', text).group(1)
    [sent] = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert sent["phone"] == PHONE and link in sent["text"] and sent["text"].startswith("【黑河法院】")
    assert "漏水" not in sent["text"] and "调解员" not in sent["text"]  # a notice and a link only
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.status == "booked"
        assert len(s.execute(select(Appointment).where(Appointment.case_id == case.id)).scalars().all()) == 1
    again = client.get(f"/cases/{reference}/booking?place=爱辉区西岗子").get_data(as_text=True)
    assert "已有预约" in again and 'name="slot"' not in again


def test_clerks_cannot_book_for_callers(app, db) -> None:  # noqa: F811
    with db.transaction() as s:
        accounts.create_user(s, "zhao", PASSWORD, display_name="赵会计", role="clerk", now=clock.now())
    agent = _login(app)
    reference = _intake(agent)
    clerk = app.test_client()
    from tests.desk.test_desk_app import _csrf
    clerk.post("/login", data={"username": "zhao", "password": PASSWORD, "csrf_token": _csrf(clerk)})
    assert clerk.get(f"/cases/{reference}/booking?place=爱辉区西岗子").status_code == 403
    assert clerk.post(f"/cases/{reference}/book", data={"slot": "S.1.1.1799999999", "consent": "y"}).status_code in (
        400, 403)
    assert agent.get("/cases/HH000000-ZZZZ/booking").status_code == 404
