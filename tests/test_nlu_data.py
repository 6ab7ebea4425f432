"""The training data itself: sizes, a clean test split, generated vocabularies up to date."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from bench.nlu_eval import load_examples
from tools import gen_nlu_places

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
DISPUTES = [i for i in DOMAIN["intents"] if i.startswith("dispute_")]
OTHERS_THAT_MATTER = ["emergency", "criminal", "administrative", "request_human", "book_mediation",
                      "check_appointment", "cancel_appointment", "reschedule_appointment",
                      "ask_judicial_confirmation", "ask_litigation_cost"]


def _counts(folder: str) -> Counter:
    return Counter(intent for _, intent in load_examples(ROOT / folder))


ROUTED = ["criminal", "administrative", "emergency"]
LONG = 40  # characters: a story, not a phrase


def test_every_intent_has_enough_training_examples():
    counts = _counts("nlu_data/nlu")
    assert {i: counts[i] for i in DISPUTES if counts[i] < 300} == {}
    assert {i: counts[i] for i in ROUTED if counts[i] < 200} == {}
    assert {i: counts[i] for i in OTHERS_THAT_MATTER if counts[i] < 40} == {}
    assert set(DOMAIN["intents"]) <= set(counts), set(DOMAIN["intents"]) - set(counts)


def test_at_least_half_of_the_triage_examples_are_long_stories():
    pairs = load_examples(ROOT / "nlu_data" / "nlu")
    short = {i: 0 for i in DISPUTES + ROUTED}
    long_ = {i: 0 for i in DISPUTES + ROUTED}
    for text, intent in pairs:
        if intent in short:
            (long_ if len(text) >= LONG else short)[intent] += 1
    assert {i: (long_[i], short[i]) for i in short if long_[i] < short[i]} == {}


def test_the_real_shaped_split_is_separate_long_and_covers_every_triage_label():
    train = {t for t, _ in load_examples(ROOT / "nlu_data")}
    real = load_examples(ROOT / "tests" / "nlu_real")
    assert not train & {t for t, _ in real}
    assert not {t for t, _ in load_examples(ROOT / "tests" / "nlu")} & {t for t, _ in real}
    counts = Counter(i for _, i in real)
    assert {i: counts[i] for i in DISPUTES + ROUTED if counts[i] < 40} == {}
    assert sum(len(t) >= LONG for t, _ in real) >= 0.8 * len(real)


def test_test_split_is_separate_and_covers_the_disputes():
    train = {t for t, _ in load_examples(ROOT / "nlu_data" / "nlu")}
    test = load_examples(ROOT / "tests" / "nlu")
    assert not train & {t for t, _ in test}
    counts = Counter(i for _, i in test)
    assert {i: counts[i] for i in DISPUTES + OTHERS_THAT_MATTER if counts[i] < 10} == {}


def test_no_example_is_labelled_twice():
    pairs = load_examples(ROOT / "nlu_data" / "nlu")
    labels: dict[str, set[str]] = {}
    for text, intent in pairs:
        labels.setdefault(text, set()).add(intent)
    assert {t: ls for t, ls in labels.items() if len(ls) > 1} == {}


def test_place_vocabulary_is_generated_from_current_division_data():
    jieba, lookup = gen_nlu_places.render()
    assert gen_nlu_places.JIEBA_FILE.read_text(encoding="utf-8") == jieba
    assert gen_nlu_places.LOOKUP_FILE.read_text(encoding="utf-8") == lookup
    assert "西岗子镇" in lookup and "\n    - 和平\n" not in lookup  # everyday words stay out
