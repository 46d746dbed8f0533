"""CLI adapters for `netcopilot init` and `netcopilot history ...` (registered on the main app by `register`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

history_app = typer.Typer(help="Commands you ran: import shell histories, sync the shell hook's spool, list them.",
                          no_args_is_help=True)

# Files smaller than this import too fast for a progress bar to be worth drawing.
_PROGRESS_BYTES = 2_000_000


def _settings():  # noqa: ANN202
    from netcopilot.settings import Settings

    return Settings.load()


def _store(settings):  # noqa: ANN001, ANN202
    """The store as every front end opens it: pseudonymising when `pseudonymize` says so."""
    from netcopilot.privacy import open_store

    return open_store(settings, "cli")


def _save(settings, events) -> int:  # noqa: ANN001
    """Store events in one transaction; database failures become one StoreError line."""
    from sqlalchemy.exc import SQLAlchemyError

    from netcopilot.history.records import save_events
    from netcopilot.store.db import StoreError

    store = _store(settings)
    try:
        return save_events(store, events)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot store the commands: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    finally:
        store.close()


def _quarantine_in_store(settings, rejected: list[tuple[str, int, str, str]]) -> str:  # noqa: ANN001
    """Also list malformed spool lines in the store's quarantine (`netcopilot quarantine list`);
    the spool's own quarantine file keeps them when the database is down."""
    from datetime import datetime, timezone

    from sqlalchemy.exc import SQLAlchemyError

    from netcopilot.pipeline import quarantine
    from netcopilot.pipeline.schema import Rejection
    from netcopilot.store.db import StoreError

    batch = "spool-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    try:
        store = _store(settings)
        try:
            with store.session() as s, s.begin():
                for name in dict.fromkeys(name for name, *_ in rejected):
                    quarantine.add(s, "spool", batch, f"spool:{name}",
                                   [Rejection(line, "", why, raw) for file, line, raw, why in rejected if file == name])
        finally:
            store.close()
    except (SQLAlchemyError, StoreError):
        return ""
    return " and the store's quarantine"


def init(
    shell: str = typer.Argument(..., help="bash, zsh or fish."),
    sync_every: int = typer.Option(25, "--sync-every", min=1, max=100_000, help="Sync after this many commands."),
    sync_after: int = typer.Option(300, "--sync-after", min=1, help="...or when the last sync is this many seconds old."),
) -> None:
    """Print the shell hook that records every command you run (start, duration, exit status,
    directory, host, session) for `netcopilot fix`, time predictions and next-command suggestions.

    The hook only appends a line to a spool file (shell builtins, well under a millisecond);
    `netcopilot history sync` runs in the background now and then to store it, so a slow or
    unreachable database never blocks your prompt. Commands starting with a space are not recorded,
    and passwords and tokens are masked before anything is stored."""
    from netcopilot.history.shell import hook_script

    settings = _settings()
    sys.stdout.write(hook_script(shell, Path(settings.home), [sys.executable, "-m", "netcopilot"],
                                 every=sync_every, after_s=sync_after))


@history_app.command("sync", epilog="Example:  netcopilot history sync      (the shell hook runs it in the background)")
def sync(quiet: bool = typer.Option(False, "--quiet", help="Print nothing unless something went wrong.")) -> None:
    """Store the commands the shell hook spooled (secrets masked), then remove the spool. If the
    database fails, the spool is kept for the next sync; malformed lines go to spool/quarantine.tsv."""
    from netcopilot.history.shell import spool_dir, sync_spool

    settings = _settings()
    report = sync_spool(spool_dir(Path(settings.home)), lambda events: _save(settings, events))
    if report.malformed:
        shown = "; ".join(report.problems[:3]) + ("; ..." if len(report.problems) > 3 else "")
        typer.echo(f"netcopilot history sync: {report.malformed} malformed spool line(s) moved to "
                   f"{report.quarantine}{_quarantine_in_store(settings, report.rejected)}: {shown}", err=True)
    if quiet:
        return
    if report.busy:
        typer.echo("another `netcopilot history sync` is running; nothing done", err=True)
        return
    typer.echo(f"stored {report.stored} command(s) from {report.files} spool file(s); "
               f"{report.masked} secret(s) masked", err=True)


@history_app.command("import", epilog=(
    "Examples:\n\n  netcopilot history import ~/.bash_history\n\n"
    "  netcopilot history import ~/.zsh_history --format zsh\n\n"
    "  netcopilot history import ~/.local/share/fish/fish_history\n\n"
    "  netcopilot history import commands.txt --format plain --user alice --host jump01"
))
def import_history(
    path: Path = typer.Argument(..., help="A history file: bash, zsh (extended or plain), fish, or one command per line."),
    fmt: str = typer.Option("auto", "--format", help="auto, bash, zsh, fish or plain."),
    user: Optional[str] = typer.Option(None, "--user", help="Whose commands these are (default: you)."),
    host: Optional[str] = typer.Option(None, "--host", help="Where they ran (default: this host)."),
    force: bool = typer.Option(False, "--force", help="Import the file even if the same content was imported before."),
) -> None:
    """Import an existing shell history, all or nothing: a malformed file is reported with its
    line and nothing is stored. Passwords, tokens and keys are masked; commands starting with a
    space and empty ones are skipped. The same file twice is noticed and not stored twice
    (`netcopilot ingested` lists what was imported)."""
    import getpass
    import socket

    from netcopilot.history.importer import read_history

    settings = _settings()
    who, where = user or getpass.getuser(), host or socket.gethostname()
    if path.is_file() and path.stat().st_size >= _PROGRESS_BYTES:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"reading {path.name}", total=path.stat().st_size)
            result = read_history(path, fmt, who, where, progress=lambda done: bar.update(task, completed=done))
    else:
        result = read_history(path, fmt, who, where)
    already, stored = _save_import(settings, path, result.events, force)
    if already:
        typer.echo(f"{path}: {already}", err=True)
        return
    typer.echo(f"imported {stored} command(s) from {path} (format {result.format}); "
               f"{result.skipped} skipped, {result.masked} secret(s) masked", err=True)


def _save_import(settings, path: Path, events: list, force: bool) -> tuple[str | None, int]:  # noqa: ANN001
    """Store an import and its lineage record in one transaction, unless the same content was
    imported before: (what happened before, or None; how many commands were stored)."""
    import hashlib

    from sqlalchemy.exc import SQLAlchemyError

    from netcopilot.history.records import insert_events
    from netcopilot.pipeline import lineage
    from netcopilot.store.db import StoreError

    batch = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    store = _store(settings)
    try:
        with store.session() as s, s.begin():
            already = lineage.earlier(s, "history", batch, force)
            if already:
                return already, 0
            stored = insert_events(s, events, store.pseudonymizer)
            lineage.record(s, "history", batch, str(path), len(events), stored, 0)
            return None, stored
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot store the commands: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    finally:
        store.close()


@history_app.command("list", epilog="Examples:\n\n  netcopilot history list --limit 20\n\n  netcopilot history list --failed --json")
def list_history(
    limit: int = typer.Option(20, "--limit", min=1, help="Show the newest N commands."),
    failed: bool = typer.Option(False, "--failed", help="Only commands that exited with a non-zero status."),
    session: Optional[str] = typer.Option(None, "--session", help="Only this shell session (see $NETCOPILOT_SESSION)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON list of commands."),
) -> None:
    """Show stored commands, oldest first (secrets are already masked)."""
    from netcopilot.history.records import events_for

    store = _store(_settings())
    try:
        events = events_for(store, session=session, limit=limit, failed=failed)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps([e.to_dict() for e in events]) + "\n")
        return
    for e in events:
        when = e.started_at.strftime("%Y-%m-%d %H:%M:%S") if e.started_at else "-"
        took = "-" if e.duration_ms is None else f"{e.duration_ms:.0f}ms" if e.duration_ms >= 10 else f"{e.duration_ms:.1f}ms"
        status = "-" if e.exit_status is None else str(e.exit_status)
        typer.echo(f"{when}  {status:>3}  {took:>8}  {e.cwd or '-'}  {e.command}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main `netcopilot` app."""
    app.command("init", epilog=(
        "Examples (add to your shell's startup file):\n\n"
        "  bash, ~/.bashrc:              eval \"$(netcopilot init bash)\"\n\n"
        "  zsh, ~/.zshrc:                eval \"$(netcopilot init zsh)\"\n\n"
        "  fish, config.fish:            netcopilot init fish | source\n\n"
        "Faster shell start-up (no Python per new shell): save the hook once and source the file:\n\n"
        "  netcopilot init bash > ~/.netcopilot.bash     then in ~/.bashrc:  source ~/.netcopilot.bash"
    ))(init)
    app.add_typer(history_app, name="history")
