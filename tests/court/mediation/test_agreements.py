"""Agreements drafted from a successful outcome, the court their application goes to,
the 30-day deadline on the court's clock, the request and the court's ruling, the
integrity rule over changes after filing, erasure, and the signed verification links."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from court.core.errors import ValidationError
from court.mediation import agreement_documents, agreements, confirmations, document_links
from court.oversight import integrity
from court.records import erasure
from court.reference import jc_court
from court.store.db import IntegrityConflict
from court.store.schema import (
    Agreement,
    AuditEntry,
    Case,
    CaseStatus,
    ConfirmationRequest,
    Place,
    ServicePoint,
)
from tests.court.oversight.test_integrity import _jc_case, _wide_period
from tests.factories import local

ID_A, ID_B = "231102199501010016", "231181199506150021"
DESK = "desk:li"
COUNTY_COURTS = {
    "231102": "黑河市爱辉区人民法院",
    "231181": "北安市人民法院",
    "231182": "五大连池市人民法院",
    "231183": "嫩江市人民法院",
    "231123": "逊克县人民法院",
    "231124": "孙吴县人民法院",
}
EFFECTIVE = dt.date(2026, 12, 1)  # the outcomes of _jc_case are recorded on Tuesday 1 December
DRAFTED = local(EFFECTIVE, 15)


def data(**changes) -> agreements.AgreementInput:  # type: ignore[no-untyped-def]
    base = dict(
        organisation="爱辉区西岗子镇人民调解委员会",
        parties=[agreements.PartyInput("张三", ID_A, "黑河市爱辉区西岗子镇民主村12号"),
                 agreements.PartyInput("李四", ID_B, "黑河市爱辉区西岗子镇民主村14号")],
        facts="李四家房屋漏水，浸湿张三家天花板。", terms="一、李四赔偿张三修缮费3000元。\n二、双方再无其他争议。",
        performance="2026年12月15日前一次付清", effective_on=EFFECTIVE, intermediate=False)
    base.update(changes)
    return agreements.AgreementInput(**base)


def _case(db, result: str = "success") -> str:
    with db.transaction() as s:
        appt, _ = _jc_case(s, result)
        return appt.case.reference


def _drafted(db, result: str = "success") -> str:
    reference = _case(db, result)
    with db.transaction() as s:
        agreements.save(s, reference, data(), actor=DESK, now=DRAFTED)
    return reference


# --- the court (民事诉讼法第205条) ------------------------------------------------------


@pytest.mark.parametrize("county,court", sorted(COUNTY_COURTS.items()))
def test_each_county_s_organisations_apply_to_its_basic_court(county, court):
    assert jc_court.court_name(county) == court
    assert jc_court.court_name(county + "100000") == court  # a town's 12-digit code names its county
    assert jc_court.court_name(county, intermediate=True) == "黑龙江省黑河市中级人民法院"


def test_a_place_outside_heihe_has_no_court_to_guess():
    with pytest.raises(ValidationError, match="不在黑河市辖区内"):
        jc_court.court_name("230100")
    with pytest.raises(ValidationError):
        jc_court.court_name(None)


def test_a_service_point_s_county_chooses_the_court_farms_included(db):
    with db.reader() as s:
        points = s.execute(select(ServicePoint.id, Place.county_code, Place.name)
                           .join(Place, Place.id == ServicePoint.place_id)).all()
        seen = set()
        for point_id, county, name in points:
            court = jc_court.confirmation_court(s, point_id)
            assert court.name == COUNTY_COURTS[county] and court.level == "basic"
            seen.add(county)
            if "农场" in name:  # not the farm courts, whose status is not verified
                assert "农垦" not in court.name and "绥北" not in court.name
        assert seen == set(COUNTY_COURTS)
        assert jc_court.confirmation_court(s, points[0][0], intermediate=True).level == "intermediate"


# --- drafting ----------------------------------------------------------------------------


def test_a_draft_is_validated_with_every_problem_named(db):
    reference = _case(db)
    bad = data(parties=[agreements.PartyInput("张三", "231102199501010017", ""),
                        agreements.PartyInput("李四", ID_B, "北安")], terms=" ", effective_on=None)
    with db.transaction() as s, pytest.raises(ValidationError) as caught:
        agreements.save(s, reference, bad, actor=DESK, now=DRAFTED)
    message = caught.value.message
    for part in ("第1方当事人身份证号码", "请填写第1方当事人住址", "请填写协议内容", "协议生效日期"):
        assert part in message
    with db.transaction() as s, pytest.raises(ValidationError, match="两方当事人"):
        agreements.save(s, reference, data(parties=data().parties[:1]), actor=DESK, now=DRAFTED)
    with db.transaction() as s, pytest.raises(ValidationError, match="身份证号码相同"):
        agreements.save(s, reference, data(parties=[data().parties[0], agreements.PartyInput("李四", ID_A, "某地")]),
                        actor=DESK, now=DRAFTED)
    with db.transaction() as s, pytest.raises(ValidationError, match="早于调解结果"):
        agreements.save(s, reference, data(effective_on=EFFECTIVE - dt.timedelta(days=1)), actor=DESK, now=DRAFTED)


def test_only_a_successful_outcome_gets_an_agreement(db):
    reference = _case(db, "failed")
    with db.transaction() as s, pytest.raises(ValidationError, match="没有调解成功"):
        agreements.save(s, reference, data(), actor=DESK, now=DRAFTED)


def test_saving_drafts_revisions_and_audits_without_personal_data(db):
    reference = _case(db)
    with db.transaction() as s:
        first = agreements.save(s, reference, data(), actor=DESK, now=DRAFTED)
        assert (first.revision, first.court.name, len(first.parties)) == (1, "黑河市爱辉区人民法院", 2)
        digest = first.content_hash
        assert agreements.save(s, reference, data(), actor=DESK, now=DRAFTED).revision == 1  # nothing changed
        second = agreements.save(s, reference, data(terms="李四赔偿张三3500元。"), actor=DESK, now=DRAFTED)
        assert second.revision == 2 and second.content_hash != digest
        entries = s.execute(select(AuditEntry).where(AuditEntry.entity_type == "agreement")
                            .order_by(AuditEntry.id)).scalars().all()
    assert [e.action for e in entries] == ["agreement.draft", "agreement.revise"]
    logged = json.dumps([e.before for e in entries] + [e.after for e in entries], ensure_ascii=False)
    for secret in ("张三", ID_A, "民主村", "3500"):
        assert secret not in logged


# --- the deadline on the court's clock ----------------------------------------------------


def test_thirty_days_with_a_last_day_off_moved_to_the_next_working_day(db):
    with db.reader() as s:
        from court.records import workcalendar

        calendar = workcalendar.of(s)
        assert agreements.confirmation_deadline(calendar, EFFECTIVE) == dt.date(2026, 12, 31)
        # 1 January is New Year's Day, then a weekend: Monday 4 January (民事诉讼法第85条).
        assert agreements.confirmation_deadline(calendar, dt.date(2026, 12, 2)) == dt.date(2027, 1, 4)


@pytest.mark.parametrize("today,kind,days", [
    (dt.date(2026, 12, 20), "open", 11), (dt.date(2026, 12, 24), "near", 7), (dt.date(2026, 12, 31), "near", 0),
    (dt.date(2027, 1, 2), "past", -2),
])
def test_the_deadline_state_moves_with_the_clock(db, monkeypatch, today, kind, days):
    reference = _drafted(db)
    monkeypatch.setenv("COURT_FAKE_NOW", local(today, 9).isoformat())
    from court.core import clock

    with db.reader() as s:
        agreement = s.execute(select(Agreement)).scalar_one()
        state = confirmations.deadline_state(s, agreement, None, now=clock.now())
        docs = agreement_documents.for_reference(s, reference, now=clock.now())
    assert (state.kind, state.days_left, state.deadline) == (kind, days, dt.date(2026, 12, 31))
    assert docs.deadline == dt.date(2026, 12, 31)
    assert ("超过" in state.text) == (kind == "past")


# --- filing and the court's ruling ------------------------------------------------------------


def test_filing_records_the_request_and_moves_the_case_on(db):
    reference = _drafted(db)
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="不能晚于今天"):
            confirmations.file(s, reference, filed_on=dt.date(2026, 12, 9), actor=DESK, now=local(dt.date(2026, 12, 8), 9))
        with pytest.raises(ValidationError, match="早于协议生效"):
            confirmations.file(s, reference, filed_on=dt.date(2026, 11, 30), actor=DESK, now=local(dt.date(2026, 12, 8), 9))
        request = confirmations.file(s, reference, filed_on=dt.date(2026, 12, 8), actor=DESK,
                                     now=local(dt.date(2026, 12, 8), 9))
        assert (request.result, request.deadline, request.court.name) == (
            "pending", dt.date(2026, 12, 31), "黑河市爱辉区人民法院")
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.status == CaseStatus.JC_REQUESTED.value
        with pytest.raises(ValidationError, match="已经登记过"):
            confirmations.file(s, reference, filed_on=dt.date(2026, 12, 8), actor=DESK, now=local(dt.date(2026, 12, 8), 9))
        state = confirmations.deadline_state(s, s.get(Agreement, request.agreement_id), request,
                                             now=local(dt.date(2027, 2, 1), 9))
        assert state.kind == "filed"  # filed in time: no warning, whatever the date now


def test_a_late_filing_is_recorded_as_late(db):
    reference = _drafted(db)
    with db.transaction() as s:
        request = confirmations.file(s, reference, filed_on=dt.date(2027, 1, 5), actor=DESK,
                                     now=local(dt.date(2027, 1, 5), 9))
        state = confirmations.deadline_state(s, s.get(Agreement, request.agreement_id), request,
                                             now=local(dt.date(2027, 1, 5), 9))
    assert state.kind == "late" and "超过30日" in state.text


def test_the_court_s_ruling_confirmed_or_rejected_with_its_reason(db):
    reference = _drafted(db)
    filed = local(dt.date(2026, 12, 8), 9)
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="还没有登记"):
            confirmations.record_result(s, reference, result="confirmed", decided_on=dt.date(2026, 12, 8), actor=DESK,
                                        now=filed)
        confirmations.file(s, reference, filed_on=dt.date(2026, 12, 8), actor=DESK, now=filed)
    later = local(dt.date(2026, 12, 18), 9)
    with db.transaction() as s:
        with pytest.raises(ValidationError, match="驳回的理由"):
            confirmations.record_result(s, reference, result="rejected", decided_on=dt.date(2026, 12, 18),
                                        reason=" ", actor=DESK, now=later)
        with pytest.raises(ValidationError, match="决定日期"):
            confirmations.record_result(s, reference, result="confirmed", decided_on=dt.date(2026, 12, 7),
                                        actor=DESK, now=later)
        request = confirmations.record_result(s, reference, result="rejected", decided_on=dt.date(2026, 12, 18),
                                              reason="协议内容涉及确认房屋所有权", actor=DESK, now=later)
        assert (request.result, request.reason) == ("rejected", "协议内容涉及确认房屋所有权")
        with pytest.raises(ValidationError, match="已经登记过了"):
            confirmations.record_result(s, reference, result="confirmed", decided_on=dt.date(2026, 12, 18),
                                        actor=DESK, now=later)
        actions = s.execute(select(AuditEntry.action).where(AuditEntry.entity_type == "confirmation")
                            .order_by(AuditEntry.id)).scalars().all()
    assert actions == ["confirmation.file", "confirmation.rejected"]


def test_the_database_refuses_a_rejection_without_a_reason(db):
    reference = _drafted(db)
    with db.transaction() as s:
        request = confirmations.file(s, reference, filed_on=dt.date(2026, 12, 8), actor=DESK,
                                     now=local(dt.date(2026, 12, 8), 9))
        request_id = request.id
    with pytest.raises(IntegrityConflict, match="reason"):
        with db.transaction() as s:
            s.get(ConfirmationRequest, request_id).result = "rejected"


# --- integrity: every change after the filing is seen --------------------------------------------


def test_changes_to_the_agreement_after_filing_are_flagged_routine_steps_are_not(db):
    reference = _drafted(db)
    with db.transaction() as s:
        agreements.save(s, reference, data(terms="改过一次，仍在起草"), actor=DESK, now=DRAFTED)
        confirmations.file(s, reference, filed_on=dt.date(2026, 12, 8), actor=DESK, now=local(dt.date(2026, 12, 8), 9))
        confirmations.record_result(s, reference, result="confirmed", decided_on=dt.date(2026, 12, 10), actor=DESK,
                                    now=local(dt.date(2026, 12, 10), 9))
    assert [f for f in _findings(db) if f.rule == "edit_after_jc"] == []
    with db.transaction() as s:
        agreements.save(s, reference, data(terms="赔偿金额改为300元"), actor=DESK, now=local(dt.date(2026, 12, 11), 9))
    [finding] = [f for f in _findings(db) if f.rule == "edit_after_jc"]
    assert "改动调解协议书" in finding.summary and reference in finding.summary
    with db.reader() as s:
        lines = integrity.trail(s, finding)
    labels = [line.action_label for line in lines]
    assert "登记司法确认申请" in labels and "修改调解协议书" in labels and "法院裁定确认协议有效" in labels


def test_drafting_after_a_needs_confirmation_outcome_is_not_an_edit(db):
    reference = _case(db, "agreement_needs_confirmation")
    with db.transaction() as s:
        agreements.save(s, reference, data(), actor=DESK, now=DRAFTED)
        agreements.save(s, reference, data(terms="再改一次"), actor=DESK, now=DRAFTED)
        confirmations.file(s, reference, filed_on=dt.date(2026, 12, 8), actor=DESK, now=local(dt.date(2026, 12, 8), 9))
    assert [f for f in _findings(db) if f.rule == "edit_after_jc"] == []


def _findings(db):  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return integrity.findings(s, **_wide_period())


# --- erasure and verification ------------------------------------------------------------------------


def test_a_resident_s_erasure_takes_the_parties_and_the_text(db):
    reference = _drafted(db)
    with db.transaction() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        resident = case.resident
        erasure._erase_resident(s, resident, now=DRAFTED)  # what erase() does for a found resident
        agreement = s.execute(select(Agreement)).scalar_one()
        assert [(p.name, p.id_number, p.address) for p in agreement.parties] == [(None, None, None)] * 2
        assert agreement.terms == erasure.ERASED_SUMMARY


def test_verification_links_are_signed_and_name_their_revision(db, monkeypatch):
    monkeypatch.setenv("COURT_DOCUMENT_KEY", "this-court-s-document-key")
    reference = _drafted(db)
    with db.reader() as s:
        docs = agreement_documents.for_reference(s, reference, now=DRAFTED)
        token = docs.verify_path("application").rsplit("/", 1)[1]
        seen = agreement_documents.verify(s, token)
    assert (seen.reference, seen.kind, seen.title, seen.current, seen.check_code) == (
        reference, "application", "司法确认申请书", True, docs.check_code)
    assert seen.issued_on == EFFECTIVE
    ref = document_links.read(token)
    assert (ref.agreement_id, ref.revision) == (docs.agreement_id, 1)
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", "d" + token[2:],
                   document_links.token("agreement", docs.agreement_id, 1, docs.content_hash,
                                        {"COURT_DOCUMENT_KEY": "another-installation"})):
        assert document_links.read(forged) is None
    with db.transaction() as s:
        agreements.save(s, reference, data(terms="后来改了"), actor=DESK, now=DRAFTED)
    with db.reader() as s:
        old = agreement_documents.verify(s, token)
    assert old.current is False and old.current_revision == 2 and old.issued_on is None


def test_a_burst_of_filings_recorded_on_the_desk_fires_like_one_of_outcomes(db):
    from tests.court.oversight.test_integrity import PERIOD, TUESDAY, _mediate, _of, _slot
    from tests.factories import mediators_of, single_mediator_point

    with db.transaction() as s:
        sp = single_mediator_point(s)
        [m] = mediators_of(sp)
        starts = [_slot(s, sp.id, m.id, TUESDAY + dt.timedelta(days=d)) for d in (0, 1, 2, 3, 6)]
        outcomes = _mediate(s, sp.id, m.id, starts, "success")  # 调解成功: no request time on the outcome
        references = [s.get(Case, o.case_id).reference for o in outcomes]
        mediator_id, outcome_ids = m.id, [o.id for o in outcomes]
    assert _of(db, "jc_burst", PERIOD) == []
    for start, reference in zip(starts, references):
        day = start.date()
        with db.transaction() as s:
            agreements.save(s, reference, data(effective_on=day), actor=DESK, now=start + dt.timedelta(hours=3))
            confirmations.file(s, reference, filed_on=day, actor=DESK, now=start + dt.timedelta(hours=4))
    [finding] = _of(db, "jc_burst", PERIOD)
    assert finding.subject == f"mediator:{mediator_id}" and finding.outcome_ids == tuple(sorted(outcome_ids))
