"""Terminal side of `netcopilot threats`: the report (findings by severity, hosts, evidence, next
steps) and `threats confirm`, which keeps an analyst's verdict on scanned records for training."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from rich.console import Console
from rich.markup import escape

STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render_report(report: Any, console: Console, summary_lines: Callable[..., list[str]]) -> None:
    console.print(f"[bold]{escape(report.source)}[/]  ({report.kind}; model: {escape(report.model)})")
    console.print(f"  {escape(summary_lines(report)[0])}")
    for note in report.notes:
        console.print(f"  [yellow]note:[/] {escape(note)}")
    if not report.findings:
        console.print("  [green]No threats found.[/]")
    for n, f in enumerate(report.findings, 1):
        style = STYLE.get(f["severity"], "")
        console.print(f"\n{n}. [{style}]{f['severity'].upper()}[/] {escape(f['summary'])}")
        if f["hosts"]:
            console.print(f"   hosts: {escape(', '.join(map(str, f['hosts'][:6])))}")
        for line in f["evidence"][:4]:
            console.print(f"   - {escape(str(line))}")
        for step in f["next_steps"][:3]:
            console.print(f"   $ {escape(step)}", style="cyan")
    if report.top:
        console.print("\nMost suspicious records:")
        for r in report.top:
            where = f" {r['connection']}" if r.get("connection") else ""
            console.print(f"  #{r['index']}{escape(where)}: {r['category']} (score {r['score']:.3f})")
            for why in r.get("why", []):
                console.print(f"     {escape(why)}", style="dim")


def confirm_records(settings: Any, path: Optional[Path], label: Optional[str], rows: Optional[str],
                    console: Console) -> None:
    """`netcopilot threats confirm FILE --label LABEL [--rows N,M]`: the label and row numbers are
    checked before the file is read, so a typo costs no scan."""
    from netcopilot.errors import InputError
    from netcopilot.threats.learned import confirm, parse_rows

    if path is None:
        raise InputError("threats confirm needs FILE (the conn.log, capture or NSL-KDD file you scanned)")
    if label is None:
        raise InputError("threats confirm needs --label (normal for a false alarm, or the attack name or category)")
    result = confirm(Path(settings.home), path, label, parse_rows(rows))
    already = result.selected - result.added
    console.print(f"added {result.added} confirmed record(s) labelled {escape(result.label)} to "
                  f"{escape(str(result.path))}" + (f" ({already} duplicate(s) not added again)" if already else ""),
                  soft_wrap=True)
