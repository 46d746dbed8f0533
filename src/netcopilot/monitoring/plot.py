"""The monitor report as one PNG: weekly helpful-answer rate and confidence, PSI per window
against the thresholds, and helpful-answer rate per segment (flagged segments in red)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netcopilot.monitoring.drift import MAJOR, STABLE


def plot_monitor(report: dict[str, Any], path: Path, title: str) -> Path:
    from netcopilot.analytics.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2), gridspec_kw={"width_ratios": [1.2, 1, 1.4]})
    fig.suptitle(title, fontsize=13)

    weeks = list(report["weekly"].items())
    ax = axes[0]
    xs = list(range(len(weeks)))
    ax.plot(xs, [q["accuracy"] if q["accuracy"] is not None else float("nan") for _, q in weeks], marker="o",
            color="#2e7d32", label="helpful answers")
    ax.plot(xs, [q["mean_confidence"] if q["mean_confidence"] is not None else float("nan") for _, q in weeks],
            marker="s", color="#1565c0", label="mean confidence")
    ax.set_xticks(xs, [w[5:] for w, _ in weeks], rotation=45, fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("by week (starting Monday)")

    ax = axes[1]
    wins = report["windows"]
    xs = list(range(len(wins)))
    nan = float("nan")
    ax.plot(xs, [w["intent_psi"] if w["intent_psi"] is not None else nan for w in wins], marker="o", label="intent PSI")
    ax.plot(xs, [w["confidence_psi"] if w["confidence_psi"] is not None else nan for w in wins], marker="s",
            label="confidence PSI")
    ax.axhline(STABLE, color="#f9a825", linestyle="--", linewidth=0.8)
    ax.axhline(MAJOR, color="#c62828", linestyle="--", linewidth=0.8)
    ax.set_xticks(xs, [w["start"][5:10] for w in wins], rotation=45, fontsize=8)
    ax.legend(fontsize=8)
    ax.set_title("drift vs the previous window")

    flagged = {(f["dimension"], f["segment"]) for f in report["flags"]}
    bars = [(f"{dim}={label}", q["accuracy"], (dim, label) in flagged, q["rated"])
            for dim, groups in report["segments"].items() for label, q in groups.items() if q["accuracy"] is not None]
    ax = axes[2]
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color=["#c62828" if b[2] else "#90a4ae" for b in bars])
    for i, bar in enumerate(bars):
        ax.text(0.01, i, f"n={bar[3]}", va="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title("helpful answers per segment (red: flagged)")

    return save_figure(fig, path, dpi=110)
