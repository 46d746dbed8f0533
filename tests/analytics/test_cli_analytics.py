"""`netcopilot detect | forecast | capacity` as users and evaluation scripts call them, and the
chat's anomaly and capacity questions answered from the same code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.clirun import cli_env, run

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


def write_csv(path: Path, n: int = 3000, spike: int | None = 2500, growth: float = 0.0, columns: int = 1) -> Path:
    rng = np.random.default_rng(7)
    t = np.datetime64("2026-10-01T00:00:00") + np.arange(n) * np.timedelta64(300, "s")
    daily = 40 * (1 + np.sin(np.arange(n) * 2 * np.pi / 288)) + growth * np.arange(n)
    cols = []
    for c in range(columns):
        v = 200 + daily * (1 + 0.2 * c) + rng.normal(0, 3, n)
        if spike is not None and c == 0:
            v[spike] += 150
        cols.append(v)
    header = "timestamp," + ",".join(["rx_bps", "tx_bps", "drops"][:columns])
    rows = [",".join([str(ts), *(f"{col[i]:.3f}" for col in cols)]) for i, ts in enumerate(t.astype(str))]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_detect_json_contract_for_one_series(env, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "uplink.csv")
    out = run(["detect", str(path), "--json"], env)
    assert out.returncode == 0, out.stderr.decode()
    result = json.loads(out.stdout)
    assert set(result) >= {"points", "alerts"}
    assert len(result["points"]) == 3000
    assert set(result["points"][0]) == {"timestamp", "value", "score", "anomaly"}
    assert all(0.0 <= p["score"] <= 1.0 for p in result["points"])
    assert result["points"][2500]["anomaly"] is True
    alert = next(a for a in result["alerts"] if a["start"].startswith("2026-10-09T16:20"))
    assert set(alert) == {"start", "end", "peak_score", "message"} and "uplink" in alert["message"]


def test_detect_on_a_folder_gives_one_object_per_series_and_a_plot(env, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write_csv(folder / "a.csv", columns=2)
    write_csv(folder / "b.csv", spike=None)
    png = tmp_path / "anomalies.png"
    out = run(["detect", str(folder), "--json", "--png", str(png)], env)
    assert out.returncode == 0, out.stderr.decode()
    result = json.loads(out.stdout)
    assert [r["series"] for r in result] == ["a:rx_bps", "a:tx_bps", "b"]
    assert png.read_bytes()[:8] == PNG
    text = run(["detect", str(folder)], env).stdout.decode()
    assert "a:rx_bps" in text and "alert" in text


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty"),
        ("timestamp,value\n2026-01-01 00:00:00,1\n", "at least 2 are needed"),
        ("time,host\n2026-01-01 00:00:00,a\n2026-01-01 00:01:00,b\n", "no numeric column"),
    ],
)
def test_bad_files_are_one_line_exit_2(env, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    for command in (["detect", str(path)], ["forecast", str(path)], ["capacity", str(path), "--limit", "1Gbps"]):
        out = run(command, env)
        err = out.stderr.decode().strip()
        assert out.returncode == 2 and message in err and str(path) in err, err
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_bad_flags_are_one_line_exit_2(env, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "u.csv", n=600, spike=None)
    for command, message in ((["detect", str(tmp_path / "nope.csv")], "no such file"),
                             (["detect", str(path), "--columns", "nope"], "no column named 'nope'"),
                             (["forecast", str(path), "--horizon", "soon"], "horizon"),
                             (["capacity", str(path), "--limit", "lots"], "limit")):
        out = run(command, env)
        err = out.stderr.decode().strip()
        assert out.returncode == 2 and message in err and len(err.splitlines()) == 1, (command, err)


def test_forecast_with_threshold_and_capacity(env, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wan.csv", n=288 * 14, spike=None, growth=0.05)
    png = tmp_path / "forecast.png"
    out = run(["forecast", str(path), "--horizon", "7d", "--threshold", "520", "--json", "--png", str(png)], env)
    assert out.returncode == 0, out.stderr.decode()
    result = json.loads(out.stdout)
    assert result["kind"] == "forecast" and result["expected_at"] and 0 <= result["probability"] <= 1
    assert png.read_bytes()[:8] == PNG
    out = run(["capacity", str(path), "--limit", "800", "--json"], env)
    assert out.returncode == 0, out.stderr.decode()
    plan = json.loads(out.stdout)
    assert plan["kind"] == "capacity" and plan["growing"] and plan["days_to_exhaustion"] > 0
    assert plan["exhaustion_earliest"] <= plan["exhaustion_at"]
    human = run(["capacity", str(path), "--limit", "800"], env).stdout.decode()
    assert "wan" in human


def test_the_chat_answers_anomaly_and_capacity_questions_with_a_plot(assistant, tmp_path: Path) -> None:
    from netcopilot.core.types import Request

    path = write_csv(tmp_path / "uplink.csv")
    answer = assistant.answer(Request(text=f"anything unusual in {path} this week?"))
    assert answer.intent == "anomaly" and answer.analysis and not answer.analysis["error"]
    assert "uplink" in " ".join(answer.analysis["summary"]) and Path(answer.analysis["png"]).read_bytes()[:8] == PNG
    grow = write_csv(tmp_path / "wan.csv", n=288 * 14, spike=None, growth=0.05)
    answer = assistant.answer(Request(text=f"when will the link in {grow} saturate at 800bps?"))
    assert answer.intent == "capacity" and answer.analysis and not answer.analysis["error"], answer.analysis
    nothing = assistant.answer(Request(text="any anomalies on the uplink this week?"))
    assert nothing.analysis and "Tell me where the metrics are" in nothing.analysis["error"]


def test_forecast_json_without_threshold_carries_the_band(env, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "lan.csv", n=288 * 4, spike=None)
    out = run(["forecast", str(path), "--horizon", "2h", "--json"], env)
    assert out.returncode == 0, out.stderr.decode()
    band = json.loads(out.stdout)["forecast"]
    assert len(band["timestamps"]) == len(band["mean"]) == 24 and band["timestamps"][0] == "2026-10-05T00:00:00"
    assert all(lo <= m <= hi for lo, m, hi in zip(band["lower"], band["mean"], band["upper"]))
