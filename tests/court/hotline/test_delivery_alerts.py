"""Undeliverable pushes on the desk: masked in the list, whole when opened (audited), handled once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from court.core.errors import NotFound, ValidationError
from court.hotline import accounts, delivery_alerts
from court.store.schema import AuditEntry, OutboxMessage
from tests.factories import NOW, blocked_mediator_alert
from tests.races import race


def _agent(db, username: str) -> accounts.DeskUser:
    with db.transaction() as s:
        return accounts.create_user(s, username, "correct horse 12368", role="agent", display_name=username,
                                    actor="test")


def test_the_list_masks_the_detail_shows_and_audits(db):
    alert_id, name, phone = blocked_mediator_alert(db)
    li = _agent(db, "li")
    with db.reader() as s:
        [item] = delivery_alerts.pending(s)
        assert delivery_alerts.open_count(s) == 1
    assert (item.kind, item.who, item.push) == ("已屏蔽助手", "调解员", "新预约通知")
    assert phone not in item.phone and item.phone.endswith(phone[-4:]) and item.name != name
    with db.transaction() as s:
        detail, still_open = delivery_alerts.open_alert(s, alert_id, li)
    assert (detail.name, detail.phone, still_open) == (name, phone, True)
    with db.reader() as s:
        [view] = s.execute(select(AuditEntry).where(AuditEntry.action == "alert.view")).scalars().all()
        assert (view.actor, view.entity_id) == ("desk:li", alert_id)
    with pytest.raises(NotFound), db.transaction() as s:
        delivery_alerts.open_alert(s, alert_id + 1000, li)


def test_an_alert_is_handled_once_with_a_note_kept_off_the_audit_log(db):
    alert_id, _, _ = blocked_mediator_alert(db)
    agents = [_agent(db, f"agent{i}") for i in range(8)]
    with pytest.raises(ValidationError), db.transaction() as s:
        delivery_alerts.resolve(s, alert_id, agents[0], note="  ", now=NOW)

    def handle(i: int) -> str:
        with db.transaction() as s:
            delivery_alerts.resolve(s, alert_id, agents[i], note=f"已电话通知调解员（{i}）", now=NOW)
        return "won"

    outcomes = race(len(agents), handle)
    assert sorted(outcomes) == ["ValidationError"] * (len(agents) - 1) + ["won"], outcomes
    with db.reader() as s:
        row = s.get(OutboxMessage, alert_id)
        assert row.status == "sent" and row.payload["resolution"].startswith("已电话通知调解员")
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "alert.resolve")).scalars().all()
        assert "电话" not in str(entry.after) and delivery_alerts.pending(s) == []


def test_a_part_the_launcher_gave_up_on_is_an_alert_naming_it_once_a_minute(db):
    from court.hotline import service_alerts

    for _ in range(3):  # a flapping launcher writes once per minute, not once per attempt
        with db.transaction() as s:
            service_alerts.service_down(s, "actions", "exited with 1", 5)
    with db.reader() as s:
        [item] = delivery_alerts.pending(s)
    assert (item.kind, item.who, item.name, item.push) == (
        "系统部件反复故障，已停止自动重启", "系统", "业务动作服务", "exited with 1")
    assert item.phone == "" and item.reference is None
