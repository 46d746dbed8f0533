"""CLI adapters for `netcopilot fix` (registered on the main app by `register`).

`netcopilot fix` explains the last failed command of this shell session. The shell hook records
commands and exit statuses but not their output, so the error text comes from `--error`, from
stdin (`-`), or from re-running the command, which happens only for allow-listed read-only
commands and only after the user says yes (or passed --rerun). The fixes are printed, never run.

Exit status: 0 when the failure was explained, and also when there is nothing to explain (no
failed command recorded: a friendly line, not an error); 2 for bad flags or input.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any, Optional

import typer

EPILOG = (
    "Examples:\n\n"
    "  netcopilot fix                      (the last failed command of this shell session)\n\n"
    "  netcopilot fix --error 'ping: web01: Name or service not known'\n\n"
    "  curl -sS https://intranet 2>&1 | netcopilot fix --command 'curl -sS https://intranet' -\n\n"
    "  netcopilot fix --command 'dig @10.0.0.53 corp.example' --exit-status 9 --json\n\n"
    "  netcopilot fix --rerun              (re-run a read-only command such as ping or dig without asking)"
)


def _find_failed(session: Optional[str], user: Optional[str]) -> Any:
    """The last failed command of this session, else of this user (None when there is none)."""
    import getpass
    import os

    from netcopilot.history.records import last_failed
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    store = Store(Settings.load().database_url)
    try:
        session = session or os.environ.get("NETCOPILOT_SESSION") or None
        found = last_failed(store, session=session) if session else None
        return found or last_failed(store, user=user or getpass.getuser())
    finally:
        store.close()


def _read_output(stdin_marker: Optional[str], error: Optional[str]) -> Optional[str]:
    from netcopilot.errors import InputError

    if stdin_marker not in (None, "-"):
        raise InputError(f"fix: unexpected argument {stdin_marker!r}: the only argument is '-' (read the error on stdin)")
    if stdin_marker == "-" and error is not None:
        raise InputError("fix: give the error text either with --error or on stdin ('-'), not both")
    if stdin_marker == "-":
        return sys.stdin.buffer.read().decode("utf-8", "replace")
    return error


def _maybe_rerun(failure: Any, rerun_ok: bool, timeout: float) -> tuple[Optional[str], Optional[int], str]:
    """(output, exit status, note) of re-running the command, when allowed and confirmed; output None otherwise."""
    from netcopilot.history.fixes import rerun, rerun_argv

    argv = rerun_argv(failure)
    if argv is None:
        return None, None, "not re-run: it is not on the read-only allow-list; give its output with --error or '-'"
    shown = shlex.join(argv)
    if not rerun_ok:
        if not sys.stdin.isatty():
            return None, None, f"not re-run; pass --rerun to re-run `{shown}` and read its error"
        if not typer.confirm(f"re-run `{shown}` to read its error?", default=False, err=True):
            return None, None, "not re-run (you said no)"
    result = rerun(argv, timeout)
    if result.timed_out:
        return result.output, failure.exit_status, f"re-ran `{shown}`: stopped after {timeout:g}s"
    if result.exit_status == 0:
        return None, None, f"re-ran `{shown}`: it succeeded this time (exit 0)"
    return result.output, result.exit_status, f"re-ran `{shown}` (exit {result.exit_status})"


def _render(payload: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape

    out = Console(highlight=False, soft_wrap=True)  # command lines stay whole for copying
    status = payload["exit_status"]
    out.print(f"[bold]$ {escape(payload['command'])}[/]" + (f"   (exit {status})" if status is not None else ""))
    for note in payload["notes"]:
        out.print(f"[dim]{escape(note)}[/]")
    if not payload["diagnoses"]:
        out.print("No rule recognises this failure; give its error text with --error or '-' for a closer look.")
        return
    for i, d in enumerate(payload["diagnoses"], 1):
        guessed = " [dim](from the exit status alone)[/]" if d["from_status_only"] else ""
        out.print(f"\n[bold]{i}. {escape(d['diagnosis'])}[/]{guessed}  [dim]({d['rule']})[/]")
        if d["fixes"]:
            out.print("   fixes:")
        for n, fx in enumerate(d["fixes"], 1):
            colour = {"safe": "green", "caution": "yellow", "dangerous": "red"}[fx["risk"]]
            out.print(f"     {n}) {escape(fx['command'])}   [{colour}]\\[{fx['risk']}][/] [dim]{escape(fx['why'])}[/]")
        if d["next"]:
            out.print("   next:")
        for step in d["next"]:
            out.print(f"     - {escape(step)}")
    out.print("\n[dim]netcopilot never runs these: copy the one you choose.[/]")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main `netcopilot` app."""

    @app.command("fix", epilog=EPILOG)
    def fix(
        stdin_marker: Optional[str] = typer.Argument(None, metavar="[-]", help="'-': read the error text on stdin."),
        command: Optional[str] = typer.Option(None, "--command", help="The failed command (default: the last failed "
                                              "command of this shell session, from the history)."),
        error: Optional[str] = typer.Option(None, "--error", help="The error text the command printed."),
        exit_status: Optional[int] = typer.Option(None, "--exit-status", min=0, max=255,
                                                  help="Its exit status (default: the recorded one)."),
        rerun_ok: bool = typer.Option(False, "--rerun", help="Re-run an allow-listed read-only command (ping, dig, "
                                      "curl -I, nc -z, traceroute, ssh -o BatchMode=yes) without asking."),
        timeout: float = typer.Option(15.0, "--timeout", min=1, max=300, help="Seconds a re-run may take."),
        session: Optional[str] = typer.Option(None, "--session", help="Shell session id (default: $NETCOPILOT_SESSION)."),
        user: Optional[str] = typer.Option(None, "--user", help="Whose history to search (default: you)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object: command, exit_status, diagnoses."),
    ) -> None:
        """Explain why a network command failed: the diagnosis, fixes (numbered, with their risk) and the
        next diagnostic steps. Nothing is run except, with your yes, the failed command itself."""
        from netcopilot.history.fixes import Platform, diagnose_failure, parse_failure

        output = _read_output(stdin_marker, error)
        notes: list[str] = []
        if command is None:
            event = _find_failed(session, user)
            if event is None:
                _nothing(as_json)
                return
            command = event.command
            exit_status = event.exit_status if exit_status is None else exit_status
        if not command.strip():
            from netcopilot.errors import InputError

            raise InputError("fix: --command is empty")
        failure = parse_failure(command, output or "", exit_status)
        if output is None:
            output, status, note = _maybe_rerun(failure, rerun_ok, timeout)
            notes.append(note)
            if output is not None:
                failure = parse_failure(command, output, status)
        fixes = diagnose_failure(failure, Platform.detect())
        payload = {"command": failure.command, "exit_status": failure.exit_status,
                   "diagnoses": [f.to_dict() for f in fixes], "notes": notes}
        if as_json:
            sys.stdout.write(json.dumps(payload) + "\n")
        else:
            _render(payload)


def _nothing(as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"command": None, "exit_status": None, "diagnoses": [], "notes": [
            "no failed command recorded"]}) + "\n")
    else:
        typer.echo("No failed command recorded for this session: nothing to fix. "
                   "(Try: netcopilot fix --command 'CMD' --error 'TEXT')")
