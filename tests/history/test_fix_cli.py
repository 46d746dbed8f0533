"""`netcopilot fix` through the real CLI: the failed command comes from the store (by session, then
user), the error from --error, stdin or a confirmed re-run; nothing is re-run without --rerun."""

from __future__ import annotations

import getpass
import http.server
import json
import shutil
import socket
import threading
from pathlib import Path

import pytest

from netcopilot.history.records import CommandEvent, save_events
from netcopilot.store.db import Store
from tests.clirun import cli_env, run

USER = getpass.getuser()


def _store_with(home: Path, *events: CommandEvent) -> None:
    store = Store(f"sqlite:///{home / 'netcopilot.db'}")
    try:
        save_events(store, events)
    finally:
        store.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    _store_with(tmp_path,
                CommandEvent("ping -c 1 nosuch.invalid", user=USER, session="s1", exit_status=2),
                CommandEvent("mtr example.com", user=USER, session="s2", exit_status=127),
                CommandEvent("ls", user=USER, session="s1", exit_status=0))
    return tmp_path


def _json(out) -> dict:
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def test_error_text_explains_the_sessions_last_failure(home: Path) -> None:
    env = cli_env(home, NETCOPILOT_SESSION="s1")
    data = _json(run(["fix", "--json", "--error", "ping: nosuch.invalid: Name or service not known"], env))
    assert (data["command"], data["exit_status"]) == ("ping -c 1 nosuch.invalid", 2)
    first = data["diagnoses"][0]
    assert first["rule"] == "unknown_host" and "getent hosts nosuch.invalid" in first["next"]
    assert set(first["fixes"][0]) >= {"command", "risk", "why"}
    text = run(["fix", "--error", "ping: nosuch.invalid: Name or service not known"], env)
    assert text.returncode == 0 and b"does not resolve" in text.stdout and b"1) " in text.stdout


def test_stdin_and_command(home: Path) -> None:
    out = run(["fix", "--json", "--command", "curl -sS http://nosuch.invalid/", "-"], cli_env(home),
              stdin="curl: (6) Could not resolve host: nosuch.invalid\n")
    assert _json(out)["diagnoses"][0]["rule"] == "curl_could_not_resolve"


def test_status_only_and_user_fallback(home: Path) -> None:
    data = _json(run(["fix", "--json"], cli_env(home, NETCOPILOT_SESSION="no-such-session")))
    assert data["command"] == "mtr example.com"  # the user's last failure
    first = data["diagnoses"][0]
    assert first["rule"] == "command_not_found" and first["from_status_only"]
    assert "not re-run" in data["notes"][0]


@pytest.fixture
def counting_server():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


def test_nothing_is_rerun_without_confirmation(tmp_path: Path, counting_server) -> None:
    port, hits = counting_server
    command = f"curl -sS -I http://127.0.0.1:{port}/"
    _store_with(tmp_path, CommandEvent(command, user=USER, session="s", exit_status=7))
    env = cli_env(tmp_path, NETCOPILOT_SESSION="s")
    data = _json(run(["fix", "--json"], env))
    assert hits == [] and "pass --rerun" in data["notes"][0]
    assert data["diagnoses"][0]["rule"] == "curl_failed_to_connect" and data["diagnoses"][0]["from_status_only"]
    again = _json(run(["fix", "--json", "--rerun"], env))
    assert hits == ["/"] and "succeeded this time" in again["notes"][0]


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs nc (netcat)")
def test_rerun_reads_the_real_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _store_with(tmp_path, CommandEvent(f"nc -zv -w 2 127.0.0.1 {port}", user=USER, session="s", exit_status=1))
    data = _json(run(["fix", "--json", "--rerun"], cli_env(tmp_path, NETCOPILOT_SESSION="s")))
    assert data["diagnoses"][0]["rule"] == "connection_refused" and not data["diagnoses"][0]["from_status_only"]


def test_no_failed_command_is_friendly(tmp_path: Path) -> None:
    out = run(["fix"], cli_env(tmp_path))
    assert out.returncode == 0 and out.stdout.decode().count("\n") == 1 and b"nothing to fix" in out.stdout
    assert _json(run(["fix", "--json"], cli_env(tmp_path)))["diagnoses"] == []


@pytest.mark.parametrize("args", [["fix", "extra"], ["fix", "--error", "x", "-"], ["fix", "--exit-status", "999"],
                                  ["fix", "--command", "  "]])
def test_bad_flags_exit_2_with_one_line(tmp_path: Path, args: list[str]) -> None:
    out = run(args, cli_env(tmp_path), stdin="x")
    assert out.returncode == 2 and out.stderr.decode().count("\n") == 1 and b"Traceback" not in out.stderr
