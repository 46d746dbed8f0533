"""CLI adapters for `netcopilot explain` (registered on the main app by `register`)."""

from __future__ import annotations

import json
import sys

import typer

_EPILOG = ("Examples:\n\n  netcopilot explain 'sudo ss -tulpn'\n\n  netcopilot explain 'ping 10.0.0.1' --json\n\n"
           "  netcopilot explain 'traceroute example.com' --dns-broken\n\n"
           "  netcopilot explain 'pnig -c 3 gw'      (typos get the closest known command, marked as a guess)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main `netcopilot` app."""

    @app.command(epilog=_EPILOG)
    def explain(
        command: str = typer.Argument(..., help="The command line, in quotes."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
        dns_broken: bool = typer.Option(False, "--dns-broken", help="Advise as if name resolution is failing."),
        user: str = typer.Option(None, "--user", help="Whose recorded commands show what worked before (default: you)."),
    ) -> None:
        """Explain a command line: what it does, its type, purpose and risk, each flag, and how to
        improve it (limits, timeouts, typos, what worked before). Nothing is run."""
        from netcopilot.history.classify import CommandClassifier
        from netcopilot.history.explain import explain as explain_line
        from netcopilot.settings import Settings

        settings = Settings.load()
        classifier = CommandClassifier.from_settings(settings)
        result = explain_line(classifier, command, {"dns_broken": dns_broken}, _history(settings, user))
        if as_json:
            keys = ("command", "utility", "type", "purpose", "risk", "root", "guess", "family", "flags", "advice")
            sys.stdout.write(json.dumps({k: result[k] for k in keys}, ensure_ascii=False) + "\n")
            return
        sys.stdout.write(render(result))


def _history(settings, user: str | None) -> list:  # noqa: ANN001
    """The user's recorded commands (`netcopilot init` / `history import`), newest 2,000; none
    when nothing was recorded yet (no database file is created just to look)."""
    import getpass
    from pathlib import Path

    from netcopilot.history.records import events_for
    from netcopilot.store.db import Store

    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).expanduser().exists():
        return []
    store = Store(url)
    try:
        return events_for(store, user=user or getpass.getuser(), limit=2000)
    finally:
        store.close()


def render(result: dict) -> str:
    """The plain-text explanation (no colours, so it can be pasted anywhere)."""
    lines = [result["command"], f"  does:    {result['does']}"]
    if result["why"]:
        lines.append(f"  why:     {result['why']}")
    if result["guess"]:
        family = result["family"]
        lines.append(f"  GUESS:   '{result['utility']}' is not a known command; "
                     + (f"read as the closest known family, {family}" if family else "no close known command"))
    lines.append(f"  type:    {result['type']}    purpose: {', '.join(result['purpose']) or '-'}")
    notes = f" ({'; '.join(result['notes'])})" if result["notes"] else ""
    lines.append(f"  risk:    {result['risk']}{notes}    root: {'yes' if result['root'] else 'no'}")
    if result["matched"]:
        lines.append(f"  catalog: {', '.join(result['matched'])}")
    if result["flags"]:
        lines.append("  words:")
        width = min(24, max(len(_word(f)) for f in result["flags"]))
        lines += [f"    {_word(f):<{width}}  {f['meaning']}" for f in result["flags"]]
    if result["advice"]:
        lines.append("  advice:")
        for advice in result["advice"]:
            lines.append(f"    [{advice['kind']}] {advice['message']}")
            if advice["suggested"]:
                lines.append(f"        {advice['suggested']}")
    return "\n".join(lines) + "\n"


def _word(item: dict) -> str:
    return f"{item['flag']} {item['value']}" if item["value"] is not None else item["flag"]
