"""Continuous learning: fold what people told us into the training data, retrain, and let the
validation gate decide (`netcopilot retrain`, by hand or on a schedule).

Where labels come from, strongest first:
  - a correction: feedback of kind "correction" whose `source` names the right intent (the API's
    /v1/feedback with {"kind": "correction", "intent": ...}, or the chat's `:intent NAME`);
  - a confirmed answer: positive feedback (>= `min_value`) on an answer that did not ask a
    clarifying question and was at least `min_confidence` sure: its question becomes a phrasing.

The repository's held-out phrasings are never touched, so the gate compares every candidate with
production on the same test set. Learned phrasings are kept in <home>/learned/train/<intent>.txt
(what was folded in, and when, stays visible), and training reads the repository's intents plus
those files from a merged copy in a temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from netcopilot.nlu.data import load_definitions, read_lines
from netcopilot.settings import Settings
from netcopilot.store.db import Store
from netcopilot.store.models import Answer, Feedback, Message


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    origin: str  # correction | confirmed


def collect(store: Store, known: set[str], since: datetime | None = None, min_value: float = 0.5,
            min_confidence: float = 0.5) -> list[Example]:
    """Labelled questions from feedback; a correction wins over a confirmation of the same question."""
    query = (select(Feedback.kind, Feedback.value, Feedback.source, Answer.intent, Answer.confidence, Answer.clarified,
                    Message.text)
             .join(Answer, Answer.id == Feedback.answer_id).join(Message, Message.id == Answer.message_id)
             .order_by(Feedback.id))
    if since is not None:
        query = query.where(Feedback.created_at >= since)
    labels: dict[str, Example] = {}
    with store.session() as s:
        for kind, value, source, intent, confidence, clarified, text in s.execute(query):
            text = " ".join((text or "").split())
            if not text:
                continue
            if kind == "correction" and source in known:
                labels[text.lower()] = Example(text, source, "correction")
            elif (kind != "correction" and value >= min_value and not clarified and confidence >= min_confidence
                  and intent in known and labels.get(text.lower(), Example("", "", "")).origin != "correction"):
                labels[text.lower()] = Example(text, intent, "confirmed")
    return list(labels.values())


def learned_dir(settings: Settings) -> Path:
    return Path(settings.home) / "learned" / "train"


def fold_in(settings: Settings, examples: list[Example]) -> int:
    """Append new examples to <home>/learned/train/<intent>.txt; returns how many were new.
    A question that is a held-out phrasing is left out, so the test set stays clean."""
    intents_dir = Path(settings.intents_dir)
    held_out = {t.lower() for p in (intents_dir / "test").glob("*.txt") for _, t in read_lines(p)}
    folder = learned_dir(settings)
    existing = {t.lower() for p in folder.glob("*.txt") for _, t in read_lines(p)} if folder.is_dir() else set()
    existing |= {t.lower() for p in (intents_dir / "train").glob("*.txt") for _, t in read_lines(p)}
    added = 0
    for ex in examples:
        if ex.text.lower() in held_out or ex.text.lower() in existing:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{ex.intent}.txt").open("a", encoding="utf-8") as f:
            f.write(ex.text + "\n")
        existing.add(ex.text.lower())
        added += 1
    return added


def merged_intents(settings: Settings, target: Path) -> Path:
    """A copy of the repository's intents with the learned phrasings appended to training."""
    shutil.copytree(settings.intents_dir, target)
    folder = learned_dir(settings)
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else ():
        with (target / "train" / path.name).open("a", encoding="utf-8") as f:
            f.write("\n# learned from feedback (netcopilot retrain)\n" + path.read_text(encoding="utf-8"))
    return target


@dataclass
class RetrainReport:
    collected: int
    added: int
    learned_total: int
    train: object | None  # training.TrainReport, None when there was nothing new

    @property
    def promoted(self) -> bool:
        return bool(self.train is not None and self.train.promoted)


def retrain(settings: Settings, store: Store, tolerance: float | None = None, force: bool = False,
            progress=None, since: datetime | None = None, **train_options) -> RetrainReport:  # noqa: ANN001, ANN003
    """`train_options` go to `training.train` (e.g. spacy_epochs)."""
    from netcopilot.training import train

    known = set(load_definitions(settings.intents_dir))
    examples = collect(store, known, since)
    added = fold_in(settings, examples)
    folder = learned_dir(settings)
    total = sum(1 for p in folder.glob("*.txt") for _ in read_lines(p)) if folder.is_dir() else 0
    if not added and not force:
        return RetrainReport(len(examples), 0, total, None)
    with tempfile.TemporaryDirectory(prefix="netcopilot-retrain-") as tmp:
        intents = merged_intents(settings, Path(tmp) / "intents")
        merged = Settings.load(**{**settings.values, "intents_dir": intents})
        if progress:
            train_options["progress"] = progress
        report = train(merged, tolerance=tolerance, **train_options)
    return RetrainReport(len(examples), added, total, report)
