"""Event classes found from a table answer as Rasa's own lookup does."""
from __future__ import annotations

from typing import Iterator

import pytest
import rasa.shared.utils.common
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

from rasa_ext import event_types


@pytest.fixture
def installed() -> Iterator[None]:
    before = Event.__dict__["resolve_by_type"]
    event_types.install()
    yield
    Event.resolve_by_type = before  # type: ignore[method-assign]


def test_every_type_name_resolves_to_rasas_class(installed: None) -> None:
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert Event.resolve_by_type(name) is event_types._original(name)


def test_unknown_names_default_and_topic_as_rasa(installed: None) -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", ActionExecuted) is ActionExecuted
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_a_class_imported_later_is_found(installed: None) -> None:
    Event.resolve_by_type("user")  # the table is built

    class CourtNote(SlotSet):
        type_name = "court_note_for_test"

    assert Event.resolve_by_type("court_note_for_test") is CourtNote


def test_stored_events_read_back_the_same(installed: None) -> None:
    events = [UserUttered("你好", intent={"name": "greet", "confidence": 1.0}, timestamp=1.0),
              ActionExecuted("action_listen", timestamp=2.0), SlotSet("name", "王桂芝", timestamp=3.0)]
    again = [Event.from_parameters(e.as_dict()) for e in events]
    assert again == events
    assert [type(e) for e in again] == [type(e) for e in events]
