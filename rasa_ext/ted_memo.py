"""TED's predictions remembered by the dialogue states they were made from.

TEDPolicy sees a conversation only through its last `max_history` dialogue states (the
intent and entity names of the user's turns, the previous actions, the featurised slots,
the active form), never through the user's words while it is not trained end to end (our
stories have no user text, so the model has no text features). Its network is therefore
a pure function of those states; yet Rasa runs it on every prediction, two or three per
message: about a quarter of the Rasa server's CPU per message, most of it TensorFlow's
per-call overhead. Residents' conversations go through the same few paths (greeting,
story, booking form), so the same state windows come back again and again.

Here each TED instance keeps its answers for the last `MAX_ENTRIES` distinct state
windows (least recently used out) and hands back a copy (Rasa's ensemble writes into
the prediction it picks). The states are computed exactly as TED computes them for its
own featurisation; a model that uses text (end to end), or a prediction that carries
events, is never remembered. Loading another model makes new TED instances, so nothing
is kept across models.
"""
from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from typing import Any, Dict, Hashable, List, Optional, Text

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

logger = logging.getLogger(__name__)

MAX_ENTRIES = 4096
REPORT_EVERY = 1000  # lookups between two INFO lines on the cache's hits

_original = TEDPolicy.predict_action_probabilities


def _copied(prediction: PolicyPrediction) -> PolicyPrediction:
    """A prediction whose lists (written by Rasa's ensemble) are the copy's own; the diagnostic
    arrays are only read, so the dict is copied and its arrays shared."""
    twin = copy.copy(prediction)
    twin.probabilities = list(prediction.probabilities)
    twin.events = list(prediction.events)
    twin.optional_events = list(prediction.optional_events)
    twin.diagnostic_data = dict(prediction.diagnostic_data)
    if prediction.action_metadata is not None:
        twin.action_metadata = copy.deepcopy(prediction.action_metadata)
    return twin


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    hash(value)  # anything else must already be hashable (str, float, bool, None)
    return value


class _Memo:
    def __init__(self) -> None:
        self.entries: "OrderedDict[Hashable, PolicyPrediction]" = OrderedDict()
        self.hits = 0
        self.misses = 0


def _memo(policy: TEDPolicy) -> Optional[_Memo]:
    """The policy's memo, or None where its predictions may depend on more than the states."""
    memo = policy.__dict__.get("_court_memo")
    if memo is None:
        memo = _Memo() if TEXT not in (policy.fake_features or {}) and not policy.only_e2e else False
        policy._court_memo = memo  # type: ignore[attr-defined]
    return memo or None


def state_key(policy: TEDPolicy, tracker: DialogueStateTracker, domain: Domain,
              rule_only_data: Optional[Dict[Text, Any]]) -> Optional[Hashable]:
    """The states TED featurises for this prediction (policy.py `_featurize_for_prediction`)."""
    states: List[Any] = policy._prediction_states(tracker, domain, use_text_for_last_user_input=policy.only_e2e,
                                                  rule_only_data=rule_only_data)
    try:
        return _frozen(states)
    except TypeError:
        return None


def predict_action_probabilities(self: TEDPolicy, tracker: DialogueStateTracker, domain: Domain,
                                 rule_only_data: Optional[Dict[Text, Any]] = None,
                                 precomputations: Optional[MessageContainerForCoreFeaturization] = None,
                                 **kwargs: Any) -> PolicyPrediction:
    memo = _memo(self) if self.model is not None else None
    key = state_key(self, tracker, domain, rule_only_data) if memo is not None else None
    if memo is None or key is None:
        return _original(self, tracker, domain, rule_only_data, precomputations, **kwargs)
    known = memo.entries.get(key)
    if known is not None:
        memo.entries.move_to_end(key)
        memo.hits += 1
        prediction = _copied(known)
    else:
        memo.misses += 1
        prediction = _original(self, tracker, domain, rule_only_data, precomputations, **kwargs)
        if not (prediction.events or prediction.optional_events or prediction.is_end_to_end_prediction):
            memo.entries[key] = _copied(prediction)
            if len(memo.entries) > MAX_ENTRIES:
                memo.entries.popitem(last=False)
    if (memo.hits + memo.misses) % REPORT_EVERY == 0:
        logger.info("TED predictions remembered: %d hits, %d misses, %d state windows kept",
                    memo.hits, memo.misses, len(memo.entries))
    return prediction


def install() -> None:
    TEDPolicy.predict_action_probabilities = predict_action_probabilities  # type: ignore[method-assign]
