"""Intent accuracy on the held-out test splits: the Rasa model beside a baseline.

    python -m bench.nlu_eval            # or: make eval

Training data: nlu_data/**/*.yml. Two test splits, never trained on:
- tests/nlu/: the team's short examples of every intent (per-intent P/R/F1);
- tests/nlu_real/: long, messy, real-shaped dispute stories, written apart from the
  training data, scored as a resident meets them: the right card at once, "not sure"
  with two buttons (the right one among them?), or confidently wrong.
Baseline: jieba words (same user dictionaries) -> TF-IDF -> logistic regression,
trained on the same training data. Retrieval intents (faq/...) count as `faq`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load_examples(folder: Path) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for path in sorted(folder.rglob("*.yml")):
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


@dataclass(frozen=True)
class Parse:
    top: str  # the intent the dialogue acts on (nlu_fallback when unsure)
    ranking: list[str]  # best first, nlu_fallback left out
    seconds: float

    @property
    def unsure(self) -> bool:
        return self.top == "nlu_fallback"

    @property
    def best(self) -> str:
        return self.ranking[0] if self.ranking else "nlu_fallback"


def rasa_parse(texts: list[str], model: Optional[Path] = None) -> list[Parse]:
    import structlog
    from rasa.core.agent import Agent

    from stack.train import ensure_model

    agent = Agent.load(str(model or ensure_model(quiet=True)))
    # Rasa logs every parse at debug level through structlog: keep the report readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    async def parse_all() -> list[Parse]:
        out = []
        for text in texts:
            started = time.perf_counter()
            parsed = await agent.parse_message(text)
            elapsed = time.perf_counter() - started
            ranking = [r["name"].split("/", 1)[0] for r in parsed.get("intent_ranking") or []
                       if r["name"] != "nlu_fallback"]
            out.append(Parse(parsed["intent"]["name"].split("/", 1)[0], ranking, elapsed))
        return out

    return asyncio.run(parse_all())


def dialogue_report(gold: list[str], parses: list[Parse], baseline: list[str]) -> str:
    """The figures a resident feels, on the real-shaped split, beside the baseline's top-1 accuracy."""
    from court.reference.triage import clarify_options, one_click

    n = len(gold)
    right = sum(not p.unsure and p.top == g for g, p in zip(gold, parses))
    unsure = sum(p.unsure for p in parses)
    unsure_hit = sum(p.unsure and g in clarify_options(p.ranking) for g, p in zip(gold, parses))
    click = sum(one_click(g, p.top, p.ranking, unsure=p.unsure) for g, p in zip(gold, parses))
    wrong = sum(not p.unsure and p.top != g for g, p in zip(gold, parses))
    top1 = sum(p.best == g for g, p in zip(gold, parses))
    base = sum(b == g for g, b in zip(gold, baseline))
    lines = [
        f"{'real-shaped split (' + str(n) + ' stories)':<52}{'Rasa':>8}{'baseline':>10}",
        f"{'answers with the right label':<52}{right / n:>8.1%}{'':>10}",
        f"{'says not sure (nlu_fallback)':<52}{unsure / n:>8.1%}{'':>10}",
        f"{'right label among the two buttons when unsure':<52}{unsure_hit / max(1, unsure):>8.1%}{'':>10}",
        f"{'reaches the right card within one click':<52}{click / n:>8.1%}{'':>10}",
        f"{'confidently wrong (no question asked, wrong card)':<52}{wrong / n:>8.1%}{'':>10}",
        f"{'top-1 label accuracy (no fallback)':<52}{top1 / n:>8.1%}{base / n:>10.1%}",
        "",
        f"{'recall by label':<28}{'n':>4}{'right':>8}{'1 click':>9}{'wrong':>8}{'baseline':>10}",
    ]
    for label in sorted(set(gold)):
        idx = [i for i, g in enumerate(gold) if g == label]
        k = len(idx)
        r = sum(not parses[i].unsure and parses[i].top == label for i in idx)
        c = sum(one_click(label, parses[i].top, parses[i].ranking, unsure=parses[i].unsure) for i in idx)
        w = sum(not parses[i].unsure and parses[i].top != label for i in idx)
        b = sum(baseline[i] == label for i in idx)
        lines.append(f"{label:<28}{k:>4}{r / k:>8.0%}{c / k:>9.0%}{w / k:>8.0%}{b / k:>10.0%}")
    confusions = Counter((g, p.top) for g, p in zip(gold, parses) if not p.unsure and p.top != g).most_common(10)
    lines.append("\nconfidently wrong, most frequent (gold -> answered: count)")
    lines += [f"  {g} -> {p}: {c}" for (g, p), c in confusions] or ["  none"]
    return "\n".join(lines)


def timing_report(parses: list[Parse]) -> str:
    times = sorted(p.seconds * 1000 for p in parses)
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    return f"parse time per message: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({len(times)} messages)"


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
    import argparse

    parser = argparse.ArgumentParser(description="intent accuracy on the held-out splits, beside a baseline")
    parser.add_argument("--model", type=Path, help="a trained model to evaluate (default: the current one)")
    args = parser.parse_args()
    train = load_examples(ROOT / "nlu_data")
    trained = {t for t, _ in train}
    splits = {"test": load_examples(ROOT / "tests" / "nlu"), "real": load_examples(ROOT / "tests" / "nlu_real")}
    for name, pairs in splits.items():
        overlap = trained & {t for t, _ in pairs}
        if overlap:
            raise SystemExit(f"{len(overlap)} {name} examples also appear in training data, e.g. {sorted(overlap)[:3]}")
    print(f"training examples: {len(train)}   " + "   ".join(f"{n} split: {len(p)}" for n, p in splits.items()))

    test = splits["test"]
    texts, gold = [t for t, _ in test], [i for _, i in test]
    parses = rasa_parse(texts, args.model)
    rasa = [p.best for p in parses]
    print(f"\n== team split ({len(test)} examples, {len(set(gold))} intents) ==\n")
    print(report(gold, {"Rasa": rasa, "baseline TF-IDF+LR": baseline_predict(train, texts)}))
    print(f"\nRasa nlu_fallback rate on the team split (the bot asks back): {sum(p.unsure for p in parses) / len(parses):.1%}")

    real = splits["real"]
    if real:
        texts, gold = [t for t, _ in real], [i for _, i in real]
        real_parses = rasa_parse(texts, args.model)
        print("\n== real-shaped split ==\n")
        print(dialogue_report(gold, real_parses, baseline_predict(train, texts)))
        parses += real_parses
    print("\n" + timing_report(parses))


if __name__ == "__main__":
    main()
