"""CLI adapters for `netcopilot monitor` and `netcopilot ab ...` (registered on the main app by
`register`). The work is in netcopilot.monitoring; this module parses, calls and renders."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

ab_app = typer.Typer(help="A/B tests of model variants: users are split by a hash of their id; feedback decides.",
                     no_args_is_help=True)


def _duration(text: str, flag: str) -> timedelta:
    from netcopilot.errors import InputError
    from netcopilot.feedback.report import parse_since

    try:
        return parse_since(text)
    except InputError:
        raise InputError(f"{flag} {text!r}: expected a number and h, d or w, e.g. 7d") from None


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: Optional[float], fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


def register(app: typer.Typer) -> None:
    """Add `monitor` and the `ab` group to the main `netcopilot` app."""
    app.add_typer(ab_app, name="ab")

    @app.command("monitor", epilog=(
        "Examples:\n\n  netcopilot monitor\n\n  netcopilot monitor --since 12w --window 7d --png monitor.png\n\n"
        "  netcopilot monitor --alert-exit --webhook https://hooks.example.com/T0/B0/x   (from cron)\n\n"
        "  netcopilot monitor --json | jq .drift"
    ))
    def monitor(
        since: str = typer.Option("30d", "--since", help="How far back: e.g. 48h, 30d, 12w."),
        window: str = typer.Option("7d", "--window", help="Width of the windows compared for drift, e.g. 7d."),
        png: Optional[Path] = typer.Option(None, "--png", help="Also draw the report as a PNG."),
        as_json: bool = typer.Option(False, "--json", help="Print the whole report (and alerts) as JSON."),
        alert_exit: bool = typer.Option(False, "--alert-exit", help="Exit with status 1 when any alert fires (for cron)."),
        webhook: Optional[str] = typer.Option(None, "--webhook", help="POST fired alerts as JSON to this URL."),
        max_psi: float = typer.Option(0.25, "--max-psi", min=0.0, help="Alert when intent or confidence PSI vs the previous window exceeds this."),
        max_training_psi: Optional[float] = typer.Option(None, "--max-training-psi", min=0.0, help="Alert when intent PSI vs the training phrasings exceeds this (default: off)."),
        min_accuracy: float = typer.Option(0.5, "--min-accuracy", min=0.0, max=1.0, help="Alert when fewer rated answers than this helped (current window)."),
        max_low_confidence: float = typer.Option(0.3, "--max-low-confidence", min=0.0, max=1.0, help="Alert when more answers than this were low-confidence."),
        max_p95_ms: Optional[float] = typer.Option(None, "--max-p95-ms", min=0.0, help="Alert when answer latency p95 exceeds this (ms)."),
        min_sample: int = typer.Option(30, "--min-sample", min=1, help="Answers a window or segment needs before it is judged."),
        embeddings: bool = typer.Option(False, "--embeddings", help="Also measure how far recent questions moved from the training phrasings in embedding space (loads the encoder; slower)."),
    ) -> None:
        """Drift of what users ask and of the model's confidence, answer quality from feedback per
        week and per segment (team, platform, language, channel; segments significantly behind
        are flagged), and alerts when a threshold is crossed."""
        from netcopilot.monitoring import alerts as alerting
        from netcopilot.monitoring import report as monitoring
        from netcopilot.monitoring.rows import load_rows
        from netcopilot.settings import Settings
        from netcopilot.store.db import Store

        period, width = _duration(since, "--since"), _duration(window, "--window")
        if webhook:
            alerting.check_webhook(webhook)
        settings = Settings.load()
        now = datetime.now(timezone.utc)
        store = Store(settings.database_url)
        try:
            rows = load_rows(store, now - period)
            embed, training_texts = _embedder(settings, store) if embeddings else (None, [])
            report = monitoring.build(rows, now - period, width, settings.clarify_below, monitoring.load_reference(settings),
                                      min_sample=min_sample, now=now, embed=embed, training_texts=training_texts)
        finally:
            store.close()
        thresholds = alerting.Thresholds(max_psi, max_training_psi, min_accuracy, max_low_confidence, max_p95_ms, min_sample)
        fired = alerting.evaluate(report, thresholds)
        report["alerts"] = [a.to_dict() for a in fired]
        if as_json:
            sys.stdout.write(json.dumps(report, default=str) + "\n")
        else:
            _render_monitor(report, since, Console(highlight=False))
        if png:
            from netcopilot.monitoring.plot import plot_monitor

            path = plot_monitor(report, png, f"netcopilot monitor, last {since} ({len(rows)} answers)")
            Console(stderr=True).print(f"plot written to {path}", highlight=False)
        if webhook and fired:
            alerting.post(webhook, fired, f"netcopilot monitor: {len(fired)} alert(s), last {since}")
        if alert_exit and fired:
            raise typer.Exit(1)


def _embedder(settings: Any, store: Any) -> tuple[Any, list[str]]:
    """Question vectors for the drift check, through the feature store (each text is encoded once,
    ever); what the store lacks comes from the bundle's vector cache, which already holds the
    training phrasings, and only new questions are encoded."""
    from netcopilot import artifacts
    from netcopilot.embeddings import Encoder, VectorCache
    from netcopilot.nlu.data import load_intents
    from netcopilot.pipeline.feature_store import FeatureStore

    encoder = Encoder(artifacts.encoder_dir(settings.models_dir), threads=settings.threads)
    cache = VectorCache.load(artifacts.current_dir(settings.models_dir) / "vectors.npz")
    features = FeatureStore(store)
    texts = [text for text, _ in load_intents(settings.intents_dir).train]

    def embed(batch: list[str]) -> Any:
        return features.vectors("question", encoder.version, batch, lambda missing: cache.vectors(encoder, missing))

    return embed, texts


def _render_monitor(report: dict[str, Any], since: str, console: Console) -> None:
    from rich.table import Table

    volume = report["volume"]
    if not volume["answers"]:
        console.print(f"No answers stored in the last {since}: nothing to monitor yet. Ask something "
                      "(`netcopilot ask`, the Slack app or the API) and come back.")
        return
    console.print(f"[bold]Volume[/]: {volume['answers']} answers ({volume['rated']} with feedback) in the last {since}; "
                  f"current window {volume['current_window']}, previous {volume['previous_window']}.")
    drift = Table(title="Drift of the current window", title_justify="left")
    for col in ("against", "PSI", "level", "largest moves"):
        drift.add_column(col, justify="right" if col == "PSI" else "left")
    for key, label in (("intent_vs_previous", "intents vs previous window"), ("intent_vs_training", "intents vs training"),
                       ("confidence_vs_previous", "confidence vs previous window")):
        entry = report["drift"][key]
        moves = ", ".join(f"{name} {move:+.0%}" for name, move in entry["movers"])
        drift.add_row(label, _num(entry["psi"]), entry["level"], moves)
    console.print(drift)
    conf = report["confidence"]
    shift = report["drift"]["embedding_vs_training"]
    console.print(f"Confidence: mean {_num(conf['current_mean'], '.2f')} (previous {_num(conf['previous_mean'], '.2f')}); "
                  f"answered without clarifying {_pct(conf['current_answered_share'])} "
                  f"(held-out at training {_pct(conf['held_out_answered_share'])})"
                  + (f"; embedding shift vs training {shift:.3f}" if shift is not None else ""))
    console.print(_quality_table("Quality by week (starting Monday)", "week", report["weekly"], set()))
    flagged = {(f["dimension"], f["segment"]) for f in report["flags"]}
    for dim, groups in report["segments"].items():
        console.print(_quality_table(f"Quality by {dim}", dim, groups, {s for d, s in flagged if d == dim}))
    if report["alerts"]:
        for alert in report["alerts"]:
            console.print(f"[red]ALERT[/] {alert['message']}")
    else:
        console.print("[green]No alerts.[/]")


def _quality_table(title: str, key: str, groups: dict[str, dict[str, Any]], flagged: set[str]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in (key, "answers", "rated", "helpful", "95% CI", "satisfaction", "clarified", "low conf", "p50 ms", "p95 ms"):
        table.add_column(col, justify="left" if col == key else "right")
    for label, q in groups.items():
        name = f"[red]{label} (flagged)[/]" if label in flagged else label
        ci = f"{q['low']:.0%}-{q['high']:.0%}" if q["low"] is not None else "-"
        table.add_row(name, str(q["answers"]), str(q["rated"]), _pct(q["accuracy"]), ci, _num(q["satisfaction"], "+.2f"),
                      _pct(q["clarification_rate"]), _pct(q["low_confidence_rate"]), _num(q["latency_p50"], ".0f"),
                      _num(q["latency_p95"], ".0f"))
    return table


# --- ab ----------------------------------------------------------------------------------------


def _home() -> Path:
    from netcopilot.settings import Settings

    return Path(Settings.load().home)


@ab_app.command("start", epilog="Examples:\n\n  netcopilot ab start ranker-v2 --variants production,candidate\n\n"
                                "  netcopilot ab start intents-june --variants production,candidate --weights 90,10")
def ab_start(
    name: str = typer.Argument(..., help="Experiment name (letters, digits, '.', '_', '-'); never reused."),
    variants: str = typer.Option("production,candidate", "--variants", help="Variants, comma-separated; the first is the control."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Share of users per variant, e.g. 50,50 (default: equal)."),
) -> None:
    """Start an experiment: from now on each user gets one variant, chosen by a hash of the user id."""
    from netcopilot.monitoring import ab

    names, values = ab.parse_variants(variants, weights)
    ab.start(_home(), name, names, values)
    total = sum(values)
    split = ", ".join(f"{v} {w / total:.0%}" for v, w in zip(names, values))
    Console(stderr=True).print(f"experiment {name} started: {split}", highlight=False)


@ab_app.command("stop", epilog="Example:  netcopilot ab stop ranker-v2")
def ab_stop(name: str = typer.Argument(..., help="The experiment to stop.")) -> None:
    """Stop an experiment; its report stays available."""
    from netcopilot.monitoring import ab

    exp = ab.stop(_home(), name)
    Console(stderr=True).print(f"experiment {name} stopped at {exp['stopped_at']}", highlight=False)


@ab_app.command("list", epilog="Example:  netcopilot ab list --json")
def ab_list(as_json: bool = typer.Option(False, "--json", help="Print the experiments as JSON.")) -> None:
    """The experiments, running and stopped."""
    from netcopilot.monitoring import ab

    experiments = ab.load_experiments(_home())
    if as_json:
        sys.stdout.write(json.dumps(experiments) + "\n")
        return
    if not experiments:
        typer.echo("No experiments. Start one with `netcopilot ab start NAME --variants production,candidate`.")
    for name, exp in experiments.items():
        weights = ",".join(f"{w:g}" for w in exp.get("weights") or [])
        typer.echo(f"{name}  {exp.get('status')}  variants {','.join(exp['variants'])}  weights {weights}  "
                   f"started {exp.get('started_at')}" + (f"  stopped {exp['stopped_at']}" if exp.get("stopped_at") else ""))


@ab_app.command("report", epilog="Examples:\n\n  netcopilot ab report ranker-v2\n\n  netcopilot ab report ranker-v2 --effect 0.1 --json")
def ab_report(
    name: str = typer.Argument(..., help="The experiment."),
    effect: float = typer.Option(0.05, "--effect", min=0.005, max=0.9, help="Smallest difference in helpful-answer rate worth detecting; sets the sample size."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Per variant: answers, rated answers, helpful rate and satisfaction; each candidate against
    the control: difference with its 95% CI, z-test p-value, P(candidate better), and a
    recommendation (promote / keep / need more data)."""
    from netcopilot.monitoring import ab
    from netcopilot.monitoring.rows import load_rows
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    settings = Settings.load()
    exp = ab.get(Path(settings.home), name)
    store = Store(settings.database_url)
    try:
        rows = load_rows(store, datetime.fromisoformat(exp["started_at"]) if exp.get("started_at") else None)
    finally:
        store.close()
    result = ab.report(rows, name, exp, effect)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    _render_ab(result, Console(highlight=False))


def _render_ab(result: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"Experiment {result['experiment']} ({result['status']}, since {result['started_at']})",
                  title_justify="left")
    for col in ("variant", "answers", "rated", "helpful", "satisfaction"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for arm in result["arms"]:
        table.add_row(arm["variant"], str(arm["answers"]), str(arm["rated"]), _pct(arm["positive_rate"]),
                      _num(arm["satisfaction"], "+.2f"))
    console.print(table)
    for c in result["comparisons"]:
        low, high = c["ci95"]
        console.print(f"{c['candidate']} vs {c['control']}: difference {c['difference']:+.1%} (95% CI {low:+.1%} to {high:+.1%}), "
                      f"z-test p={c['p_value']:.3g}, P({c['candidate']} better)={c['prob_better']:.3f}")
        console.print(f"[bold]Recommendation: {c['recommendation']}[/] - {c['why']}")
