"""Input and confidence drift: the population stability index (PSI) of the intent mix and of
binned confidence between a window and a reference (the previous window, or the training
phrasings), and optionally how far the mean embedding of recent questions moved from training.

PSI = sum over categories of (actual - expected) * ln(actual / expected). The usual reading:
below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 major shift. PSI grows with sampling noise
at small counts, so windows with fewer than MIN_PSI_SAMPLE answers are reported, not judged.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

STABLE, MAJOR = 0.1, 0.25
MIN_PSI_SAMPLE = 30
CONFIDENCE_BINS = 10


def level(value: float | None) -> str:
    if value is None:
        return "too few"
    return "stable" if value < STABLE else "moderate" if value <= MAJOR else "major"


def counts(labels: Iterable[str]) -> dict[str, int]:
    return dict(Counter(labels))


def psi(expected: Mapping[str, float], actual: Mapping[str, float], smoothing: float = 0.5) -> float:
    """PSI between two count (or weight) tables over the union of their categories. Additive
    smoothing keeps a category missing on one side finite instead of infinite."""
    keys = sorted(set(expected) | set(actual))
    if not keys:
        return 0.0
    e_total = sum(expected.values()) + smoothing * len(keys)
    a_total = sum(actual.values()) + smoothing * len(keys)
    total = 0.0
    for key in keys:
        e = (expected.get(key, 0) + smoothing) / e_total
        a = (actual.get(key, 0) + smoothing) / a_total
        total += (a - e) * math.log(a / e)
    return total


def confidence_histogram(values: Sequence[float], bins: int = CONFIDENCE_BINS) -> dict[str, int]:
    """Counts per fixed-width bin of [0, 1], so two windows are binned alike."""
    hist, _ = np.histogram(np.clip(np.asarray(values, dtype=float), 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    return {f"{i / bins:.1f}": int(c) for i, c in enumerate(hist)}


def judged_psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float | None:
    """PSI, or None when either side is too small for the number to mean anything."""
    if sum(expected.values()) < MIN_PSI_SAMPLE or sum(actual.values()) < MIN_PSI_SAMPLE:
        return None
    return psi(expected, actual)


def training_intents(intents_dir: Path) -> dict[str, int]:
    """Training phrasings per intent (intents/train/*.txt): the distribution the model learnt.
    It is balanced by design, so live traffic always differs from it somewhat; the window-to-
    window PSI is the drift signal, this one tells which intents users ask more than we trained."""
    from netcopilot.nlu.data import load_intents

    return counts(label for _, label in load_intents(intents_dir).train)


def top_movers(expected: Mapping[str, float], actual: Mapping[str, float], k: int = 3) -> list[tuple[str, float]]:
    """The categories whose share moved most (actual share - expected share), largest first."""
    e_total, a_total = sum(expected.values()) or 1, sum(actual.values()) or 1
    moves = {key: actual.get(key, 0) / a_total - expected.get(key, 0) / e_total for key in set(expected) | set(actual)}
    return sorted(moves.items(), key=lambda kv: -abs(kv[1]))[:k]


def embedding_shift(recent: Sequence[str], reference: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]) -> float | None:
    """Cosine distance between the mean embedding of recent questions and of the reference
    phrasings (0 = same centre, larger = users ask about something else)."""
    if not recent or not reference:
        return None
    a, b = embed(list(recent)).mean(axis=0), embed(list(reference)).mean(axis=0)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - float(a @ b) / norm if norm else None
