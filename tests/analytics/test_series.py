"""Reading metrics from CSV exports as they come: messy, large, or not metrics at all."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from netcopilot.analytics import service
from netcopilot.analytics.series import find_csvs, read_series, sniff
from netcopilot.errors import DataFormatError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_messy_export_is_read_with_notes(tmp_path: Path) -> None:
    path = write(tmp_path, "wan.csv", "time,rx,tx,host\n"
                 "2026-01-01 00:10:00,5,6,a\n2026-01-01 00:00:00,1,x,a\n2026-01-01 00:05:00,,3,a\n"
                 "2026-01-01 00:05:00,2,3,a\nbad,1,1,a\n")
    rx, tx = read_series(path)
    assert rx.name == "wan:rx" and tx.name == "wan:tx"  # the text column is not a metric
    assert rx.timestamps.astype(str).tolist() == ["2026-01-01T00:00:00", "2026-01-01T00:05:00", "2026-01-01T00:10:00"]
    assert rx.values.tolist() == [1.0, 2.0, 5.0]  # sorted; the duplicate's last value wins
    assert np.isnan(tx.values[0])  # 'x' is missing, not a crash
    notes = " | ".join(rx.notes)
    assert "line 6" in notes and f"{path}:3: field 'tx': 'x' is not a number" in notes
    assert "not in time order" in notes and "duplicate timestamp" in notes


def test_epoch_seconds_and_named_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "ts,a,b\n1700000000,1,10\n1700000060,2,20\n1700000120,3,30\n")
    (b,) = read_series(path, columns=["b"])
    assert b.values.tolist() == [10.0, 20.0, 30.0] and str(b.timestamps[0]) == "2023-11-14T22:13:20"
    assert sniff(path).columns == ["a", "b"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("timestamp,value\n", "no data rows after the header"),
        ("timestamp,value\n2026-01-01 00:00:00,1\n", r"1 usable data row\(s\); at least 2 are needed"),
        ("timestamp,host\n2026-01-01 00:00:00,a\n2026-01-01 00:01:00,b\n", "no numeric column found"),
        ("a,b\nx,1\ny,2\n", "no timestamp column found"),
        ("timestamp,value\n2026-01-01,\xff\n", "not UTF-8"),
    ],
)
def test_unusable_files_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataFormatError, match=message) as err:
        read_series(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_named_column_that_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:01:00,2\n")
    with pytest.raises(DataFormatError, match=r"n.csv:1: field 'rx': no column named 'rx'"):
        read_series(path, columns=["rx"])


def test_folders(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv"):
        write(tmp_path, name, "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:01:00,2\n")
    (tmp_path / "notes.txt").write_text("not a csv")
    assert [p.name for p in find_csvs(tmp_path)] == ["a.csv", "b.csv"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no .csv files"):
        find_csvs(tmp_path / "empty")


def test_a_large_file_is_streamed_with_the_same_scores(tmp_path: Path) -> None:
    n = 5000
    rng = np.random.default_rng(0)
    rx = 50 + rng.normal(0, 2, n)
    rx[4000] += 40
    t = np.datetime64("2026-11-01T00:00:00") + np.arange(n) * np.timedelta64(60, "s")
    lines = ["timestamp,rx,tx"] + [f"{a},{b:.4f},{c:.4f}" for a, b, c in zip(t.astype(str), rx, rx / 2 + rng.normal(0, 1, n))]
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    whole = service.detect_target(str(path))
    out = io.StringIO()
    streamed = service.stream_file(path, out, rows=700)  # many chunks, as a 1 GB file has
    payload = json.loads(out.getvalue())
    assert [p["series"] for p in payload] == ["big:rx", "big:tx"]
    for obj, detection in zip(payload, whole):
        assert [p["score"] for p in obj["points"]] == [round(s, 4) for s in detection.scores.tolist()]
        assert {"timestamp", "value", "score", "anomaly"} == set(obj["points"][0])
    assert any(a["start"].startswith(str(t[4000])) for a in streamed[0].alerts)
