"""`netcopilot next --jsonl`: one object per input line, learning only from the lines before."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from netcopilot.errors import DataFormatError
from netcopilot.history.nextcmd import NextCommandModel, NgramBlend, TeamCounts, load_prior, online_predictions
from netcopilot.history.nextcmd_features import FEATURES, CommandStats
from netcopilot.history.nextcmd_team import TEAM_FILE, build_team, load_shipped_team, load_team, save_team
from tests.clirun import cli_env, run


def test_learns_a_routine_and_never_looks_ahead() -> None:
    routine = ["cd /srv/app", "git pull", "make", "ss -tlnp"] * 5
    out = list(online_predictions(routine, k=3))
    assert out[-1][1][0] == "cd /srv/app" and out[-2][1][0] == "ss -tlnp"
    prefix = list(online_predictions(routine[:7], k=3))
    assert prefix == out[:7]  # what came later changes nothing earlier
    assert NextCommandModel().predict(3) == []


def test_predictions_never_depend_on_later_lines() -> None:
    rng = np.random.default_rng(7)
    vocab = ["ls -la", "ping -c 1 10.0.0.1", "ip route", "dig example.org", "ssh r1", "exit"]
    lines = [vocab[j] for j in rng.integers(0, len(vocab), 120)]
    full = list(online_predictions(lines, k=3))
    changed = lines[:60] + ["tcpdump -i eth0"] * 60  # a different future
    assert list(online_predictions(changed, k=3))[:60] == full[:60]


def test_learns_a_periodic_scripted_block() -> None:
    # "sleep 5" comes twice, so the last command alone does not tell what follows
    block = ["rsync -a /etc r2:/backup", "ssh r2 'systemctl reload nginx'", "curl -sI http://r2/", "sleep 5",
             "ssh r2 uptime", "grep -c ERROR /var/log/nginx/error.log", "sleep 5"]
    lines = ["vim notes.txt", "ls"] + block * 6
    out = list(online_predictions(lines, k=1))
    tail = [(pred[0] if pred else None) for _, pred in out[-len(block) * 2:-1]]
    assert tail == lines[-len(block) * 2 + 1:]  # every step of the last two periods predicted first


def test_team_counts_suggest_what_this_user_has_not_met() -> None:
    team = TeamCounts().add_stream(["show ip bgp summary", "show ip route bgp", "show ip bgp summary",
                                    "show ip route bgp"])
    model = NextCommandModel(team=team)
    model.update("ls")
    model.update("show ip bgp summary")  # this user never ran anything after it
    assert "show ip route bgp" in model.predict(3)
    assert "show ip route bgp" not in NextCommandModel().predict(3)


def test_context_is_optional_and_used_when_present() -> None:
    stats = CommandStats()
    cwd, hour = FEATURES.index("p_cwd"), FEATURES.index("p_hour")
    for cmd in ["git pull", "make", "git pull", "make"]:
        stats.update(cmd, cwd="/srv/app", hour=9, failed=False)
    row = stats.features(["git pull"], {})[0]
    assert row[cwd] == 0.5 and row[hour] == 0.5
    bare = CommandStats()
    bare.update("git pull")
    assert bare.features(["git pull"], {})[0][cwd] == 0.0
    model = NextCommandModel()
    when = datetime(2024, 5, 1, 9, 30)
    for cmd, status in [("ping -c 1 r1", 1), ("ip link show", 0), ("ping -c 1 r1", 1), ("ip link show", 0)]:
        model.update(cmd, cwd="/home/ops", exit_status=status, when=when)
    assert model.predict(1) == ["ping -c 1 r1"]
    assert model.stats.after_failure["ping -c 1 r1"]["ip link show"] == 2


def test_interpolated_probability_follows_the_contexts_and_leaves_room_for_new_commands() -> None:
    stats = CommandStats()
    for cmd in ["git pull", "make", "git pull", "make", "git pull", "make", "ls", "git pull"]:
        stats.update(cmd)
    vocab = ["git pull", "make", "ls", "never run before"]
    wb = [row[FEATURES.index("wb")] for row in stats.features(vocab, {})]
    assert wb[1] > 0.5 > wb[0] and wb[1] > wb[2]  # "make" always followed "git pull"
    assert 0.0 < wb[3] < wb[2] and sum(wb) <= 1.0  # an unseen command keeps a little mass
    log_wb = [row[FEATURES.index("log_wb")] for row in stats.features(vocab, {})]
    assert sorted(log_wb) == [log_wb[3], log_wb[2], log_wb[0], log_wb[1]] and all(0 <= v <= 1 for v in log_wb)


def test_weights_are_checked_and_the_prior_is_shipped() -> None:
    prior = load_prior()
    assert prior.shape == (len(FEATURES),) and np.any(prior != 0)
    with pytest.raises(ValueError, match="one per feature"):
        NextCommandModel(weights=[1.0, 2.0])


def test_old_blend_still_runs_as_an_ablation() -> None:
    blend = NgramBlend()
    for cmd in ["a", "b", "a", "b", "a"]:
        blend.update(cmd)
    assert blend.predict(1) == ["b"]


def test_cli_contract(tmp_path: Path) -> None:
    lines = ["ping -c 3 10.0.0.1", "traceroute -n 10.0.0.1", "", "ping -c 3 10.0.0.1", "traceroute -n 10.0.0.1",
             "ping -c 3 10.0.0.1"]
    out = run(["next", "--jsonl", "--k", "2"], cli_env(tmp_path), stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr.decode()
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["command"] for r in rows] == lines
    assert all(set(r) == {"command", "next"} and len(r["next"]) <= 2 for r in rows)
    assert rows[2]["next"] == rows[1]["next"]  # an empty line is answered but not learned
    assert rows[-1]["next"][0] == "traceroute -n 10.0.0.1"
    bad = run(["next", "--jsonl", "--k", "0"], cli_env(tmp_path))
    assert bad.returncode == 2 and "--k" in bad.stderr.decode()


def test_team_builder_prunes_and_round_trips(tmp_path: Path) -> None:
    streams = [["ls", "cd", "ls", "cd", "ls", "vi"], ["ls", "cd", "make", "ls", "cd"]]
    team = build_team(streams, min_count=2, top=1)
    assert dict(team.ngram[("ls",)]) == {"cd": 4}  # "vi" after "ls" was seen once: dropped
    assert ("cd", "make") not in team.ngram and "vi" not in team.unigram and "make" not in team.unigram
    path = tmp_path / "team.json.gz"
    save_team(team, path)
    again = load_team(path)
    assert {c: list(f.items()) for c, f in again.ngram.items()} == {c: list(f.items()) for c, f in team.ngram.items()}
    assert again.unigram == team.unigram
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(DataFormatError, match="bad.json.gz"):
        load_team(tmp_path / "bad.json.gz")


def _team_pick(team: TeamCounts) -> tuple[str, str]:
    """The team's best-attested one-command context and its most frequent follower other than itself."""
    ctx, followers = max(((c, f) for c, f in team.ngram.items() if len(c) == 1),
                         key=lambda cf: sum(cf[1].values()))
    return ctx[0], next(cmd for cmd in followers if cmd != ctx[0])


def test_shipped_team_prior_is_small_documented_and_counts_only() -> None:
    folder = resources.files("netcopilot.history")
    raw = folder.joinpath(TEAM_FILE).read_bytes()
    assert len(raw) < 200_000  # counts of a few thousand contexts, not a data set
    team = load_shipped_team()
    assert len(team.ngram) > 100 and all(len(c) <= 3 for c in team.ngram)
    assert all(n >= 2 for f in team.ngram.values() for n in f.values())  # pruned: nothing seen once
    card = folder.joinpath("nextcmd_team.md").read_text()
    rebuild = "--save-team src/netcopilot/history/nextcmd_team.json.gz"
    for needed in ("Schonlau", "5,000", "licen", rebuild, "leave-one-user-out"):
        assert needed in card


def test_cli_uses_the_team_prior_unless_told_not_to(tmp_path: Path) -> None:
    ctx, follower = _team_pick(load_shipped_team())
    lines = ["echo start", ctx]  # a new user who has never run `follower`
    env = cli_env(tmp_path)
    with_team = run(["next", "--jsonl", "--k", "3"], env, "\n".join(lines))
    assert follower in json.loads(with_team.stdout.splitlines()[-1])["next"]
    alone = run(["next", "--jsonl", "--k", "3", "--no-team"], env, "\n".join(lines))
    assert alone.returncode == 0, alone.stderr.decode()
    rows = [json.loads(r) for r in alone.stdout.splitlines()]
    assert [r["command"] for r in rows] == lines and follower not in rows[-1]["next"]
    assert set(rows[-1]["next"]) <= set(lines)  # only what this user ran


def test_cli_names_a_bad_team_file(tmp_path: Path) -> None:
    bad = tmp_path / "team.json.gz"
    bad.write_text("{}")
    out = run(["next", "--jsonl", "--team-file", str(bad)], cli_env(tmp_path), "ls\n")
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and str(bad) in err and len(err.splitlines()) == 1 and "Traceback" not in err
