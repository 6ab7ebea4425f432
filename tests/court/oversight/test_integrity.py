"""Integrity alerts: each rule fires on its pattern and stays quiet one step short of it;
trails, reviews and masking. Data is built through the court's own functions with
explicit clocks; what no court function can do (edit an outcome after judicial
confirmation) is written the way a future edit path would."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from court.booking import engine, slots
from court.core.errors import ValidationError
from court.mediation import outcomes
from court.oversight import integrity
from court.records import cases, journal, residents
from court.store.schema import AuditEntry, Case, Mediator, Outcome
from tests.factories import NOW, TUESDAY, local, mediators_of, new_case, shared_slot, single_mediator_point

START = local(TUESDAY, 9, 30)
HOUR = dt.timedelta(hours=1)
# Everything carries the court's clock, pinned at NOW by the tests' conftest.
PERIOD = {"start": NOW, "end": NOW + dt.timedelta(days=30), "now": NOW + dt.timedelta(days=30)}


def _today_period() -> dict:
    """The day around NOW: when cases and audit entries written without an explicit ``now`` are stamped."""
    return {"start": NOW - dt.timedelta(days=1), "end": NOW + dt.timedelta(days=1), "now": NOW}


def _wide_period() -> dict:
    return {"start": NOW - dt.timedelta(days=30), "end": NOW + dt.timedelta(days=90), "now": NOW + dt.timedelta(days=30)}


def _of(db, rule: str, period: dict) -> list[integrity.Finding]:
    with db.reader() as s:
        return [f for f in integrity.findings(s, **period) if f.rule == rule]


def _slot(s, point_id: int, mediator_id: int, day: dt.date) -> dt.datetime:
    [first, *_] = slots.free_slots(s, point_id, day, day, mediator_id=mediator_id, now=NOW)
    return first.starts_at


def _mediate(s, point_id: int, mediator_id: int, starts: list[dt.datetime], result: str,
             after: dt.timedelta = HOUR) -> list[Outcome]:
    """Book each time with this mediator and record the result ``after`` the start."""
    out = []
    for start in starts:
        appt = engine.book(s, new_case(s), point_id=point_id, starts_at=start, mediator_id=mediator_id,
                           actor="bot", now=NOW)
        out.append(outcomes.record_outcome(s, mediator_id, appt.case.reference, result, now=start + after))
    return out


def _first_slots(s, point_id: int, mediator_id: int, n: int) -> list[dt.datetime]:
    free = slots.free_slots(s, point_id, TUESDAY, TUESDAY + dt.timedelta(days=20), mediator_id=mediator_id,
                            now=NOW)
    assert len(free) >= n
    return [slot.starts_at for slot in free[:n]]


def _jc_case(s, result: str = "agreement_needs_confirmation"):
    sp = single_mediator_point(s)
    appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=START, actor="bot", now=NOW)
    outcome = outcomes.record_outcome(s, appt.mediator_id, appt.case.reference, result, now=START + HOUR)
    return appt, outcome


# --- rule 1: JC bursts ------------------------------------------------------------


def _jc_on_days(db, days: list[int]) -> tuple[int, list[int]]:
    with db.transaction() as s:
        sp = single_mediator_point(s)
        [m] = mediators_of(sp)
        starts = [_slot(s, sp.id, m.id, TUESDAY + dt.timedelta(days=d)) for d in days]
        recorded = _mediate(s, sp.id, m.id, starts, "agreement_needs_confirmation")
        return m.id, [o.id for o in recorded]


def test_a_burst_of_judicial_confirmations_fires(db):
    # Tue 1 Dec to Mon 7 Dec: five within seven days.
    mediator_id, outcome_ids = _jc_on_days(db, [0, 1, 2, 3, 6])
    [f] = _of(db, "jc_burst", PERIOD)
    assert f.severity == "high" and f.subject == f"mediator:{mediator_id}"
    assert f.outcome_ids == tuple(sorted(outcome_ids)) and len(f.case_ids) == 5
    assert f.first < f.last and "5份调解协议申请司法确认" in f.summary
    assert f.key.startswith(f"jc_burst:mediator:{mediator_id}:")


def test_four_in_a_week_or_five_over_eight_days_do_not_fire(db):
    _jc_on_days(db, [0, 1, 2, 3])
    assert _of(db, "jc_burst", PERIOD) == []


def test_five_spread_over_eight_days_do_not_fire(db):
    # Tue 1, Thu 3, Fri 4, Mon 7, Wed 9 December: any seven days hold four.
    _jc_on_days(db, [0, 2, 3, 6, 8])
    assert _of(db, "jc_burst", PERIOD) == []


# --- rule 2: phones ---------------------------------------------------------------


def _case_with_phone(s, phone: str, dispute: str = "debt") -> Case:
    resident = residents.record_consent(s)
    residents.set_contact(s, resident, name="王五", phone=phone)
    return cases.open_case(s, dispute_type=dispute, summary="借款未还", actor="test", resident=resident)


def test_one_phone_behind_four_cases_fires_masked(db):
    with db.transaction() as s:
        made = [_case_with_phone(s, "138 1234 5678") for _ in range(3)]
        legacy = _case_with_phone(s, "13812345678")
        legacy.resident.phone = "+86 138-1234-5678"  # an unnormalised row from an older import
        made.append(legacy)
        _case_with_phone(s, "13812345679")
        ids = sorted(c.id for c in made)
        first_resident = min(c.resident_id for c in made)
    [f] = _of(db, "shared_phone", _today_period())
    assert f.severity == "medium" and f.case_ids == tuple(ids)
    assert f.subject == f"phone:r{first_resident}"
    assert "138****5678" in f.summary and "4个案件" in f.summary and "4个居民记录" in f.summary
    assert "12345678" not in f.summary + f.subject + f.subject_label + f.key


def test_three_cases_or_one_outside_the_period_do_not_fire(db):
    with db.transaction() as s:
        for _ in range(3):
            _case_with_phone(s, "13812345678")
    assert _of(db, "shared_phone", _today_period()) == []
    period = _today_period()
    with db.transaction() as s:
        old = _case_with_phone(s, "13812345678")
        old.created_at = period["start"] - dt.timedelta(minutes=1)
    assert _of(db, "shared_phone", period) == []
    assert len(_of(db, "shared_phone", _wide_period() | {"start": period["start"] - HOUR})) == 1


def test_a_resident_with_the_mediators_phone_fires(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        [m] = mediators_of(sp)
        own = _case_with_phone(s, m.phone)
        engine.book(s, own, point_id=sp.id, starts_at=START, actor="bot", now=NOW)
        colleague = s.execute(select(Mediator).where(Mediator.id != m.id).order_by(Mediator.id)).scalars().first()
        other = _case_with_phone(s, colleague.phone)  # not booked: no mediator on the case yet
        near = _case_with_phone(s, m.phone[:-1] + str((int(m.phone[-1]) + 1) % 10))
        engine.book(s, near, point_id=sp.id, starts_at=START + HOUR, actor="bot", now=NOW)
        own_ref, other_ref, m_id, phone = own.reference, other.reference, m.id, m.phone
    found = {f.subject: f for f in _of(db, "mediator_party", _today_period())}
    assert set(found) == {f"case:{own_ref}", f"case:{other_ref}"}
    mine = found[f"case:{own_ref}"]
    assert mine.severity == "high" and mine.mediator_ids == (m_id,)
    assert "调解自己或亲属" in mine.summary and phone[:3] + "****" + phone[-4:] in mine.summary
    assert phone not in mine.summary
    assert found[f"case:{other_ref}"].severity == "medium"


# --- rule 3: changes after judicial confirmation ------------------------------------


def test_the_court_refuses_a_second_outcome_or_booking_after_jc(db):
    with db.transaction() as s:
        appt, _ = _jc_case(s)
        ref, owner, case_id = appt.case.reference, appt.mediator_id, appt.case_id
    with pytest.raises(ValidationError):
        with db.transaction() as s:
            outcomes.record_outcome(s, owner, ref, "success", now=START + 2 * HOUR)
    with pytest.raises(ValidationError):
        with db.transaction() as s:
            engine.book(s, s.get(Case, case_id), point_id=single_mediator_point(s).id,
                        starts_at=START + 2 * HOUR, actor="bot", now=NOW)
    assert _of(db, "edit_after_jc", _wide_period()) == []


def test_an_outcome_edited_after_jc_fires_with_its_trail(db):
    with db.transaction() as s:
        appt, outcome = _jc_case(s)
        ref, outcome_id, appt_id = appt.case.reference, outcome.id, appt.id
        marker = s.execute(select(AuditEntry.id).where(AuditEntry.action == "outcome.record")).scalar_one()
    with db.transaction() as s:  # what an admin edit path would write
        row = s.get(Outcome, outcome_id)
        before = journal.snapshot("outcome", row)
        row.result, row.jc_requested_at = "success", None
        s.flush()
        edit = journal.audit(s, actor="desk:boss", action="outcome.edit", entity_type="outcome", entity_id=outcome_id,
                             before=before, after=journal.snapshot("outcome", row))
        s.flush()
        edit_id = edit.id
    [f] = _of(db, "edit_after_jc", _wide_period())
    assert f.severity == "high" and f.subject == f"case:{ref}" and f.audit_ids == (marker, edit_id)
    assert f.outcome_ids == (outcome_id,) and "改动调解结果" in f.summary
    with db.reader() as s:
        lines = integrity.trail(s, f)
    assert [line.id for line in lines] == sorted(line.id for line in lines)
    assert lines[0].action == "mediator.load"  # the case's mediator's own history comes along
    actions = [line.action for line in lines if not line.action.startswith("mediator.")]
    assert actions[0] == "case.open" and actions[-1] == "outcome.edit"
    assert actions.index("appointment.book") < actions.index("outcome.record")
    assert {"case.jc_requested", "appointment.done"} <= set(actions)
    last = lines[-1]
    assert last.actor_label == "工作台用户 boss" and last.entity_label == f"调解结果#{outcome_id}"
    assert "结果：达成协议并申请司法确认 → 调解成功" in last.change and "申请司法确认：" in last.change
    booked = next(line for line in lines if line.action == "appointment.book")
    assert booked.entity_label == f"预约#{appt_id}" and "状态：待确认" in booked.change
    assert next(line for line in lines if line.action == "case.open").entity_label == f"案件{ref}"


def test_a_second_outcome_row_after_jc_fires_even_without_audit(db):
    with db.transaction() as s:
        appt, outcome = _jc_case(s)
        ref, first_id = appt.case.reference, outcome.id
        later = Outcome(case_id=appt.case_id, appointment_id=appt.id, result="failed", recorded_by="desk:boss",
                        recorded_at=START + 3 * HOUR)
        s.add(later)
        s.flush()
        later_id = later.id
    [f] = _of(db, "edit_after_jc", _wide_period())
    assert f.subject == f"case:{ref}" and f.outcome_ids == (first_id, later_id)
    assert "再次登记调解结果" in f.summary and f.last == START + 3 * HOUR


def test_closing_after_jc_or_a_no_show_before_it_does_not_fire(db):
    with db.transaction() as s:
        appt, _ = _jc_case(s)
        cases.advance(s, appt.case, cases.CaseStatus.CLOSED, actor="desk:boss")
    with db.transaction() as s:  # no-show, booked again, then JC: two outcomes in the right order
        sp = single_mediator_point(s)
        [m] = mediators_of(sp)
        one, two, three = _first_slots(s, sp.id, m.id, 4)[1:]
        first = engine.book(s, new_case(s), point_id=sp.id, starts_at=one, actor="bot", now=NOW)
        outcomes.record_outcome(s, m.id, first.case.reference, "no_show", now=one)
        again = engine.book(s, first.case, point_id=sp.id, starts_at=two, actor="bot", now=one)
        engine.reschedule(s, again.id, starts_at=three, actor="bot", now=one)
        outcomes.record_outcome(s, m.id, again.case.reference, "agreement_needs_confirmation", now=three + HOUR)
        assert len(s.execute(select(Outcome).where(Outcome.case_id == first.case_id)).all()) == 2
    assert _of(db, "edit_after_jc", _wide_period()) == []


# --- rule 4: success rate far above the county's --------------------------------------


def _outlier(db, mine: int, peers: int) -> int:
    with db.transaction() as s:
        sp, _ = shared_slot(s, TUESDAY)
        m, peer = mediators_of(sp)[:2]
        _mediate(s, sp.id, m.id, _first_slots(s, sp.id, m.id, mine), "success")
        _mediate(s, sp.id, peer.id, _first_slots(s, sp.id, peer.id, peers), "failed")
        return m.id


def test_a_mediator_far_above_the_county_fires(db):
    mediator_id = _outlier(db, 10, 5)
    [f] = _of(db, "success_outlier", PERIOD)
    assert f.severity == "medium" and f.subject == f"mediator:{mediator_id}" and len(f.outcome_ids) == 10
    assert "成功率100%（10件中10件成功）" in f.summary and "其他调解员为0%（5件）" in f.summary


def test_nine_outcomes_do_not_fire(db):
    _outlier(db, 9, 5)
    assert _of(db, "success_outlier", PERIOD) == []


def test_too_few_county_peers_do_not_fire(db):
    _outlier(db, 10, 4)
    assert _of(db, "success_outlier", PERIOD) == []


# --- rule 5: outcomes recorded implausibly fast ----------------------------------------


def _fast(db, after: dt.timedelta, result: str = "success") -> tuple[int, int, int]:
    with db.transaction() as s:
        sp = single_mediator_point(s)
        [m] = mediators_of(sp)
        [outcome] = _mediate(s, sp.id, m.id, [START], result, after=after)
        return m.id, outcome.id, outcome.case_id


def test_an_outcome_five_minutes_in_fires(db):
    mediator_id, outcome_id, _ = _fast(db, dt.timedelta(minutes=5))
    [f] = _of(db, "fast_outcome", PERIOD)
    assert f.severity == "medium" and f.subject == f"mediator:{mediator_id}" and f.outcome_ids == (outcome_id,)
    assert "1个预约在开始后不到10分钟" in f.summary and "早于" not in f.summary


def test_ten_minutes_in_or_a_no_show_at_once_do_not_fire(db):
    _fast(db, dt.timedelta(minutes=10))
    with db.transaction() as s:
        sp = single_mediator_point(s)
        [m] = mediators_of(sp)
        _mediate(s, sp.id, m.id, [START + HOUR], "no_show", after=dt.timedelta(0))
    assert _of(db, "fast_outcome", PERIOD) == []


def test_an_outcome_dated_before_the_meeting_is_high(db):
    _, outcome_id, _ = _fast(db, dt.timedelta(minutes=5))
    with db.transaction() as s:  # record_outcome refuses this; only a direct edit can do it
        s.get(Outcome, outcome_id).recorded_at = START - dt.timedelta(minutes=5)
    [f] = _of(db, "fast_outcome", PERIOD)
    assert f.severity == "high" and "其中1个的登记时间早于预约开始时间" in f.summary


# --- all rules, reviews, trails ------------------------------------------------------


def test_findings_sort_high_first_and_keys_are_stable(db):
    _fast(db, dt.timedelta(minutes=5))
    _jc_on_days(db, [1, 2, 3, 6, 7])
    with db.reader() as s:
        found = integrity.findings(s, **PERIOD)
        wider = integrity.findings(s, start=NOW - dt.timedelta(days=60), end=NOW + dt.timedelta(days=60))
    assert [f.rule for f in found] == ["jc_burst", "fast_outcome"]
    assert [f.severity for f in found] == ["high", "medium"]
    assert [f.key for f in found] == [f.key for f in wider]
    with db.reader() as s:
        assert integrity.find(s, found[1].key, **PERIOD) == found[1]
        assert integrity.find(s, "fast_outcome:mediator:1:20000101000000", **PERIOD) is None
        assert integrity.find(s, "nonsense", **PERIOD) is None
    assert integrity.key_time(found[1].key) == found[1].first.replace(microsecond=0)


def test_reviewing_writes_one_audit_entry_and_shows_reviewed(db):
    _fast(db, dt.timedelta(minutes=5))
    [f] = _of(db, "fast_outcome", PERIOD)
    assert f.review is None
    with db.reader() as s:
        before = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    with pytest.raises(ValidationError):
        with db.transaction() as s:
            integrity.review(s, f, category="没问题", actor="desk:boss", now=NOW)
    with db.transaction() as s:
        integrity.review(s, f, category="watch", actor="desk:boss", now=NOW + HOUR)
    with db.reader() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == before + 1
        entry = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
        assert entry.action == "integrity.review" and entry.entity_type == "integrity"
        assert entry.entity_id == integrity.review_entity_id(f.key) and entry.actor == "desk:boss"
        assert entry.after == {"key": f.key, "rule": "fast_outcome", "category": "watch"}
        assert entry.at == NOW + HOUR
    [again] = _of(db, "fast_outcome", PERIOD)
    assert again.key == f.key and again.review.category == "watch"
    assert again.review.category_label == "需继续观察" and again.review.actor == "desk:boss"
    with db.transaction() as s:  # a later conclusion replaces the shown one; both stay in the log
        integrity.review(s, f, category="cleared", actor="desk:root", now=NOW + 2 * HOUR)
    [latest] = _of(db, "fast_outcome", PERIOD)
    assert latest.review.category_label == "已核实无问题"
    with db.reader() as s:
        assert [r.category for r in integrity.reviews(s, [f.key])[f.key]] == ["watch", "cleared"]


def test_trail_masks_phones_and_names_mediators(db):
    mediator_id, outcome_id, case_id = _fast(db, dt.timedelta(minutes=5))
    with db.transaction() as s:  # an entry written by some other path, with a phone in it
        journal.audit(s, actor="desk:boss", action="case.contact", entity_type="case", entity_id=case_id,
                      after={"phone": "13912345678"})
    [f] = _of(db, "fast_outcome", PERIOD)
    with db.reader() as s:
        lines = integrity.trail(s, f)
        name = s.get(Mediator, mediator_id).name
    recorded = next(line for line in lines if line.action == "outcome.record")
    assert recorded.action_label == "登记调解结果" and name in recorded.actor_label
    assert "结果：调解成功" in recorded.change
    contact = lines[-1]
    assert contact.action == "case.contact" and "139****5678" in contact.change and "13912345678" not in contact.change
