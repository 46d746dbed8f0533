"""CLI adapters for `netcopilot predict-time` (registered on the main app by `register`)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Optional

import typer


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return ""


def _fmt(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main `netcopilot` app."""

    @app.command("predict-time", epilog=(
        "Examples:\n\n  printf 'ping -c 5 10.0.0.1\\ndig +time=2 +tries=2 @10.0.0.53 example.com\\n' | netcopilot predict-time\n\n"
        "  netcopilot predict-time --jsonl < commands.txt\n\n"
        "  netcopilot predict-time --jsonl --learn runs.jsonl   (runs.jsonl: {\"command\": ..., \"seconds\": ...} per line)"
    ))
    def predict_time(
        jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per input line: command, seconds, low, high, family, basis."),
        user: Optional[str] = typer.Option(None, "--user", help="Whose recorded command history to learn from (default: your login name)."),
        learn: Optional[Path] = typer.Option(None, "--learn", help="Also learn from a JSONL file of {\"command\", \"seconds\"} observations."),
    ) -> None:
        """Predict how long each command on stdin (one per line) will take, with a likely range.

        The estimate comes from the command's own flags (counts, intervals, timeouts, tries, hop
        limits, `timeout N` wrappers) and is corrected by what the same family of commands and the
        same target took in your recorded history (`command_history` in the store) and in --learn.
        Nothing is run."""
        from netcopilot.history.timing import DurationModel, read_learn_file

        observed = read_learn_file(learn) if learn is not None else []
        model = DurationModel().fit(_history(user if user is not None else _login()) + observed)
        out = sys.stdout
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            pred = model.predict_one(line)
            if jsonl:
                out.write(json.dumps(pred.to_dict(), ensure_ascii=False) + "\n")
            else:
                out.write(f"{line}: about {_fmt(pred.seconds)} ({_fmt(pred.low)}-{_fmt(pred.high)}; {pred.basis})\n")
            out.flush()


def _history(user: str) -> list[tuple[str, float]]:
    """The user's recorded (command, seconds), oldest first; none when the store has no history yet."""
    from netcopilot.history.records import events_for
    from netcopilot.history.timing import observations
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    url = Settings.load().database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).expanduser().exists():
        return []  # no store yet, so no history; predicting creates nothing
    return observations(events_for(Store(url), user=user))
