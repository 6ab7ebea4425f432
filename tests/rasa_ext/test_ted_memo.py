"""TED's remembered predictions are the ones TED makes, on the trained model and our stories."""
from __future__ import annotations

import tarfile
from typing import Any, Iterator

import numpy as np
import pytest
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import ted_memo
from stack.train import ROOT, ensure_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The trained model's TED, domain and rule-only data, as the Rasa server loads them
    (only those parts of the archive are unpacked)."""
    where = tmp_path_factory.mktemp("model")
    with tarfile.open(ensure_model(quiet=True)) as archive:
        wanted = [m for m in archive.getmembers()
                  if m.name == "metadata.json" or m.name.startswith(("components/train_TEDPolicy",
                                                                     "components/train_RulePolicy"))]
        archive.extractall(where, members=wanted)
    metadata = LocalModelStorage._load_metadata(where)
    storage = LocalModelStorage(where / "components")
    context = ExecutionContext(metadata.predict_schema, metadata.model_id)

    def load(node_name: str) -> Any:
        node = metadata.predict_schema.nodes[node_name]
        config = {**node.uses.get_default_config(), **node.config}
        return node.uses.load(config, storage, Resource(node.resource.name), context)

    ted_node = next(name for name in metadata.predict_schema.nodes if name.startswith("run_TEDPolicy"))
    return {"ted": load(ted_node), "rules": load("rule_only_data_provider"), "domain": metadata.domain}


@pytest.fixture
def installed() -> Iterator[None]:
    before = TEDPolicy.__dict__["predict_action_probabilities"]
    ted_memo.install()
    yield
    TEDPolicy.predict_action_probabilities = before  # type: ignore[method-assign]


def _turns(domain: Any, limit: int) -> list[DialogueStateTracker]:
    """Every point where TED is asked for the next action in our stories and test stories."""
    trackers = load_data(str(ROOT / "nlu_data" / "stories"), domain, augmentation_factor=0)
    trackers += load_data(str(ROOT / "tests" / "stories"), domain, augmentation_factor=0)
    turns = []
    for story in trackers:
        events = list(story.events)
        for i, event in enumerate(events):
            if isinstance(event, ActionExecuted) and i > 0:
                turns.append(DialogueStateTracker.from_events(story.sender_id, events[:i], domain.slots))
    step = max(1, len(turns) // limit)
    return turns[::step][:limit]


def _same(a: Any, b: Any) -> None:
    assert a.probabilities == b.probabilities
    assert (a.policy_name, a.policy_priority, a.events, a.optional_events, a.is_end_to_end_prediction,
            a.is_no_user_prediction, a.hide_rule_turn, a.action_metadata) == \
           (b.policy_name, b.policy_priority, b.events, b.optional_events, b.is_end_to_end_prediction,
            b.is_no_user_prediction, b.hide_rule_turn, b.action_metadata)
    assert a.diagnostic_data.keys() == b.diagnostic_data.keys()
    for key in a.diagnostic_data:
        assert np.array_equal(np.asarray(a.diagnostic_data[key]), np.asarray(b.diagnostic_data[key]))


def test_remembered_predictions_are_teds_own(trained: dict[str, Any], installed: None) -> None:
    ted, domain, rules = trained["ted"], trained["domain"], trained["rules"].provide()
    turns = _turns(domain, 250)
    assert len(turns) >= 100
    expected = [ted_memo._original(ted, t, domain, rules) for t in turns]
    for _ in range(2):  # first pass fills the memo, the second answers from it
        for tracker, want in zip(turns, expected):
            _same(ted.predict_action_probabilities(tracker, domain, rule_only_data=rules), want)
    memo = ted._court_memo
    assert memo.hits >= len(turns) and 0 < len(memo.entries) <= len(turns)


def test_a_remembered_prediction_is_a_copy(trained: dict[str, Any], installed: None) -> None:
    """Rasa's ensemble zeroes a rejected action's probability in the prediction it is given."""
    ted, domain, rules = trained["ted"], trained["domain"], trained["rules"].provide()
    tracker = _turns(domain, 1)[0]
    first = ted.predict_action_probabilities(tracker, domain, rule_only_data=rules)
    first.probabilities[:] = [0.0] * len(first.probabilities)
    first.events.append("scribble")
    again = ted.predict_action_probabilities(tracker, domain, rule_only_data=rules)
    _same(again, ted_memo._original(ted, tracker, domain, rules))


def test_the_memo_keeps_at_most_max_entries(trained: dict[str, Any], installed: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ted, domain, rules = trained["ted"], trained["domain"], trained["rules"].provide()
    monkeypatch.setattr(ted_memo, "MAX_ENTRIES", 3)
    ted.__dict__.pop("_court_memo", None)
    for tracker in _turns(domain, 20):
        ted.predict_action_probabilities(tracker, domain, rule_only_data=rules)
    assert len(ted._court_memo.entries) <= 3


def test_a_model_reading_text_is_never_remembered(trained: dict[str, Any], installed: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ted = trained["ted"]
    monkeypatch.setattr(ted, "fake_features", {**ted.fake_features, "text": []})
    ted.__dict__.pop("_court_memo", None)
    assert ted_memo._memo(ted) is None
    ted.__dict__.pop("_court_memo", None)

