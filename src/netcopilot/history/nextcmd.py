"""Next-command prediction, learned online from one user's commands (and optionally the team's).

`NextCommandModel` is a McFly-style learned ranker: `CommandStats` (nextcmd_features.py) proposes
candidates and describes each by features (n-gram frequencies of orders 1..6 and their interpolated
(Witten-Bell) probability, gapped and unordered contexts, recency windows, "what followed this last
time", the longest earlier match of the recent sequence, the team's n-grams, and directory / hour /
exit status when known); a linear scorer ranks them. The weights start from a prior learned on other
users' histories (the shipped `nextcmd_weights.json`) and keep learning online, one pairwise logistic
step per command: the command actually run is pushed above the (up to `negatives`) candidates ranked
highest, which is what top-k accuracy needs. Everything is online: the prediction after command i uses
only commands 1..i.

`NgramBlend` is the previous model (a fixed blend of n-gram orders); the benchmark keeps it as an
ablation.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict, deque
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np

from netcopilot.errors import DataFormatError
from netcopilot.history.nextcmd_features import FEATURES, CommandStats, TeamCounts

WEIGHTS_FILE = "nextcmd_weights.json"

__all__ = ["NextCommandModel", "NgramBlend", "TeamCounts", "load_prior", "online_predictions"]


def load_prior(path: Path | None = None) -> np.ndarray:
    """Prior weights by feature name (a feature the file does not know starts at 0): the shipped
    ones, or those in `path` (the benchmark's leave-one-user-out priors, written with --save-prior)."""
    source = Path(path) if path else resources.files("netcopilot.history").joinpath(WEIGHTS_FILE)
    where = path or WEIGHTS_FILE
    try:
        weights = json.loads(source.read_text())["weights"]
        return np.array([float(weights.get(name, 0.0)) for name in FEATURES])
    except OSError as exc:
        raise DataFormatError(where, f"cannot read prior weights ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataFormatError(where, f"expected {{feature: number}} ({exc!r})", field="weights") from None


class NextCommandModel:
    """Online learned ranker; `update(cmd, ...)` after each command, `predict(k)` for the next."""

    def __init__(self, weights: Iterable[float] | None = None, team: TeamCounts | None = None,
                 learning_rate: float = 0.02, negatives: int = 10):
        self.weights = np.array(list(weights) if weights is not None else load_prior(), dtype=float)
        if self.weights.shape != (len(FEATURES),):
            raise ValueError(f"weights must have {len(FEATURES)} values (one per feature), got {self.weights.shape}")
        self.learning_rate = learning_rate
        self.negatives = negatives
        self.stats = CommandStats(team)
        self.weight_sum = np.zeros_like(self.weights)
        self.steps = 0
        self._ranked: tuple[list[str], dict, np.ndarray] | None = None

    def _current(self) -> tuple[list[str], dict, np.ndarray]:
        """Candidates, match info and their feature rows for the present state (cached until update)."""
        if self._ranked is None:
            cands, matches = self.stats.candidates()
            rows = np.asarray(self.stats.features(cands, matches), dtype=float).reshape(len(cands), len(FEATURES))
            self._ranked = (cands, matches, rows)
        return self._ranked

    def update(self, command: str, cwd: str | None = None, exit_status: int | None = None,
               when: datetime | None = None) -> None:
        """Learn from what was run: first how to rank it, then the statistics. Context is optional."""
        if len(self.stats):
            self._learn(command)
        self.stats.update(command, cwd=cwd, hour=when.hour if when else None,
                          failed=None if exit_status is None else exit_status != 0)
        self._ranked = None

    def _learn(self, command: str) -> None:
        cands, matches, rows = self._current()
        if command in cands:
            y = cands.index(command)
        else:  # describe the true command too, as it looked before it ran
            y = len(cands)
            rows = np.vstack([rows, self.stats.features([command], matches)])
        scores = rows @ self.weights
        order = np.argsort(-scores, kind="stable")[: self.negatives + 1]
        neg = order[order != y][: self.negatives]
        if len(neg):
            pull = 1.0 / (1.0 + np.exp(np.clip(scores[y] - scores[neg], -30, 30)))
            self.weights += self.learning_rate * (pull[:, None] * (rows[y] - rows[neg])).sum(axis=0)
        self.weight_sum += self.weights
        self.steps += 1

    def averaged_weights(self) -> np.ndarray:
        """The mean of the weights over this stream: what this user teaches a prior for others."""
        return self.weight_sum / self.steps if self.steps else self.weights.copy()

    def predict(self, k: int = 3) -> list[str]:
        if not len(self.stats):
            return []
        cands, _, rows = self._current()
        order = np.argsort(-(rows @ self.weights), kind="stable")[:k]
        return [cands[j] for j in order]


class NgramBlend:
    """Fixed blend of n-gram orders 1..`max_order` (longer and better-attested contexts count more),
    a fading bonus for recent commands and plain frequency to break ties. Kept as an ablation."""

    def __init__(self, max_order: int = 6, order_weight: float = 2.0, recency: float = 0.2, window: int = 50):
        self.max_order = max_order
        self.order_weight = order_weight
        self.recency = recency
        self.counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.unigram: Counter = Counter()
        self.history: deque[str] = deque(maxlen=max_order)
        self.recent: deque[str] = deque(maxlen=window)

    def update(self, command: str) -> None:
        hist = tuple(self.history)
        for n in range(1, len(hist) + 1):
            self.counts[hist[-n:]][command] += 1
        self.unigram[command] += 1
        self.history.append(command)
        self.recent.append(command)

    def scores(self) -> Counter:
        hist = tuple(self.history)
        total: Counter = Counter()
        for n in range(1, len(hist) + 1):
            seen = self.counts.get(hist[-n:])
            if not seen:
                continue
            size = sum(seen.values())
            weight = (self.order_weight ** n) * size / (size + 1.0)
            for cmd, c in seen.items():
                total[cmd] += weight * c / size
        seen_recent: set[str] = set()
        for age, cmd in enumerate(reversed(self.recent)):
            if cmd not in seen_recent:  # what the user ran lately is likely again
                seen_recent.add(cmd)
                total[cmd] += self.recency / (1.0 + age)
        grand = sum(self.unigram.values()) or 1
        for cmd, c in self.unigram.most_common(50):
            total[cmd] += 1e-3 * c / grand
        return total

    def predict(self, k: int = 3) -> list[str]:
        return [cmd for cmd, _ in self.scores().most_common(k)]


def online_predictions(commands: Iterable[str], k: int = 3, model: NextCommandModel | None = None):
    """(command, predictions for the next) after each command; learning only from the past."""
    model = model or NextCommandModel()
    for command in commands:
        if command.strip():  # an empty line gets an answer but teaches nothing
            model.update(command)
        yield command, model.predict(k)
