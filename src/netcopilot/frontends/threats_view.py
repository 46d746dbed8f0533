"""Terminal rendering of a threat report: findings by severity, hosts, evidence, next steps."""

from __future__ import annotations

from typing import Any, Callable

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
