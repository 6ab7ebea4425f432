"""A tracker's remembered past states are the ones Rasa works out, whatever the caller does with them."""
from __future__ import annotations

from typing import Iterator

import pytest
from rasa.core.training import load_data
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import tracker_states
from stack.train import ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def installed() -> Iterator[None]:
    before = DialogueStateTracker.__dict__["past_states"]
    tracker_states.install()
    yield
    DialogueStateTracker.past_states = before  # type: ignore[method-assign]


def _stories(domain: Domain) -> list[list]:
    trackers = load_data(str(ROOT / "nlu_data" / "stories"), domain, augmentation_factor=0)
    trackers += load_data(str(ROOT / "tests" / "stories"), domain, augmentation_factor=0)
    return [list(t.events) for t in trackers]


ARGS = [{}, {"ignore_rule_only_turns": True, "rule_only_data": {"slots": ["consent"], "active_loops": []}},
        {"omit_unset_slots": True}]


def test_the_same_states_as_rasa_turn_by_turn(domain: Domain, installed: None) -> None:
    stories = _stories(domain)
    assert len(stories) >= 20
    for events in stories[:40]:
        tracker = DialogueStateTracker("t", domain.slots)
        for event in events:
            tracker.update(event)
            for args in ARGS:
                expected = tracker_states._original(tracker, domain, **args)
                first = tracker.past_states(domain, **args)
                assert first == expected
                if first:  # what the featurizers do: drop the text or intent of the last state
                    first[-1].pop("user", None)
                    first.append({"scribble": {}})
                assert tracker.past_states(domain, **args) == expected


def test_a_new_event_is_seen(domain: Domain, installed: None) -> None:
    tracker = DialogueStateTracker("t", domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("你好", intent={"name": "greet", "confidence": 1.0}))
    before = tracker.past_states(domain)
    tracker.update(SlotSet("consent", True))
    tracker.update(ActionExecuted("utter_greet"))
    after = tracker.past_states(domain)
    assert after != before
    assert after == tracker_states._original(tracker, domain)


def test_another_domain_or_rule_data_is_worked_out_anew(domain: Domain, installed: None) -> None:
    tracker = DialogueStateTracker.from_events("t", _stories(domain)[0], domain.slots)
    rules = {"slots": [], "active_loops": []}
    other = {"slots": [s.name for s in domain.slots], "active_loops": []}
    assert tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data=rules) == \
        tracker_states._original(tracker, domain, ignore_rule_only_turns=True, rule_only_data=rules)
    assert tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data=other) == \
        tracker_states._original(tracker, domain, ignore_rule_only_turns=True, rule_only_data=other)


def test_equal_rule_only_data_in_a_new_dict_is_remembered_and_a_changed_one_is_not(domain: Domain,
                                                                                  installed: None) -> None:
    """The rule policy builds its rule-only data anew for each call."""
    tracker = DialogueStateTracker.from_events("t", _stories(domain)[0], domain.slots)
    rules = {"slots": [], "active_loops": []}
    first = tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data=rules)
    calls = []
    original = tracker_states._original

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return original(*args, **kwargs)

    tracker_states._original = counting
    try:
        again = tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data={"slots": [], "active_loops": []})
        assert again == first and calls == []
        rules["slots"].append("consent")  # the caller's dict changed afterwards: the memo kept its own copy
        assert tracker.past_states(domain, ignore_rule_only_turns=True,
                                   rule_only_data={"slots": [], "active_loops": []}) == first and calls == []
        tracker.past_states(domain, ignore_rule_only_turns=True, rule_only_data=rules)
        assert len(calls) == 1
    finally:
        tracker_states._original = original
