"""Accuracy of understanding and recommending, on held-out data, beside a baseline in the same run.

    python benchmarks/bench_nlu.py [--models-dir DIR] [--json FILE]

1. Intents on `intents/test/` (never used in training): accuracy, macro-F1 and calibration (ECE)
   of the ensemble and of each member, beside the seed design's baseline, TF-IDF + RandomForest
   trained on the same `intents/train/`.          Target: macro-F1 >= 0.92.
2. Entities on `intents/entities/test.txt`: exact span+label precision, recall and F1, overall and
   per label.                                    Target: F1 >= 0.95.
3. Commands on `benchmarks/data/command_requests.yml` (requests labelled with the utilities a
   senior engineer would run first, written apart from the catalog and the training requests):
   top-1 / top-3 utility accuracy of `netcopilot suggest`, beside TF-IDF + RandomForest trained on
   the same data as the ranker (catalog examples and `knowledge_base/requests/`, text -> first
   utility).                                     Targets: 0.90 / 0.97.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from netcopilot.core.assistant import Assistant  # noqa: E402
from netcopilot.core.types import Request  # noqa: E402
from netcopilot.knowledge import load_labelled_requests  # noqa: E402
from netcopilot.nlu.data import load_annotations, load_intents  # noqa: E402
from netcopilot.nlu.entities import find_entities  # noqa: E402
from netcopilot.nlu.intents import expected_calibration_error  # noqa: E402
from netcopilot.settings import Settings  # noqa: E402
from netcopilot.yamlio import load_yaml  # noqa: E402


def tfidf_forest(texts: list[str], labels: list[str], seed: int = 42):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=-1),
    ).fit(texts, labels)


def intent_scores(gold: list[str], proba: np.ndarray, classes: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    pred = [classes[i] for i in proba.argmax(axis=1)]
    index = {c: i for i, c in enumerate(classes)}
    return {
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, average="macro"),
        "ece": expected_calibration_error(proba, [index[g] for g in gold]),
    }


def bench_intents(assistant: Assistant) -> dict:
    data = load_intents(assistant.settings.intents_dir)
    texts = [t for t, _ in data.test]
    gold = [y for _, y in data.test]
    model = assistant.intents
    vectors = assistant.encoder.encode(texts)
    members = model.member_probas(texts, vectors)
    rows = {"ensemble (ours)": intent_scores(gold, model.ensemble.combine(members), model.classes)}
    for name, proba in members.items():
        rows[f"  member: {name}"] = intent_scores(gold, proba, model.classes)
    started = time.perf_counter()
    baseline = tfidf_forest([t for t, _ in data.train], [y for _, y in data.train])
    rows["baseline: TF-IDF + RandomForest"] = intent_scores(gold, baseline.predict_proba(texts), list(baseline.classes_))
    baseline_fit = time.perf_counter() - started
    threshold = assistant.settings.clarify_below
    final = model.ensemble.combine(members)
    confident = final.max(axis=1) >= threshold
    pred = np.array(model.classes)[final.argmax(axis=1)]
    correct = pred == np.array(gold)
    per_intent = {}
    from sklearn.metrics import f1_score

    for label, score in zip(model.classes, f1_score(gold, list(pred), average=None, labels=model.classes)):
        per_intent[label] = round(float(score), 3)
    print(f"\n== Intents: {len(texts)} held-out phrasings, {len(data.train)} training ({len(model.classes)} intents)")
    print(f"{'model':34s} {'accuracy':>9s} {'macro-F1':>9s} {'ECE':>7s}")
    for name, r in rows.items():
        print(f"{name:34s} {r['accuracy']:9.3f} {r['macro_f1']:9.3f} {r['ece']:7.3f}")
    print(f"clarify below {threshold}: asks on {1 - confident.mean():.1%} of questions; accuracy when it answers "
          f"{correct[confident].mean():.3f}, when it asks {correct[~confident].mean() if (~confident).any() else float('nan'):.3f}")
    worst = sorted(per_intent.items(), key=lambda kv: kv[1])[:5]
    print("lowest per-intent F1: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
    print(f"(baseline fit took {baseline_fit:.1f}s)")
    return {"rows": rows, "per_intent_f1": per_intent, "clarify_rate": float(1 - confident.mean())}


def bench_entities(path: Path, show_errors: bool = False) -> dict:
    rows = load_annotations(path)
    tp = collections.Counter()
    fp = collections.Counter()
    fn = collections.Counter()
    misses = []
    for text, gold_spans in rows:
        gold = {(s, e, label) for s, e, label in gold_spans}
        pred = {(e.start, e.end, e.label) for e in find_entities(text)}
        for s, e, label in pred & gold:
            tp[label] += 1
        for s, e, label in pred - gold:
            fp[label] += 1
            misses.append(f"  extra  {label:9s} {text[s:e]!r:28s} in: {text[:90]}")
        for s, e, label in gold - pred:
            fn[label] += 1
            misses.append(f"  missed {label:9s} {text[s:e]!r:28s} in: {text[:90]}")

    def prf(t: int, p: int, n: int) -> tuple[float, float, float]:
        precision = t / (t + p) if t + p else 1.0
        recall = t / (t + n) if t + n else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    total = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    print(f"\n== Entities: {len(rows)} annotated sentences, {sum(tp.values()) + sum(fn.values())} gold entities ({path.name})")
    print(f"{'label':10s} {'P':>6s} {'R':>6s} {'F1':>6s} {'gold':>5s}")
    for label in sorted(set(tp) | set(fp) | set(fn)):
        p, r, f = prf(tp[label], fp[label], fn[label])
        print(f"{label:10s} {p:6.3f} {r:6.3f} {f:6.3f} {tp[label] + fn[label]:5d}")
    print(f"{'overall':10s} {total[0]:6.3f} {total[1]:6.3f} {total[2]:6.3f}")
    if misses and show_errors:
        print("errors:")
        print("\n".join(misses[:40]))
    return {"precision": total[0], "recall": total[1], "f1": total[2]}


def bench_commands(assistant: Assistant, path: Path, show_errors: bool = False) -> dict:
    requests = load_yaml(path.read_text())["requests"]
    hits1 = hits3 = base1 = base3 = 0
    by_intent = collections.defaultdict(lambda: [0, 0])
    failures = []
    # The baseline learns from the same data as the ranker: catalog examples and labelled requests.
    catalog = assistant.knowledge.catalog
    ex_texts = [ex for spec in catalog for ex in spec.examples]
    ex_utils = [spec.utility for spec in catalog for ex in spec.examples]
    for req in load_labelled_requests(assistant.settings.knowledge_dir, assistant.knowledge):
        ex_texts.append(req.query)
        ex_utils.append(req.utilities[0])
    baseline = tfidf_forest(ex_texts, ex_utils)
    base_proba = baseline.predict_proba([r["query"] for r in requests])
    for r, bp in zip(requests, base_proba):
        accept = set(r["utilities"])
        answer = assistant.answer(Request(text=r["query"], record=False))
        utils = [c["utility"] for c in answer.commands]
        h1 = bool(utils) and utils[0] in accept
        h3 = bool(accept & set(utils[:3]))
        hits1 += h1
        hits3 += h3
        by_intent[r.get("intent", "?")][0] += h1
        by_intent[r.get("intent", "?")][1] += 1
        if not h1:
            failures.append(f"  want {'/'.join(r['utilities']):18s} got {', '.join(utils[:3]):28s} | {r['query'][:80]}")
        ranked = [baseline.classes_[i] for i in np.argsort(-bp)]
        base1 += ranked[0] in accept
        base3 += bool(accept & set(ranked[:3]))
    n = len(requests)
    print(f"\n== Commands: {n} labelled requests ({path.name}), utility of the suggested commands")
    print(f"{'model':34s} {'top-1':>7s} {'top-3':>7s}")
    print(f"{'netcopilot suggest (ours)':34s} {hits1 / n:7.3f} {hits3 / n:7.3f}")
    print(f"{'baseline: TF-IDF + RandomForest':34s} {base1 / n:7.3f} {base3 / n:7.3f}")
    weakest = sorted(by_intent.items(), key=lambda kv: kv[1][0] / kv[1][1])[:5]
    print("lowest top-1 by intent: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in weakest))
    if failures and show_errors:
        print("top-1 misses:")
        print("\n".join(failures[:30]))
    return {"top1": hits1 / n, "top3": hits3 / n, "baseline_top1": base1 / n, "baseline_top3": base3 / n, "n": n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, help="models to evaluate (default: NETCOPILOT_MODELS_DIR or the user data dir)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--show-errors", action="store_true",
                        help="list individual errors (use on development data; looking at test errors is tuning to them)")
    parser.add_argument("--entities", type=Path, help="annotated entity file (default: intents/entities/test.txt)")
    parser.add_argument("--requests", type=Path, help="labelled requests (default: benchmarks/data/command_requests.yml)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.load(home=None, models_dir=args.models_dir,
                                 database_url=f"sqlite:///{Path(home) / 'bench.db'}")
        assistant = Assistant.load(settings)
        print(f"models {assistant.versions['models']}")
        results = {
            "intents": bench_intents(assistant),
            "entities": bench_entities(args.entities or settings.intents_dir / "entities" / "test.txt", args.show_errors),
            "commands": bench_commands(assistant, args.requests or REPO / "benchmarks" / "data" / "command_requests.yml",
                                       args.show_errors),
        }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
