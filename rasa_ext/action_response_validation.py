"""Validate action-server responses with a validator built once.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate`,
which checks the whole events schema against its meta-schema on every action
call: up to a third of the Rasa server's CPU under load. The schema is a
constant, so check it once and reuse the validator; a response is accepted or
rejected exactly as before, with the same error (jsonschema's best match).
"""
from __future__ import annotations

from typing import Any, Optional

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator: Optional[Any] = None


def _checked_validator() -> Any:
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error: Optional[ValidationError] = best_match(_checked_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (". Failed to validate Action server response from API, make sure your response from the "
                      f"Action endpoint is valid. For more information about the format visit "
                      f"{DOCS_BASE_URL}/custom-actions")
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
