"""The command line through real subprocesses, as users and the evaluation scripts call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str], stdin: str = "", timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netcopilot", *args], input=stdin.encode(), capture_output=True,
                          env=env, timeout=timeout, cwd=REPO)


@pytest.fixture
def env(tmp_path: Path, models_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NETCOPILOT_")}
    return {**base, "NETCOPILOT_HOME": str(tmp_path), "NETCOPILOT_MODELS_DIR": str(models_dir), "COLUMNS": "120"}


def test_help_lists_commands_with_examples(env) -> None:
    out = run(["--help"], env)
    assert out.returncode == 0
    for name in ("chat", "ask", "suggest", "train", "check"):
        assert name in out.stdout.decode()
    assert "Examples" in out.stdout.decode()


def test_suggest_jsonl_contract(env) -> None:
    questions = ["why can't I reach 10.0.0.5 on port 443?", "", "dns is slow on 10.1.2.3", "ping 8.8.8.8; rm -rf /"]
    out = run(["suggest", "--jsonl", "--k", "3"], env, stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr.decode()
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["query"] for r in rows] == questions
    for row in rows:
        assert set(row) == {"query", "intent", "entities", "commands"}
        assert set(row["intent"]) == {"name", "confidence"} and 0.0 <= row["intent"]["confidence"] <= 1.0
        for ent in row["entities"]:
            assert set(ent) == {"label", "text", "start", "end"} and row["query"][ent["start"]:ent["end"]] == ent["text"]
        for cmd in row["commands"]:
            assert set(cmd) == {"command", "utility", "score", "risk", "why"} and cmd["risk"] in ("safe", "caution", "dangerous")
    assert [len(r["commands"]) for r in rows] == [3, 0, 3, 3]
    scores = [c["score"] for c in rows[0]["commands"]]
    assert rows[0]["intent"]["name"] in ("port_check", "connectivity") and "10.0.0.5" in rows[0]["commands"][0]["command"]
    assert scores == sorted(scores, reverse=True) or len({c["utility"] for c in rows[0]["commands"]}) > 1
    assert all("rm" not in c["command"].split() for c in rows[3]["commands"])


def test_suggest_survives_invalid_utf8(env) -> None:
    proc = subprocess.run([sys.executable, "-m", "netcopilot", "suggest", "--jsonl"], input=b"ping \xff\xfe 10.0.0.1\n",
                          capture_output=True, env=env, timeout=120, cwd=REPO)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1


def test_ask_json(env) -> None:
    out = run(["ask", "--json", "is ssh open on bastion-1?"], env)
    assert out.returncode == 0, out.stderr.decode()
    answer = json.loads(out.stdout)
    assert answer["intent"]["name"] in ("port_check", "ssh")
    assert {"commands", "entities", "matches", "causes", "fixes", "model_versions"} <= set(answer)


def test_piped_chat_answers_each_line_and_exits(env) -> None:
    out = run(["chat"], env, stdin="is port 443 open on web01.corp.example?\nand port 80?\n:good\n:why\n")
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    assert "web01.corp.example" in text and "80" in text
    assert "Marked as solved" in text and "How the intent was chosen" in text


def test_make_chat_with_piped_input(env) -> None:
    out = subprocess.run(["make", "-s", "chat"], input=b"why can't I reach 10.0.0.5 on port 443?\n",
                         capture_output=True, env=env, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert "10.0.0.5" in out.stdout.decode()


@pytest.mark.parametrize(
    "args, message",
    [
        (["suggest", "--k", "0"], "Invalid value for '--k'"),
        (["nonsense"], "No such command"),
        (["ask"], "Missing argument"),
    ],
)
def test_bad_flags_are_one_line_exit_2(env, args: list[str], message: str) -> None:
    out = run(args, env)
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_missing_models_is_one_line(env, tmp_path: Path) -> None:
    out = run(["ask", "hi"], {**env, "NETCOPILOT_MODELS_DIR": str(tmp_path / "none")})
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and "netcopilot train" in err and len(err.splitlines()) == 1


def test_malformed_knowledge_names_file_and_line(env, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "commands").mkdir(parents=True)
    (kb / "runbooks").mkdir()
    (kb / "commands" / "broken.yml").write_text("commands:\n  - id: x\n    utility: [oops\n")
    out = run(["check"], {**env, "NETCOPILOT_KNOWLEDGE_DIR": str(kb)})
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and "broken.yml:" in err and "not valid YAML" in err and len(err.splitlines()) == 1


def test_bad_setting_is_one_line(env) -> None:
    out = run(["ask", "hi"], {**env, "NETCOPILOT_CLARIFY_BELOW": "lots"})
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and "NETCOPILOT_CLARIFY_BELOW" in err and len(err.splitlines()) == 1


def test_train_if_missing_is_a_no_op_when_models_exist(env, models_dir: Path) -> None:
    before = sorted(p.name for p in models_dir.iterdir())
    out = run(["train", "--if-missing"], env)
    assert out.returncode == 0 and "models present" in out.stderr.decode()
    assert sorted(p.name for p in models_dir.iterdir()) == before


def test_chat_feedback_lands_in_the_satisfaction_report(env, tmp_path: Path) -> None:
    chat = ("is port 443 open on web01.corp.example?\n:good\n"
            "why is dns slow on 10.1.2.3?\n:bad wrong resolver\n"
            "thanks, that worked perfectly!\n")
    out = run(["chat"], env, stdin=chat)
    assert out.returncode == 0, out.stderr.decode()
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    store = Store(Settings.load(environ=env).database_url)
    rows = store.satisfaction_rows()
    store.close()
    assert [(r["kind"], r["value"] > 0) for r in rows] == [("good", True), ("bad", False), ("reply", True)]
    assert rows[0]["intent"] == "port_check" and all(r["model_version"] for r in rows)

    png = tmp_path / "satisfaction.png"
    report = run(["report", "satisfaction", "--since", "7d", "--png", str(png)], env)
    text = report.stdout.decode()
    assert report.returncode == 0, report.stderr.decode()
    assert "by intent" in text and "port_check" in text and "by model version" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    bad = run(["report", "satisfaction", "--since", "soon"], env)
    assert bad.returncode == 2 and "--since 'soon'" in bad.stderr.decode() and "Traceback" not in bad.stderr.decode()
