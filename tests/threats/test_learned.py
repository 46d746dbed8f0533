"""Confirmed threats: `netcopilot threats confirm` keeps an analyst's verdict on scanned records in
NSL-KDD's format, and `train threats` trains on them (training side only)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from netcopilot.pipeline.features import connection_features
from netcopilot.threats.learned import confirm, learned_file
from netcopilot.threats.model import ThreatModel, train_threat_model
from netcopilot.threats.nslkdd import COLUMNS, read_records
from netcopilot.threats.zeek import read_conn_log
from tests.clirun import REPO, cli_env, run
from tests.threats.test_pcap_rules import ZEEK_HEADER, ZEEK_ROWS

KDD20 = REPO.parent / "shared" / "data" / "nsl-kdd" / "KDDTrain+_20Percent.txt"
needs_data = pytest.mark.skipif(not KDD20.exists(), reason=f"NSL-KDD data not found at {KDD20}")
U2R = {"buffer_overflow", "rootkit", "loadmodule", "perl"}
SMALL = dict(n_trees=8, max_depth=10, boosting_rounds=5, prototypes=16, n_jobs=1)  # as test_model's small model


@pytest.fixture
def conn_log(tmp_path: Path) -> Path:
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_HEADER + "\n".join(ZEEK_ROWS) + "\n")
    return path


def test_confirmed_conn_log_rows_read_back_with_the_scan_numbering_and_features(conn_log: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    scan = run(["threats", str(conn_log), "--jsonl"], env)
    assert [json.loads(line)["index"] for line in scan.stdout.decode().splitlines()] == [0, 1, 2, 3]
    out = run(["threats", "confirm", str(conn_log), "--rows", "2,0", "--label", "Neptune"], env)
    assert out.returncode == 0, out.stderr.decode()
    assert "added 2 confirmed record(s) labelled neptune" in out.stdout.decode()

    X, labels = read_records(learned_file(tmp_path / "home"))
    assert labels == ["neptune", "neptune"]
    expected = connection_features(read_conn_log(conn_log)).iloc[[2, 0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(X, expected[list(COLUMNS)], check_dtype=False)  # no training/serving skew


def test_the_same_records_are_not_added_twice(conn_log: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert confirm(home, conn_log, "neptune", [0, 2]).added == 2
    again = confirm(home, conn_log, "neptune", [0, 1, 1])
    assert (again.selected, again.added) == (3, 1)  # #0 was there, #1 repeated in the batch
    assert confirm(home, conn_log, "normal", [0]).added == 1  # another verdict is another row
    _, labels = read_records(learned_file(home))
    assert labels == ["neptune", "neptune", "neptune", "normal"]


@needs_data
def test_nsl_kdd_records_are_kept_as_written(tmp_path: Path) -> None:
    source = tmp_path / "records.txt"
    source.write_text("\n".join(KDD20.read_text().splitlines()[:30]) + "\n")
    assert confirm(tmp_path / "home", source, "normal", None).added == 30
    X, labels = read_records(learned_file(tmp_path / "home"))
    pd.testing.assert_frame_equal(X, read_records(source)[0])
    assert labels == ["normal"] * 30


@pytest.mark.parametrize("args,message", [
    (["--label", "bogus"], "'bogus' is not an NSL-KDD label"),
    (["--label", "dos", "--rows", "1,x"], "'x' is not a record number"),
    (["--label", "dos", "--rows", "4"], "no record #4 (the file has 4 records"),
])
def test_bad_label_or_rows_is_one_line_exit_2(conn_log: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = run(["threats", "confirm", str(conn_log), *args], cli_env(tmp_path / "home"))
    lines = out.stderr.decode().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and message in lines[0], lines
    assert not learned_file(tmp_path / "home").exists()


@pytest.fixture(scope="module")
def sample_and_u2r(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """3,000 KDDTrain+ records without any u2r attack, and the 20 % file's u2r records."""
    if not KDD20.exists():
        pytest.skip(f"NSL-KDD data not found at {KDD20}")
    folder = tmp_path_factory.mktemp("kdd")
    lines = KDD20.read_text().splitlines()
    sample, u2r = folder / "sample.txt", folder / "u2r.txt"
    sample.write_text("\n".join(lines[:3000]) + "\n")
    u2r.write_text("\n".join(line for line in lines[3000:] if line.split(",")[41] in U2R) + "\n")
    assert not any(line.split(",")[41] in U2R for line in lines[:3000])
    return sample, u2r


def test_training_uses_confirmed_records_on_the_training_side(sample_and_u2r, tmp_path: Path) -> None:
    sample, u2r = sample_and_u2r
    learned = confirm(tmp_path / "home", u2r, "u2r", None)
    attacks = read_records(u2r)[0]
    without = train_threat_model(sample, tmp_path / "without", leave_out=False, **SMALL)
    with_ = train_threat_model(sample, tmp_path / "with", leave_out=False, learned_path=learned.path, **SMALL)
    assert "learned" not in without["data"]
    confirmed = with_["data"]["learned"]
    assert confirmed["records"] == confirmed["per_category"]["u2r"] == learned.added > 0
    assert with_["data"]["fingerprint"] != without["data"]["fingerprint"]
    assert with_["held_out"]["support"] == without["held_out"]["support"]  # the same held-out records
    assert "u2r" not in ThreatModel.load(tmp_path / "without").predict(attacks, novelty=False).tolist()
    assert set(ThreatModel.load(tmp_path / "with").predict(attacks, novelty=False).tolist()) == {"u2r"}


def test_train_threats_reports_confirmed_records_unless_no_learned(sample_and_u2r, tmp_path: Path) -> None:
    sample, u2r = sample_and_u2r
    env = cli_env(tmp_path / "home")
    assert run(["threats", "confirm", str(u2r), "--label", "u2r"], env).returncode == 0
    out = run(["train", "threats", "--data", str(sample)], env, timeout=600)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert f"confirmed records used: {len(u2r.read_text().splitlines())} from" in out.stderr.decode()
    assert newest_manifest(tmp_path / "home")["data"]["learned"]["path"] == str(learned_file(tmp_path / "home"))
    plain = run(["train", "threats", "--data", str(sample), "--no-learned"], env, timeout=600)
    assert plain.returncode == 0 and "confirmed records" not in plain.stderr.decode()
    assert "learned" not in newest_manifest(tmp_path / "home")["data"]


def newest_manifest(home: Path) -> dict:
    """The manifest of the threat-model version `train threats` wrote last (names start with the time)."""
    from netcopilot.registry import get_kind

    versions = get_kind("threat").versions_dir(home / "models")
    return json.loads(max(versions.glob("*/manifest.json"), key=lambda p: p.parent.name).read_text())
