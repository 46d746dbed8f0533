"""Next-command prediction, learned online from one user's command sequence.

A blend of n-gram models of orders 1..`max_order` (contexts are the last n commands): each order
that has seen the current context votes with its relative frequencies, weighted by how specific
it is (longer contexts count more) and how sure it is (a context seen often counts more than
one seen once); commands run lately get a small bonus (fading with age) and the plain frequency
of each command breaks the remaining ties. Updating is O(max_order)
per command, so the model learns as the user types (`netcopilot next --jsonl`).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from typing import Iterable


class NextCommandModel:
    """Online n-gram blend; `update(cmd)` after each command, `predict(k)` for the next."""

    def __init__(self, max_order: int = 6, order_weight: float = 2.0, recency: float = 0.2, window: int = 50):
        self.max_order = max_order
        self.order_weight = order_weight
        self.recency = recency
        self.counts: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.unigram: Counter = Counter()
        self.history: deque[str] = deque(maxlen=max_order)
        self.window = window
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
        if self.recency:
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
