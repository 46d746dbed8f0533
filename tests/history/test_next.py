"""`netcopilot next --jsonl`: one object per input line, learning only from the lines before."""

from __future__ import annotations

import json
from pathlib import Path

from netcopilot.history.nextcmd import NextCommandModel, online_predictions
from tests.clirun import cli_env, run


def test_learns_a_routine_and_never_looks_ahead() -> None:
    routine = ["cd /srv/app", "git pull", "make", "ss -tlnp"] * 5
    out = list(online_predictions(routine, k=3))
    assert out[-1][1][0] == "cd /srv/app" and out[-2][1][0] == "ss -tlnp"
    prefix = list(online_predictions(routine[:7], k=3))
    assert prefix == out[:7]  # what came later changes nothing earlier
    assert NextCommandModel().predict(3) == []


def test_cli_contract(tmp_path: Path) -> None:
    lines = ["ping -c 3 10.0.0.1", "traceroute -n 10.0.0.1", "", "ping -c 3 10.0.0.1", "traceroute -n 10.0.0.1", "ping -c 3 10.0.0.1"]
    out = run(["next", "--jsonl", "--k", "2"], cli_env(tmp_path), stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr.decode()
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["command"] for r in rows] == lines
    assert all(set(r) == {"command", "next"} and len(r["next"]) <= 2 for r in rows)
    assert rows[-1]["next"][0] == "traceroute -n 10.0.0.1"
    bad = run(["next", "--jsonl", "--k", "0"], cli_env(tmp_path))
    assert bad.returncode == 2 and "--k" in bad.stderr.decode()
