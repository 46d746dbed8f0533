"""`netcopilot privacy ...` and `netcopilot audit`: retention, opt-out, export, the policy, and
the trail of model decisions. Registered on the main app by `register`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

privacy_app = typer.Typer(help="Privacy: the data-use policy, retention, opt-out and personal data export.",
                          no_args_is_help=True)


def _store():  # noqa: ANN202
    from netcopilot.privacy import open_store
    from netcopilot.settings import Settings

    settings = Settings.load()
    return settings, open_store(settings)


@privacy_app.command("policy", epilog="Example:  netcopilot privacy policy")
def policy() -> None:
    """What is stored, for how long, and why."""
    from netcopilot.privacy.policy import policy as text
    from netcopilot.settings import Settings

    typer.echo(text(Settings.load()))


@privacy_app.command("purge", epilog="Examples:\n\n  netcopilot privacy purge --older-than 90d\n\n  netcopilot privacy purge --dry-run")
def purge(
    older_than: Optional[str] = typer.Option(None, "--older-than", help="Age cut-off, e.g. 90d, 12w, 48h (default: the retention_days setting)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete conversations, feedback, command history and audit records older than the cut-off."""
    from datetime import timedelta

    from netcopilot.privacy.retention import parse_age, purge as run_purge

    settings, store = _store()
    age = parse_age(older_than) if older_than else timedelta(days=settings.retention_days)
    counts = run_purge(store, age, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} " + ", ".join(f"{n} {table}" for table, n in counts.items()) + f" (older than {age.days} days)")


@privacy_app.command("export", epilog="Examples:\n\n  netcopilot privacy export --user slack:T01:U02\n\n  netcopilot privacy export --user cli:alice --out alice.json")
def export(
    user: str = typer.Option(..., "--user", help="The person's id as stored: slack:TEAM:USER, cli:LOGIN or api:NAME."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the JSON to this file instead of stdout."),
) -> None:
    """Everything stored about one person, as JSON."""
    from netcopilot.privacy.people import export_user

    _, store = _store()
    text = json.dumps(export_user(store, user), indent=2, default=str) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"written to {out}", err=True)
    else:
        sys.stdout.write(text)


@privacy_app.command("optout", epilog="Example:  netcopilot privacy optout --user slack:T01:U02")
def optout(user: str = typer.Option(..., "--user", help="The person's id as stored.")) -> None:
    """Keep nothing of this person from now on, and delete their conversations and feedback."""
    from netcopilot.privacy.people import set_opt_out

    _, store = _store()
    set_opt_out(store, user, True)
    typer.echo(f"{user} opted out: their conversations and feedback were deleted; nothing new is kept")


@privacy_app.command("optin", epilog="Example:  netcopilot privacy optin --user slack:T01:U02")
def optin(user: str = typer.Option(..., "--user", help="The person's id as stored.")) -> None:
    """Undo an opt-out."""
    from netcopilot.privacy.people import set_opt_out

    _, store = _store()
    set_opt_out(store, user, False)
    typer.echo(f"{user} opted in again")


def audit(
    kind: Optional[str] = typer.Option(None, "--kind", help="answer, detection, threat, ..."),
    user: Optional[str] = typer.Option(None, "--user", help="Only this person's decisions."),
    model: Optional[str] = typer.Option(None, "--model", help="Only decisions of this model version."),
    since: Optional[str] = typer.Option(None, "--since", help="How far back, e.g. 24h, 7d."),
    limit: int = typer.Option(20, "--limit", min=1, max=10000, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """The audit trail: which model version decided what, for whom, on which input (its SHA-256), and why."""
    from datetime import datetime, timezone

    from netcopilot import audit as trail
    from netcopilot.privacy.retention import parse_age

    _, store = _store()
    cutoff = datetime.now(timezone.utc) - parse_age(since, "--since") if since else None
    rows = trail.query(store, kind=kind, user=user, since=cutoff, model_version=model, limit=limit)
    for row in rows:
        if as_json:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        else:
            summary = row["output"].get("summary") or row["output"].get("intent") or ""
            typer.echo(f"{row['at']}  {row['kind']:<9} {row['channel']:<5} {row['user'] or '-':<22} "
                       f"model {row['model_version'] or '-':<26} input {row['input_sha256'][:12]}  {summary}")
    if not rows and not as_json:
        typer.echo("No audit records match.")


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
    app.command("audit", epilog="Examples:\n\n  netcopilot audit --kind answer --since 24h\n\n  netcopilot audit --user slack:T01:U02 --json")(audit)
