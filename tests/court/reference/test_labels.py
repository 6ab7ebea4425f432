"""One word per enum value: every value of every labelled enum has its word, and the words
that once differed from page to page are the same wherever they are read."""
from __future__ import annotations

import pytest

from court.admin import STATUS_LABELS
from court.booking.cards import STATUS_LABELS as CARD_LABELS
from court.oversight.stats.figures import OUTCOME_LABELS
from court.oversight.stats.mediator_scores import MEDIATOR_STATUS_LABELS
from court.reference import guidance, labels
from court.store.schema import (
    AppointmentStatus,
    CaseSource,
    CaseStatus,
    DelegationStatus,
    DisputeType,
    MediatorStatus,
    OutcomeResult,
)


@pytest.mark.parametrize(("enum", "table"), [
    (MediatorStatus, labels.MEDIATOR_STATUS), (OutcomeResult, labels.OUTCOME_RESULT),
    (CaseStatus, labels.CASE_STATUS), (CaseSource, labels.CASE_SOURCE),
    (AppointmentStatus, labels.APPOINTMENT_STATUS), (AppointmentStatus, labels.APPOINTMENT_STATUS_FOR_RESIDENTS),
    (DelegationStatus, labels.DELEGATION_STATUS),
])
def test_every_value_has_its_word(enum, table) -> None:
    assert set(table) == {member.value for member in enum}
    assert all(word.strip() for word in table.values())


def test_the_pages_share_the_words() -> None:
    assert STATUS_LABELS is labels.MEDIATOR_STATUS is MEDIATOR_STATUS_LABELS
    assert labels.MEDIATOR_STATUS[MediatorStatus.SUSPENDED.value] == "已停用"
    assert OUTCOME_LABELS is labels.OUTCOME_RESULT and labels.OUTCOME_RESULT[OutcomeResult.FAILED.value] == "调解不成"
    assert CARD_LABELS is labels.APPOINTMENT_STATUS_FOR_RESIDENTS


def test_a_dispute_without_a_known_type_is_unclassified() -> None:
    for dispute_type in DisputeType:
        assert labels.dispute(dispute_type.value) == guidance.card(dispute_type.value).label != "未分类"
    assert labels.dispute("") == labels.dispute(None) == labels.dispute("no_such_type") == "未分类"
