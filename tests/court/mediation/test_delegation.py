"""委派调解: a clerk delegates a dispute, the mediator accepts, logs and records the outcome;
deadlines (30 days, extended once) warn the desk and the mediator at 7 and 1 days and when passed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.notifications import render
from court.core.errors import PermissionDenied, ValidationError
from court.facades.messenger import MessengerFacade
from court.hotline import delivery_alerts
from court.mediation import delegation, delegation_deadlines, delegation_offers, delegation_outcomes
from court.reference import legal
from court.store.schema import (
    AuditEntry,
    Case,
    Court,
    Delegation,
    Mediator,
    OutboxMessage,
    Outcome,
    Place,
    RecipientType,
    ServicePoint,
)
from tests.factories import NOW

PARTIES = [delegation.PartyIn("applicant", "张三", "13912345678"),
           delegation.PartyIn("respondent", "李四", "13987654321")]


class _Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


class _Texts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> bool:
        self.sent.append((phone, text))
        return True


def town_with_point(session) -> tuple[Place, ServicePoint]:
    """A town whose own service point has at least two active mediators."""
    for point in session.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars():
        if len([m for m in point.mediators if m.status == "active"]) >= 2:
            return point.place, point
    raise AssertionError("no point with two mediators")


def new_delegation(session, *, now=NOW, mediator: Mediator | None = None, **over) -> Delegation:
    place, point = town_with_point(session)
    mediator = mediator or sorted((m for m in point.mediators if m.status == "active"), key=lambda m: m.id)[0]
    court = session.execute(select(Court).order_by(Court.id)).scalars().first()
    args = dict(parties=PARTIES, dispute_type="debt", summary="借款三万元到期未还", amount_cents=3000000,
                court_id=court.id, judge="王法官", channel="window", place_id=place.id, point_id=point.id,
                mediator_id=mediator.id, consent=True, actor="desk:clerk", now=now)
    return delegation_offers.delegate(session, **(args | over))


def _rows(session, **where):  # type: ignore[no-untyped-def]
    query = select(OutboxMessage)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return session.execute(query.order_by(OutboxMessage.id)).scalars().all()


def test_the_proposal_prefers_the_towns_own_point_the_speciality_and_the_lighter_load(db):
    with db.transaction() as s:
        place, point = town_with_point(s)
        first = delegation_offers.propose(s, place_id=place.id, dispute_type="debt", now=NOW)
        assert first and first[0].point_id == point.id and first[0].distance_km == 0.0
        near = [c for c in first if c.distance_km <= first[0].distance_km + delegation_offers.NEAR_KM]
        keys = [(not c.speciality, c.load) for c in near]
        assert keys == sorted(keys)
        # Give the proposed mediator a case: a colleague with the same speciality comes first now.
        top = first[0]
        twin = [c for c in first if c.point_id == top.point_id and c.mediator_id != top.mediator_id
                and c.speciality == top.speciality]
        m = s.get(Mediator, top.mediator_id)
        new_delegation(s, mediator=m)
        again = delegation_offers.propose(s, place_id=place.id, dispute_type="debt", now=NOW)
        assert next(c for c in again if c.mediator_id == top.mediator_id).load == top.load + 1
        if twin and twin[0].load == top.load:
            assert again[0].mediator_id != top.mediator_id


def test_a_delegation_checks_its_parties_and_consent(db):
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="同意"):
            new_delegation(s, consent=False)
        with pytest.raises(ValidationError, match="被申请人"):
            new_delegation(s, parties=PARTIES[:1])
        with pytest.raises(ValidationError, match="申请人的电话"):
            new_delegation(s, parties=[delegation.PartyIn("applicant", "张三", "123"), PARTIES[1]])
    assert delegation.parse_amount("１２,０００.5元") == 1200050 and delegation.parse_amount(" ") is None
    with pytest.raises(ValidationError):
        delegation.parse_amount("三万")


def test_clerk_delegates_mediator_accepts_parties_are_told_and_a_failure_goes_back_to_filing(db):
    texts = _Texts()
    with db.transaction() as s:
        d = new_delegation(s)
        d_id, ref, mediator_id = d.id, d.case.reference, d.case.mediator_id
        assert d.deadline == dt.date(2026, 12, 30) and d.case.source == "delegated" and d.case.status == "intake"
        [offer] = _rows(s, template="delegation_offer")
        assert offer.recipient_id == mediator_id
        notice = render("mediator", "delegation_offer", offer.payload)
        assert "13912345678" not in notice.text and "张三" not in notice.text and legal.audit(notice.text) == []
        assert "标的额（元）：30,000" in notice.text
        assert [p for _, p in notice.buttons] == [f"d:accept:{d_id}", f"d:decline:{d_id}"]
        # Names and phones never enter the append-only log.
        logged = " ".join(str(a.after) for a in s.execute(select(AuditEntry)).scalars())
        assert "13912345678" not in logged and "张三" not in logged
        other = s.execute(select(Mediator.id).where(Mediator.id != mediator_id)).scalars().first()
        with pytest.raises(PermissionDenied):
            delegation_offers.accept(s, d_id, mediator_id=other, now=NOW)
    with db.transaction() as s:
        assert delegation_offers.accept(s, d_id, mediator_id=mediator_id, now=NOW) is True
        assert delegation_offers.accept(s, d_id, mediator_id=mediator_id, now=NOW) is False
        case = s.execute(select(Case).where(Case.reference == ref)).scalar_one()
        assert case.status == "mediating" and case.booked_at is not None
        sms_rows = _rows(s, template="delegation_party_sms")
        assert len(sms_rows) == 2 and {r.channel for r in sms_rows} == {"sms"}
    desk = MessengerFacade(db, now=_Clock(NOW))
    assert desk.delegation_pass(texts) == (0, 2)
    assert {p for p, _ in texts.sent} == {"13912345678", "13987654321"}
    assert all(ref in t and "调解员电话" in t for _, t in texts.sent)
    with db.reader() as s:
        assert all(r.status == "sent" and "13912345678" not in str(r.payload)
                   for r in _rows(s, template="delegation_party_sms"))
    with db.transaction() as s:
        delegation_outcomes.add_log(s, mediator_id, ref, "contact", "电话联系申请人，约定周三面谈", now=NOW)
        delegation_outcomes.add_log(s, mediator_id, ref.lower(), "session", "第一次调解，金额分歧大", now=NOW)
        outcome = delegation_outcomes.record_outcome(s, mediator_id, ref, "失败", note="被申请人不同意还款", now=NOW)
        assert outcome.appointment_id is None and outcome.result == "failed"
    with db.reader() as s:
        d = s.get(Delegation, d_id)
        assert d.status == "returned" and d.return_note == "被申请人不同意还款" and d.case.status == "failed"
        assert [e.kind for e in d.log] == ["contact", "session"]
        kinds = [a.kind for a in delivery_alerts.pending(s)]
        assert kinds == [delivery_alerts.KIND_LABELS["delegation_returned"]]
    with db.transaction() as s, pytest.raises(ValidationError, match="办结"):
        delegation_outcomes.add_log(s, mediator_id, ref, "contact", "再次联系", now=NOW)


def test_an_agreement_goes_on_to_judicial_confirmation_and_a_chat_resident_is_told_in_the_chat(db):
    from court.records import residents

    with db.transaction() as s:
        resident = residents.record_consent(s)
        residents.set_contact(s, resident, name="张三", phone="13912345678")
        resident.telegram_user_id = 515151
        d = new_delegation(s)
        mediator_id, ref = d.case.mediator_id, d.case.reference
        delegation_offers.accept(s, d.id, mediator_id=mediator_id, now=NOW)
        [push] = _rows(s, template="delegation_party")
        assert push.recipient_type == RecipientType.RESIDENT.value and push.recipient_id == resident.id
        assert len(_rows(s, template="delegation_party_sms")) == 1  # the other party has no chat
        assert "调解员" in render("resident", "delegation_party", push.payload).text
        delegation_outcomes.record_outcome(s, mediator_id, ref, "达成协议，需司法确认", now=NOW)
        case = s.get(Case, d.case_id)
        assert case.status == "jc_requested" and d.status == "settled"
        assert s.execute(select(Outcome.jc_requested_at).where(Outcome.case_id == case.id)).scalar_one() == NOW


def test_a_decline_alerts_the_desk_and_the_clerk_reassigns(db):
    with db.transaction() as s:
        d = new_delegation(s)
        first = d.case.mediator_id
        delegation_offers.decline(s, d.id, mediator_id=first, now=NOW)
        assert d.status == "declined" and d.case.mediator_id is None
        [alert] = delivery_alerts.pending(s)
        assert alert.kind == delivery_alerts.KIND_LABELS["delegation_declined"] and alert.reference == d.case.reference
        place_id, point_id = d.case.place_id, d.case.service_point_id
        other = next(c for c in delegation_offers.propose(s, place_id=place_id, dispute_type="debt", now=NOW,
                                                          exclude_mediators=[first]))
        delegation_offers.reassign(s, d.id, point_id=other.point_id, mediator_id=other.mediator_id, actor="desk:clerk",
                                   now=NOW)
        assert d.status == "offered" and d.offers == 2 and d.case.mediator_id == other.mediator_id
        assert [r.recipient_id for r in _rows(s, template="delegation_offer")] == [first, other.mediator_id]
        assert point_id


def test_deadline_alerts_at_7_and_1_days_and_when_passed_once_each_and_an_extension_once(db):
    clock = _Clock(NOW)
    desk = MessengerFacade(db, now=clock)
    with db.transaction() as s:
        d = new_delegation(s)
        d_id, mediator_id = d.id, d.case.mediator_id
        delegation_offers.accept(s, d_id, mediator_id=mediator_id, now=NOW)
    texts = _Texts()

    def at(day: dt.date) -> tuple[int, int]:
        clock.at = dt.datetime.combine(day, dt.time(9, 0), tzinfo=NOW.tzinfo)
        return desk.delegation_pass(texts)

    assert at(dt.date(2026, 12, 22))[0] == 0  # 8 days left
    assert at(dt.date(2026, 12, 23))[0] == 1  # 7 days
    assert at(dt.date(2026, 12, 24))[0] == 0
    assert at(dt.date(2026, 12, 29))[0] == 1  # 1 day
    assert at(dt.date(2026, 12, 30))[0] == 0  # the last day itself: still in time
    assert at(dt.date(2026, 12, 31))[0] == 1  # passed
    assert at(dt.date(2027, 1, 5))[0] == 0
    with db.reader() as s:
        kinds = [r.template for r in _rows(s, recipient_type="court") if r.template.startswith("delegation_")]
        assert kinds == ["delegation_due_7", "delegation_due_1", "delegation_overdue"]
        pushes = _rows(s, template="delegation_deadline")
        assert [p.payload["level"] for p in pushes] == ["d7", "d1", "overdue"]
        assert all(p.recipient_id == mediator_id for p in pushes)
        assert all(legal.audit(render("mediator", p.template, p.payload).text) == [] for p in pushes)
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="理由"):
            delegation_deadlines.extend(s, d_id, days=15, reason=" ", actor="desk:clerk", now=clock.at)
        delegation_deadlines.extend(s, d_id, days=15, reason="双方同意延长", actor="desk:clerk", now=clock.at)
        d = s.get(Delegation, d_id)
        # Passed on 30 December: 15 days from today (5 January).
        assert (d.original_deadline, d.deadline, d.alert_level) == (dt.date(2026, 12, 30), dt.date(2027, 1, 20), None)
        with pytest.raises(ValidationError, match="一次"):
            delegation_deadlines.extend(s, d_id, days=5, reason="再延", actor="desk:clerk", now=clock.at)
    assert at(dt.date(2027, 1, 13))[0] == 1  # the new deadline's own 7-day warning
    assert at(dt.date(2027, 2, 1))[0] == 1  # a clock that jumps raises only the latest level
    with db.reader() as s:
        assert s.get(Delegation, d_id).alert_level == "overdue"


def test_an_extension_before_the_deadline_counts_from_the_old_last_day_and_a_settled_case_never_alerts(db):
    with db.transaction() as s:
        d = new_delegation(s)
        delegation_deadlines.extend(s, d.id, days=10, reason="双方同意延长", actor="desk:clerk", now=NOW)
        assert d.deadline == dt.date(2027, 1, 9)
        delegation_offers.accept(s, d.id, mediator_id=d.case.mediator_id, now=NOW)
        delegation_outcomes.record_outcome(s, d.case.mediator_id, d.case.reference, "成功", now=NOW)
        assert delegation_deadlines.raise_deadline_alerts(s, now=NOW + dt.timedelta(days=60)) == 0


def test_without_an_sms_sender_the_desk_is_asked_to_phone_the_party(db):
    from court.messaging.sms import Off

    with db.transaction() as s:
        d = new_delegation(s)
        delegation_offers.accept(s, d.id, mediator_id=d.case.mediator_id, now=NOW)
    assert MessengerFacade(db, now=_Clock(NOW)).delegation_pass(Off()) == (0, 0)
    with db.reader() as s:
        alerts = delivery_alerts.pending(s)
        assert len(alerts) == 2 and {a.who for a in alerts} == {"委派案件当事人"}
        assert {a.phone for a in alerts} == {"139****5678", "139****4321"}


def test_an_offer_to_a_mediator_not_linked_yet_is_pushed_again_at_the_link(db):
    from court.mediation import linking
    from court.messaging import outbox

    with db.transaction() as s:
        d = new_delegation(s)
        mediator = d.case.mediator
        assert mediator.telegram_chat_id is None
        code = linking.issue_link_code(s, mediator.code, actor="test")
        candidate = next(c for c in delegation_offers.propose(s, place_id=d.case.place_id, dispute_type="debt", now=NOW, limit=50)
                         if c.mediator_id == mediator.id)
        assert candidate.linked is False
        mediator_id = mediator.id
    assert outbox.claim_due(db, now=NOW) == []  # no chat: failed, not sent
    desk = MessengerFacade(db, now=_Clock(NOW))
    desk.link_mediator(code, 880001)
    [again] = [p for p in outbox.claim_due(db, now=NOW) if p.template == "delegation_offer"]
    assert again.recipient_id == mediator_id and again.chat_id == 880001


def test_a_delegated_case_settled_gets_its_agreement_and_judicial_confirmation_like_any_other(db):
    # 委派调解 and the agreement documents meet here: the delegation's service point chooses the court.
    from court.mediation import agreements, confirmations
    from tests.court.mediation.test_agreements import data
    from tests.factories import local

    with db.transaction() as s:
        d = new_delegation(s)
        mediator_id, ref = d.case.mediator_id, d.case.reference
        delegation_offers.accept(s, d.id, mediator_id=mediator_id, now=NOW)
        delegation_outcomes.record_outcome(s, mediator_id, ref, "成功", now=NOW)
    effective = NOW.date()
    with db.transaction() as s:
        agreement = agreements.save(s, ref, data(effective_on=effective), actor="desk:li.min",
                                    now=local(effective, 15))
        assert agreement.case.service_point_id == s.get(Delegation, d.id).case.service_point_id
    with db.transaction() as s:
        request = confirmations.file(s, ref, filed_on=effective, actor="desk:li.min", now=local(effective, 16))
        assert request.court.name.endswith("人民法院") and request.deadline > effective
        assert s.execute(select(Case.status).where(Case.reference == ref)).scalar_one() == "jc_requested"
