"""Terminal rendering of analytics results (detections, forecasts, capacity plans)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render_detections(detections: list[Any], console: Console) -> None:
    for d in detections:
        n = len(d.series)
        flagged = int(d.anomalies.sum())
        head = f"[bold]{d.series.name}[/]  {n:,} points, {d.series.timestamps[0]} .. {d.series.timestamps[-1]}" if n else d.series.name
        console.print(head)
        for note in d.notes:
            console.print(f"  [yellow]note:[/] {note}", markup=True, highlight=False)
        if not d.alerts:
            console.print("  no anomalies found")
            continue
        table = Table(show_edge=False, pad_edge=False, box=None)
        for col in ("start", "end", "peak", "what"):  # noqa: B007
            table.add_column(col, justify="right" if col == "peak" else "left", overflow="fold")
        for alert in d.alerts:
            table.add_row(str(alert["start"]), str(alert["end"]), f"{alert['peak_score']:.4f}", alert.get("what", alert["message"]))
        console.print(f"  {len(d.alerts)} alert(s), {flagged} anomalous point(s):")
        console.print(table)
