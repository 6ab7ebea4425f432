"""Rasa custom actions, one module per feature. They are thin: every rule and
every record goes through ``court`` (``court.facades.assistant.AssistantFacade``)."""
