"""What the analytics endpoints compute, from JSON bodies instead of files: the same calls the CLI
makes (`detect`, `threats`, `next`), without paths from clients. Blocking; the app runs them in
worker threads."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from netcopilot.api.schemas import DetectBody, NextBody, ThreatsBody, naive_utc

TOP_EXPLAINED = 5  # flagged records explained in `top`, as `netcopilot threats` does


def detect(body: DetectBody) -> dict[str, Any]:
    from netcopilot.analytics.detect import AnomalyDetector
    from netcopilot.analytics.series import Series
    from netcopilot.analytics.service import detect_series

    if body.series is not None:
        values = [p.value for p in body.series]
        stamps = [p.timestamp for p in body.series]
    else:
        values, stamps = list(body.values or []), [None] * len(body.values or [])
    if stamps[0] is not None:
        times = np.array([np.datetime64(naive_utc(t), "s") for t in stamps])
    else:
        times = np.datetime64(0, "s") + np.arange(len(values)) * np.timedelta64(body.step_seconds, "s")
    series = Series(body.name, times, np.array([np.nan if v is None else v for v in values], dtype=float), source="api")
    detector = AnomalyDetector(**({"threshold": body.threshold} if body.threshold else {})).fit()
    return detect_series(series, detector).to_dict()


def threats(body: ThreatsBody, model: Any) -> tuple[dict[str, Any], np.ndarray]:
    """The report, and each record's winning-class probability (for the confidence metric)."""
    from netcopilot.threats.nslkdd import to_frame

    frame = to_frame([r.model_dump() for r in body.records])
    proba = model.predict_proba(frame)
    scores = 1.0 - proba[:, 0]
    categories = model.categories(proba).tolist()
    records = [{"index": i, "attack": c != "normal", "category": c, "score": round(float(s), 4)}
               for i, (c, s) in enumerate(zip(categories, scores.tolist()))]
    flagged = [i for i in np.argsort(-scores).tolist() if categories[i] != "normal"][:TOP_EXPLAINED]
    top = [dict(records[i], why=[text for _, text in model.explain(frame.iloc[[i]], top=3)]) for i in flagged]
    report = {"model": getattr(model, "origin_", ""), "records": records, "by_category": dict(Counter(categories)),
              "top": top}
    return report, proba.max(axis=1)


def next_commands(body: NextBody) -> dict[str, Any]:
    from netcopilot.history.nextcmd import online_predictions

    lines = [{"command": c, "next": p} for c, p in online_predictions(body.commands, body.k)]
    return {"next": lines[-1]["next"], "lines": lines if body.per_line else None}
