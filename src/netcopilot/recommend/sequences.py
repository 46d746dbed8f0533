"""Learning the order of diagnostic steps from troubleshooting sessions that were logged.

Why: the ranker and the bandit judge each command on its own, but troubleshooting is a sequence,
and the order matters: the step that finds the cause most often should come first, unless a
cheaper one usually settles it. Sessions that ended solved record which order people used and
how many steps it took, which is what offline reinforcement learning needs.

An episode is (intent, steps in the order run, solved?). Steps are command utilities (`dig`,
`mtr`...). The model is tabular fitted Q iteration over

    state  = (intent, set of steps already done)       action = the next step
    reward = -step_cost per step, + resolution_reward when the step ends a solved episode

Q(s, a) is the mean over logged transitions of r + gamma * max_a' Q(s', a') (a' among the steps
logged from s'); states only grow, so the iteration converges in as many sweeps as the longest
episode. `order_steps` rolls the greedy policy out over the candidates. Where a state was never
logged it backs off to the same step's mean Q among states with as many steps done, then among
all states of the intent; every candidate is compared at the same level, and steps never logged
for the intent keep their given order after the learned ones.

Episodes come from the store (`episodes_from_store`: solved conversations, and the commands the
asker ran between its start and `solved_at` that match its suggested utilities) or from a JSONL
file (`load_episodes`, for simulations): {"intent": "dns", "steps": ["dig", "resolvectl"],
"solved": true}.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from netcopilot.errors import DataFormatError

State = tuple[str, frozenset[str]]


@dataclass(frozen=True)
class Episode:
    intent: str
    steps: tuple[str, ...]  # in the order run; repeats of a step are dropped
    solved: bool = True

    @classmethod
    def of(cls, intent: str, steps: Iterable[str], solved: bool = True) -> "Episode":
        return cls(intent, tuple(dict.fromkeys(s for s in steps if s)), solved)


def load_episodes(path: Path) -> list[Episode]:
    """Episodes from a JSONL file; a bad line raises DataFormatError naming file, line and field."""
    episodes = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read ({exc.__class__.__name__})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, f"not JSON ({exc.msg})", line=n) from None
        if not isinstance(row, dict):
            raise DataFormatError(path, "expected an object", line=n)
        intent, steps, solved = row.get("intent"), row.get("steps"), row.get("solved", True)
        if not isinstance(intent, str) or not intent:
            raise DataFormatError(path, "expected a non-empty string", line=n, field="intent")
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise DataFormatError(path, "expected a list of strings", line=n, field="steps")
        if not isinstance(solved, bool):
            raise DataFormatError(path, "expected true or false", line=n, field="solved")
        episodes.append(Episode.of(intent, steps, solved))
    return episodes


def episodes_from_store(store: Any) -> list[Episode]:
    """One episode per solved conversation: its first answer's intent, and the suggested
    utilities the asker ran (command_history) between the conversation's start and solved_at."""
    from sqlalchemy import select

    from netcopilot.recommend.bandit import command_tool, runs_between
    from netcopilot.store.models import Answer, Conversation

    episodes = []
    with store.session() as s:
        for conv in s.scalars(select(Conversation).where(Conversation.solved.is_(True), Conversation.solved_at.is_not(None))
                              .order_by(Conversation.id)):
            answers = s.scalars(select(Answer).where(Answer.conversation_id == conv.id).order_by(Answer.id)).all()
            if not answers:
                continue
            suggested = {c.utility for a in answers for c in a.commands}
            steps = [tool for tool in (command_tool(r.command) for r in runs_between(s, conv.user_id, conv.started_at,
                                                                                     conv.solved_at))
                     if tool in suggested]
            if steps:
                episodes.append(Episode.of(answers[0].intent, steps, True))
    return episodes


@dataclass
class StepOrderModel:
    """Offline fitted Q iteration over (intent, steps done) -> next step; see the module docstring."""

    step_cost: float = 1.0
    resolution_reward: float = 10.0
    gamma: float = 1.0
    min_episodes: int = 3  # an intent with fewer logged episodes keeps the given order
    smoothing: float = 5.0  # pseudo-counts pulling a rarely logged state's Q toward its peers
    q_: dict[tuple[State, str], float] = field(default_factory=dict, repr=False)
    episodes_: dict[str, int] = field(default_factory=dict, repr=False)

    def fit(self, episodes: Sequence[Episode]) -> "StepOrderModel":
        samples: dict[tuple[State, str], list[tuple[float, State | None]]] = defaultdict(list)
        actions: dict[State, set[str]] = defaultdict(set)
        counts: dict[str, int] = defaultdict(int)
        for ep in episodes:
            if not ep.steps:
                continue
            counts[ep.intent] += 1
            done: frozenset[str] = frozenset()
            for k, step in enumerate(ep.steps):
                state, last = (ep.intent, done), k == len(ep.steps) - 1
                done = done | {step}
                reward = -self.step_cost + (self.resolution_reward if last and ep.solved else 0.0)
                samples[(state, step)].append((reward, None if last else (ep.intent, done)))
                actions[state].add(step)
        q = {key: 0.0 for key in samples}
        n = {key: len(rows) for key, rows in samples.items()}
        for _ in range(1 + max((len(ep.steps) for ep in episodes), default=0)):
            smooth = self._smoothed(q, n)
            updated = {}
            for key, rows in samples.items():
                total = 0.0
                for reward, nxt in rows:
                    future = max(smooth[(nxt, a)] for a in actions[nxt]) if nxt is not None and actions[nxt] else 0.0
                    total += reward + self.gamma * future
                updated[key] = total / len(rows)
            converged = updated == q
            q = updated
            if converged:
                break
        self.q_, self.episodes_ = self._smoothed(q, n), dict(counts)
        return self

    def _smoothed(self, q: dict[tuple[State, str], float], n: dict[tuple[State, str], int]) -> dict[tuple[State, str], float]:
        """Each Q shrunk toward the mean Q of the same step after as many steps, by `smoothing`
        pseudo-counts: the max over rarely logged states otherwise picks noise (the optimistic
        bias of offline Q-learning) and a lucky late step would look like the fastest route."""
        if not self.smoothing:
            return q
        groups: dict[tuple[str, int, str], list[float]] = defaultdict(list)
        for ((intent, done), step), value in q.items():
            groups[(intent, len(done), step)].append(value)
        mean = _means(groups)
        return {key: (n[key] * value + self.smoothing * mean[(key[0][0], len(key[0][1]), key[1])]) / (n[key] + self.smoothing)
                for key, value in q.items()}

    def knows(self, intent: str) -> bool:
        return self.episodes_.get(intent, 0) >= self.min_episodes

    def _backoff(self, intent: str) -> list[dict[tuple[Any, str], float]]:
        """Q by exact state, by (number of steps done, step), by step: the levels `order_steps`
        falls back through."""
        by_size: dict[tuple[int, str], list[float]] = defaultdict(list)
        by_step: dict[tuple[None, str], list[float]] = defaultdict(list)
        exact = {}
        for ((owner, done), step), value in self.q_.items():
            if owner == intent:
                exact[(done, step)] = value
                by_size[(len(done), step)].append(value)
                by_step[(None, step)].append(value)
        return [exact, _means(by_size), _means(by_step)]

    def order_steps(self, intent: str, candidates: Sequence[str]) -> list[str]:
        """The candidates in the order the learned greedy policy would run them."""
        if not self.knows(intent):
            return list(candidates)
        levels = self._backoff(intent)
        known = [c for c in dict.fromkeys(candidates) if (None, c) in levels[2]]
        out: list[str] = []
        done: frozenset[str] = frozenset()
        while len(out) < len(known):
            left = [c for c in known if c not in done]
            for level, key in zip(levels, (done, len(done), None)):
                if all((key, c) in level for c in left):
                    best = max(left, key=lambda c: (level[(key, c)], -known.index(c)))
                    break
            out.append(best)
            done = done | {best}
        return out + [c for c in candidates if c not in out]


def _means(table: dict[Any, list[float]]) -> dict[Any, float]:
    return {key: sum(values) / len(values) for key, values in table.items()}


def expected_steps(order: Sequence[str], cause_probability: dict[str, float]) -> float:
    """Mean steps to resolution when step `s` finds the cause with probability p[s] (one cause
    per episode) and steps run in `order`; a cause no step finds costs every step. For
    simulations and benchmarks."""
    found = sum(cause_probability.get(step, 0.0) * (k + 1) for k, step in enumerate(order))
    return found + (1.0 - sum(cause_probability.get(s, 0.0) for s in order)) * len(order)
