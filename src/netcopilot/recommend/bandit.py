"""Reordering suggested commands with a contextual bandit that learns from feedback.

Why: the ranker is trained once, on labelled requests. What actually helps a team shows up
later: feedback on answers (buttons, reactions, reply sentiment) and which suggested commands
people then run, and whether they succeed. The bandit turns those signals into an estimate of
how useful each command is for each kind of question, and reorders the ranker's top candidates
by Thompson sampling, so better commands rise while the uncertain ones still get shown.

Model (LinTS, one small model per arm and intent): the reward in [0, 1] of command `arm` for a
question of intent `i` is linear in

    x = [1, prior, platform one-hot, entity flags]

where `prior` is the ranker's score made monotone along the ranker's order (`monotone_prior`).
The Gaussian prior over the weights has mean `base` on the bias and `prior_weight` on `prior`
(precision `prior_strength`), so without feedback the posterior mean is a monotone function of
the ranker's order: a cold bandit reproduces it exactly. Feedback washes the prior out at rate
1/n, so the estimate converges to the arm's real reward (which is what makes regret sub-linear).
Models are keyed by (arm, intent): evidence about `dig` for DNS questions does not move `dig` for
latency questions.

Exploration is bounded in three ways: (1) Thompson noise is phased in as an intent collects
feedback (`warmup`), so an intent nobody has rated shows the trained order; (2) only candidates
whose ranker score is at least `margin` x the best score are reordered, within the slots they
occupy, so a clearly best command is never buried; (3) the bandit never adds or drops commands.

Feedback (position-based):
- answer-level signals (good/bad, buttons, reactions, reply sentiment; value -1..1 mapped to
  0..1) credit every shown arm with weight 1/(1 + position) (`credit_answer`);
- a suggested command run within `run_window` after the answer (same utility, and the values the
  suggestion filled in) is a click in a position-based model: E[click] = examine(p) * utility, so
  the run arm counts as reward 1 (exit 0, weight `run_weight`) or 0 (failed, weight
  `fail_weight`, a weak negative), and the shown arms not run count as 0 (`credit_run`).

State is rebuildable from the store (`sync` replays feedback rows and command_history) and is
cached under settings.home as an .npz file (`save`, atomic) with a version and watermarks; no
tables of its own.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

BANDIT_VERSION = 1
PLATFORMS = ("linux", "macos", "cisco-ios", "junos", "windows")
FLAGS = ("HOST", "PORT", "INTERFACE", "CIDR", "MAC", "VLAN")
HOST_LABELS = {"IPV4", "IPV6", "HOSTNAME", "URL"}
FEATURES = ("bias", "prior", *(f"platform:{p}" for p in PLATFORMS), *(f"has:{f}" for f in FLAGS))


@dataclass(frozen=True)
class Context:
    """What the bandit conditions on: the question's intent, its platform and which kinds of
    entity it names (a host, a port...)."""

    intent: str
    platform: str | None = None
    flags: frozenset[str] = frozenset()

    @classmethod
    def from_labels(cls, intent: str, labels: Iterable[str], platform: str | None = None) -> "Context":
        groups = {"HOST" if label in HOST_LABELS else label for label in labels}
        return cls(intent, platform, frozenset(groups & set(FLAGS)))

    def to_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "platform": self.platform, "flags": sorted(self.flags)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Context":
        return cls(str(data["intent"]), data.get("platform"), frozenset(data.get("flags", ())))


@dataclass(frozen=True)
class Candidate:
    arm: str  # catalog command id
    score: float  # the ranker's score


@dataclass
class Slate:
    """What was shown: the arms in display order and each arm's prior feature."""

    context: Context
    arms: list[str]
    priors: list[float]

    def to_dict(self) -> dict[str, Any]:
        return {"context": self.context.to_dict(), "arms": list(self.arms), "priors": [round(p, 6) for p in self.priors]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Slate":
        return cls(Context.from_dict(data["context"]), list(data["arms"]), [float(p) for p in data["priors"]])


def monotone_prior(candidates: Sequence[Candidate]) -> list[float]:
    """The ranker's scores made non-increasing along its order (a running minimum): the ranker
    diversifies utilities, so its order is not always by score, and the bandit's prior must
    follow the order, not the raw score."""
    out: list[float] = []
    for c in candidates:
        out.append(min(c.score, out[-1]) if out else c.score)
    return out


def slate_of(context: Context, ranked: Sequence[Candidate], shown: Sequence[Candidate]) -> Slate:
    """The slate for `shown` (a reordering of `ranked`, the ranker's order)."""
    prior = dict(zip((c.arm for c in ranked), monotone_prior(ranked)))
    return Slate(context, [c.arm for c in shown], [prior[c.arm] for c in shown])


def movable(candidates: Sequence[Candidate], margin: float) -> list[int]:
    """Positions of the candidates a learned order may move: those scoring at least `margin`
    x the best ranker score. The others keep their slots, so a clearly best command stays first."""
    best = max((c.score for c in candidates), default=0.0)
    return [i for i, c in enumerate(candidates) if c.score >= margin * best]


def reorder(candidates: Sequence[Candidate], slots: Sequence[int], ranked: Sequence[int]) -> list[Candidate]:
    """`candidates` with the ones in `slots` placed, in those same slots, in the order `ranked`
    (a permutation of `slots`)."""
    out = list(candidates)
    for slot, i in zip(slots, ranked):
        out[slot] = candidates[i]
    return out


def position_weight(position: int) -> float:
    """How much of an answer-level signal a command at `position` (0 = first) earns, and how
    likely a reader is to have looked at it."""
    return 1.0 / (1.0 + position)


@dataclass
class _Posterior:
    inverse: np.ndarray  # (d, d) inverse of the precision matrix
    moment: np.ndarray  # (d,) precision @ mean
    evidence: float = 0.0


@dataclass
class ThompsonBandit:
    """Linear Thompson sampling per (arm, intent); see the module docstring for the model."""

    base: float = 0.5  # prior reward of a command the ranker gives score 0
    prior_weight: float = 0.5  # prior reward added per unit of ranker score
    prior_strength: float = 2.0  # precision of the prior (pseudo-observations)
    noise: float = 0.5  # scale of Thompson noise (the reward's standard deviation)
    warmup: float = 3.0  # feedback weight an intent needs before exploration is at full strength
    margin: float = 0.1  # candidates scoring below margin x the best keep the ranker's slot
    run_weight: float = 2.0  # a suggested command that was run and succeeded
    fail_weight: float = 0.5  # one that was run and failed
    run_window_minutes: float = 30.0
    seed: int | None = None  # fixed seed: deterministic exploration (tests, benchmarks)
    posteriors: dict[tuple[str, str], _Posterior] = field(default_factory=dict, repr=False)
    intent_evidence: dict[str, float] = field(default_factory=dict, repr=False)
    feedback_mark: int = 0  # last feedback row applied
    run_mark: int = 0  # last answer whose run window was checked

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        d = len(FEATURES)
        self._prior_mean = np.zeros(d)
        self._prior_mean[0], self._prior_mean[1] = self.base, self.prior_weight
        self._prior_inverse = np.eye(d) / self.prior_strength

    # --- features and posteriors ---------------------------------------------------------------

    @staticmethod
    def features(context: Context, prior: float) -> np.ndarray:
        x = np.zeros(len(FEATURES))
        x[0], x[1] = 1.0, prior
        if context.platform in PLATFORMS:
            x[2 + PLATFORMS.index(context.platform)] = 1.0
        for flag in context.flags:
            if flag in FLAGS:
                x[2 + len(PLATFORMS) + FLAGS.index(flag)] = 1.0
        return x

    def _posterior(self, arm: str, intent: str, create: bool = False) -> _Posterior:
        key = (arm, intent)
        found = self.posteriors.get(key)
        if found is None:
            found = _Posterior(self._prior_inverse.copy(), self.prior_strength * self._prior_mean)
            if create:
                self.posteriors[key] = found
        return found

    def values(self, context: Context, arms: Sequence[str], priors: Sequence[float], explore: bool = True) -> np.ndarray:
        """Posterior samples (or means, explore=False) of each arm's reward in `context`."""
        ramp = min(1.0, self.intent_evidence.get(context.intent, 0.0) / self.warmup) if explore else 0.0
        out = np.empty(len(arms))
        for j, (arm, prior) in enumerate(zip(arms, priors)):
            post = self._posterior(arm, context.intent)
            x = self.features(context, prior)
            ix = post.inverse @ x
            out[j] = ix @ post.moment
            if ramp > 0:
                out[j] += ramp * self.noise * float(np.sqrt(max(x @ ix, 0.0))) * self._rng.standard_normal()
        return out

    # --- choosing -----------------------------------------------------------------------------

    def select(self, context: Context, candidates: Sequence[Candidate], k: int | None = None) -> list[Candidate]:
        """The candidates (given in the ranker's order) reordered by sampled reward, first `k` of
        them. Only those within `margin` of the best ranker score move (`movable`)."""
        candidates = list(candidates)
        slots = movable(candidates, self.margin)
        if len(slots) > 1:
            priors = monotone_prior(candidates)
            sampled = dict(zip(slots, self.values(context, [candidates[i].arm for i in slots], [priors[i] for i in slots])))
            candidates = reorder(candidates, slots, sorted(slots, key=lambda i: (-sampled[i], i)))
        return candidates[: len(candidates) if k is None else k]

    # --- learning -----------------------------------------------------------------------------

    def update(self, context: Context, arm: str, reward: float, prior: float, weight: float = 1.0,
               examine: float = 1.0) -> None:
        """One observation of `reward` (0..1) for `arm`, counted `weight` times; `examine` is the
        probability the user looked at it (position-based model: E[reward] = examine * utility)."""
        if weight <= 0:
            return
        post = self._posterior(arm, context.intent, create=True)
        u = examine * self.features(context, prior)
        iu = post.inverse @ u
        post.inverse -= weight * np.outer(iu, iu) / (1.0 + weight * (u @ iu))  # Sherman-Morrison
        post.moment += weight * float(np.clip(reward, 0.0, 1.0)) * u
        post.evidence += weight
        self.intent_evidence[context.intent] = self.intent_evidence.get(context.intent, 0.0) + weight

    def credit_answer(self, slate: Slate, value: float) -> None:
        """An answer-level satisfaction `value` (-1..1) credits each shown arm, less further down."""
        reward = (max(-1.0, min(1.0, value)) + 1.0) / 2.0
        for p, (arm, prior) in enumerate(zip(slate.arms, slate.priors)):
            self.update(slate.context, arm, reward, prior, weight=position_weight(p))

    def credit_run(self, slate: Slate, position: int, succeeded: bool) -> None:
        """The command at `position` was run (a click); the other shown commands were not."""
        for p, (arm, prior) in enumerate(zip(slate.arms, slate.priors)):
            if p == position:
                self.update(slate.context, arm, 1.0 if succeeded else 0.0, prior,
                            weight=self.run_weight if succeeded else self.fail_weight, examine=position_weight(p))
            else:
                self.update(slate.context, arm, 0.0, prior, examine=position_weight(p))

    # --- state --------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        names = ("base", "prior_weight", "prior_strength", "noise", "warmup", "margin", "run_weight", "fail_weight",
                 "run_window_minutes")
        return {name: getattr(self, name) for name in names}

    def save(self, path: Path) -> None:
        """Write the state atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.posteriors)
        d = len(FEATURES)
        meta = {
            "version": BANDIT_VERSION, "features": list(FEATURES), "params": self.params(), "keys": [list(k) for k in keys],
            "intent_evidence": self.intent_evidence, "feedback_mark": self.feedback_mark, "run_mark": self.run_mark,
        }
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "inverse": np.stack([self.posteriors[k].inverse for k in keys]) if keys else np.zeros((0, d, d)),
            "moment": np.stack([self.posteriors[k].moment for k in keys]) if keys else np.zeros((0, d)),
            "evidence": np.array([self.posteriors[k].evidence for k in keys], dtype=np.float64),
        }
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, **params: Any) -> "ThompsonBandit | None":
        """The cached state, or None when it is missing, unreadable, from another version or
        built with other hyper-parameters (then the caller rebuilds it from the store)."""
        bandit = cls(**params)
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                inverse, moment, evidence = data["inverse"], data["moment"], data["evidence"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        if meta.get("version") != BANDIT_VERSION or meta.get("features") != list(FEATURES) or meta.get("params") != bandit.params():
            return None
        for j, (arm, intent) in enumerate(meta["keys"]):
            bandit.posteriors[(arm, intent)] = _Posterior(inverse[j].copy(), moment[j].copy(), float(evidence[j]))
        bandit.intent_evidence = {k: float(v) for k, v in meta["intent_evidence"].items()}
        bandit.feedback_mark, bandit.run_mark = int(meta["feedback_mark"]), int(meta["run_mark"])
        return bandit

    # --- replaying the store ----------------------------------------------------------------

    def sync(self, store: Any, now: datetime | None = None) -> int:
        """Apply feedback rows and command runs the state has not seen; returns how many."""
        from sqlalchemy import func, select

        from netcopilot.store.models import Answer, Feedback

        now = now or datetime.now(timezone.utc)
        applied = 0
        with store.session() as s:
            if (s.scalar(select(func.max(Feedback.id))) or 0) < self.feedback_mark or \
                    (s.scalar(select(func.max(Answer.id))) or 0) < self.run_mark:
                raise StaleStateError("the bandit state remembers rows the store does not have (a reset store)")
            rows = s.execute(select(Feedback.id, Feedback.answer_id, Feedback.value)
                             .where(Feedback.id > self.feedback_mark).order_by(Feedback.id)).all()
            slates: dict[int, Slate | None] = {}
            for fb_id, answer_id, value in rows:
                if answer_id not in slates:
                    slates[answer_id] = _slate_of_answer(s.get(Answer, answer_id))
                if slates[answer_id] is not None:
                    self.credit_answer(slates[answer_id], float(value))
                    applied += 1
                self.feedback_mark = fb_id
            closed = now - timedelta(minutes=self.run_window_minutes)
            answers = s.scalars(select(Answer).where(Answer.id > self.run_mark).order_by(Answer.id)).all()
            for answer in answers:
                if _utc(answer.created_at) > closed:
                    break  # its window is still open: look again later
                found = run_of_answer(s, answer, self.run_window_minutes)
                slate = _slate_of_answer(answer) if found else None
                if found and slate is not None:
                    self.credit_run(slate, *found)
                    applied += 1
                self.run_mark = answer.id
        return applied


class StaleStateError(Exception):
    """The cached state remembers feedback the store no longer has."""


def load_or_rebuild(path: Path, store: Any, **params: Any) -> ThompsonBandit:
    """The cached bandit at `path` brought up to date with the store; built from the store alone
    when the cache is missing, unreadable, or for another version or other hyper-parameters."""
    cached = ThompsonBandit.load(path, **params)
    return refresh(cached or ThompsonBandit(**params), path, store, save=cached is None)


def refresh(bandit: ThompsonBandit, path: Path, store: Any, save: bool = False) -> ThompsonBandit:
    """Apply what the store has that `bandit` has not seen and save it when anything moved;
    rebuilt from scratch when the store was reset under it."""
    marks = (bandit.feedback_mark, bandit.run_mark)
    try:
        save = bandit.sync(store) > 0 or save or marks != (bandit.feedback_mark, bandit.run_mark)
    except StaleStateError:
        bandit = ThompsonBandit(**bandit.params(), seed=bandit.seed)
        bandit.sync(store)
        save = True
    if save:
        try:
            bandit.save(path)
        except OSError:
            pass  # only a cache (a read-only home): the next start rebuilds it from the store
    return bandit


# --- what an answer showed, and what was run after it -------------------------------------------


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _slate_of_answer(answer: Any) -> Slate | None:
    """The slate an answer showed: recorded in its explanation when the bandit was on, else its
    suggested commands in order (prior = ranker score)."""
    if answer is None:
        return None
    recorded = (answer.payload or {}).get("explanation", {}).get("bandit")
    if recorded:
        return Slate.from_dict(recorded["slate"])
    commands = list(answer.commands)
    if not commands:
        return None
    labels = [e.get("label", "") for e in answer.entities or []]
    ranked = [Candidate(c.command_id, c.score) for c in commands]
    return slate_of(Context.from_labels(answer.intent, labels), ranked, ranked)


def command_tool(command: str) -> str:
    """The executable of a command line, past `sudo`, `env` and VAR=value prefixes."""
    try:
        tokens = shlex.split(command)
    except ValueError:  # an unbalanced quote: still worth a guess
        tokens = command.split()
    for token in tokens:
        if token in ("sudo", "env") or ("=" in token and not token.startswith("-")):
            continue
        return os.path.basename(token)
    return ""


def runs_between(session: Any, user_id: int, start: datetime, end: datetime) -> list[Any]:
    """command_history rows of a store user (recorded under its external id, or the login name
    after its last ':', as the shell hook does) started between `start` and `end`, in order."""
    from sqlalchemy import select

    from netcopilot.store.models import CommandRecord, User

    external = session.scalar(select(User.external_id).where(User.id == user_id))
    if external is None:
        return []
    start, end = _utc(start), _utc(end)
    rows = session.scalars(select(CommandRecord)
                           .where(CommandRecord.user.in_({external, external.rsplit(":", 1)[-1]}),
                                  CommandRecord.started_at >= start, CommandRecord.started_at <= end)
                           .order_by(CommandRecord.started_at, CommandRecord.id)).all()
    return [r for r in rows if r.started_at is not None and start <= _utc(r.started_at) <= end]


def run_of_answer(session: Any, answer: Any, window_minutes: float) -> tuple[int, bool] | None:
    """(position, succeeded) of the first suggested command the asker ran within the window:
    same utility, and (when the suggestion took values from the question: a host, a port) one
    of those values in what was run. Among variants of one utility (`ping -c 4` and `ping -i 0.2`)
    the one sharing most words with what was run wins."""
    from netcopilot.store.models import Conversation

    shown = (answer.payload or {}).get("commands", [])
    conv = session.get(Conversation, answer.conversation_id)
    if not shown or conv is None:
        return None
    start = _utc(answer.created_at)
    for row in runs_between(session, conv.user_id, start, start + timedelta(minutes=window_minutes)):
        tool, words = command_tool(row.command), set(row.command.split())
        matches = [(len(words & set(str(cmd.get("command", "")).split())), -position)
                   for position, cmd in enumerate(shown)
                   if tool == cmd.get("utility") and _names_values(cmd, row.command)]
        if matches:
            return -max(matches)[1], row.exit_status == 0
    return None


def _names_values(suggested: dict[str, Any], command: str) -> bool:
    values = [str(v) for v in (suggested.get("filled") or {}).values()]
    return not values or any(v in command for v in values)
