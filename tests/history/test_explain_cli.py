"""`netcopilot explain`: the real command in a subprocess (text, --json contract, bad input)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clirun import cli_env, run


def test_json_shape_and_content(tmp_path: Path) -> None:
    out = run(["explain", "--json", "sudo ip link set dev eth0 down"], cli_env(tmp_path))
    assert out.returncode == 0, out.stderr.decode()
    data = json.loads(out.stdout)
    assert set(data) == {"command", "utility", "type", "purpose", "risk", "root", "guess", "family", "flags", "advice"}
    assert (data["utility"], data["type"], data["risk"], data["root"], data["guess"]) == ("ip", "configuration",
                                                                                       "dangerous", True, False)
    assert "interface" in data["purpose"]
    assert all(set(f) == {"flag", "value", "meaning"} for f in data["flags"])
    assert {"flag": "eth0", "value": None, "meaning": "interface to shut down"} in data["flags"]


def test_flags_advice_and_guesses(tmp_path: Path) -> None:
    data = json.loads(run(["explain", "--json", "pnig -c4 --bogus gw"], cli_env(tmp_path)).stdout)
    assert data["guess"] and data["family"] == "ping"
    flags = {f["flag"]: f for f in data["flags"]}
    assert flags["-c"]["value"] == "4" and "requests" in flags["-c"]["meaning"]
    assert "not in the catalog" in flags["--bogus"]["meaning"]
    assert {"kind": "typo", "message": "'pnig' is not a known command; did you mean 'ping'?",
            "suggested": "ping -c4 --bogus gw"} in data["advice"]
    text = run(["explain", "traceroute example.com"], cli_env(tmp_path))
    body = text.stdout.decode()
    assert text.returncode == 0 and "type:    diagnostic" in body and "traceroute -n example.com" in body


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for bad in ["", "ping 'oops"]:
        out = run(["explain", bad], cli_env(tmp_path))
        err = out.stderr.decode()
        assert out.returncode == 2 and err.count("\n") == 1 and "command" in err and "Traceback" not in err
