"""`netcopilot ingest`, `netcopilot quarantine ...` and `netcopilot features ...`: the data
pipeline's front door (netcopilot.pipeline). Registered on the main app by `register`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

quarantine_app = typer.Typer(help="Records that failed their schema on the way in: list them, forget them.",
                             no_args_is_help=True)
features_app = typer.Typer(help="The feature store: engineered features of stored records, cached per set and version.",
                           no_args_is_help=True)


def _open():  # noqa: ANN202
    from netcopilot.privacy import open_store
    from netcopilot.settings import Settings

    settings = Settings.load()
    return settings, open_store(settings)


_INGEST_EPILOG = """Examples:

  netcopilot ingest commands runs.jsonl          # {"command": "ping -c 3 10.0.0.5", "duration_ms": 2051, "exit_status": 0, ...}

  netcopilot ingest commands runs.csv --user alice

  netcopilot ingest examples labelled.csv         # text,intent  (folded in by `netcopilot retrain`)

  netcopilot quarantine list                      # what was rejected, where and why
"""


def ingest(
    kind: str = typer.Argument(..., help="commands (runs for command_history) or examples (labelled phrasings)."),
    path: Path = typer.Argument(..., help="A JSON Lines file (one object per line) or a CSV file with a header row."),
    max_bad: float = typer.Option(0.1, "--max-bad", min=0.0, max=1.0, help="Refuse the whole file (store nothing) when more than this share of records is bad."),
    user: str = typer.Option("", "--user", help="commands: the user of records that name none."),
    source: str = typer.Option("", "--source", help="A name for where the records came from (default: the file)."),
    force: bool = typer.Option(False, "--force", help="Take the file in even if the same content was taken in before."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Validate each record against its declared schema, store the good ones and quarantine the
    bad ones with file, line, field and reason; nothing is dropped silently.

    Fields of `commands`: command (required), user, host, session, cwd, started_at (ISO 8601 or
    epoch seconds), duration_ms, exit_status. Fields of `examples`: text, intent (a known intent).
    Secrets in commands are masked before anything is stored, quarantined records included.
    The same file again (same content) is noticed and not stored twice. Exit status 0 when the
    file was taken (even with some records quarantined) or had been taken before, 2 when refused."""
    from netcopilot.pipeline.ingest import KINDS, ingest as run

    if kind not in KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(KINDS)}, got {kind!r}", param_hint="KIND")
    settings, store = _open()
    try:
        report = run(settings, store, kind, path, max_bad=max_bad, user=user, source=source, force=force)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
        return
    typer.echo(report.summary())
    for problem in report.problems:
        typer.echo(f"  quarantined {problem}", err=True)
    if report.quarantined > len(report.problems):
        typer.echo(f"  ... and {report.quarantined - len(report.problems)} more: "
                   f"netcopilot quarantine list --batch {report.batch}", err=True)


def ingested(
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Files taken in by `netcopilot ingest` and `netcopilot history import`: when, from where,
    their fingerprint and how many records were stored and quarantined."""
    from netcopilot.pipeline.lineage import batches

    _, store = _open()
    try:
        rows = batches(store, limit)
    finally:
        store.close()
    for row in rows:
        if as_json:
            sys.stdout.write(json.dumps(row) + "\n")
        else:
            typer.echo(f"{row['created_at']}  {row['kind']:<9} {row['batch']}  {row['read']:>7} read  {row['stored']:>7} stored  "
                       f"{row['quarantined']:>5} quarantined  {row['source']}")
    if not rows and not as_json:
        typer.echo("Nothing has been ingested yet.")


@quarantine_app.command("list", epilog="Examples:\n\n  netcopilot quarantine list\n\n  netcopilot quarantine list --kind commands --json")
def quarantine_list(
    kind: Optional[str] = typer.Option(None, "--kind", help="Only records of this kind (commands, examples, spool)."),
    batch: Optional[str] = typer.Option(None, "--batch", help="Only records of one ingest run (its file fingerprint)."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Quarantined records, newest first: where each came from, the field at fault and why."""
    from netcopilot.pipeline import quarantine

    _, store = _open()
    try:
        rows = quarantine.records(store, kind=kind, batch=batch, limit=limit)
        totals = quarantine.counts(store)
    finally:
        store.close()
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row.to_dict()) + "\n")
        return
    if not rows:
        typer.echo("Nothing is quarantined.")
        return
    typer.echo("Quarantined: " + ", ".join(f"{n} {k}" for k, n in sorted(totals.items())))
    for row in rows:
        where = f"{row.source}:{row.line}" if row.line is not None else row.source
        field = f"field '{row.field}': " if row.field else ""
        typer.echo(f"#{row.id} {row.created_at:%Y-%m-%d %H:%M} {row.kind} {where}: {field}{row.reason}\n    {row.record}")


@quarantine_app.command("drop", epilog="Examples:\n\n  netcopilot quarantine drop --batch 3f2a9c0d11e4b7a2\n\n  netcopilot quarantine drop --all")
def quarantine_drop(
    kind: Optional[str] = typer.Option(None, "--kind", help="Only records of this kind."),
    batch: Optional[str] = typer.Option(None, "--batch", help="Only records of this ingest run."),
    everything: bool = typer.Option(False, "--all", help="Every quarantined record."),
) -> None:
    """Forget quarantined records once they are fixed and re-ingested (or not worth keeping)."""
    from netcopilot.pipeline import quarantine

    if not (kind or batch or everything):
        raise typer.BadParameter("say what to drop: --batch B, --kind K or --all", param_hint="--all")
    _, store = _open()
    try:
        n = quarantine.drop(store, kind=kind, batch=batch)
    finally:
        store.close()
    typer.echo(f"dropped {n} quarantined record{'s' * (n != 1)}")


@features_app.command("list", epilog="Example:  netcopilot features list")
def features_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The declared feature sets and how many rows of each version the store caches."""
    from netcopilot.pipeline.feature_store import FeatureStore
    from netcopilot.pipeline.features import feature_sets

    _, store = _open()
    try:
        cached = FeatureStore(store).stats()
    finally:
        store.close()
    sets = [fs.__dict__ for fs in feature_sets()]
    if as_json:
        sys.stdout.write(json.dumps({"sets": sets, "cached": cached}) + "\n")
        return
    for fs in sets:
        rows = [c for c in cached if c["feature_set"] == fs["name"]]
        where = "; ".join(f"{c['rows']} rows of {c['version']} (newest {c['newest']})" for c in rows) or (
            "nothing cached yet" if fs["cached"] else "computed on the fly, not cached")
        typer.echo(f"{fs['name']:<11} {fs['doc']}: {where}")


@features_app.command("build", epilog="Example:  netcopilot features build")
def features_build(
    since: str = typer.Option("90d", "--since", help="Questions asked within this period, e.g. 30d, 12w."),
    drop_stale: bool = typer.Option(True, "--drop-stale/--keep-stale", help="Delete rows of older encoder versions."),
) -> None:
    """Embed the stored questions not yet in the feature store (what `netcopilot monitor
    --embeddings` reads), so later reports only encode what is new."""
    from datetime import datetime, timezone

    from rich.progress import Progress

    from netcopilot import artifacts
    from netcopilot.embeddings import Encoder
    from netcopilot.pipeline.feature_store import FeatureStore
    from netcopilot.privacy.retention import parse_age

    settings, store = _open()
    age = parse_age(since, "--since")
    try:
        encoder = Encoder(artifacts.encoder_dir(settings.models_dir), threads=settings.threads)
        texts = stored_questions(store, datetime.now(timezone.utc) - age)
        fstore = FeatureStore(store)
        with Progress(transient=True) as bar:
            task = bar.add_task("Embedding stored questions", total=len(texts))
            for i in range(0, len(texts), 256):
                fstore.question_vectors(encoder, texts[i:i + 256])
                bar.update(task, advance=len(texts[i:i + 256]))
        dropped = fstore.drop_stale({"question": encoder.version}) if drop_stale else 0
    finally:
        store.close()
    typer.echo(f"{len(texts)} stored questions: {fstore.computed} embedded now, {fstore.hits} already cached"
               + (f"; {dropped} rows of older encoder versions dropped" if dropped else ""))


def stored_questions(store, since) -> list[str]:  # noqa: ANN001
    """Distinct texts of user messages since `since`, oldest first."""
    from sqlalchemy import select

    from netcopilot.store.models import Message

    query = select(Message.text).where(Message.role == "user", Message.created_at >= since).order_by(Message.id)
    with store.session() as s:
        return list(dict.fromkeys(t for t in s.scalars(query) if t and t.strip()))


def register(app: typer.Typer) -> None:
    app.command("ingest", epilog=_INGEST_EPILOG)(ingest)
    app.command("ingested", epilog="Example:  netcopilot ingested --limit 5")(ingested)
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(features_app, name="features")
