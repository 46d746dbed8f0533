"""Execution-time prediction: parsing, monotone priors, learning from recorded runs, the
`netcopilot predict-time --jsonl` contract through the real CLI, and one real measurement."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from netcopilot.errors import DataFormatError
from netcopilot.history.records import CommandEvent, save_events
from netcopilot.history.timing import DurationModel, main_part, parse, read_learn_file
from netcopilot.store.db import Store
from tests.clirun import cli_env, run


@pytest.mark.parametrize(("command", "family", "expected"), [
    ("ping -c 5 -i 0.2 10.0.0.1", "ping", {"schedule": 0.8, "steps": 5, "budget": 10.0, "target": "10.0.0.1"}),
    ("sudo ping -c3 -W 2 host.example", "ping", {"schedule": 2.0, "budget": 2.0, "target": "host.example"}),
    ("ping -w 4 10.0.0.1", "ping", {"cap": 4.0, "schedule": 4.0, "unbounded": False}),
    ("ping 10.0.0.1", "ping", {"unbounded": True}),
    ("timeout 3 ping 10.0.0.1", "ping", {"cap": 3.0, "schedule": 3.0, "unbounded": False}),
    ("env LC_ALL=C time -p ping -f -c 100 127.0.0.1", "ping", {"schedule": 0.0}),
    ("dig +time=2 +tries=3 @10.0.0.53 example.com", "dig", {"budget": 6.0, "target": "10.0.0.53:53"}),
    ("dig +time=1 +retry=2 -p 5353 @127.0.0.1 a.example MX b.example", "dig",
     {"budget": 3.0, "requests": 2.0, "target": "127.0.0.1:5353"}),
    ("dig example.com", "dig", {"budget": 15.0, "target": "resolver:53"}),
    ("host -W 2 -R 0 example.com 10.0.0.53", "host", {"budget": 4.0, "target": "10.0.0.53:53"}),
    ("nslookup -timeout=2 -retry=2 example.com 10.0.0.53", "nslookup", {"budget": 4.0}),
    ("curl -s -m 5 --connect-timeout 2 'https://api.example/v1/x?q=1'", "curl",
     {"cap": 5.0, "budget": 2.0, "target": "https://api.example/v1/x"}),
    ("wget -q -O out.html -T 3 -t 2 http://web.example/", "wget", {"budget": 6.0, "target": "http://web.example/"}),
    ("nc -z -w 2 10.0.0.5 20-25", "nc", {"budget": 2.0, "requests": 6.0}),
    ("ssh -o ConnectTimeout=4 -p 2222 admin@router uptime", "ssh", {"budget": 4.0, "target": "admin@router:2222"}),
    ("ssh router", "ssh", {"unbounded": True}),
    ("sleep 1m 30", "sleep", {"schedule": 90.0}),
    ("iperf3 -c 10.0.0.9 -t 5", "iperf3", {"schedule": 5.0}),
    ("iperf3 -s", "iperf3", {"unbounded": True}),
    ("traceroute -n -m 5 -q 1 127.0.0.1", "traceroute", {"target": "127.0.0.1"}),
    ("mtr --report -c 4 10.0.0.1", "mtr", {"schedule": 4.0}),
    ("tcpdump -i eth0 -c 10", "tcpdump", {"unbounded": True}),
    ("nmap -sn 10.0.0.0/24", "nmap", {}),
    ("ss -tlnp", "ss", {}),
    ("git status", "git", {}),
])
def test_parser_features(command: str, family: str, expected: dict) -> None:
    p = main_part(command)
    assert p.family == family
    got = {"schedule": p.schedule, "steps": p.steps, "budget": p.budget, "cap": p.cap, "unbounded": p.unbounded,
           "target": p.targets[0][0] if p.targets else None, "requests": p.targets[0][1] if p.targets else None}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value) if isinstance(value, float) else got[key] == value, (key, got)


def test_compound_lines_and_garbage_never_raise() -> None:
    assert [[q.family for q in pipe] for pipe in parse("sleep 1; ping -c 2 x | grep ttl && dig y")] == \
        [["sleep"], ["ping", "grep"], ["dig"]]
    model = DurationModel()
    for line in ["", "   ", "'unbalanced", "|||", ";;", "sudo", "timeout", "ping -c abc", "dig +tries=x",
                 "nmap -p- -T9 x", "curl", "\x00\x01", "a=b", "ping -c -5 x", "😀 ping"]:
        pred = model.predict_one(line)
        assert 0 <= pred.low <= pred.seconds <= pred.high and all(math.isfinite(v) for v in (pred.low, pred.high))
    two = model.predict_one("sleep 1; sleep 2").seconds
    assert two == pytest.approx(model.predict_one("sleep 1").seconds + model.predict_one("sleep 2").seconds)


@pytest.mark.parametrize("template, values", [
    ("ping -c {} 10.0.0.1", [1, 2, 5, 20]),
    ("ping -c 5 -i {} 10.0.0.1", [0.05, 0.2, 1, 2]),
    ("dig +time={} +tries=2 @10.0.0.53 x.example", [1, 2, 5]),
    ("dig +time=1 +tries={} @10.0.0.53 x.example", [1, 2, 4]),
    ("nc -z -w {} 10.0.0.5 22", [1, 3, 9]),
    ("traceroute -m {} -w 2 10.0.0.1", [5, 15, 30]),
    ("sleep {}", [0.1, 1, 10]),
])
def test_predictions_are_monotone_in_counts_intervals_and_timeouts(template: str, values: list) -> None:
    model = DurationModel().fit([("dig +time=1 +tries=1 @10.0.0.53 x.example", 1.05),  # a black hole
                                 ("nc -z -w 2 10.0.0.5 22", 2.01)])
    preds = [model.predict_one(template.format(v)) for v in values]
    assert all(a.high <= b.high + 1e-9 and a.seconds <= b.seconds + 1e-9 for a, b in zip(preds, preds[1:]))
    assert preds[-1].high > preds[0].high


def test_learning_from_events_changes_that_target_only() -> None:
    before = DurationModel()
    slow = "curl -s https://slow.example/report"
    runs = [(slow, 4.2), (slow, 3.9), (slow, 4.0), ("curl -s https://fast.example/", 0.08)]
    model = DurationModel().fit([CommandEvent(c, duration_ms=s * 1000, exit_status=0) for c, s in runs]
                                + [CommandEvent(slow, duration_ms=60_000, exit_status=130)])  # interrupted: ignored
    assert model.predict_one(slow).seconds == pytest.approx(4.0, rel=0.1)
    assert model.predict_one(slow).basis.startswith("history of this target")
    assert before.predict_one(slow).seconds < 1
    assert model.predict_one("curl -s https://fast.example/").seconds < 0.2
    assert model.predict_one("curl -s -m 2 https://slow.example/report").seconds <= 2.1  # --max-time caps


def test_a_dns_black_hole_is_learned_as_timeouts_not_as_a_fixed_delay() -> None:
    model = DurationModel().fit([("dig +time=1 +tries=2 @10.9.9.9 a.example", 2.03),
                                 ("dig @10.0.0.53 a.example", 0.03), ("dig @10.0.0.53 b.example", 0.04)])
    assert model.predict_one("dig +time=2 +tries=3 @10.9.9.9 c.example").seconds == pytest.approx(6.0, rel=0.05)
    answered = model.predict_one("dig +time=2 +tries=3 @10.0.0.53 c.example")
    assert answered.seconds < 0.1 and answered.high < 1


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = DurationModel(decay=0.5).fit([("ping -c 3 10.1.1.1", 2.1), ("sleep 1", 1.01)])
    path = model.save(tmp_path / "timing.json")
    again = DurationModel.load(path)
    assert again.get_params() == model.get_params()
    assert again.predict(["ping -c 3 10.1.1.1", "ping -c 9 10.1.1.1"]).tolist() == \
        model.predict(["ping -c 3 10.1.1.1", "ping -c 9 10.1.1.1"]).tolist()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataFormatError, match="bad.json"):
        DurationModel.load(tmp_path / "bad.json")


def test_learn_file_errors_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text('{"command": "sleep 1", "seconds": 1.0}\n\n{"command": "x", "seconds": -3}\n')
    with pytest.raises(DataFormatError, match=r"runs.jsonl:3: field 'seconds'"):
        read_learn_file(path)


LINES = ["ping -c 3 -i 0.2 127.0.0.1", "", "not a real command --x", "'broken", "dig +time=1 +tries=2 @10.0.0.53 x",
         "curl -s http://127.0.0.1:9/slow", "ssh router", "timeout 2 ping 8.8.8.8", "ls | wc -l; sleep 1"]


def test_cli_contract_one_object_per_line(tmp_path: Path) -> None:
    out = run(["predict-time", "--jsonl"], cli_env(tmp_path), stdin="\n".join(LINES) + "\n")
    assert out.returncode == 0, out.stderr.decode()
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["command"] for r in rows] == LINES
    for r in rows:
        assert {"command", "seconds", "low", "high"} <= set(r)
        assert all(isinstance(r[k], float) for k in ("seconds", "low", "high"))
        assert 0 <= r["low"] <= r["seconds"] <= r["high"]
    assert rows[0]["seconds"] == pytest.approx(0.4, abs=0.2) and rows[7]["seconds"] <= 2.1
    text = run(["predict-time"], cli_env(tmp_path), stdin="ping -c 5 10.0.0.1\n")
    assert text.returncode == 0 and text.stdout.decode().startswith("ping -c 5 10.0.0.1: about 4.")


def test_cli_learns_from_history_and_learn_file(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'netcopilot.db'}")  # the store under NETCOPILOT_HOME the CLI opens
    now = datetime.now(timezone.utc)
    save_events(store, [CommandEvent("make deploy", user="alice", duration_ms=42_000, exit_status=0, started_at=now),
                        CommandEvent("make deploy", user="alice", duration_ms=40_000, exit_status=0, started_at=now)])
    alice = json.loads(run(["predict-time", "--jsonl", "--user", "alice"], env, stdin="make deploy\n").stdout)
    bob = json.loads(run(["predict-time", "--jsonl", "--user", "bob"], env, stdin="make deploy\n").stdout)
    assert alice["seconds"] == pytest.approx(41, rel=0.1) and bob["seconds"] < 5
    learn = tmp_path / "runs.jsonl"
    learn.write_text(json.dumps({"command": "make deploy", "seconds": 7.0}) + "\n")
    taught = json.loads(run(["predict-time", "--jsonl", "--user", "bob", "--learn", str(learn)], env,
                            stdin="make deploy\n").stdout)
    assert taught["seconds"] == pytest.approx(7.0, rel=0.1)


def test_cli_bad_flags_and_files_exit_2_with_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    for args, needle in [(["--learn", str(tmp_path / "missing.jsonl")], "missing.jsonl"),
                         (["--learn", str(bad)], "bad.jsonl:1")]:
        out = run(["predict-time", "--jsonl", *args], env, stdin="sleep 1\n")
        err = out.stderr.decode().strip()
        assert out.returncode == 2 and needle in err and len(err.splitlines()) == 1 and not out.stdout


@pytest.mark.skipif(shutil.which("ping") is None, reason="needs iputils ping")
def test_real_ping_is_predicted_within_a_loose_factor() -> None:
    command = ["ping", "-c", "3", "-i", "0.2", "127.0.0.1"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, timeout=30)
    actual = time.perf_counter() - start
    if done.returncode != 0:
        pytest.skip(f"ping cannot run here: {done.stderr.decode().strip()}")
    predicted = DurationModel().predict_one(" ".join(command))
    assert actual / 2 <= predicted.seconds <= actual * 2
    assert predicted.low <= actual <= predicted.high * 1.5
