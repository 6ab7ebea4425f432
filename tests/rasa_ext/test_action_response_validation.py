import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from rasa_ext import action_response_validation

ORIGINAL = RemoteAction._validate_action_result
VALID = {"events": [{"event": "slot", "name": "dispute_type", "value": "dispute_labor"},
                    {"event": "followup", "name": "action_listen"}],
         "responses": [{"text": "好的", "buttons": [{"title": "预约", "payload": "/book_mediation"}]}]}
MALFORMED = [
    {"events": [{"event": "slot", "value": "x"}]},            # a slot event without its name
    {"events": [{"name": "x"}]},                              # an event without its type
    {"events": "slot"},                                       # events not a list
    {"responses": ["好的"]},                                  # a response that is not an object
    {"events": [{"event": "no_such_event"}]},
]


@pytest.fixture
def action() -> RemoteAction:
    return RemoteAction("action_triage", None)


def test_a_valid_response_passes_both_ways(action):
    assert ORIGINAL(action, VALID) is True
    assert action_response_validation.validate_action_result(action, VALID) is True


@pytest.mark.parametrize("response", MALFORMED)
def test_a_malformed_response_is_rejected_with_the_same_error(action, response):
    with pytest.raises(ValidationError) as before:
        ORIGINAL(action, response)
    with pytest.raises(ValidationError) as after:
        action_response_validation.validate_action_result(action, response)
    assert after.value.message == before.value.message
    assert list(after.value.path) == list(before.value.path)


def test_install_replaces_rasas_check_and_builds_the_validator_once(action, monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", ORIGINAL)
    action_response_validation.install()
    assert RemoteAction._validate_action_result is action_response_validation.validate_action_result
    first = action_response_validation._checked_validator()
    action._validate_action_result(VALID)
    assert action_response_validation._checked_validator() is first
    with pytest.raises(ValidationError):
        action._validate_action_result(MALFORMED[0])
