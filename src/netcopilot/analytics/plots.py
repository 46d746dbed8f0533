"""PNG charts of a metric with its anomalies, alert spans, forecast, threshold and predicted breach.

    plot_series(Path("cpu.png"), series, anomalies=mask, forecast=f.forecast(288), threshold=90)
    plot_many(Path("all.png"), [{"series": s1, "scores": sc1}, {"series": s2, "threshold": 900}])

matplotlib is imported inside the functions (Agg backend, no display needed), so importing this
module costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from netcopilot.analytics.series import Series
from netcopilot.errors import InputError

_KWARGS = ("scores", "anomalies", "alerts", "forecast", "threshold", "breach_at", "title")


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display here); imported only when drawing."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 150) -> Path:
    """Lay out, write (making the folder) and close a figure; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def _dt(values: Any) -> np.ndarray:
    """numpy datetime64 (ISO strings accepted) -> python datetimes for matplotlib."""
    arr = np.asarray(values)
    if arr.dtype.kind in ("U", "S", "O"):
        arr = np.array([np.datetime64(str(v).replace("Z", "").split("+")[0]) for v in arr.ravel()])
    return arr.astype("datetime64[ms]").astype(object)


def _one_dt(value: Any):
    return _dt(np.array([value]))[0]


def _check_len(name: str, arr: np.ndarray | None, n: int) -> None:
    if arr is not None and len(arr) != n:
        raise InputError(f"{name} has {len(arr)} values for a series of {n}")


def _draw(ax, ax_score, series: Series, *, scores=None, anomalies=None, alerts=None, forecast=None,
          threshold=None, breach_at=None, title: str = "") -> None:
    n = len(series.values)
    x = _dt(series.timestamps)
    values = np.asarray(series.values, dtype=np.float64)
    ax.plot(x, values, color="#1f77b4", linewidth=0.9, label=series.name or "value")

    if anomalies is not None:
        mask = np.asarray(anomalies, dtype=bool)
        _check_len("anomalies", mask, n)
        if mask.any():
            ax.scatter(x[mask], values[mask], color="#d62728", s=14, zorder=3, label=f"anomaly ({int(mask.sum())})")

    for i, alert in enumerate(alerts or []):
        try:
            start, end = _one_dt(alert["start"]), _one_dt(alert.get("end") or alert["start"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"alert {i} needs 'start' and 'end' times: {exc}") from None
        ax.axvspan(start, end, color="#ff7f0e", alpha=0.18, linewidth=0, label="alert" if i == 0 else None)

    if forecast:
        try:
            fx = _dt(forecast["timestamps"])
            mean = np.asarray(forecast["mean"], dtype=np.float64)
        except KeyError as exc:
            raise InputError(f"forecast needs 'timestamps' and 'mean' (missing {exc})") from None
        _check_len("forecast mean", mean, len(fx))
        ax.plot(fx, mean, color="#2ca02c", linestyle="--", linewidth=1.2, label="forecast")
        if forecast.get("lower") is not None and forecast.get("upper") is not None:
            lower = np.asarray(forecast["lower"], dtype=np.float64)
            upper = np.asarray(forecast["upper"], dtype=np.float64)
            ax.fill_between(fx, lower, upper, color="#2ca02c", alpha=0.18, linewidth=0, label="interval")

    if threshold is not None:
        ax.axhline(float(threshold), color="#9467bd", linestyle=":", linewidth=1.2, label=f"threshold {threshold:g}")

    if breach_at is not None:
        bx = _one_dt(breach_at)
        by = float(threshold) if threshold is not None else float(np.nanmax(values))
        ax.axvline(bx, color="#d62728", linestyle="--", linewidth=0.8, alpha=0.7)
        ax.annotate(f"breach {np.datetime_as_string(np.datetime64(breach_at, 'm')).replace('T', ' ')}",
                    xy=(bx, by), xytext=(-90, 25), textcoords="offset points", fontsize=8, color="#d62728",
                    arrowprops=dict(arrowstyle="->", color="#d62728"))

    ax.set_title(title or series.name, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, ncol=3, framealpha=0.7)

    if ax_score is not None:
        sc = np.asarray(scores, dtype=np.float64)
        _check_len("scores", sc, n)
        ax_score.plot(x, sc, color="#7f7f7f", linewidth=0.8)
        ax_score.set_ylabel("score", fontsize=8)
        ax_score.grid(True, alpha=0.3)


def _format_dates(fig, axes) -> None:
    import matplotlib.dates as mdates

    for ax in axes:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(labelsize=8)




def plot_series(path: Path, series: Series, *, scores: np.ndarray | None = None,
                anomalies: np.ndarray | None = None, alerts: list[dict] | None = None,
                forecast: dict | None = None, threshold: float | None = None,
                breach_at: np.datetime64 | None = None, title: str = "") -> Path:
    """Draw one series to a PNG and return its path.

    scores: anomaly score per sample (drawn in a small panel below); anomalies: boolean mask (red
    markers); alerts: [{"start", "end"}] (ISO strings or datetime64, shaded); forecast:
    {"timestamps", "mean", "lower", "upper"} (dashed mean, shaded band - ``Forecaster.forecast``);
    threshold: horizontal line; breach_at: annotated with an arrow.
    """
    if not isinstance(series, Series):
        raise InputError("plot_series() needs a Series")
    plt = pyplot()
    if scores is not None:
        fig, (ax, ax_score) = plt.subplots(2, 1, figsize=(10, 5), sharex=True,
                                           gridspec_kw={"height_ratios": [3, 1]})
    else:
        fig, ax = plt.subplots(1, 1, figsize=(10, 4))
        ax_score = None
    try:
        _draw(ax, ax_score, series, scores=scores, anomalies=anomalies, alerts=alerts, forecast=forecast,
              threshold=threshold, breach_at=breach_at, title=title)
        _format_dates(fig, [a for a in (ax, ax_score) if a is not None])
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_many(path: Path, items: list[dict]) -> Path:
    """Several series in one PNG, one panel per series (plus a score panel where scores are given).
    Each item is {"series": Series, ...the keyword arguments of plot_series}."""
    if not items:
        raise InputError("plot_many() needs at least one series")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("series"), Series):
            raise InputError(f"item {i} must be a dict with a 'series' (a Series)")
        unknown = set(item) - set(_KWARGS) - {"series"}
        if unknown:
            raise InputError(f"item {i}: unknown keys {sorted(unknown)} (accepted: series, {', '.join(_KWARGS)})")
    plt = pyplot()
    ratios: list[float] = []
    for item in items:
        ratios.append(3)
        if item.get("scores") is not None:
            ratios.append(1)
    fig, axes = plt.subplots(len(ratios), 1, figsize=(10, 1.0 + 1.1 * sum(ratios) / 1.5), squeeze=False,
                             gridspec_kw={"height_ratios": ratios})
    axes = list(axes[:, 0])
    try:
        k = 0
        for item in items:
            ax = axes[k]
            k += 1
            ax_score = None
            if item.get("scores") is not None:
                ax_score = axes[k]
                ax_score.sharex(ax)
                ax.tick_params(labelbottom=False)
                k += 1
            kwargs = {key: item.get(key) for key in _KWARGS if key != "title"}
            _draw(ax, ax_score, item["series"], title=item.get("title") or "", **kwargs)
        _format_dates(fig, axes)
        return save_figure(fig, path)
    finally:
        plt.close(fig)
