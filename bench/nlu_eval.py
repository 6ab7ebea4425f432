"""Intent accuracy on the held-out test split: the Rasa model beside a baseline.

    python -m bench.nlu_eval            # or: make eval

Training data: nlu_data/nlu/*.yml. Test split: tests/nlu/*.yml (never trained on).
Baseline: jieba words (same user dictionaries) -> TF-IDF -> logistic regression,
trained on the same training split. Retrieval intents (faq/...) count as `faq`.
Rasa's prediction is its top intent other than nlu_fallback; the fallback rate is
reported on its own line.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load_examples(folder: Path) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent")
            if not intent:
                continue
            for line in (block.get("examples") or "").splitlines():
                text = line.strip()
                if text.startswith("- "):
                    pairs.append((text[2:].strip(), intent.split("/", 1)[0]))
    return pairs


def baseline_predict(train: list[tuple[str, str]], texts: list[str]) -> list[str]:
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    jieba.setLogLevel(logging.WARNING)
    for path in sorted((ROOT / "nlu_data" / "jieba").glob("*")):
        jieba.load_userdict(str(path))
    vectorizer = TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                 sublinear_tf=True)
    x_train = vectorizer.fit_transform([t for t, _ in train])
    model = LogisticRegression(max_iter=3000, C=10.0)
    model.fit(x_train, [i for _, i in train])
    return list(model.predict(vectorizer.transform(texts)))


def rasa_predict(texts: list[str]) -> tuple[list[str], float]:
    from rasa.core.agent import Agent

    from tools.train import ensure_model

    agent = Agent.load(str(ensure_model(quiet=True)))

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(t) for t in texts]

    predictions, fallbacks = [], 0
    for parsed in asyncio.run(parse_all()):
        ranking = [r["name"] for r in parsed.get("intent_ranking") or []]
        fallbacks += parsed["intent"]["name"] == "nlu_fallback"
        top = next((name for name in ranking if name != "nlu_fallback"), "nlu_fallback")
        predictions.append(top.split("/", 1)[0])
    return predictions, fallbacks / max(1, len(texts))


def report(gold: list[str], systems: dict[str, list[str]]) -> str:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    labels = sorted(set(gold))
    names = list(systems)
    lines = [f"{'intent':<28}{'n':>4}  " + "  ".join(f"{n + ' P/R/F1':>22}" for n in names)]
    scores = {n: precision_recall_fscore_support(gold, p, labels=labels, zero_division=0) for n, p in systems.items()}
    for k, label in enumerate(labels):
        cells = [f"{scores[n][0][k]:.2f}/{scores[n][1][k]:.2f}/{scores[n][2][k]:.2f}" for n in names]
        lines.append(f"{label:<28}{int(scores[names[0]][3][k]):>4}  " + "  ".join(f"{c:>22}" for c in cells))
    lines.append("")
    for metric, fn in (("accuracy", lambda p: accuracy_score(gold, p)),
                       ("macro F1", lambda p: precision_recall_fscore_support(gold, p, average="macro",
                                                                              zero_division=0)[2]),
                       ("weighted F1", lambda p: precision_recall_fscore_support(gold, p, average="weighted",
                                                                                 zero_division=0)[2])):
        lines.append(f"{metric:<32}" + "  ".join(f"{fn(systems[n]):>22.3f}" for n in names))
    for name in names:
        confusions = Counter((g, p) for g, p in zip(gold, systems[name]) if g != p).most_common(8)
        lines.append(f"\nmost frequent confusions, {name} (gold -> predicted: count)")
        lines += [f"  {g} -> {p}: {c}" for (g, p), c in confusions] or ["  none"]
    return "\n".join(lines)


def main() -> None:
    train = load_examples(ROOT / "nlu_data" / "nlu")
    test = load_examples(ROOT / "tests" / "nlu")
    overlap = {t for t, _ in train} & {t for t, _ in test}
    if overlap:
        raise SystemExit(f"{len(overlap)} test examples also appear in training data, e.g. {sorted(overlap)[:3]}")
    texts, gold = [t for t, _ in test], [i for _, i in test]
    rasa, fallback_rate = rasa_predict(texts)
    baseline = baseline_predict(train, texts)
    print(f"training examples: {len(train)}   test examples: {len(test)}   intents: {len(set(gold))}\n")
    print(report(gold, {"Rasa DIET": rasa, "baseline TF-IDF+LR": baseline}))
    print(f"\nRasa nlu_fallback rate on the test split (the bot asks back): {fallback_rate:.1%}")


if __name__ == "__main__":
    main()
