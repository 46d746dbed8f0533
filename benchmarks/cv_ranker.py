"""Development loop for the command ranker: k-fold cross-validation on the TRAINING requests.

    python benchmarks/cv_ranker.py [--models-dir DIR] [--folds 5] [--show-errors]

Each fold trains the ranker on the catalog's examples, every labelled request outside the fold
(`knowledge_base/requests/*.yml`), and measures top-1 / top-3 utility accuracy on the fold's
requests from `train.yml` only: the other files label intent training phrasings, on which the
intent model is over-confident. Use this, not the test set in benchmarks/data/, to look at errors
and try ideas.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from netcopilot import artifacts  # noqa: E402
from netcopilot.embeddings import Encoder  # noqa: E402
from netcopilot.knowledge import load_knowledge  # noqa: E402
from netcopilot.nlu.intents import IntentClassifier  # noqa: E402
from netcopilot.nlu.entities import find_entities  # noqa: E402
from netcopilot.recommend.ranker import TrainingQuery, build_ranker  # noqa: E402
from netcopilot.knowledge import load_labelled_requests  # noqa: E402
from netcopilot.recommend.slots import slot_values  # noqa: E402
from netcopilot.settings import Settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units of the scorer (default: as in training)")
    parser.add_argument("--l2", type=float, default=None, help="L2 penalty (default: as in training)")
    args = parser.parse_args()
    settings = Settings.load(home=Path(tempfile.gettempdir()), models_dir=args.models_dir)
    bundle = artifacts.current_dir(settings.models_dir)  # only the encoder and intent model are used
    encoder = Encoder(artifacts.encoder_dir(settings.models_dir))
    model = IntentClassifier.load(bundle)
    knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)
    catalog = knowledge.catalog
    requests = load_labelled_requests(settings.knowledge_dir, knowledge)

    def queries(rows: list[tuple[str, list[str], str | None, int | None]]) -> list[TrainingQuery]:
        texts = [r[0] for r in rows]
        vectors = encoder.encode(texts)
        proba = model.predict_proba(texts, vectors)
        return [TrainingQuery(t, v, dict(zip(model.classes, map(float, p))), slot_values(find_entities(t), t), list(u), i, e)
                for (t, u, i, e), v, p in zip(rows, vectors, proba)]

    examples = queries([(ex, [spec.utility], None, n) for n, (spec, ex) in
                        enumerate((spec, ex) for spec in catalog for ex in spec.examples)])
    labelled = queries([(r.query, list(r.utilities), r.intent, None) for r in requests])
    measured = {id(q) for q, r in zip(labelled, requests) if r.source == "train.yml"}
    fold = np.random.default_rng(0).integers(0, args.folds, len(labelled))
    hits1 = hits3 = 0
    errors = []
    per_intent: dict[str, list[int]] = {}
    for f in range(args.folds):
        ranker = build_ranker(catalog, lambda texts: encoder.encode(texts))
        train = [q for q, k in zip(labelled, fold) if k != f]
        extra = {name: value for name, value in (("hidden", args.hidden), ("l2", args.l2)) if value is not None}
        ranker.fit(examples + train, neighbours=train, **extra)
        for q in (q for q, k in zip(labelled, fold) if k == f and id(q) in measured):
            got = [s.spec.utility for s in ranker.rank(q.text, q.vector, q.intent_proba, find_entities(q.text), k=3, slots=q.slots)]
            hits1 += got[0] in q.utilities
            hits3 += bool(set(got) & set(q.utilities))
            tally = per_intent.setdefault(q.intent or "?", [0, 0])
            tally[0] += got[0] in q.utilities
            tally[1] += 1
            if got[0] not in q.utilities:
                errors.append(f"  want {'/'.join(q.utilities):22s} got {', '.join(got):26s} | {q.text[:80]}")
    n = len(measured)
    print(f"{args.folds}-fold CV, measured on {n} of {len(labelled)} labelled requests: top-1 {hits1 / n:.3f}  top-3 {hits3 / n:.3f}")
    print("top-1 by intent: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(per_intent.items(), key=lambda kv: kv[1][0] / kv[1][1])))
    print(f"weights of the last fold: {ranker.weights}")
    if args.show_errors:
        print("\n".join(errors[:60]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
