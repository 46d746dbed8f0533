"""`netcopilot threats`, `intel load` and `train threats` as users and evaluation scripts call them,
and the chat's security and topology questions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.clirun import REPO, cli_env, run

SHARED = REPO.parent / "shared" / "data"
CAPTURES = SHARED / "pcaps" / "captures"
KDD20 = SHARED / "nsl-kdd" / "KDDTrain+_20Percent.txt"
SAMPLES = REPO / "tests" / "topology" / "samples"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


def test_jsonl_contract_one_line_per_record_in_order(env, tmp_path: Path) -> None:
    lines = KDD20.read_text().splitlines()[:400]
    records = tmp_path / "records.txt"
    records.write_text("\n".join(",".join(line.split(",")[:41]) for line in lines) + "\n")  # unlabelled, as evaluated
    out = run(["threats", str(records), "--jsonl"], env)
    assert out.returncode == 0, out.stderr.decode()
    rows = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [r["index"] for r in rows] == list(range(400))
    assert all(set(r) == {"index", "attack", "category", "score"} for r in rows)
    assert all(r["category"] in {"normal", "dos", "probe", "r2l", "u2r"} and 0 <= r["score"] <= 1 for r in rows)
    assert all(r["attack"] == (r["category"] != "normal") for r in rows)
    truth = [line.split(",")[41] != "normal" for line in lines]
    accuracy = sum(r["attack"] == t for r, t in zip(rows, truth)) / len(rows)
    assert accuracy > 0.9  # training-file records: a sanity check, not an evaluation


def test_gzip_records_and_a_readable_summary(env, tmp_path: Path) -> None:
    gz = tmp_path / "r.txt.gz"
    gz.write_bytes(gzip.compress(("\n".join(KDD20.read_text().splitlines()[:300]) + "\n").encode()))
    out = run(["threats", str(gz)], env)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    assert "300 records" in text and "Most suspicious records" in text and "moved P(attack)" in text


def test_capture_findings_and_quiet_captures(env) -> None:
    out = run(["threats", str(CAPTURES / "synscan.pcapng"), "--json"], env)
    assert out.returncode == 0, out.stderr.decode()
    report = json.loads(out.stdout)
    assert report["kind"] == "capture" and report["findings"][0]["kind"] == "port_scan"
    assert report["findings"][0]["next_steps"] and "172.16.0.8" in report["findings"][0]["hosts"]
    human = run(["threats", str(CAPTURES / "arppoison.pcapng")], env).stdout.decode()
    assert "ARP spoofing" in human and "claims 172.16.0.1" in human  # not just the file name
    quiet = run(["threats", str(CAPTURES / "dns_query_response.pcapng"), "--json"], env)
    assert [f for f in json.loads(quiet.stdout)["findings"] if not f["kind"].startswith("model_")] == []


def test_intel_lists_make_findings(env, tmp_path: Path) -> None:
    blocklist = tmp_path / "block.netset"
    blocklist.write_text("# test list\n64.13.134.0/24\nnot-an-ip!!\n")
    out = run(["intel", "load", str(blocklist)], env)
    assert out.returncode == 0 and "saved" in out.stderr.decode(), out.stderr.decode()
    report = json.loads(run(["threats", str(CAPTURES / "synscan.pcapng"), "--json"], env).stdout)
    assert any(f["kind"] == "intel_match" for f in report["findings"])


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"1,2,3\n", "field"),
    (b"\x00\x01binary junk\xff" * 10, "not UTF-8"),
])
def test_bad_input_is_one_line_exit_2(env, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    out = run(["threats", str(path)], env)
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and message in err and str(path) in err and len(err.splitlines()) == 1, err


def test_a_truncated_capture_is_read_up_to_the_cut(env, tmp_path: Path) -> None:
    data = (CAPTURES / "synscan.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[: len(data) // 2 + 7])
    out = run(["threats", str(cut)], env)
    assert out.returncode == 0 and "truncated" in out.stdout.decode() and "scanned" in out.stdout.decode(), out.stderr.decode()
    header_only = tmp_path / "header.pcap"
    header_only.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    out = run(["threats", str(header_only)], env)
    assert out.returncode == 0 and "truncated" in out.stdout.decode() and "Traceback" not in out.stderr.decode()


def test_train_threats_replaces_the_default(env, tmp_path: Path) -> None:
    data = tmp_path / "train.txt"
    data.write_text("\n".join(KDD20.read_text().splitlines()[:3000]) + "\n")
    out = run(["train", "threats", "--data", str(data)], env, timeout=600)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    models = Path(env["NETCOPILOT_HOME"]) / "models" / "threats"
    assert (models / "MODEL_CARD.md").is_file()
    report = json.loads(run(["threats", str(data), "--json"], env).stdout)
    assert str(models) in report["model"]
    missing = run(["train", "threats"], env)
    assert missing.returncode == 2 and "--data" in missing.stderr.decode()


def test_the_chat_routes_security_and_topology_questions(assistant) -> None:
    from netcopilot.core.types import Request
    from netcopilot.topology.graph import ingest

    answer = assistant.answer(Request(text=f"is anything malicious in {CAPTURES / 'synscan.pcapng'}?"))
    assert answer.intent == "security" and answer.analysis and not answer.analysis["error"], answer.analysis
    assert "port" in " ".join(answer.analysis["summary"]).lower()
    empty = assistant.answer(Request(text="what does our network look like?"))
    assert empty.intent == "topology" and "topology ingest" in empty.analysis["error"]
    ingest(assistant.store, sorted(SAMPLES.iterdir()))
    answer = assistant.answer(Request(text="what does our network look like?"))
    assert answer.analysis and answer.analysis["png"] and "nodes" in answer.analysis["summary"][0]
