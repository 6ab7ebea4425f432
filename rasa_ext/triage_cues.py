"""An NLU step after the classifiers: emergency and criminal cues win over any civil reading.

A long story about a neighbour quarrel that ends "他现在拿着刀在门口" is an emergency, and one
that asks "会判几年" is a criminal matter, whatever the classifier made of the rest. The
cues are court rules (court.reference.triage); this component only applies them to the parse.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from court.reference.triage import overriding_label


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TriageCues(GraphComponent, IntentClassifier):
    """Sets the intent to emergency/criminal when the text carries their cues (runs last)."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TriageCues":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            current = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            label = overriding_label(text) if text and not text.startswith("/") else None
            if label is None or current == label:
                continue
            if label == "criminal" and current == "emergency":
                continue  # danger now outranks a question about punishment
            winner = {INTENT_NAME_KEY: label, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != label]
            message.set(INTENT, winner, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [winner, *ranking], add_to_output=True)
        return messages
