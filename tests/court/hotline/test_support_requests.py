"""接诉即办: a township files, the court assigns and answers, the township rates; deadlines in the
court's working days; one desk alert for a request left unanswered; the monthly figures against an
independent count."""
from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest
from sqlalchemy import select

from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.facades.messenger import MessengerFacade
from court.hotline import accounts, delivery_alerts, support_requests
from court.oversight import stats
from court.records import workcalendar
from court.store.schema import AuditEntry, OutboxMessage, Place, SupportRequest
from tests.factories import NOW, local

PASSWORD = "correct horse 12368"
FRIDAY = dt.date(2026, 12, 4)


class _Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def town(session, name: str) -> int:
    return session.execute(select(Place.id).where(Place.name == name, Place.level == "town")).scalar_one()


def make_accounts(db):  # type: ignore[no-untyped-def]
    """Two townships with one account each, a clerk and an agent."""
    with db.transaction() as s:
        a = support_requests.create_organisation(s, "西岗子镇人民政府", "township", place_id=town(s, "西岗子镇"),
                                                 actor="test", now=NOW)
        b = support_requests.create_organisation(s, "黑河市司法局", "department", actor="test", now=NOW)
        users = {
            "xgz": accounts.create_user(s, "xgz", PASSWORD, role="partner", display_name="西岗子镇", now=NOW,
                                        organisation_id=a.id),
            "sfj": accounts.create_user(s, "sfj", PASSWORD, role="partner", display_name="司法局", now=NOW,
                                        organisation_id=b.id),
            "clerk": accounts.create_user(s, "clerk", PASSWORD, role="clerk", display_name="书记员王", now=NOW),
            "agent": accounts.create_user(s, "agent", PASSWORD, role="agent", display_name="坐席李", now=NOW),
        }
    return users


def test_the_deadline_counts_the_courts_working_days(db) -> None:
    with db.reader() as s:
        cal = workcalendar.of(s)
        # Friday: Monday, Tuesday, Wednesday; due when Wednesday ends.
        assert support_requests.due_at(cal, local(FRIDAY, 16), 3) == local(dt.date(2026, 12, 10), 0)
        # The day before National Day: the holiday is skipped, the adjusted working Saturday counts.
        assert support_requests.due_at(cal, local(dt.date(2026, 9, 30), 10), 3) == local(dt.date(2026, 10, 11), 0)
        # Filed on a Sunday: the three days start on Monday.
        assert support_requests.due_at(cal, local(dt.date(2026, 12, 6), 10), 1) == local(dt.date(2026, 12, 8), 0)


def test_a_township_files_the_court_answers_and_the_township_rates(db) -> None:
    users = make_accounts(db)
    with db.transaction() as s:
        row = support_requests.file(s, users["xgz"], kind="mediation_guidance",
                                    description="村里土地承包纠纷，调解时对承包期限拿不准，请法官指导。", now=NOW)
        rid = row.id
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="答复以后才能评价"):
            support_requests.rate(s, users["xgz"], rid, 5, now=NOW)
        with pytest.raises(ValidationError, match="请选择承办"):
            support_requests.assign(s, rid, users["agent"].id, users["clerk"], now=NOW)  # agents do not handle them
        with pytest.raises(PermissionDenied):
            support_requests.answer(s, rid, "好的", users["agent"], now=NOW)
        with pytest.raises(ValidationError, match="请先答复"):
            support_requests.close(s, rid, users["clerk"], now=NOW)
    later = NOW + dt.timedelta(hours=5)
    with db.transaction() as s:
        support_requests.assign(s, rid, users["clerk"].id, users["clerk"], now=NOW + dt.timedelta(hours=1))
        support_requests.answer(s, rid, "已安排立案庭法官本周四到镇里指导。", users["clerk"], now=later)
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="已经答复过了"):
            support_requests.answer(s, rid, "再答一次", users["clerk"], now=later)
        with pytest.raises(ValidationError, match="1到5"):
            support_requests.rate(s, users["xgz"], rid, "九", now=later)
        support_requests.rate(s, users["xgz"], rid, 4, now=later)
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="已经评价过了"):
            support_requests.rate(s, users["xgz"], rid, 5, now=later)
        support_requests.close(s, rid, users["clerk"], now=later)
    with db.reader() as s:
        view = support_requests.my_request(s, users["xgz"], rid, now=later, calendar=workcalendar.of(s))
        assert (view.status, view.rating, view.assignee, view.waited) == ("closed", 4, "书记员王", "5小时0分钟")
        actions = s.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.after)
                            .where(AuditEntry.entity_type == "support_request").order_by(AuditEntry.id)).all()
    assert [(a, actor) for a, actor, _ in actions] == [
        ("request.file", "desk:xgz"), ("request.assign", "desk:clerk"), ("request.answer", "desk:clerk"),
        ("request.rate", "desk:xgz"), ("request.close", "desk:clerk")]
    assert "土地" not in str(actions) and "法官" not in str(actions)  # no request or reply text in the audit log


def test_an_organisation_sees_only_its_own_requests(db) -> None:
    users = make_accounts(db)
    with db.transaction() as s:
        mine = support_requests.file(s, users["xgz"], kind="legal_support", description="请求法律支持", now=NOW).id
        theirs = support_requests.file(s, users["sfj"], kind="legal_education", description="普法宣传", now=NOW).id
        with pytest.raises(ValidationError, match="请写明"):
            support_requests.file(s, users["xgz"], kind="legal_support", description="   ", now=NOW)
        with pytest.raises(ValidationError, match="诉求类型"):
            support_requests.file(s, users["xgz"], kind="divorce", description="x", now=NOW)
        with pytest.raises(PermissionDenied):
            support_requests.file(s, users["clerk"], kind="legal_support", description="x", now=NOW)
    with db.transaction() as s:
        cal = workcalendar.of(s)
        assert [v.request_id for v in support_requests.mine(s, users["xgz"], now=NOW, calendar=cal)] == [mine]
        with pytest.raises(NotFound):
            support_requests.my_request(s, users["xgz"], theirs, now=NOW, calendar=cal)
        with pytest.raises(NotFound):
            support_requests.rate(s, users["xgz"], theirs, 5, now=NOW)
        assert {v.request_id for v in support_requests.queue(s, now=NOW, calendar=cal)} == {mine, theirs}


def test_accounts_and_organisations_are_checked(db) -> None:
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="必须属于"):
            accounts.create_user(s, "nobody", PASSWORD, role="partner", display_name="无单位", now=NOW)
        with pytest.raises(ValidationError, match="乡镇或街道"):
            support_requests.create_organisation(s, "某镇", "township", actor="test", now=NOW)
        county = s.execute(select(Place.id).where(Place.level == "county")).scalars().first()
        with pytest.raises(ValidationError, match="乡镇或街道"):
            support_requests.create_organisation(s, "某县", "township", place_id=county, actor="test", now=NOW)


def test_a_request_left_unanswered_alerts_the_desk_once_on_the_courts_clock(db) -> None:
    users = make_accounts(db)
    filed = local(FRIDAY, 16)
    with db.transaction() as s:
        late = support_requests.file(s, users["xgz"], kind="judicial_confirmation", description="司法确认", now=filed).id
        answered = support_requests.file(s, users["sfj"], kind="legal_support", description="法律支持", now=filed).id
    clock = _Clock(local(dt.date(2026, 12, 9), 23, 59))  # Wednesday, a minute before the deadline
    front = MessengerFacade(db, now=clock)
    assert front.alert_overdue_requests() == 0
    with db.transaction() as s:
        support_requests.answer(s, answered, "已答复", users["clerk"], now=clock.at)
    clock.at = local(dt.date(2026, 12, 10), 0)
    assert front.alert_overdue_requests() == 1
    clock.at += dt.timedelta(days=2)
    assert front.alert_overdue_requests() == 0  # once
    with db.reader() as s:
        [alert] = delivery_alerts.pending(s)
        assert (alert.who, alert.name, alert.reference) == ("合作单位", "西岗子镇人民政府", f"诉求 #{late}")
        assert "超过答复期限" in alert.kind
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.template == "request_overdue")).scalars().all()
        assert len(rows) == 1 and s.get(SupportRequest, late).overdue_alerted_at == local(dt.date(2026, 12, 10), 0)
        views = {v.request_id: v for v in support_requests.queue(s, now=clock.at, calendar=workcalendar.of(s))}
    assert views[late].late and not views[answered].late


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def test_the_monthly_figures_match_an_independent_count(db) -> None:
    users = make_accounts(db)
    # (who, kind, filed, hours to the answer or None, rating or None)
    plan = [("xgz", "legal_support", local(dt.date(2026, 11, 2), 9), 3.0, 5),
            ("xgz", "legal_support", local(dt.date(2026, 11, 5), 14), 30.0, 4),
            ("xgz", "mediation_guidance", local(dt.date(2026, 11, 10), 10), 50.5, 2),
            ("sfj", "legal_education", local(dt.date(2026, 11, 12), 9), 8.0, None),
            ("sfj", "judicial_confirmation", local(dt.date(2026, 11, 20), 11), 1.5, 3),
            ("sfj", "legal_support", local(dt.date(2026, 11, 27), 16), None, None),
            ("xgz", "legal_support", local(dt.date(2026, 10, 30), 9), 2.0, 1),  # October: not in November
            ("xgz", "legal_support", local(dt.date(2026, 12, 1), 9), 2.0, None)]  # December
    for who, kind, filed, hours, rating in plan:
        with db.transaction() as s:
            rid = support_requests.file(s, users[who], kind=kind, description="诉求", now=filed).id
            if hours is not None:
                support_requests.answer(s, rid, "答复", users["clerk"], now=filed + dt.timedelta(hours=hours))
            if rating is not None:
                support_requests.rate(s, users[who], rid, rating, now=filed + dt.timedelta(hours=hours + 1))
    with db.reader() as s:
        got = stats.request_figures(s, start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    lo, hi = local(dt.date(2026, 11, 1), 0), local(dt.date(2026, 12, 1), 0)
    month = [p for p in plan if lo <= p[2] < hi]
    rated = [p[4] for p in plan if p[4] is not None and lo <= p[2] + dt.timedelta(hours=p[3] + 1) < hi]
    waits = [p[3] for p in month if p[3] is not None]
    assert got.filed == len(month) == 6
    assert dict(got.by_kind) == {k: sum(1 for p in month if p[1] == k) for k in support_requests.KIND_LABELS}
    assert dict(got.by_township) == {"西岗子镇": 3, "黑河市司法局": 3}  # a department without a place: by its name
    assert got.answered == len(waits)
    assert got.response_median_hours == round(statistics.median(waits), 1)
    assert got.response_p90_hours == round(_p90(waits), 1)
    assert got.rated == len(rated) and got.rating_mean == round(statistics.mean(rated), 2)
    assert got.satisfied == sum(1 for r in rated if r >= 4)
    assert got.satisfied_share == pytest.approx(got.satisfied / len(rated))


def test_the_cli_registers_an_organisation_and_its_account(db, monkeypatch, capsys) -> None:
    from court.admin import cli

    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("DESK_PASSWORD", PASSWORD)
    assert cli.main(["add-organisation", "西岗子镇人民政府", "--kind", "township", "--place", "西岗子镇"]) == 0
    assert cli.main(["add-desk-user", "xgz.zhb", "--role", "partner", "--organisation", "西岗子镇人民政府",
                     "--name", "西岗子镇综治办"]) == 0
    assert cli.main(["add-organisation", "某镇", "--kind", "township"]) == 1  # a township needs its place
    out = capsys.readouterr()
    assert "已登记合作单位 西岗子镇人民政府（乡镇街道）" in out.out and "乡镇街道账号要对应一个乡镇或街道" in out.err
    with db.reader() as s:
        user = accounts.authenticate(s, "xgz.zhb", PASSWORD, now=NOW)
        org = support_requests.organisation_by_name(s, "西岗子镇人民政府").id
    assert user is not None and (user.role, user.organisation_id) == ("partner", org)
