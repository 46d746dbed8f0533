"""Continuous learning: fold what people told us into the training data, retrain, and let the
validation gate decide (`netcopilot retrain`, by hand or on a schedule).

Intent labels, strongest first:
  - a correction: feedback of kind "correction" whose `source` names the right intent (the API's
    /v1/feedback with {"kind": "correction", "intent": ...}, or the chat's `:intent NAME`);
  - a confirmed answer: positive feedback (>= `min_value`) on an answer that did not ask a
    clarifying question and was at least `min_confidence` sure: its question becomes a phrasing.

Command labels (question -> the utility that helped) train the command ranker, strongest first:
  - a suggested command the asker ran and that succeeded (the same match the feedback bandit
    uses: same utility, the values the suggestion filled in, within its run window): its utility;
  - positive feedback (>= `min_value`) on an answer that did not clarify: its first suggested
    utility. Negative feedback (<= -`min_value`, a correction included) on any answer to the same
    question cancels this label, not a run's.

The repository's held-out phrasings are never touched, so the gate compares every candidate with
production on the same test set. Learned phrasings are kept in <home>/learned/train/<intent>.txt
(what was folded in, and when, stays visible and editable). Training reads the repository's intents
plus the learned phrasings from a merged copy in a temporary folder.

New command labels wait in <home>/learned/requests.pending.yml. A retrain trains with them; only
when the gate promotes that version do they join <home>/learned/requests.yml, which `netcopilot
train` and the Assistant read after the repository's requests (`load_labelled_requests(...,
extra=...)`): the ranker answers with the neighbours it was trained with, and a rejected candidate's
labels never reach users.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from netcopilot.knowledge import load_knowledge
from netcopilot.nlu.data import read_lines
from netcopilot.recommend.requests import LabelledRequest, load_requests
from netcopilot.settings import Settings
from netcopilot.store.db import Store
from netcopilot.store.models import Answer, Feedback, Message, SuggestedCommand

LEARNED_REQUESTS_HEADER = (
    "# Labelled requests learned by `netcopilot retrain`: questions whose suggested command was run and\n"
    "# succeeded, or whose answer was rated helpful, with the utility that helped. Same format as\n"
    "# knowledge_base/requests/*.yml; retraining adds them to the command ranker's training data.\n"
    "# Entries may be edited; a deleted one is collected again from the store at the next retrain.\n"
    "requests:\n"
)


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    origin: str  # correction | confirmed


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


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
            text = _clean(text)
            if not text:
                continue
            if kind == "correction" and source in known:
                labels[text.lower()] = Example(text, source, "correction")
            elif (kind != "correction" and value >= min_value and not clarified and confidence >= min_confidence
                  and intent in known and labels.get(text.lower(), Example("", "", "")).origin != "correction"):
                labels[text.lower()] = Example(text, intent, "confirmed")
    return list(labels.values())


@dataclass
class _Signals:
    """What the feedback on one answer says: its best and worst values and a corrected intent."""

    best: float = -1.0  # highest value that is not a correction
    worst: float = 1.0
    intent: str = ""  # from a correction naming a known intent


def _feedback_signals(session: Session, known_intents: set[str], since: datetime | None) -> dict[int, _Signals]:
    query = select(Feedback.answer_id, Feedback.kind, Feedback.value, Feedback.source).order_by(Feedback.id)
    if since is not None:
        query = query.where(Feedback.created_at >= since)
    out: dict[int, _Signals] = {}
    for answer_id, kind, value, source in session.execute(query):
        signals = out.setdefault(answer_id, _Signals())
        signals.worst = min(signals.worst, value)
        if kind == "correction":
            signals.intent = source if source in known_intents else signals.intent
        else:
            signals.best = max(signals.best, value)
    return out


def collect_commands(store: Store, known_utilities: set[str], known_intents: set[str], since: datetime | None = None,
                     min_value: float = 0.5) -> list[LabelledRequest]:
    """Command labels from answers that suggested commands (see the module docstring), one per
    question (compared lower-cased); `source` says which signal: "run" or "feedback". The intent
    is a correction's when there is one, else the answer's. With `since`, only answers asked or
    rated from then on count."""
    from netcopilot.recommend.bandit import ThompsonBandit, run_of_answer

    window = ThompsonBandit.run_window_minutes
    query = (select(Answer, Message.text, SuggestedCommand.utility)
             .join(Message, Message.id == Answer.message_id)
             .join(SuggestedCommand, (SuggestedCommand.answer_id == Answer.id) & (SuggestedCommand.rank == 1))
             .order_by(Answer.id))
    if since is not None:
        query = query.where(or_(Answer.created_at >= since,
                                Answer.id.in_(select(Feedback.answer_id).where(Feedback.created_at >= since))))
    ran: dict[str, LabelledRequest] = {}
    liked: dict[str, LabelledRequest] = {}
    disliked: set[str] = set()
    with store.session() as s:
        signals = _feedback_signals(s, known_intents, since)
        for answer, text, first_utility in s.execute(query):
            text, feedback = _clean(text), signals.get(answer.id, _Signals())
            intent = feedback.intent or answer.intent
            key = text.lower()
            if not text or intent not in known_intents:
                continue
            if feedback.worst <= -min_value:
                disliked.add(key)
            found = run_of_answer(s, answer, window) if key not in ran else None
            if found and found[1]:
                utility = answer.payload["commands"][found[0]].get("utility")
                if utility in known_utilities:
                    ran[key] = LabelledRequest(text, (utility,), intent, "run")
            if (feedback.best >= min_value and not answer.clarified and first_utility in known_utilities
                    and key not in liked):
                liked[key] = LabelledRequest(text, (first_utility,), intent, "feedback")
    return [*ran.values(), *(r for key, r in liked.items() if key not in ran and key not in disliked)]


def learned_dir(settings: Settings) -> Path:
    return Path(settings.home) / "learned" / "train"


def learned_requests_path(settings: Settings) -> Path:
    return Path(settings.home) / "learned" / "requests.yml"


def held_out(settings: Settings) -> set[str]:
    """The repository's held-out phrasings, lower-cased: never folded in as training data of any kind."""
    return {t.lower() for p in (Path(settings.intents_dir) / "test").glob("*.txt") for _, t in read_lines(p)}


def fold_in(settings: Settings, examples: list[Example]) -> int:
    """Append new examples to <home>/learned/train/<intent>.txt; returns how many were new.
    A question that is a held-out phrasing is left out, so the test set stays clean."""
    intents_dir = Path(settings.intents_dir)
    excluded = held_out(settings)
    folder = learned_dir(settings)
    existing = {t.lower() for p in folder.glob("*.txt") for _, t in read_lines(p)} if folder.is_dir() else set()
    existing |= {t.lower() for p in (intents_dir / "train").glob("*.txt") for _, t in read_lines(p)}
    added = 0
    for ex in examples:
        if ex.text.lower() in excluded or ex.text.lower() in existing:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{ex.intent}.txt").open("a", encoding="utf-8") as f:
            f.write(ex.text + "\n")
        existing.add(ex.text.lower())
        added += 1
    return added


def _requests_yaml(requests: list[LabelledRequest]) -> str:
    rows = [{"query": r.query, "utilities": list(r.utilities), "intent": r.intent} for r in requests]
    return yaml.safe_dump(rows, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000)


def pending_requests_path(settings: Settings) -> Path:
    """Command labels folded in but not yet through the gate: the Assistant does not read them."""
    return Path(settings.home) / "learned" / "requests.pending.yml"


def _queries(path: Path) -> set[str]:
    return {r.query.lower() for r in load_requests(path)} if path.is_file() else set()


def _learned_queries(settings: Settings) -> set[str]:
    return _queries(learned_requests_path(settings)) | _queries(pending_requests_path(settings))


def _append_requests(path: Path, requests: list[LabelledRequest]) -> None:
    """Append to a learned requests file, created with the header that says what it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = LEARNED_REQUESTS_HEADER if not path.is_file() or path.stat().st_size == 0 else ""
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{header}# folded in {when}\n" + _requests_yaml(requests))


def fold_commands(settings: Settings, requests: list[LabelledRequest]) -> int:
    """Append new command labels to <home>/learned/requests.pending.yml; returns how many were new.
    Questions already learned (pending or accepted), labelled by the repository's requests, or
    held-out phrasings are left out. `accept_pending` moves them to requests.yml once a version
    trained with them passed the gate."""
    repo = Path(settings.knowledge_dir) / "requests"
    existing = _learned_queries(settings) | held_out(settings)
    existing |= {r.query.lower() for p in sorted(repo.glob("*.yml")) for r in load_requests(p)}
    new: list[LabelledRequest] = []
    for request in requests:
        if request.query.lower() not in existing:
            existing.add(request.query.lower())
            new.append(request)
    if new:
        _append_requests(pending_requests_path(settings), new)
    return len(new)


def accept_pending(settings: Settings) -> int:
    """After a promotion: the pending command labels join requests.yml, which the Assistant reads."""
    pending = pending_requests_path(settings)
    if not pending.is_file():
        return 0
    requests = load_requests(pending)
    if requests:
        _append_requests(learned_requests_path(settings), requests)
    pending.unlink()
    return len(requests)


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
    commands_collected: int
    commands_added: int
    commands_total: int  # command labels in <home>/learned/requests.yml
    train: object | None  # training.TrainReport, None when there was nothing new

    @property
    def promoted(self) -> bool:
        return bool(self.train is not None and self.train.promoted)


def retrain(settings: Settings, store: Store, tolerance: float | None = None, force: bool = False,
            progress=None, since: datetime | None = None, **train_options) -> RetrainReport:  # noqa: ANN001, ANN003
    """Fold in new intent phrasings and command labels, and train when either brought anything
    new (or with `force`). `train_options` go to `training.train` (e.g. spacy_epochs)."""
    from netcopilot.training import train

    knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)
    known = set(knowledge.intents)
    examples = collect(store, known, since)
    added = fold_in(settings, examples)
    commands = collect_commands(store, {spec.utility for spec in knowledge.catalog}, known, since)
    commands_added = fold_commands(settings, commands)
    folder = learned_dir(settings)
    total = sum(1 for p in folder.glob("*.txt") for _ in read_lines(p)) if folder.is_dir() else 0
    counts = {"collected": len(examples), "added": added, "learned_total": total, "commands_collected": len(commands),
              "commands_added": commands_added, "commands_total": len(_learned_queries(settings))}
    if not added and not commands_added and not force:
        return RetrainReport(**counts, train=None)
    with tempfile.TemporaryDirectory(prefix="netcopilot-retrain-") as tmp:
        merged = Settings.load(**{**settings.values, "intents_dir": merged_intents(settings, Path(tmp) / "intents")})
        if progress:
            train_options["progress"] = progress
        report = train(merged, tolerance=tolerance,
                       extra_requests=[learned_requests_path(settings), pending_requests_path(settings)], **train_options)
    if report.promoted:  # the gate passed a version trained with the pending labels: now they are served
        accept_pending(settings)
    return RetrainReport(**counts, train=report)
