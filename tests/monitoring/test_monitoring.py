"""Monitoring, drift, the fairness check and A/B tests against real SQLite and the local
PostgreSQL, with answers and feedback written through the Store as the Assistant writes them,
and the real `netcopilot` CLI in a subprocess."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from sqlalchemy import update

from netcopilot.errors import DataFormatError, InputError
from netcopilot.monitoring import ab, drift, quality, segments
from netcopilot.monitoring import report as monitoring
from netcopilot.monitoring.alerts import Thresholds, check_webhook, evaluate
from netcopilot.monitoring.rows import load_rows
from netcopilot.settings import Settings
from netcopilot.store.db import Store
from netcopilot.store.models import Answer
from tests.clirun import REPO, cli_env, run

NOW = datetime.now(timezone.utc)
INTENTS = ("dns_issue", "port_check", "connectivity", "routing")


def payload(intent: str, confidence: float, versions: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"intent": {"name": intent, "confidence": confidence}, "entities": [],
            "model_versions": versions or {"models": "v1"},
            "commands": [{"id": "dig", "utility": "dig", "command": "dig example.com", "score": 0.9, "risk": "safe"}]}


class Writer:
    """Writes exchanges (and their feedback) as the Assistant does, one conversation per user,
    then back-dates them in one transaction."""

    def __init__(self, store: Store):
        self.store, self.people, self.dates = store, {}, {}

    def add(self, user: str, channel: str, question: str, intent: str, confidence: float, when: datetime | None,
            feedback: float | None, versions: dict[str, Any] | None = None) -> None:
        if user not in self.people:
            person = self.store.user(user)
            self.people[user] = (person.id, self.store.conversation(person.id, channel).id)
        person_id, conv_id = self.people[user]
        answer_id = self.store.record_exchange(conv_id, question, payload(intent, confidence, versions), "reply",
                                               40.0 + confidence * 100)
        if feedback is not None:
            self.store.add_feedback(answer_id, person_id, "button", feedback)
        if when is not None:
            self.dates[answer_id] = when

    def close(self) -> None:
        with self.store.session() as s, s.begin():
            for answer_id, when in self.dates.items():
                s.execute(update(Answer).where(Answer.id == answer_id).values(created_at=when))


def sample_intents(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> list[str]:
    return [str(x) for x in rng.choice(INTENTS, size=n, p=shares)]


def populate(store: Store) -> None:
    """Three weekly windows of Slack questions: two with the same intent mix, the newest shifted to
    DNS questions. Team T02 gets far worse feedback than team T01 in every window."""
    rng = np.random.default_rng(42)
    windows = [(NOW - timedelta(days=17), (0.25, 0.25, 0.25, 0.25)), (NOW - timedelta(days=10), (0.25, 0.25, 0.25, 0.25)),
               (NOW - timedelta(days=3), (0.7, 0.1, 0.1, 0.1))]
    users = ["slack:T01:U1", "slack:T01:U2", "slack:T02:U9"]
    writer = Writer(store)
    for when, shares in windows:
        for i, intent in enumerate(sample_intents(rng, 120, shares)):
            user = users[i % len(users)]
            good = (i // len(users)) % 10 < (3 if "T02" in user else 8)  # 30% vs 80% helpful
            question = "warum geht dns nicht auf dem server" if i % 7 == 0 else "why can't I reach the server on my cisco switch"
            writer.add(user, "slack", question, intent, 0.3 if i % 5 == 0 else 0.9, when + timedelta(minutes=i),
                       1.0 if good else -1.0)
    writer.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


# --- segments, drift and quality on a real store ------------------------------------------------


def test_segment_labels() -> None:
    assert segments.team("slack:T01:U02") == "slack:T01" and segments.team("cli:alice") == "cli"
    assert segments.team("api:ci-key") == "api"
    assert segments.language("why can't I reach 10.0.0.5 on 443?") == "en"
    assert segments.language("ping 10.0.0.1") == "en"
    assert segments.language("pourquoi le dns ne marche pas") == "other"
    assert segments.language("почему не работает dns") == "other"
    assert segments.platform("show ip route on my cisco switch") == "cisco-ios"


def test_report_flags_the_worse_segment_and_sees_the_intent_shift(store: Store) -> None:
    populate(store)
    rows = load_rows(store, NOW - timedelta(days=21))
    assert len(rows) == 360 and rows[0].segment["channel"] in ("slack", "cli")
    result = monitoring.build(rows, NOW - timedelta(days=21), timedelta(days=7), 0.45,
                              monitoring.Reference(drift.training_intents(REPO / "intents"), 0.98), now=NOW)

    shifted = result["drift"]["intent_vs_previous"]
    assert shifted["psi"] > 0.25 and shifted["level"] == "major"
    assert shifted["movers"][0][0] == "dns_issue" and shifted["movers"][0][1] > 0.3
    unchanged = result["windows"][1]  # the middle window against the oldest: same mix
    assert unchanged["intent_psi"] < 0.1
    assert result["drift"]["confidence_vs_previous"]["psi"] < 0.1  # same confidences in every window
    assert result["drift"]["intent_vs_training"]["psi"] is not None

    flagged = {(f["dimension"], f["segment"]) for f in result["flags"]}
    assert flagged == {("team", "slack:T02")}
    team = result["segments"]["team"]
    assert team["slack:T02"]["accuracy"] == pytest.approx(0.3) and team["slack:T01"]["accuracy"] == pytest.approx(0.8)
    assert set(result["segments"]["language"]) == {"en", "other"}
    assert result["current"]["low_confidence_rate"] == pytest.approx(0.2)
    assert len(result["weekly"]) >= 3

    names = {a.name for a in evaluate(result, Thresholds())}
    assert names == {"intent_drift", "segment"}


def test_no_flag_without_enough_feedback_or_a_real_gap(store: Store) -> None:
    writer = Writer(store)
    for i in range(40):
        writer.add("slack:T01:U1" if i % 2 else "slack:T02:U9", "slack", "dns is slow", "dns_issue", 0.9,
                   NOW - timedelta(hours=i), 1.0 if i % 4 else -1.0)  # 50% vs 100% helpful, but n=20 each
    writer.close()
    table = quality.by_segment(load_rows(store), 0.45)
    assert quality.flag_segments(table, min_rated=30) == []


def test_psi_thresholds() -> None:
    same = {"a": 100, "b": 100, "c": 100}
    assert drift.psi(same, same) == pytest.approx(0.0)
    assert drift.level(drift.psi(same, {"a": 280, "b": 10, "c": 10})) == "major"
    assert drift.level(drift.psi(same, {"a": 130, "b": 90, "c": 80})) == "stable"
    assert drift.psi(same, {"a": 100, "b": 100, "c": 100, "new": 50}) > 0.1  # an intent never seen before
    assert drift.judged_psi({"a": 5}, {"a": 3}) is None and drift.level(None) == "too few"
    assert sum(drift.confidence_histogram([0.05, 0.5, 1.0, 1.2]).values()) == 4


def test_embedding_shift_is_zero_for_the_same_texts_and_grows_when_they_move() -> None:
    vocab = {"dns": [1.0, 0.0], "port": [0.0, 1.0]}

    def embed(texts: list[str]) -> np.ndarray:
        return np.array([vocab[t] for t in texts])

    assert drift.embedding_shift(["dns", "port"], ["port", "dns"], embed) == pytest.approx(0.0)
    assert drift.embedding_shift(["dns"] * 9 + ["port"], ["dns", "port"], embed) > 0.1
    assert drift.embedding_shift([], ["dns"], embed) is None


# --- A/B ----------------------------------------------------------------------------------------


def test_assignment_is_deterministic_and_balanced() -> None:
    users = [f"slack:T01:U{i:05d}" for i in range(10_000)]
    first = [ab.variant_for(u, "exp1", ["production", "candidate"]) for u in users]
    assert first == [ab.variant_for(u, "exp1", ["production", "candidate"]) for u in users]
    counts = Counter(first)
    chi2 = sum((counts[v] - 5000) ** 2 / 5000 for v in ("production", "candidate"))
    assert chi2 < 10.83  # p > 0.001 for a fair 50/50 split
    weighted = Counter(ab.variant_for(u, "exp1", ["a", "b"], [90, 10]) for u in users)
    assert abs(weighted["b"] / 10_000 - 0.10) < 0.015
    other = [ab.variant_for(u, "exp2", ["production", "candidate"]) for u in users]
    agree = sum(a == b for a, b in zip(first, other)) / len(users)
    assert 0.47 < agree < 0.53  # a new experiment reshuffles users


def test_experiments_file(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, home=tmp_path)
    assert ab.assignment(settings, "cli:alice") is None
    names, weights = ab.parse_variants("production,candidate", "80,20")
    ab.start(tmp_path, "exp1", names, weights)
    got = ab.assignment(settings, "cli:alice")
    assert got == {"experiment": "exp1", "variant": ab.variant_for("cli:alice", "exp1", names, weights)}
    with pytest.raises(InputError, match="is running"):
        ab.start(tmp_path, "exp2", names, weights)
    with pytest.raises(InputError, match="already exists"):
        ab.start(tmp_path, "exp1", names, weights)
    ab.stop(tmp_path, "exp1")
    assert ab.assignment(settings, "cli:alice") is None
    with pytest.raises(InputError, match="--weights"):
        ab.parse_variants("a,b", "50")
    with pytest.raises(InputError, match="--webhook"):
        check_webhook("ftp://example.com/hook")
    (tmp_path / ab.FILE).write_text("{not json")
    with pytest.raises(DataFormatError, match="experiments.json"):
        ab.load_experiments(tmp_path)


def test_decision_with_a_known_effect_and_with_none() -> None:
    control, better = ab.Arm("production", 400, 400, 200, 0.0), ab.Arm("candidate", 400, 400, 280, 0.4)
    result = ab.compare(control, better, effect=0.15)
    assert result["recommendation"] == ab.PROMOTE and result["p_value"] < 0.001 and result["prob_better"] > 0.99
    low, high = result["ci95"]
    assert low < 0.2 < high
    same = ab.Arm("candidate", 400, 400, 204, 0.02)
    assert ab.compare(control, same, effect=0.15)["recommendation"] == ab.KEEP
    assert ab.compare(control, same, effect=0.05)["recommendation"] == ab.MORE  # 400 < ~1565 planned
    worse = ab.Arm("candidate", 400, 400, 140, -0.3)
    assert ab.compare(control, worse, effect=0.15)["recommendation"] == ab.KEEP


# --- the CLI ------------------------------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str]) -> Any:
    """`netcopilot ARGS` in a subprocess, with text output."""
    done = run(args, env)
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    return done


def test_cli_monitor_on_an_empty_store(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    done = run_cli(["monitor", "--alert-exit"], env)
    assert done.returncode == 0, done.stderr
    assert "nothing to monitor yet" in done.stdout
    report = json.loads(run_cli(["monitor", "--json"], env).stdout)
    assert report["volume"]["answers"] == 0 and report["alerts"] == []


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for args, needle in ((["monitor", "--bogus"], "--bogus"), (["monitor", "--window", "7x"], "--window"),
                         (["ab", "report", "nope"], "nope")):
        done = run_cli(args, env)
        assert done.returncode == 2 and needle in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/monitor"
    server.shutdown()
    server.server_close()


def test_cli_monitor_alerts_exit_code_webhook_and_plot(tmp_path: Path, webhook: str) -> None:
    env = cli_env(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'netcopilot.db'}")
    populate(store)
    store.close()
    png = tmp_path / "monitor.png"
    done = run_cli(["monitor", "--since", "3w", "--alert-exit", "--webhook", webhook, "--png", str(png)], env)
    assert done.returncode == 1, done.stderr
    assert "ALERT" in done.stdout and "slack:T02 (flagged)" in done.stdout, done.stdout
    assert png.stat().st_size > 10_000
    (body,) = _Hook.received
    assert {a["name"] for a in body["alerts"]} == {"intent_drift", "segment"} and "slack:T02" in body["text"]
    quiet = run_cli(["monitor", "--since", "3w", "--alert-exit", "--max-psi", "5", "--min-sample", "1000"], env)
    assert quiet.returncode == 0, quiet.stderr
    dead = run_cli(["monitor", "--since", "3w", "--webhook", "http://127.0.0.1:9/none"], env)
    assert dead.returncode == 2 and "--webhook" in dead.stderr


def write_experiment(writer: Writer, name: str, rates: dict[str, float], per_variant: int = 60) -> None:
    """Answers tagged with the experiment and variant, as the Assistant tags them; a share `rate`
    of each variant's answers got positive feedback."""
    for variant, rate in rates.items():
        for i in range(per_variant):
            versions = {"models": "v1", "ab": {"experiment": name, "variant": variant}}
            writer.add(f"cli:{variant}{i}", "cli", "dns is slow", "dns_issue", 0.9, None,
                       1.0 if i % 10 < rate * 10 else -1.0, versions)


def test_ab_report_on_a_store_promotes_a_known_effect_and_keeps_none(tmp_path: Path, store: Store) -> None:
    writer = Writer(store)
    for name, rates in (("better", {"production": 0.5, "candidate": 0.8}), ("same", {"production": 0.6, "candidate": 0.6})):
        ab.start(tmp_path, name, ["production", "candidate"], [1.0, 1.0])
        write_experiment(writer, name, rates)
        ab.stop(tmp_path, name)
    rows = load_rows(store)
    experiments = ab.load_experiments(tmp_path)
    better = ab.report(rows, "better", experiments["better"], effect=0.3)
    assert [a["rated"] for a in better["arms"]] == [60, 60]
    (comparison,) = better["comparisons"]
    assert comparison["recommendation"] == ab.PROMOTE and comparison["difference"] == pytest.approx(0.3)
    assert comparison["needed_per_variant"] <= 60
    same = ab.report(rows, "same", experiments["same"], effect=0.3)
    assert same["comparisons"][0]["recommendation"] == ab.KEEP
    assert ab.report(rows, "same", experiments["same"])["comparisons"][0]["recommendation"] == ab.MORE


def test_cli_ab(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    assert run_cli(["ab", "start", "better", "--variants", "production,candidate", "--weights", "50,50"], env).returncode == 0
    store = Store(f"sqlite:///{tmp_path / 'netcopilot.db'}")
    writer = Writer(store)
    write_experiment(writer, "better", {"production": 0.5, "candidate": 0.8})
    store.close()
    result = json.loads(run_cli(["ab", "report", "better", "--effect", "0.3", "--json"], env).stdout)
    assert result["comparisons"][0]["recommendation"] == "promote"
    text = run_cli(["ab", "report", "better"], env).stdout
    assert "Recommendation: need more data" in text and "P(candidate better)=" in text
    assert run_cli(["ab", "stop", "better"], env).returncode == 0
    assert "better  stopped" in run_cli(["ab", "list"], env).stdout
