"""`netcopilot report satisfaction`: satisfaction by intent, by week and by model version."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from netcopilot.durations import HOUR, positive_duration
from netcopilot.errors import InputError


def parse_since(text: str) -> timedelta:
    """'30d', '12w', '48h' (also '1.5d', '3 days') -> a positive timedelta, hours at the finest."""
    since = positive_duration(text, smallest=HOUR)
    if since is None:
        raise InputError(f"--since {text!r}: expected a number and h, d or w, e.g. 30d")
    return since


def _summary(values: list[float]) -> dict[str, Any]:
    n = len(values)
    return {
        "n": n,
        "mean": sum(values) / n if n else 0.0,
        "positive": sum(v > 0 for v in values) / n if n else 0.0,
        "negative": sum(v < 0 for v in values) / n if n else 0.0,
    }


def satisfaction_report(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    groups: dict[str, dict[str, list[float]]] = {"intent": defaultdict(list), "week": defaultdict(list),
                                                 "model": defaultdict(list)}
    for row in rows:
        when: datetime = row["when"]
        monday = (when - timedelta(days=when.weekday())).date().isoformat()
        groups["intent"][row["intent"] or "?"].append(row["value"])
        groups["week"][monday].append(row["value"])
        groups["model"][row["model_version"] or "?"].append(row["value"])
    return {name: {key: _summary(vals) for key, vals in sorted(table.items())} for name, table in groups.items()}


def plot_report(report: dict[str, Any], path: Path, title: str) -> Path:
    from netcopilot.analytics.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), gridspec_kw={"width_ratios": [1.3, 1.3, 1]})
    fig.suptitle(title, fontsize=13)

    def colour(mean: float) -> str:
        return "#2e7d32" if mean >= 0.2 else "#c62828" if mean <= -0.2 else "#9e9e9e"

    by_intent = sorted(report["intent"].items(), key=lambda kv: kv[1]["mean"])
    ax = axes[0]
    ax.barh([k.replace("_", " ") for k, _ in by_intent], [v["mean"] for _, v in by_intent],
            color=[colour(v["mean"]) for _, v in by_intent])
    for i, (_, v) in enumerate(by_intent):
        ax.text(0.02 if v["mean"] < 0 else -0.02, i, f"n={v['n']}", va="center", ha="left" if v["mean"] < 0 else "right", fontsize=8)
    ax.set_xlim(-1, 1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title("by intent (mean satisfaction)")

    weeks = list(report["week"].items())
    ax = axes[1]
    xs = list(range(len(weeks)))
    ax.bar(xs, [v["n"] for _, v in weeks], color="#bbdefb", label="signals")
    ax.set_ylabel("signals per week")
    ax.set_xticks(xs, [k[5:] for k, _ in weeks], rotation=45, fontsize=8)
    twin = ax.twinx()
    twin.plot(xs, [v["mean"] for _, v in weeks], marker="o", color="#1565c0", label="mean")
    twin.set_ylim(-1, 1)
    twin.axhline(0, color="black", linewidth=0.6)
    twin.set_ylabel("mean satisfaction")
    ax.set_title("by week (starting Monday)")

    models = list(report["model"].items())
    ax = axes[2]
    ax.bar([k[-14:] for k, _ in models], [v["mean"] for _, v in models], color=[colour(v["mean"]) for _, v in models])
    for i, (_, v) in enumerate(models):
        ax.text(i, v["mean"] + (0.04 if v["mean"] >= 0 else -0.08), f"n={v['n']}", ha="center", fontsize=8)
    ax.set_ylim(-1, 1)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.tick_params(axis="x", rotation=30, labelsize=8)
    ax.set_title("by model version")

    return save_figure(fig, path, dpi=110)


def since_datetime(since: str | None) -> datetime | None:
    return datetime.now(timezone.utc) - parse_since(since) if since else None
