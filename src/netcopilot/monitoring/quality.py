"""Answer quality from feedback, per week and per segment, and the fairness check: a segment
whose share of helpful answers is significantly below everyone else's is flagged.

The unit is an answer with feedback: it helped when the mean of its feedback values is > 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

from netcopilot.monitoring import stats
from netcopilot.monitoring.rows import AnswerRow, week_of
from netcopilot.monitoring.segments import DIMENSIONS


@dataclass(frozen=True)
class Quality:
    answers: int
    rated: int  # answers with feedback
    positive: int
    accuracy: float | None  # positive / rated
    low: float | None  # Wilson 95% interval of the accuracy
    high: float | None
    satisfaction: float | None  # mean satisfaction of rated answers, -1..1
    clarification_rate: float
    low_confidence_rate: float
    mean_confidence: float | None
    latency_p50: float | None
    latency_p95: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quality(rows: Sequence[AnswerRow], clarify_below: float) -> Quality:
    n = len(rows)
    rated = [r.satisfaction for r in rows if r.satisfaction is not None]
    positive = sum(s > 0 for s in rated)
    low, high = stats.wilson(positive, len(rated)) if rated else (None, None)
    latencies = [r.latency_ms for r in rows]
    return Quality(
        answers=n, rated=len(rated), positive=positive,
        accuracy=positive / len(rated) if rated else None, low=low, high=high,
        satisfaction=sum(rated) / len(rated) if rated else None,
        clarification_rate=sum(r.clarified for r in rows) / n if n else 0.0,
        low_confidence_rate=sum(r.confidence < clarify_below for r in rows) / n if n else 0.0,
        mean_confidence=sum(r.confidence for r in rows) / n if n else None,
        latency_p50=stats.percentile(latencies, 50), latency_p95=stats.percentile(latencies, 95),
    )


def grouped(rows: Iterable[AnswerRow], key: Callable[[AnswerRow], str]) -> dict[str, list[AnswerRow]]:
    groups: dict[str, list[AnswerRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return dict(sorted(groups.items()))


def weekly(rows: Sequence[AnswerRow], clarify_below: float) -> dict[str, Quality]:
    return {week: quality(group, clarify_below) for week, group in grouped(rows, lambda r: week_of(r.created_at)).items()}


def by_segment(rows: Sequence[AnswerRow], clarify_below: float,
               dimensions: Sequence[str] = DIMENSIONS) -> dict[str, dict[str, Quality]]:
    return {dim: {label: quality(group, clarify_below) for label, group in grouped(rows, lambda r: r.segment[dim]).items()}
            for dim in dimensions}


@dataclass(frozen=True)
class Flag:
    dimension: str
    segment: str
    accuracy: float
    rest_accuracy: float
    rated: int
    p_value: float

    def message(self) -> str:
        return (f"{self.dimension}={self.segment}: {self.accuracy:.0%} helpful answers vs {self.rest_accuracy:.0%} "
                f"for the rest (n={self.rated}, one-sided p={'<1e-6' if self.p_value < 1e-6 else format(self.p_value, '.2g')})")


def flag_segments(table: dict[str, dict[str, Quality]], min_rated: int = 30, alpha: float = 0.05) -> list[Flag]:
    """Segments significantly below the rest of their dimension: a one-sided two-proportion
    z-test of the segment against all other segments together, Bonferroni-corrected over the
    segments tested (many segments, many chances of a false alarm). Segments (or rests) with
    fewer than `min_rated` rated answers are not judged."""
    candidates = []
    for dim, groups in table.items():
        total_pos = sum(q.positive for q in groups.values())
        total_rated = sum(q.rated for q in groups.values())
        for label, q in groups.items():
            rest_pos, rest_rated = total_pos - q.positive, total_rated - q.rated
            if q.rated >= min_rated and rest_rated >= min_rated:
                candidates.append((dim, label, q, rest_pos, rest_rated))
    flags = []
    for dim, label, q, rest_pos, rest_rated in candidates:
        z, p_two = stats.two_proportion_z(rest_pos, rest_rated, q.positive, q.rated)
        p_below = p_two / 2 if z < 0 else 1 - p_two / 2
        if p_below * len(candidates) < alpha:
            flags.append(Flag(dim, label, q.positive / q.rated, rest_pos / rest_rated, q.rated, p_below))
    return flags
