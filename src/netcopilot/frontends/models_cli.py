"""CLI adapters for `netcopilot models list | show | promote | rollback` (added by `register`).

The registry (and so mlflow) is imported inside the commands; `netcopilot --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:
    from netcopilot.registry import Decision, Registry, Version
    from netcopilot.retrain import RetrainReport

KIND_HELP = "Model kind: intent, threat, anomaly, next, time or bandit."


def gate_line(version: "Version", decision: "Decision") -> str:
    """The one line `netcopilot train` prints about the gate's verdict."""
    head = f"{version.kind}: version {version.number} ({version.label})"
    if decision.promote:
        return f"{head} promoted to production: " + "; ".join(decision.reasons)
    return f"{head} not promoted, production unchanged (kept as candidate): " + "; ".join(decision.reasons)


def _registry() -> "Registry":
    from netcopilot.registry import Registry
    from netcopilot.settings import Settings

    return Registry(Path(Settings.load().models_dir))


def _split(ref: str) -> tuple[str, Optional[str]]:
    kind, _, version = ref.partition(":")
    return kind, version or None


def _key_metrics(version: "Version") -> dict[str, float]:
    from netcopilot.registry import get_kind

    return {r.key: version.metrics[r.key] for r in get_kind(version.kind).rules if r.key in version.metrics}


def _summary(version: "Version") -> dict[str, Any]:
    return {"kind": version.kind, "version": version.number, "label": version.label, "aliases": version.aliases,
            "created": version.created.isoformat(timespec="seconds"), "path": str(version.path),
            "metrics": _key_metrics(version), "gate": version.gate_record()}


def _details(registry: "Registry", version: "Version") -> dict[str, Any]:
    def grouped(prefix: str) -> dict[str, str]:
        return {k[len(prefix):]: v for k, v in sorted(version.params.items()) if k.startswith(prefix)}

    return {
        **_summary(version),
        "model": f"netcopilot-{version.kind}",
        "exists": (version.path / "manifest.json").is_file(),
        "data_fingerprint": version.tags.get("netcopilot.data_fingerprint", ""),
        "data": grouped("data."),
        "libraries": grouped("library."),
        "files_sha256": grouped("sha256."),
        "manifest_sha256": version.tags.get("netcopilot.manifest_sha256", ""),
        "metrics": dict(sorted(version.metrics.items())),
        "production_history": registry.history(version.kind),
        "gate_history": [{"version": v.number, "label": v.label, "gate": v.gate_record()}
                         for v in reversed(registry.versions(version.kind)) if v.gate_record()],
    }


def _print_details(info: dict[str, Any]) -> None:
    out = sys.stdout
    for key in ("model", "version", "label", "aliases", "created", "path", "exists", "data_fingerprint",
                "manifest_sha256", "production_history"):
        out.write(f"{key}: {info[key]}\n")
    for section in ("data", "libraries", "metrics", "files_sha256"):
        out.write(f"{section}:\n" + "".join(f"  {k}: {v}\n" for k, v in info[section].items()))
    out.write("gate history:\n" + "".join(f"  {g['version']} ({g['label']}): {g['gate']}\n" for g in info["gate_history"]))


def register(app: typer.Typer) -> None:
    """Add `netcopilot models ...` to the main app."""
    models_app = typer.Typer(help="The model registry: versions, aliases (production, candidate), promotion and rollback.",
                             no_args_is_help=True)
    app.add_typer(models_app, name="models")
    app.command("retrain", epilog="Examples:\n\n  netcopilot retrain\n\n  netcopilot retrain --every 24h     (a long-running schedule)\n\n"
                "  netcopilot retrain --force --tolerance 0.02")(retrain)

    @models_app.command("list", epilog="Examples:\n\n  netcopilot models list\n\n  netcopilot models list --kind intent --json")
    def list_versions(
        kind: Optional[str] = typer.Option(None, "--kind", help=KIND_HELP + " Default: all."),
        as_json: bool = typer.Option(False, "--json", help="One JSON array of versions."),
    ) -> None:
        """Every registered version, newest first: aliases, date, gated metrics and the gate's verdict."""
        from netcopilot.registry import KINDS, get_kind

        registry = _registry()
        kinds = [get_kind(kind).name] if kind else list(KINDS)
        rows = [_summary(v) for k in kinds for v in registry.versions(k)]
        if as_json:
            sys.stdout.write(json.dumps(rows) + "\n")
            return
        if not rows:
            typer.echo("No registered models; run `netcopilot train`.")
        for r in rows:
            metrics = ", ".join(f"{k.split('.')[-1]} {v:.3f}" for k, v in r["metrics"].items())
            aliases = f" [{', '.join(r['aliases'])}]" if r["aliases"] else ""
            typer.echo(f"{r['kind']}:{r['version']}{aliases}  {r['label']}  {r['created']}  {metrics}".rstrip())

    @models_app.command("show", epilog="Examples:\n\n  netcopilot models show intent\n\n  netcopilot models show intent:3 --json")
    def show(
        ref: str = typer.Argument(..., help="KIND or KIND:VERSION (a number, a version directory name, or an alias)."),
        as_json: bool = typer.Option(False, "--json", help="Print everything as one JSON object."),
    ) -> None:
        """Everything recorded about a version (default: production, else the newest): metrics, data
        fingerprint, library versions, file hashes and the kind's gate history."""
        from netcopilot.errors import InputError

        registry = _registry()
        kind, number = _split(ref)
        versions = registry.versions(kind)
        if number is None and not versions:
            raise InputError(f"netcopilot-{kind}: no versions registered; run `netcopilot train`")
        version = registry.get(kind, number) if number else (registry.production(kind) or versions[0])
        info = _details(registry, version)
        if as_json:
            sys.stdout.write(json.dumps(info, default=str) + "\n")
        else:
            _print_details(info)

    @models_app.command("promote", epilog="Example:  netcopilot models promote intent 3")
    def promote(
        kind: str = typer.Argument(..., help=KIND_HELP),
        version: str = typer.Argument(..., help="Version number, version directory name, or `candidate`."),
    ) -> None:
        """Make a version production after checking its files' hashes and library versions."""
        promoted = _registry().promote(kind, version)
        typer.echo(f"{promoted.kind}: version {promoted.number} ({promoted.label}) is production ({promoted.path})")

    @models_app.command("rollback", epilog="Example:  netcopilot models rollback intent")
    def rollback(kind: str = typer.Argument(..., help=KIND_HELP)) -> None:
        """Restore the previous production version (checked like `promote`)."""
        restored = _registry().rollback(kind)
        typer.echo(f"{restored.kind}: rolled back to version {restored.number} ({restored.label})")


def retrain_summary(report: "RetrainReport") -> list[str]:
    """The lines `netcopilot retrain` prints about one run: what was folded in, and the gate's verdicts."""
    commands = (f"command labels: {report.commands_added} new from helpful commands ({report.commands_collected} "
                f"collected, {report.commands_total} learned in all)")
    if report.train is None:
        return [f"no new labelled feedback ({report.collected} labelled questions, all already folded in); "
                "production unchanged (use --force to retrain anyway)", commands]
    return [f"folded in {report.added} new phrasings from feedback ({report.learned_total} learned in all); "
            f"trained version {report.train.version}", commands,
            *(gate_line(version, decision)
              for version, decision in [(report.train.registered, report.train.decision), *report.train.others])]


def retrain(
    tolerance: Optional[float] = typer.Option(None, "--tolerance", min=-1.0, max=1.0,
                                              help="Largest drop of a gated held-out metric still promoted (default: per metric)."),
    force: bool = typer.Option(False, "--force", help="Retrain even when no new labelled feedback came in."),
    every: Optional[str] = typer.Option(None, "--every", help="Keep running: retrain on this schedule, e.g. 24h, 7d."),
) -> None:
    """Fold new labelled feedback (corrected intents, confirmed answers, and helpful commands: a
    suggested command that was run and succeeded, or the first one of a well-rated answer) into the
    training data, retrain, and promote through the validation gate (production stays when the
    candidate is worse)."""
    import time

    from rich.console import Console

    from netcopilot.privacy import open_store
    from netcopilot.privacy.retention import parse_age
    from netcopilot.retrain import retrain as run_retrain
    from netcopilot.settings import Settings

    err = Console(stderr=True, highlight=False)
    settings = Settings.load()
    period = parse_age(every, "--every").total_seconds() if every else None
    store = open_store(settings)
    while True:
        with err.status("retraining") as status:
            report = run_retrain(settings, store, tolerance, force,
                                 progress=lambda message, done, total: status.update(f"retraining: {message}"))
        for line in retrain_summary(report):
            err.print(line, markup=False)
        if period is None:
            return
        time.sleep(period)
