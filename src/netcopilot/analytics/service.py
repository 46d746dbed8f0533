"""What the CLI and the chat call: detection over files, folders and live sources, with
explanations a person can act on. Large files are streamed: bounded memory, output written as
it is computed."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from netcopilot.analytics.detect import MEMBERS, AnomalyDetector, alerts_from
from netcopilot.analytics.series import CHUNK_ROWS, STREAM_ABOVE, Series, find_csvs, iter_csv_chunks, read_series

PLOT_POINTS = 20_000  # a streamed file's plot keeps at most this many points (plus every alert)


@dataclass
class Detection:
    series: Series
    scores: np.ndarray
    anomalies: np.ndarray
    alerts: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": self.series.name,
            "source": self.series.source,
            "points": list(_points(self.series.timestamps, self.series.values, self.scores, self.anomalies)),
            "alerts": [{k: a[k] for k in ("start", "end", "peak_score", "message")} for a in self.alerts],
            "notes": self.notes,
        }


def _points(times: np.ndarray, values: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> Iterator[dict[str, Any]]:
    for t, v, s, a in zip(times.astype(str).tolist(), values.tolist(), scores.tolist(), flags.tolist()):
        yield {"timestamp": t, "value": None if v != v else v, "score": round(s, 4), "anomaly": a}


def load_sources(target: str, timestamp: str | None = None, columns: list[str] | None = None) -> list[Series]:
    """A CSV file, a folder of them, or a Prometheus source (prometheus://host:port?query=...)."""
    from netcopilot.analytics import prometheus

    if prometheus.is_prometheus_source(target):
        return prometheus.query_range(*prometheus.parse_source(target))
    out: list[Series] = []
    for path in find_csvs(Path(target)):
        out.extend(read_series(path, timestamp, columns))
    return out


def describe(series: Series, i: int, detail: dict[str, np.ndarray]) -> tuple[str, str]:
    """Why point i stood out, from the member that found it: the alert message, and the same
    without the series name and time (for tables)."""
    value = series.values[i]
    recent = series.values[max(0, i - 120):i]
    recent = recent[np.isfinite(recent)]
    typical = float(np.median(recent)) if len(recent) else float("nan")
    members = {m: float(detail[m][i]) for m in MEMBERS}
    lead = max(members, key=lambda m: members[m] if m != "rarity" else members[m] / 3)
    direction = "above" if value > typical else "below"
    what = {
        "point": f"a spike {direction} the recent median {_fmt(typical)}",
        "seasonal": "off the usual pattern for this time of day",
        "level": f"a sudden shift {direction} the recent median {_fmt(typical)}",
        "drift": f"a sustained drift {direction} the recent median {_fmt(typical)}",
        "rarity": "a value rarely seen in the history so far",
    }[lead]
    return f"{series.name}: {_fmt(value)} at {series.timestamps[i]}, {what}", f"{_fmt(value)}, {what}"


def _fmt(x: float) -> str:
    if x != x:
        return "n/a"
    ax = abs(x)
    if ax >= 1e9:
        return f"{x / 1e9:.2f}G"
    if ax >= 1e6:
        return f"{x / 1e6:.2f}M"
    if ax >= 1e4:
        return f"{x / 1e3:.1f}k"
    return f"{x:.4g}"


def detect_series(series: Series, detector: AnomalyDetector | None = None,
                  detail: dict[str, np.ndarray] | None = None) -> Detection:
    """Detect on one series; `detail` is its column of `AnomalyDetector.score_matrix` when it was
    scored together with the other columns of its file."""
    detector = detector or AnomalyDetector().fit()
    if detail is None:
        detail = detector.detail(series.values, series.timestamps)
    alerts = alerts_from(series.timestamps, detail["score"], detail["anomaly"], series.name)
    for alert in alerts:
        i = alert["peak_index"]
        alert["message"], alert["what"] = describe(series, i, detail)
        if detail.get("joint") is not None and detail["joint"][i] > max(detail[m][i] for m in MEMBERS):
            alert["message"] += ", and out of line with the other columns"
            alert["what"] += ", and out of line with the other columns"
    return Detection(series, detail["score"], detail["anomaly"], alerts, list(series.notes))


def detect_all(series: list[Series], detector: AnomalyDetector) -> list[Detection]:
    """Columns of the same file (same timestamps) are scored together, the rest one by one."""
    groups: dict[tuple[str, bytes], list[Series]] = {}
    for s in series:
        groups.setdefault((s.source, s.timestamps.tobytes()), []).append(s)
    out: list[Detection] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(detect_series(group[0], detector))
            continue
        matrix = detector.score_matrix(np.column_stack([g.values for g in group]), group[0].timestamps)
        out.extend(detect_series(g, detector, {name: values[:, j] for name, values in matrix.items()})
                   for j, g in enumerate(group))
    return out


def detect_target(target: str, timestamp: str | None = None, columns: list[str] | None = None,
                  threshold: float | None = None) -> list[Detection]:
    detector = AnomalyDetector(**({"threshold": threshold} if threshold else {})).fit()
    return detect_all(load_sources(target, timestamp, columns), detector)


def plot_detections(path: Path, detections: list[Detection]) -> Path:
    """One PNG: each series with its anomaly score, alerts shaded and anomalies marked."""
    from netcopilot.analytics.plots import plot_many, plot_series

    items = [{"series": d.series, "scores": d.scores, "anomalies": d.anomalies, "alerts": d.alerts,
              "title": f"{d.series.name}: {len(d.alerts)} alert(s)"} for d in detections]
    if len(items) == 1:
        return plot_series(Path(path), **items[0])
    return plot_many(Path(path), items)


@dataclass
class Outlook:
    """A forecast or capacity plan of one series, ready for the CLI, the chat and plots."""

    series: Series
    kind: str  # "forecast" or "capacity"
    message: str
    fields: dict[str, Any]  # what --json adds: the breach forecast, the capacity plan, or the band
    plot: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"series": self.series.name, "source": self.series.source, "kind": self.kind, "message": self.message,
                **_jsonable(self.fields), "notes": self.series.notes}


def _result_fields(result: Any) -> dict[str, Any]:
    """A BreachForecast's or CapacityPlan's fields, without the arrays kept for plots."""
    return {k: v for k, v in vars(result).items() if k not in ("forecast", "peaks", "peak_times")}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value.astype("datetime64[s]"))
    if isinstance(value, np.timedelta64):
        return int(value.astype("timedelta64[s]").astype(np.int64))
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.datetime64):
            return value.astype("datetime64[s]").astype(str).tolist()
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if value != value else (str(value) if value in (float("inf"), float("-inf")) else float(value))
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value


def forecast_series(series: Series, horizon: np.timedelta64, threshold: float | None) -> Outlook:
    from netcopilot.analytics import forecast as fc

    if threshold is not None:
        result = fc.breach(series, threshold, horizon)
        band = result.forecast
        return Outlook(series, "forecast", result.message, _result_fields(result),
                       {"forecast": band or None, "threshold": threshold, "breach_at": result.expected_at,
                        "title": f"{series.name}: forecast against {threshold:g}"})
    model = fc.Forecaster().fit(series)
    steps = max(1, int(horizon / max(series.step, np.timedelta64(1, "s"))))
    band = model.forecast(steps)
    last = float(band["mean"][-1])
    lo, hi = float(band["lower"][-1]), float(band["upper"][-1])
    message = (f"in {horizon.astype('timedelta64[h]').astype(int)} h: {_fmt(last)} expected "
               f"(95% interval {_fmt(lo)} .. {_fmt(hi)}); last value {_fmt(float(series.values[np.isfinite(series.values)][-1]))}")
    return Outlook(series, "forecast", message, {"forecast": band}, {"forecast": band, "title": f"{series.name}: forecast"})


def capacity_series(series: Series, limit: str | float) -> Outlook:
    from netcopilot.analytics import forecast as fc

    plan = fc.capacity(series, limit)
    end = plan.exhaustion_latest or plan.exhaustion_at
    horizon_days = 30.0
    if end is not None:
        horizon_days = min(max(float((end - plan.last_time) / np.timedelta64(1, "D")) * 1.1, 1.0), 3 * 365)
    days = np.linspace(0, horizon_days, 60)
    times = plan.last_time + (days * 86400).astype("timedelta64[s]")
    band = {"timestamps": times, "mean": plan.current_peak + plan.slope_per_day * days,
            "lower": plan.current_peak + plan.slope_low * days, "upper": plan.current_peak + plan.slope_high * days}
    return Outlook(series, "capacity", plan.message, _result_fields(plan),
                   {"forecast": band, "threshold": plan.limit, "breach_at": plan.exhaustion_at,
                    "title": f"{series.name}: daily peak trend against {_fmt(plan.limit)}"})


def plot_results(path: Path, results: list[Outlook]) -> Path:
    from netcopilot.analytics.plots import plot_many, plot_series

    items = [{"series": r.series, **r.plot} for r in results]
    if len(items) == 1:
        return plot_series(Path(path), **items[0])
    return plot_many(Path(path), items)


def is_large(target: str) -> bool:
    path = Path(target)
    return path.is_file() and path.stat().st_size > STREAM_ABOVE


def stream_file(path: Path, out: IO[str] | None, timestamp: str | None = None, columns: list[str] | None = None,
                threshold: float | None = None, rows: int = CHUNK_ROWS) -> list[Detection]:
    """Detect over a large CSV chunk by chunk. With `out`, writes the --json output as it goes
    (one object per series, in a list when there are several); returns alerts and a thinned
    copy of each series for plotting, so memory stays bounded whatever the file size."""
    detector = AnomalyDetector(**({"threshold": threshold} if threshold else {})).fit()
    kept: dict[str, _Thinned] = {}
    notes: list[str] = []
    alerts: dict[str, list[dict[str, Any]]] = {}
    spools: dict[str, Any] = {}
    layout = None
    for layout, times, values, new_notes in iter_csv_chunks(path, timestamp, columns, rows):
        notes.extend(new_notes)
        if not kept:
            step = float(np.median(np.diff(times.astype(np.int64)))) if len(times) > 1 else 60.0
            stream = detector.multi_stream(step, len(layout.columns))
            kept = {c: _Thinned() for c in layout.columns}
            alerts = {c: [] for c in layout.columns}
            spools = {c: tempfile.TemporaryFile("w+", encoding="utf-8") for c in layout.columns} if out is not None else {}
        stamps = times.astype(str).tolist()
        matrix = np.column_stack([values[c] for c in layout.columns])
        scores = np.zeros(matrix.shape)
        flags = np.zeros(matrix.shape, dtype=bool)
        update = stream.update
        for i, row in enumerate(matrix.tolist()):
            for j, (score, alert) in enumerate(update(row)):
                scores[i, j], flags[i, j] = score, alert
        for j, column in enumerate(layout.columns):
            vals = values[column]
            kept[column].add(times, vals, scores[:, j], flags[:, j])
            for i in np.flatnonzero(flags[:, j]):
                alerts[column].append({"start": stamps[i], "end": stamps[i], "peak_score": round(float(scores[i, j]), 4),
                                       "message": f"{_fmt(float(vals[i]))} at {stamps[i]}"})
            if out is not None:
                spool = spools[column]
                for point in _points(times, vals, scores[:, j], flags[:, j]):
                    spool.write(("," if spool.tell() else "") + json.dumps(point) + "\n")
    if layout is None:
        from netcopilot.errors import DataFormatError

        raise DataFormatError(path, "no usable data rows")
    detections = []
    for column in layout.columns:
        name = f"{path.stem}:{column}" if len(layout.columns) > 1 else path.stem
        t, v, s, a = kept[column].arrays()
        for alert in alerts[column]:  # each streamed alert is the first point of its incident
            alert["message"] = f"{name}: {alert['message']}"
        detections.append(Detection(Series(name, t, v, str(path)), s, a, alerts[column], notes))
    if out is not None:
        _write_json(out, spools, detections)
    return detections


def _write_json(out: IO[str], spools: dict[str, Any], detections: list[Detection]) -> None:
    """The --json output of a streamed file, assembled from the per-column spools."""
    several = len(detections) > 1
    if several:
        out.write("[\n")
    for n, (spool, detection) in enumerate(zip(spools.values(), detections)):
        head = {"series": detection.series.name, "source": detection.series.source}
        out.write(json.dumps(head)[:-1] + ', "points": [\n')
        spool.seek(0)
        for line in spool:
            out.write(line)
        spool.close()
        alerts = [{k: a[k] for k in ("start", "end", "peak_score", "message")} for a in detection.alerts]
        out.write(f'], "alerts": {json.dumps(alerts)}, "notes": {json.dumps(detection.notes)}}}')
        out.write(",\n" if several and n < len(detections) - 1 else "\n")
    if several:
        out.write("]\n")


class _Thinned:
    """At most PLOT_POINTS points of a series, evenly thinned as it grows, plus every alert."""

    def __init__(self) -> None:
        self.stride = 1
        self.seen = 0
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.size = 0

    def add(self, t: np.ndarray, v: np.ndarray, s: np.ndarray, a: np.ndarray) -> None:
        idx = np.arange(self.seen, self.seen + len(v))
        keep = (idx % self.stride == 0) | a
        self.parts.append((t[keep], v[keep], s[keep], a[keep], idx[keep]))
        self.seen += len(v)
        self.size += int(keep.sum())
        while self.size > PLOT_POINTS:
            self.stride *= 2
            t2, v2, s2, a2, i2 = (np.concatenate(x) for x in zip(*self.parts))
            keep = (i2 % self.stride == 0) | a2
            self.parts = [(t2[keep], v2[keep], s2[keep], a2[keep], i2[keep])]
            self.size = int(keep.sum())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.parts:
            return (np.array([], dtype="datetime64[s]"), np.array([]), np.array([]), np.array([], dtype=bool))
        t, v, s, a, _ = (np.concatenate(x) for x in zip(*self.parts))
        return t, v, s, a
