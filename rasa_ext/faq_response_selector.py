"""Rasa's ResponseSelector, run only for the messages it can answer.

Rasa runs the response selector's neural network on every message, though its
answer is used only when the intent is the retrieval intent (`faq`): about a
tenth of the server's CPU per message spent on answers nobody reads. Here the
other messages pass through untouched; training and FAQ answers are Rasa's own.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):
    def _asks_retrieval_intent(self, message: Message) -> bool:
        name = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""
        return name.split("/", 1)[0] == self.retrieval_intent

    def process(self, messages: List[Message]) -> List[Message]:
        asked = [m for m in messages if self._asks_retrieval_intent(m)]
        if asked:
            super().process(asked)
        return messages
