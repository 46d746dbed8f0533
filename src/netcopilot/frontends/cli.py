"""The `netcopilot` command line. Adapters only: parse, call the core, render.

Errors the user can fix (bad files, settings, input) are printed as one line and exit with 2.
Heavy modules are imported inside the commands so `netcopilot --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from netcopilot.errors import NetcopilotError

app = typer.Typer(
    name="netcopilot",
    help="A networking copilot: ask a network question, get the commands to run, likely causes and similar past sessions.",
    epilog=(
        "Examples:\n\n"
        "  netcopilot chat\n\n"
        "  netcopilot ask \"why can't I reach 10.0.0.5 on port 443?\"\n\n"
        "  echo 'dns is slow on 10.1.2.3' | netcopilot suggest --jsonl --k 3\n\n"
        "  netcopilot train"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
err = Console(stderr=True)


def _settings():  # noqa: ANN202
    from netcopilot.settings import Settings

    return Settings.load()


def _assistant(frontend: str = "cli"):  # noqa: ANN202
    """The Assistant over the store as `frontend` opens it (pseudonymising for Slack by default)."""
    from netcopilot.core.assistant import Assistant
    from netcopilot.privacy import open_store

    settings = _settings()
    return Assistant.load(settings, store=open_store(settings, frontend))


@app.command(epilog="Example:  netcopilot chat      (or: echo 'is 443 open on web01?' | netcopilot chat)")
def chat() -> None:
    """Chat in the terminal. Follow-ups keep context; :help lists the chat commands."""
    from netcopilot.frontends.chat import run_chat

    settings = _settings()
    console = Console(highlight=False)
    raise typer.Exit(run_chat(_assistant, console, Path(settings.home) / "chat_history"))


@app.command(epilog="Examples:\n\n  netcopilot ask \"why can't I reach 10.0.0.5 on port 443?\"\n\n  netcopilot ask --json \"dig returns SERVFAIL for corp.example\"")
def ask(
    question: str = typer.Argument(..., help="The question, in quotes."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole structured answer as JSON."),
    why: bool = typer.Option(False, "--why", help="Also explain how the answer was chosen."),
) -> None:
    """Answer one question and exit."""
    from netcopilot.core.types import Request
    from netcopilot.frontends.chat import _user
    from netcopilot.frontends.terminal import render_answer, render_why

    answer = _assistant().answer(Request(text=question, user=_user(), channel="cli"))
    if as_json:
        sys.stdout.write(json.dumps(answer.to_dict(explain=why), default=str) + "\n")
        return
    console = Console(highlight=False)
    render_answer(answer, console)
    if why:
        render_why(answer, console)


@app.command(epilog="Example:  printf 'dns is slow on 10.1.2.3\\nis 443 open on web01?\\n' | netcopilot suggest --jsonl --k 3")
def suggest(
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per input line (the batch contract)."),
    k: int = typer.Option(5, "--k", min=1, max=50, help="Commands per question."),
) -> None:
    """Read questions from stdin, one per line; suggest K commands for each, in order.

    With --jsonl each output line is
    {"query", "intent": {"name", "confidence"}, "entities": [{"label", "text", "start", "end"}],
    "commands": [{"command", "utility", "score", "risk", "why"}]}, best command first.
    Nothing is stored.
    """
    from netcopilot.core.types import Request

    assistant = _assistant()
    out = sys.stdout
    stream = (raw.decode("utf-8", errors="replace") for raw in sys.stdin.buffer)
    for raw in stream:
        line = raw.rstrip("\r\n")
        answer = assistant.answer(Request(text=line, record=False, analyse=False))
        record = answer.suggest_record(k)
        if jsonl:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(f"# {line}\n# intent: {record['intent']['name']} ({record['intent']['confidence']:.2f})\n")
            for cmd in record["commands"]:
                out.write(f"{cmd['command']}    # {cmd['risk']}: {cmd['why']}\n")
            out.write("\n")
        out.flush()


@app.command(epilog=("Examples:\n\n  netcopilot train\n\n  netcopilot train --if-missing     (what `make chat` runs)\n\n"
                     "  netcopilot train threats --data KDDTrain+.txt.gz"))
def train(
    what: str = typer.Argument("assistant", help="What to train: assistant (intents and command ranking) or threats."),
    data: Optional[Path] = typer.Option(None, "--data", help="threats: labelled NSL-KDD records (.txt, .csv or .txt.gz)."),
    if_missing: bool = typer.Option(False, "--if-missing", help="Do nothing when models already exist."),
    rebuild_encoder: bool = typer.Option(False, "--rebuild-encoder", help="Export the MiniLM encoder to ONNX again."),
    spacy_epochs: int = typer.Option(12, "--spacy-epochs", min=1, max=200, help="Training epochs of the spaCy textcat."),
    tolerance: Optional[float] = typer.Option(None, "--tolerance", min=0.0, max=1.0,
                                              help="Largest drop of a gated held-out metric still promoted (default: per metric, 0.01 for accuracy and macro-F1)."),
    no_promote: bool = typer.Option(False, "--no-promote", help="Register the new version as the candidate; keep production."),
    with_learned: bool = typer.Option(True, "--with-learned/--no-learned",
                                      help="threats: also train on the records confirmed with `netcopilot threats confirm`."),
) -> None:
    """Train the intent classifiers and command ranker from the files in intents/ and
    knowledge_base/, evaluate them on the held-out split, and register a new model version.
    It becomes production (what the assistant loads) only if no gated held-out metric is worse
    than production's by more than the tolerance; `netcopilot models` lists, promotes and rolls back.
    `train threats --data FILE` trains the threat model on labelled records instead."""
    if what == "threats":
        _train_threats(data, tolerance, not no_promote, with_learned)
        return
    if what != "assistant":
        raise typer.BadParameter(f"{what!r}: choose assistant or threats", param_hint="WHAT")
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from netcopilot import artifacts
    from netcopilot.training import STEPS
    from netcopilot.training import train as run_training

    settings = _settings()
    if if_missing and artifacts.current_version(settings.models_dir):
        try:
            artifacts.read_manifest(artifacts.current_dir(settings.models_dir))
            err.print(f"models present in {settings.models_dir} (version {artifacts.current_version(settings.models_dir)})")
            return
        except NetcopilotError as exc:
            err.print(f"rebuilding models: {exc}")
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err) as progress:
        task = progress.add_task("Training", total=STEPS)

        def update(message: str, done: int, total: int) -> None:
            progress.update(task, description=message, completed=done, total=total)

        report = run_training(settings, progress=update, rebuild_encoder=rebuild_encoder, spacy_epochs=spacy_epochs,
                              tolerance=tolerance, promote=not no_promote)
    ens = report.metrics["intent"]["ensemble"]
    err.print(
        f"model version {report.version} written to {report.bundle} in {report.seconds:.0f}s\n"
        f"held-out intents: accuracy {ens['accuracy']:.3f}, macro-F1 {ens['macro_f1']:.3f}, ECE {ens['ece']:.3f} "
        f"(model card: {report.bundle / 'MODEL_CARD.md'})", highlight=False
    )
    from netcopilot.frontends.models_cli import gate_line

    for version, decision in [(report.registered, report.decision), *report.others]:
        err.print(gate_line(version, decision), highlight=False, markup=False)


@app.command(epilog="Example:  netcopilot check")
def check() -> None:
    """Validate intents/, the command catalog and the runbooks; report the first problem."""
    from netcopilot.knowledge import load_knowledge
    from netcopilot.nlu.data import load_intents

    settings = _settings()
    data = load_intents(settings.intents_dir)
    knowledge = load_knowledge(settings.intents_dir, settings.knowledge_dir)
    typer.echo(
        f"ok: {len(data.definitions)} intents ({len(data.train)} training, {len(data.test)} held-out phrasings), "
        f"{len(knowledge.catalog)} commands, {len(knowledge.runbooks)} runbooks"
    )


@app.command(epilog=(
    "Examples:\n\n  SLACK_APP_TOKEN=xapp-... SLACK_BOT_TOKEN=xoxb-... netcopilot slack\n\n"
    "  SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=xoxb-... netcopilot slack --http --port 3000"
))
def slack(
    http: bool = typer.Option(False, "--http", help="Serve Slack's requests over HTTP (POST /slack/events) instead of Socket Mode."),
    port: int = typer.Option(3000, "--port", min=0, max=65535, help="HTTP mode: port to listen on (0 picks a free one)."),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP mode: address to listen on."),
) -> None:
    """Run the Slack app: /netcopilot, mentions, DMs, reactions, buttons and the App Home.
    Socket Mode needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN; HTTP mode needs SLACK_SIGNING_SECRET and
    SLACK_BOT_TOKEN. See deploy/slack-manifest.yaml."""
    from netcopilot.frontends import slack_app

    settings = _settings()
    slack_app.check_credentials(settings, http)
    slack_app.run(settings, lambda: _assistant("slack"), http, host, port, on_ready=lambda msg: err.print(f"netcopilot slack: {msg}"))


from netcopilot.frontends import (  # noqa: E402 - cheap to import
    api_cli, commands_cli, fix_cli, history_cli, models_cli, monitor_cli, pipeline_cli, privacy_cli, timing_cli,
)
from netcopilot.frontends.topology_cli import topology_app  # noqa: E402 - sub-app, cheap to import

app.add_typer(topology_app, name="topology")
history_cli.register(app)  # init, history import/sync/list
commands_cli.register(app)  # explain
fix_cli.register(app)  # fix
timing_cli.register(app)  # predict-time
privacy_cli.register(app)  # privacy policy/purge/export/optout, audit
monitor_cli.register(app)  # monitor, ab start/stop/list/report
models_cli.register(app)  # models list/show/promote/rollback, retrain
api_cli.register(app)  # serve, apikey create/list/revoke
pipeline_cli.register(app)  # ingest, quarantine list/drop, features list/build

report_app = typer.Typer(help="Reports over what the team asked and how satisfied they were.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("satisfaction", epilog="Examples:\n\n  netcopilot report satisfaction\n\n  netcopilot report satisfaction --since 12w --png satisfaction.png")
def report_satisfaction(
    since: str = typer.Option("30d", "--since", help="How far back: e.g. 48h, 30d, 12w."),
    png: Optional[Path] = typer.Option(None, "--png", help="Also draw the report as a PNG plot."),
) -> None:
    """Satisfaction by intent, by week and by model version (reactions, buttons, :good/:bad and
    the VADER sentiment of replies, each -1..1)."""
    from rich.table import Table

    from netcopilot.feedback.report import plot_report, satisfaction_report, since_datetime
    from netcopilot.store.db import Store

    settings = _settings()
    cutoff = since_datetime(since)
    store = Store(settings.database_url)
    rows = store.satisfaction_rows(cutoff)
    console = Console(highlight=False)
    if not rows:
        console.print(f"No feedback in the last {since}.")
        return
    report = satisfaction_report(rows)
    for name, title in (("intent", "by intent"), ("week", "by week (starting Monday)"), ("model", "by model version")):
        table = Table(title=f"Satisfaction {title}, last {since}", title_justify="left")
        for col in (name, "signals", "mean", "positive", "negative"):
            table.add_column(col, justify="left" if col == name else "right")
        for key, v in report[name].items():
            style = "green" if v["mean"] >= 0.2 else "red" if v["mean"] <= -0.2 else ""
            table.add_row(key, str(v["n"]), f"[{style}]{v['mean']:+.2f}[/]" if style else f"{v['mean']:+.2f}",
                          f"{v['positive']:.0%}", f"{v['negative']:.0%}")
        console.print(table)
    if png:
        path = plot_report(report, png, f"netcopilot satisfaction, last {since} ({len(rows)} signals)")
        console.print(f"plot written to {path}")


def _train_threats(data: Optional[Path], tolerance: Optional[float], promote: bool, with_learned: bool) -> None:
    from netcopilot.errors import InputError
    from netcopilot.frontends.models_cli import gate_line
    from netcopilot.training import train_threats

    if data is None:
        raise InputError("train threats needs --data FILE (labelled NSL-KDD records, .txt or .txt.gz)")
    settings = _settings()
    with err.status("training the threat model") as status:
        report = train_threats(settings, data, progress=lambda message: status.update(message),
                               tolerance=tolerance, promote=promote, learned=with_learned)
    held = report.metrics.get("held_out", {})
    out = report.bundle
    err.print(f"threat model written to {out} (model card: {out / 'MODEL_CARD.md'})", highlight=False)
    if held:
        err.print(f"held-out: binary accuracy {held.get('binary_accuracy', 0):.4f}, detection rate "
                  f"{held.get('detection_rate', 0):.4f}, false-alarm rate {held.get('false_alarm_rate', 0):.4f}")
    learned = report.metrics["data"].get("learned")
    if learned:
        err.print(f"confirmed records used: {learned['records']:,} from {learned['path']} (training side only; "
                  f"{learned['held_out_matches']:,} equal to held-out records left out of the held-out fit)", highlight=False,
                  soft_wrap=True)
    err.print(gate_line(report.registered, report.decision), highlight=False, markup=False)


@app.command(epilog=(
    "Examples:\n\n  netcopilot threats capture.pcapng\n\n  netcopilot threats conn.log --json\n\n"
    "  netcopilot threats KDDTest+.txt --jsonl > scores.jsonl\n\n"
    "  netcopilot threats confirm conn.log --rows 3,17 --label neptune"
))
def threats(
    path: Path = typer.Argument(..., help="A packet capture (pcap/pcapng), a Zeek conn.log, or NSL-KDD records (.txt/.csv/.gz); "
                                          "or `confirm` followed by the file you scanned."),
    confirmed: Optional[Path] = typer.Argument(None, metavar="[FILE]", help="confirm: the file whose records you label."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    jsonl: bool = typer.Option(False, "--jsonl", help="One line per record, in input order: index, attack, category, score."),
    label: Optional[str] = typer.Option(None, "--label", help="confirm: normal (a false alarm), or the attack's NSL-KDD name or category."),
    rows: Optional[str] = typer.Option(None, "--rows", help="confirm: only these records, numbered as the scan shows them (#N), e.g. 3,17."),
) -> None:
    """Find threats: the threat model scores every record or connection; on captures and logs the
    rules (scans, sweeps, floods, brute force, ARP spoofing, DNS) and your intel lists add findings.
    `threats confirm FILE --label LABEL` keeps your verdict on its records for `train threats`."""
    from netcopilot.threats import intel, service
    from netcopilot.threats.chat import summary_lines

    settings = _settings()
    if str(path) == "confirm":
        from netcopilot.frontends.threats_view import confirm_records

        confirm_records(settings, confirmed, label, rows, Console(highlight=False))
        return
    if confirmed is not None or label is not None or rows is not None:
        from netcopilot.errors import InputError

        raise InputError("a second file, --label and --rows go with `netcopilot threats confirm FILE`")
    report = service.analyse_file(path, service.load_model(Path(settings.models_dir)), intel.load_saved(Path(settings.home)),
                                  records_out=sys.stdout if jsonl else None)
    if jsonl:
        return
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), default=str) + "\n")
        return
    from netcopilot.frontends.threats_view import render_report

    render_report(report, Console(highlight=False), summary_lines)


intel_app = typer.Typer(help="Threat-intelligence lists: traffic to or from a listed indicator is a finding.",
                        no_args_is_help=True)
app.add_typer(intel_app, name="intel")


@intel_app.command("load", epilog="Examples:\n\n  netcopilot intel load firehol_level1.netset\n\n  netcopilot intel load urlhaus.csv --name urlhaus")
def intel_load(
    path: Path = typer.Argument(..., help="Plain-text IP/CIDR/domain list (FireHOL, one per line) or a CSV export (abuse.ch)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the list (default: the file name)."),
) -> None:
    """Load an indicator list; `threats` and the chat use every loaded list."""
    from netcopilot.threats import intel

    settings = _settings()
    indicators = intel.load_indicators(path)
    saved = intel.save_indicators(indicators, Path(settings.home), name or path.stem)
    skipped = f"; {indicators.skipped} line(s) skipped" if getattr(indicators, "skipped", 0) else ""
    err.print(f"{len(indicators):,} indicators from {path} saved to {saved}{skipped}")


@intel_app.command("list")
def intel_list() -> None:
    """Show the loaded indicator lists."""
    settings = _settings()
    folder = Path(settings.home) / "intel"
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not files:
        typer.echo("No intel lists loaded; use `netcopilot intel load FILE`.")
    for f in files:
        count = sum(1 for line in f.open() if line.strip() and not line.startswith("#"))
        typer.echo(f"{f.stem}: {count:,} indicators ({f})")


@app.command("next", epilog=(
    "Examples:\n\n  printf 'cd /srv\\nls\\ngit pull\\n' | netcopilot next --jsonl --k 3\n\n"
    "  netcopilot next --jsonl --no-team < ~/.bash_history      (this user's history only)"))
def next_command(
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per input line: the command and the predictions."),
    k: int = typer.Option(3, "--k", min=1, max=50, help="Predictions per line, best first."),
    no_team: bool = typer.Option(False, "--no-team", help="Do not use the shipped team prior (other users' n-grams)."),
    team_file: Optional[Path] = typer.Option(None, "--team-file", hidden=True,
                                             help="Team counts to use instead of the shipped ones (benchmarks)."),
    prior_file: Optional[Path] = typer.Option(None, "--prior-file", hidden=True,
                                              help="Prior weights to use instead of the shipped ones (benchmarks)."),
) -> None:
    """Read one user's commands on stdin, in the order they were run; after each, predict the next
    (learning online: the prediction after line i uses only lines 1..i). Commands the team ran after
    the same context (the shipped team prior) are candidates too, unless --no-team."""
    from netcopilot.history.nextcmd import NextCommandModel, load_prior, online_predictions
    from netcopilot.history.nextcmd_team import load_shipped_team, load_team

    team = None if no_team else (load_team(team_file) if team_file else load_shipped_team())
    model = NextCommandModel(weights=load_prior(prior_file), team=team)
    lines = (raw.decode("utf-8", "replace").rstrip("\r\n") for raw in sys.stdin.buffer)
    out = sys.stdout
    for command, predicted in online_predictions(lines, k, model):
        if jsonl:
            out.write(json.dumps({"command": command, "next": predicted}) + "\n")
        else:
            out.write(f"{command}\n    next: {'  |  '.join(predicted)}\n")
    out.flush()


def _print_json(payload: list[dict]) -> None:
    """One object for one series, a list for several (the detect/forecast/capacity contract)."""
    sys.stdout.write(json.dumps(payload[0] if len(payload) == 1 else payload) + "\n")


def _columns(text: Optional[str]) -> Optional[list[str]]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


TARGET_ARG = typer.Argument(..., help="A CSV file, a folder of CSV files, or a prometheus://host:port?query=... source.")
TIMESTAMP_OPT = typer.Option(None, "--timestamp", help="Name of the timestamp column (default: detected).")
COLUMNS_OPT = typer.Option(None, "--columns", help="Comma-separated metric columns (default: every numeric column).")


@app.command(epilog=(
    "Examples:\n\n  netcopilot detect uplink.csv\n\n  netcopilot detect exports/ --png anomalies.png\n\n"
    "  netcopilot detect uplink.csv --columns rx_bps,tx_bps --json > scores.json\n\n"
    "  netcopilot detect 'prometheus://127.0.0.1:9090?query=rate(node_network_receive_bytes_total[5m])&since=6h'"
))
def detect(
    target: str = TARGET_ARG,
    as_json: bool = typer.Option(False, "--json", help="Print every point's score and the alerts as JSON."),
    png: Optional[Path] = typer.Option(None, "--png", help="Draw the series with anomalies marked to this PNG file."),
    timestamp: Optional[str] = TIMESTAMP_OPT,
    columns: Optional[str] = COLUMNS_OPT,
    threshold: Optional[float] = typer.Option(None, "--threshold", min=0.5, max=0.999999,
                                              help="Alert when the score reaches this (default 0.997; higher is quieter)."),
) -> None:
    """Find anomalies in time series (causal: each point is judged only on what came before it)."""
    from netcopilot.analytics import service
    from netcopilot.frontends.analytics_view import render_detections

    if service.is_large(target):
        detections = service.stream_file(Path(target), sys.stdout if as_json else None, timestamp, _columns(columns), threshold)
    else:
        detections = service.detect_target(target, timestamp, _columns(columns), threshold)
        if as_json:
            _print_json([d.to_dict() for d in detections])
    if not as_json:
        render_detections(detections, Console(highlight=False))
    if png:
        path = service.plot_detections(png, detections)
        err.print(f"plot written to {path}")


@app.command(epilog=(
    "Examples:\n\n  netcopilot forecast uplink.csv --horizon 7d\n\n"
    "  netcopilot forecast uplink.csv --horizon 2d --threshold 900e6 --png forecast.png\n\n"
    "  netcopilot forecast disk.csv --threshold 90 --json"
))
def forecast(
    target: str = TARGET_ARG,
    horizon: str = typer.Option("7d", "--horizon", help="How far ahead: e.g. 90m, 12h, 7d, 2w."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Predict when the series crosses this value."),
    as_json: bool = typer.Option(False, "--json", help="Print the forecast as JSON."),
    png: Optional[Path] = typer.Option(None, "--png", help="Draw the history, the forecast band and the breach to this PNG."),
    timestamp: Optional[str] = TIMESTAMP_OPT,
    columns: Optional[str] = COLUMNS_OPT,
) -> None:
    """Forecast each series with prediction intervals; with --threshold, when a breach is expected and how sure."""
    from netcopilot.analytics import forecast as fc
    from netcopilot.analytics import service

    parsed = fc.parse_horizon(horizon)
    results = [service.forecast_series(s, parsed, threshold) for s in service.load_sources(target, timestamp, _columns(columns))]
    _emit_analysis(results, as_json, png)


@app.command(epilog=(
    "Examples:\n\n  netcopilot capacity uplink.csv --limit 1Gbps\n\n"
    "  netcopilot capacity cpu.csv --limit 80% --png capacity.png\n\n"
    "  netcopilot capacity wan.csv --columns rx_bps --limit 500Mbps --json"
))
def capacity(
    target: str = TARGET_ARG,
    limit: str = typer.Option(..., "--limit", help="The capacity: 1Gbps, 500Mbps, 10G, 80% (of 100 for percentages) or a number."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    png: Optional[Path] = typer.Option(None, "--png", help="Draw the history, the peak trend and the exhaustion time to this PNG."),
    timestamp: Optional[str] = TIMESTAMP_OPT,
    columns: Optional[str] = COLUMNS_OPT,
) -> None:
    """Time to exhaustion (with an interval) and the growth trend of the daily peaks."""
    from netcopilot.analytics import service

    results = [service.capacity_series(s, limit) for s in service.load_sources(target, timestamp, _columns(columns))]
    _emit_analysis(results, as_json, png)


def _emit_analysis(results: list, as_json: bool, png: Optional[Path]) -> None:
    from netcopilot.analytics import service

    if as_json:
        _print_json([r.to_dict() for r in results])
    else:
        console = Console(highlight=False)
        for r in results:
            console.print(f"[bold]{r.series.name}[/]")
            for note in r.series.notes:
                console.print(f"  [yellow]note:[/] {note}")
            console.print(f"  {r.message}", markup=False)
    if png:
        err.print(f"plot written to {service.plot_results(png, results)}")


@app.command()
def version() -> None:
    """Print the version of netcopilot and of the models in use."""
    from netcopilot import __version__, artifacts

    settings = _settings()
    typer.echo(f"netcopilot {__version__}, models {artifacts.current_version(settings.models_dir) or 'not built'}")


def _fail(message: str, code: int = 2) -> None:
    """One line on stderr (never wrapped, never markup) and the exit code."""
    sys.stderr.write(message.replace("\n", " ") + "\n")
    sys.exit(code)


def main(argv: Optional[list[str]] = None) -> None:
    try:  # typer >= 0.16 vendors click; older versions use click itself
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    except ImportError:  # pragma: no cover
        from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    try:
        code = app(args=argv, prog_name="netcopilot", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except NoArgsIsHelpError as exc:
        sys.stdout.write(exc.format_message() + "\n")
        sys.exit(0)
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "netcopilot"
        _fail(f"{where}: error: {exc.format_message()} (see `{where} --help`)")
    except ClickException as exc:
        _fail(f"netcopilot: error: {exc.format_message()}", exc.exit_code or 2)
    except typer.Abort:
        sys.exit(130)
    except NetcopilotError as exc:
        _fail(f"netcopilot: error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
