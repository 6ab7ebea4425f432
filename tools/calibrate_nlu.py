"""Choose the FallbackClassifier's thresholds on a dev split, not by hand.

    python -m tools.calibrate_nlu           # print the grid and the choice
    python -m tools.calibrate_nlu --write   # also write the choice into config.yml

A stratified fifth of the long, real-shaped training stories (nlu_data/nlu/long/) is held
out; the intent classifier of config.yml (TF-IDF + logistic regression) is trained on the
rest with the same settings, and every threshold pair is scored the way a resident meets
it: the right card at once, or "not sure" with the right type among the two buttons (one
click), against the share answered confidently wrong. The choice asks only when asking
helps: the fewest questions among the pairs with at most MAX_WRONG confidently wrong,
then the most residents within one click.
"""
from __future__ import annotations

import argparse
import logging
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.nlu_eval import load_examples  # noqa: E402
from court.reference.triage import is_triage_label, one_click, overriding_label  # noqa: E402
from rasa_ext.tfidf_intent_classifier import TfidfModel  # noqa: E402

DEV_SHARE = 0.2
MAX_WRONG = 0.03
SEED = 2021
THRESHOLDS = [round(x, 2) for x in np.arange(0.15, 0.71, 0.05)]
AMBIGUITIES = [0.0, 0.02, 0.05, 0.08, 0.1, 0.15]


def _tokenizer():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for path in sorted((ROOT / "nlu_data" / "jieba").glob("*")):
        jieba.load_userdict(str(path))
    return lambda text: " ".join(w for w in jieba.lcut(text) if w.strip())


def _classifier_config() -> dict:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    return next(c for c in config["pipeline"] if c["name"].endswith("TfidfIntentClassifier"))


def split() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, dev): dev is a stratified share of the long stories; everything else trains."""
    long_ = load_examples(ROOT / "nlu_data" / "nlu" / "long")
    rest = [p for p in load_examples(ROOT / "nlu_data" / "nlu") if p not in set(long_)]
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pair in long_:
        by_label[pair[1]].append(pair)
    rng = random.Random(SEED)
    dev: list[tuple[str, str]] = []
    train = list(rest)
    for label in sorted(by_label):
        pairs = sorted(by_label[label])
        rng.shuffle(pairs)
        cut = max(1, int(len(pairs) * DEV_SHARE))
        dev += pairs[:cut]
        train += pairs[cut:]
    return train, dev


def score(gold: list[str], probs: np.ndarray, labels: list[str], texts: list[str], threshold: float,
          ambiguity: float) -> dict[str, float]:
    right = click = wrong = unsure = 0
    for g, row, text in zip(gold, probs, texts):
        order = np.argsort(-row)
        ranking = [labels[i] for i in order]
        first, second = row[order[0]], row[order[1]]
        is_unsure = first < threshold or (first - second) < ambiguity
        top = "nlu_fallback" if is_unsure else ranking[0]
        forced = overriding_label(text)
        if forced:  # the cue component runs after the fallback, as in config.yml
            top, is_unsure, ranking = forced, False, [forced] + [r for r in ranking if r != forced]
        right += (not is_unsure) and top == g
        wrong += (not is_unsure) and top != g
        unsure += is_unsure
        click += one_click(g, top, ranking, unsure=is_unsure)
    n = len(gold)
    return {"right": right / n, "click": click / n, "wrong": wrong / n, "unsure": unsure / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the chosen thresholds into config.yml")
    args = parser.parse_args()
    tokens = _tokenizer()
    train, dev = split()
    cfg = _classifier_config()
    model = TfidfModel(char_ngrams=cfg.get("char_ngrams", (1, 3)), word_ngrams=cfg.get("word_ngrams", (1, 2)),
                       c=cfg.get("C", 10.0), max_iter=cfg.get("max_iter", 300), min_df=cfg.get("min_df", 1))
    model.fit([t for t, _ in train], [tokens(t) for t, _ in train], [i for _, i in train],
              small_below=cfg.get("small_intents_below", 80), small_repeat=cfg.get("small_intents_repeat", 5))
    dev = [(t, i) for t, i in dev if is_triage_label(i)]
    texts, gold = [t for t, _ in dev], [i for _, i in dev]
    probs = model.predict_proba(texts, [tokens(t) for t in texts])
    print(f"train {len(train)}   dev {len(dev)} (held-out long stories)\n")
    print(f"{'threshold':>9} {'ambiguity':>9} {'right':>7} {'1 click':>8} {'wrong':>7} {'unsure':>7}")
    results = []
    for threshold in THRESHOLDS:
        for ambiguity in AMBIGUITIES:
            s = score(gold, probs, model.labels, texts, threshold, ambiguity)
            results.append((threshold, ambiguity, s))
            print(f"{threshold:>9.2f} {ambiguity:>9.2f} {s['right']:>7.1%} {s['click']:>8.1%} {s['wrong']:>7.1%} "
                  f"{s['unsure']:>7.1%}")
    allowed = [r for r in results if r[2]["wrong"] <= MAX_WRONG] or results
    threshold, ambiguity, best = min(allowed, key=lambda r: (round(r[2]["unsure"], 3), -r[2]["click"]))
    print(f"\nchosen: threshold {threshold:.2f}, ambiguity_threshold {ambiguity:.2f} -> within one click "
          f"{best['click']:.1%}, confidently wrong {best['wrong']:.1%}, asks {best['unsure']:.1%}")
    if args.write:
        path = ROOT / "config.yml"
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"(name: FallbackClassifier[^\n]*\n\s+threshold: )[0-9.]+", rf"\g<1>{threshold:.2f}", text)
        text = re.sub(r"(name: FallbackClassifier[^\n]*\n\s+threshold: [0-9.]+\n\s+ambiguity_threshold: )[0-9.]+",
                      rf"\g<1>{ambiguity:.2f}", text)
        path.write_text(text, encoding="utf-8")
        print("written to config.yml")


if __name__ == "__main__":
    main()
