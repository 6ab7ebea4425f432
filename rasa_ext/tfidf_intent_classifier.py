"""Intent classification by logistic regression over TF-IDF character and word n-grams.

Residents' long, messy stories are read better by sublinear TF-IDF over character
n-grams (robust to typos like 陪/赔 and to jieba's segmentation slips) plus jieba word
n-grams than by DIET on our data size (see `make eval`); it also trains in seconds on
2 cores and needs no downloaded weights. ``TfidfModel`` is plain scikit-learn, shared
with tools/calibrate_nlu.py; ``TfidfIntentClassifier`` is its Rasa component.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text

import joblib
import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import softmax

logger = logging.getLogger(__name__)
_FILE = "tfidf_intent_classifier.joblib"


class TfidfModel:
    """TF-IDF (char n-grams on the text, word n-grams on its tokens) -> multinomial logistic regression."""

    def __init__(self, *, char_ngrams: Sequence[int] = (1, 3), word_ngrams: Sequence[int] = (1, 2),
                 c: float = 10.0, max_iter: int = 300, min_df: int = 1) -> None:
        self.chars = TfidfVectorizer(analyzer="char", ngram_range=tuple(char_ngrams), sublinear_tf=True,
                                     min_df=min_df, lowercase=True)
        self.words = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=tuple(word_ngrams),
                                     sublinear_tf=True, min_df=min_df, lowercase=True)
        # saga converges here in seconds where lbfgs takes a minute (tens of thousands of sparse features).
        self.clf = LogisticRegression(C=c, max_iter=max_iter, solver="saga", tol=1e-3, random_state=2021)

    def _features(self, texts: Sequence[str], tokens: Sequence[str], fit: bool) -> scipy.sparse.csr_matrix:
        if fit:
            return scipy.sparse.hstack([self.chars.fit_transform(texts), self.words.fit_transform(tokens)]).tocsr()
        return scipy.sparse.hstack([self.chars.transform(texts), self.words.transform(tokens)]).tocsr()

    def fit(self, texts: Sequence[str], tokens: Sequence[str], labels: Sequence[str], *,
            small_below: int = 0, small_repeat: int = 1) -> "TfidfModel":
        """Fit; intents with fewer than ``small_below`` examples are repeated ``small_repeat`` times.

        Short replies (是/不用了/你好) have dozens of examples beside thousands of stories; repeating
        them keeps the regularised model from drowning them (measured on the team split, `make eval`)."""
        counts = Counter(labels)
        rows = [k for k, label in enumerate(labels) for _ in range(small_repeat if counts[label] < small_below else 1)]
        self.clf.fit(self._features([texts[k] for k in rows], [tokens[k] for k in rows], fit=True),
                     [labels[k] for k in rows])
        return self

    def predict_proba(self, texts: Sequence[str], tokens: Sequence[str]) -> np.ndarray:
        """The classifier's probabilities, as ``self.clf.predict_proba`` gives them, without two costs
        scikit-learn pays on every call (together about a tenth of the Rasa server's CPU per message):

        - ``X @ coef_.T``: the transposed coefficients are not C-contiguous, so scipy copies all of
          them (classes x n-grams, 22 MB) for each message; a contiguous copy is kept instead;
        - ``TfidfTransformer.transform`` checks it is fitted by building ``idf_``, a sum over a
          diagonal matrix of every n-gram; the same steps are taken here without that check.

        The arithmetic is the same operations in the same order (tests/rasa_ext prove equal results).
        """
        if not self._fast_path_ok():
            return self.clf.predict_proba(self._features(texts, tokens, fit=False))
        features = scipy.sparse.hstack([_tfidf(self.chars, texts), _tfidf(self.words, tokens)]).tocsr()
        decision = features @ self._coef_t + self.clf.intercept_
        return softmax(decision, copy=False)

    def _fast_path_ok(self) -> bool:
        """The shortcut covers what this model is: multinomial, more than two classes, sublinear TF-IDF."""
        fast = self.__dict__.get("_coef_t")
        if fast is None:
            clf = self.clf
            usable = (clf.multi_class in ("auto", "multinomial") and clf.solver != "liblinear"
                      and clf.classes_.size > 2
                      and all(hasattr(v, "_tfidf") and hasattr(v._tfidf, "_idf_diag") and v._tfidf.use_idf
                              for v in (self.chars, self.words)))
            fast = np.ascontiguousarray(clf.coef_.T) if usable else False
            self._coef_t = fast
        return fast is not False

    def __getstate__(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_coef_t"}  # derived: never pickled

    @property
    def labels(self) -> List[str]:
        return [str(c) for c in self.clf.classes_]


def _tfidf(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> scipy.sparse.csr_matrix:
    """``vectorizer.transform(docs)`` step by step as scikit-learn 1.1 takes it
    (TfidfVectorizer.transform, TfidfTransformer.transform), less its is-fitted checks."""
    counts = CountVectorizer.transform(vectorizer, docs)
    tfidf = vectorizer._tfidf
    x = counts.astype(np.float64) if counts.dtype != np.float64 else counts
    if tfidf.sublinear_tf:
        np.log(x.data, x.data)
        x.data += 1
    x = x * tfidf._idf_diag
    if tfidf.norm:
        x = normalize(x, norm=tfidf.norm, copy=False)
    return x


def joined_tokens(message: Message) -> str:
    """The message's tokens from the pipeline's tokenizer, space-separated."""
    return " ".join(t.text for t in message.get(TOKENS_NAMES[TEXT]) or [])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"char_ngrams": [1, 3], "word_ngrams": [1, 2], "C": 10.0, "max_iter": 300, "min_df": 1,
                "small_intents_below": 80, "small_intents_repeat": 5, "ranking_length": 10}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[TfidfModel] = None) -> None:
        self.config = config
        self._storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TfidfIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "TfidfIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(Path(directory) / _FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("TfidfIntentClassifier has no trained model; it will predict nothing")
            model = None
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT)]
        if not examples:
            return self._resource
        self.model = TfidfModel(char_ngrams=self.config["char_ngrams"], word_ngrams=self.config["word_ngrams"],
                                c=self.config["C"], max_iter=self.config["max_iter"], min_df=self.config["min_df"])
        self.model.fit([m.get(TEXT) for m in examples], [joined_tokens(m) for m in examples],
                       [m.get(INTENT) for m in examples], small_below=self.config["small_intents_below"],
                       small_repeat=self.config["small_intents_repeat"])
        with self._storage.write_to(self._resource) as directory:
            joblib.dump(self.model, Path(directory) / _FILE)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None or not messages:
            return messages
        probabilities = self.model.predict_proba([m.get(TEXT) or "" for m in messages],
                                                 [joined_tokens(m) for m in messages])
        labels = self.model.labels
        for message, row in zip(messages, probabilities):
            order = np.argsort(-row)[: self.config["ranking_length"]]
            ranking = [{"name": labels[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


