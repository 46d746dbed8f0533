"""`netcopilot monitor`: one report over the stored answers. The period is cut into windows
ending now; the last window is "current" and is compared with the one before it (drift) and
with the training data; quality is given per week and per segment, with segments that fall
behind flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from netcopilot.errors import NetcopilotError
from netcopilot.monitoring import drift, quality
from netcopilot.monitoring.rows import AnswerRow


@dataclass(frozen=True)
class Reference:
    """What "normal" looks like before any traffic: the training data and the held-out metrics."""

    training_intents: dict[str, int] | None = None
    held_out_answered_share: float | None = None  # share of held-out phrasings above clarify_below


def load_reference(settings: Any) -> Reference:
    """The training intent mix (intents/train) and the current bundle's held-out answered share;
    either is None when missing, so a fresh install still gets a report."""
    from netcopilot import artifacts

    try:
        intents = drift.training_intents(Path(settings.intents_dir))
    except NetcopilotError:
        intents = None
    try:
        manifest = artifacts.read_manifest(artifacts.current_dir(Path(settings.models_dir)), verify=False)
        share = manifest["metrics"]["intent"]["ensemble"]["answered_share"]
    except (NetcopilotError, KeyError, TypeError):
        share = None
    return Reference(intents, share)


def windows(rows: Sequence[AnswerRow], since: datetime, now: datetime, width: timedelta) -> list[tuple[datetime, list[AnswerRow]]]:
    """Consecutive windows of `width` ending at `now` (the first may be cut at `since`)."""
    starts = []
    start = now - width
    while start + width > since:
        starts.append(max(start, since))
        start -= width
    starts.reverse()
    buckets: list[list[AnswerRow]] = [[] for _ in starts]
    for row in rows:
        for i in range(len(starts) - 1, -1, -1):
            if row.created_at >= starts[i]:
                buckets[i].append(row)
                break
    return list(zip(starts, buckets))


def _drift_entry(expected: dict[str, int] | None, actual: dict[str, int]) -> dict[str, Any]:
    if expected is None:
        return {"psi": None, "level": "no reference", "movers": []}
    value = drift.judged_psi(expected, actual)
    return {"psi": value, "level": drift.level(value), "movers": drift.top_movers(expected, actual) if value is not None and value >= drift.STABLE else []}


def build(rows: Sequence[AnswerRow], since: datetime, width: timedelta, clarify_below: float, reference: Reference,
          min_sample: int = 30, now: datetime | None = None,
          embed: Callable[[Sequence[str]], np.ndarray] | None = None, training_texts: Sequence[str] = ()) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    cut = windows(rows, since, now, width)
    (cur_start, current), previous = cut[-1], (cut[-2][1] if len(cut) > 1 else [])
    intents = [drift.counts(r.intent for r in rows) for _, rows in cut]
    confs = [drift.confidence_histogram([r.confidence for r in rows]) for _, rows in cut]
    per_window = [{"start": start.isoformat(timespec="minutes"), "answers": len(w),
                   "intent_psi": drift.judged_psi(intents[i - 1], intents[i]) if i else None,
                   "confidence_psi": drift.judged_psi(confs[i - 1], confs[i]) if i else None}
                  for i, (start, w) in enumerate(cut)]
    segments = quality.by_segment(rows, clarify_below)
    flags = quality.flag_segments(segments, min_rated=min_sample)
    cur_q = quality.quality(current, clarify_below)
    shift = drift.embedding_shift([r.question for r in current], training_texts, embed) if embed else None
    return {
        "generated_at": now.isoformat(timespec="seconds"), "since": since.isoformat(timespec="minutes"),
        "window_days": width.total_seconds() / 86400, "current_window_start": cur_start.isoformat(timespec="minutes"),
        "volume": {"answers": len(rows), "rated": sum(r.satisfaction is not None for r in rows),
                   "current_window": len(current), "previous_window": len(previous)},
        "drift": {
            "intent_vs_previous": _drift_entry(intents[-2] if len(cut) > 1 else None, intents[-1]),
            "intent_vs_training": _drift_entry(reference.training_intents, intents[-1]),
            "confidence_vs_previous": _drift_entry(confs[-2] if len(cut) > 1 else None, confs[-1]),
            "embedding_vs_training": shift,
        },
        "confidence": {"current_mean": cur_q.mean_confidence,
                       "previous_mean": quality.quality(previous, clarify_below).mean_confidence,
                       "current_answered_share": 1 - cur_q.low_confidence_rate if current else None,
                       "held_out_answered_share": reference.held_out_answered_share},
        "windows": per_window,
        "current": cur_q.to_dict(),
        "weekly": {week: q.to_dict() for week, q in quality.weekly(rows, clarify_below).items()},
        "segments": {dim: {label: q.to_dict() for label, q in groups.items()} for dim, groups in segments.items()},
        "flags": [{"dimension": f.dimension, "segment": f.segment, "accuracy": f.accuracy, "rest_accuracy": f.rest_accuracy,
                   "rated": f.rated, "p_value": f.p_value, "message": f.message()} for f in flags],
    }
