"""Rendering an Answer for a terminal with rich. No logic: only layout."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from netcopilot import messages
from netcopilot.core.types import Answer

RISK_STYLE = {"safe": "green", "caution": "yellow", "dangerous": "bold red"}
HIDE_COMMANDS_FOR = {"smalltalk", "history"}


def _entities_line(answer: Answer) -> Text:
    line = Text()
    for ent in answer.entities:
        line.append(f" {ent['label']} ", style="reverse cyan")
        line.append(f" {ent['text']}  ")
    for ent in answer.carried:
        line.append(f" {ent['label']} ", style="reverse blue")
        line.append(f" {ent['text']} (from before)  ", style="dim")
    return line


def _bullets(items: list[str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2, justify="right")
    grid.add_column(ratio=1)
    for item in items:
        grid.add_row("•", Text(item))
    return grid


def render_answer(answer: Answer, console: Console, show_all_commands: bool = False) -> None:
    header = Text()
    header.append(answer.intent.replace("_", " "), style="bold magenta")
    header.append(f"  {answer.confidence:.0%}", style="dim")
    if answer.alternatives:
        alts = ", ".join(f"{n.replace('_', ' ')} {c:.0%}" for n, c in answer.alternatives[:2])
        header.append(f"   (also: {alts})", style="dim")
    parts: list[Any] = [header]
    if answer.entities or answer.carried:
        parts.append(_entities_line(answer))
    for note in answer.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    if answer.notice:
        parts.append(Text(answer.notice, style="dim italic"))
    if answer.feedback:
        parts.append(Text(f"(noted as feedback on my previous answer: sentiment {answer.feedback['score']:+.2f})", style="dim"))
    if answer.clarify:
        parts.append(Text(answer.clarify, style="bold"))
    if answer.reply:
        parts.append(Text(answer.reply))
    if answer.analysis:
        parts.extend(_analysis_lines(answer.analysis))
    if answer.history:
        table = Table(title="Your recent questions", show_edge=False, header_style="bold")
        for col in ("when", "question", "intent", "solved"):
            table.add_column(col)
        for row in answer.history:
            table.add_row(row["when"], escape(row["text"][:80]), row["intent"], "yes" if row["solved"] else "")
        parts.append(table)

    show_commands = answer.commands and (show_all_commands or (not answer.clarify and answer.intent not in HIDE_COMMANDS_FOR))
    if show_commands:
        parts.append(Text("Commands to run next", style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", width=3)
        grid.add_column(ratio=1)
        for i, cmd in enumerate(answer.commands, 1):
            line = Text(cmd["command"], style="bold")
            line.append(f"  [{cmd['risk']}]", style=RISK_STYLE.get(cmd["risk"], ""))
            why = cmd["why"]
            if cmd["risk"] in messages.RISK_NOTE:
                why += f" Careful: {messages.RISK_NOTE[cmd['risk']]}."
            grid.add_row(f"{i}.", Group(line, Text(why, style="dim")))
        parts.append(grid)
    elif answer.clarify and answer.commands:
        parts.append(Text("(type :why to see what I would suggest anyway)", style="dim"))
    if answer.causes and not answer.clarify and answer.intent not in HIDE_COMMANDS_FOR:
        parts.append(Text("Likely causes", style="bold"))
        parts.append(_bullets(answer.causes))
    if answer.fixes and not answer.clarify and answer.intent not in HIDE_COMMANDS_FOR:
        parts.append(Text("Fixes", style="bold"))
        parts.append(_bullets(answer.fixes))
    if answer.matches and answer.intent not in HIDE_COMMANDS_FOR:
        parts.append(Text("Similar runbooks and past sessions", style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=5, justify="right")
        grid.add_column(ratio=1)
        for m in answer.matches:
            where = m.detail.get("path", "") if m.kind == "runbook" else f"conversation #{m.id}, {m.detail.get('when', '')}"
            grid.add_row(f"{m.similarity:.2f}", Group(Text(f"{m.kind}: {m.title}"), Text(str(where), style="dim")))
        parts.append(grid)
    console.print(Panel(Group(*parts), border_style="magenta", padding=(0, 1)))


def render_why(answer: Answer, console: Console) -> None:
    ex = answer.explanation
    if not ex:
        console.print("Nothing to explain yet: ask a question first.")
        return
    table = Table(title="How the intent was chosen", show_edge=False)
    table.add_column("member")
    table.add_column("weight")
    table.add_column("top guesses")
    for name, top in ex["members"].items():
        table.add_row(name, f"{ex['weights'].get(name, 0):.1f}", ", ".join(f"{n} {p:.2f}" for n, p in top))
    console.print(table)
    console.print(f"ensemble temperature {ex['temperature']}, result: {answer.intent} {answer.confidence:.2f}")
    if answer.entities:
        console.print("entities: " + ", ".join(f"{e['label']} {e['text']!r} [{e['start']}:{e['end']}]" for e in answer.entities))
    table = Table(title="Why these commands (ranking features)", show_edge=False)
    table.add_column("command")
    features = list(ex["commands"][0]["features"]) if ex["commands"] else []
    for f in features:
        table.add_column(f)
    for cmd, row in zip(answer.commands, ex["commands"]):
        table.add_row(escape(cmd["command"][:50]), *[f"{row['features'][f]:.2f}" for f in features])
    console.print(table)
    for passage in ex.get("matched_passages", []):
        console.print(f"runbook passage matched: {passage}", style="dim")


def _analysis_lines(analysis: dict[str, Any]) -> list[Text]:
    title = {"anomaly": "Anomalies", "capacity": "Capacity", "topology": "Topology", "security": "Threats"}.get(analysis["kind"], "Analysis")
    lines = [Text(f"{title} in {analysis['source']}" if analysis.get("source") else title, style="bold")]
    if analysis.get("error"):
        lines.append(Text(analysis["error"], style="yellow"))
    lines += [Text(f" {line}") for line in analysis.get("summary", [])]
    if analysis.get("png"):
        lines.append(Text(f" plot: {analysis['png']}", style="cyan"))
    return lines
