"""`netcopilot history import`: each history format, auto-detection, masking, and malformed files
(one line naming file:line, exit 2, nothing stored)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from netcopilot.errors import DataFormatError
from netcopilot.history.importer import read_history
from tests.clirun import cli_env, run

T0 = 1_700_000_000


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _when(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_bash_with_timestamps_and_multiline_commands(tmp_path: Path) -> None:
    path = _write(tmp_path, "history", f"#{T0}\nls -la\n#{T0 + 5}\nfor i in 1 2; do\n  echo $i\ndone\n#{T0 + 9}\n"
                                       f" secret-cmd\n#{T0 + 12}\nmysql -u root -phunter2\n")
    result = read_history(path, user="alice", host="h1")
    assert result.format == "bash" and result.skipped == 1 and result.masked == 1
    assert [e.command for e in result.events] == ["ls -la", "for i in 1 2; do\n  echo $i\ndone", "mysql -u root -p<secret>"]
    assert [e.started_at for e in result.events] == [_when(T0), _when(T0 + 5), _when(T0 + 12)]
    assert all(e.user == "alice" and e.host == "h1" and e.source == "import:bash" for e in result.events)


def test_bash_without_timestamps_is_one_command_per_line(tmp_path: Path) -> None:
    result = read_history(_write(tmp_path, ".bash_history", "ls\n\ncd /srv\n#not a time\n"))
    assert result.format == "bash" and [e.command for e in result.events] == ["ls", "cd /srv", "#not a time"]
    assert result.skipped == 1 and all(e.started_at is None for e in result.events)


def test_zsh_extended_history_with_continuations_and_metafied_bytes(tmp_path: Path) -> None:
    meta = "é".encode()  # 0xC3 0xA9: 0xA9 is stored metafied as 0x83 0x89
    metafied = meta[:1] + b"\x83" + bytes([meta[1] ^ 32])
    data = (f": {T0}:0;ls -la\n: {T0 + 3}:12;for h in a b; do\\\n  ping -c 1 $h\\\ndone\n".encode()
            + f": {T0 + 20}:1;echo caf".encode() + metafied + b"\n"
            + f": {T0 + 30}:0;curl -H 'Authorization: Bearer abcdef123456' https://x\n".encode())
    result = read_history(_write(tmp_path, "zhist", data))
    assert result.format == "zsh"
    assert [e.command for e in result.events] == [
        "ls -la", "for h in a b; do\n  ping -c 1 $h\ndone", "echo café", "curl -H 'Authorization: Bearer <secret>' https://x"]
    assert [e.duration_ms for e in result.events] == [0.0, 12000.0, 1000.0, 0.0]
    assert result.events[1].started_at == _when(T0 + 3) and result.masked == 1


def test_fish_history(tmp_path: Path) -> None:
    data = (f"- cmd: git status\n  when: {T0}\n- cmd: echo one\\ntwo \\\\ three\n  when: {T0 + 1}\n  paths:\n"
            f"    - /tmp\n- cmd: sshpass -p pw ssh sw1\n  when: {T0 + 2}\n")
    result = read_history(_write(tmp_path, "fish_history", data))
    assert result.format == "fish"
    assert [e.command for e in result.events] == ["git status", "echo one\ntwo \\ three", "sshpass -p <secret> ssh sw1"]
    assert [e.started_at for e in result.events] == [_when(T0), _when(T0 + 1), _when(T0 + 2)]


def test_plain_file(tmp_path: Path) -> None:
    result = read_history(_write(tmp_path, "cmds.txt", "ping -c 4 10.0.0.1\r\nssh -p 2222 sw1\n\n"))
    assert result.format == "plain" and result.skipped == 1 and result.masked == 0
    assert [e.command for e in result.events] == ["ping -c 4 10.0.0.1", "ssh -p 2222 sw1"]


@pytest.mark.parametrize("fmt, data, line, problem", [
    ("fish", f"- cmd: ls\n  when: {T0}\nls -la\n", 3, "fish history"),
    ("fish", "- cmd: ls\n  when: yesterday\n", 2, "field 'when'"),
    ("zsh", f": {T0}:0;ls\n: nope;ls\n", 2, "zsh extended history"),
    ("plain", "ls\nbinary\0junk\n", 2, "NUL byte"),
])
def test_malformed_files_name_the_line(tmp_path: Path, fmt: str, data: str, line: int, problem: str) -> None:
    path = _write(tmp_path, "h", data)
    with pytest.raises(DataFormatError) as caught:
        read_history(path, fmt)
    assert f"{path}:{line}" in str(caught.value) and problem in str(caught.value)


def test_cli_imports_all_or_nothing(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    good = _write(tmp_path, ".zsh_history", f": {T0}:0;ls\n: {T0 + 1}:2;export API_TOKEN=abc123\n")
    out = run(["history", "import", str(good), "--user", "bob", "--host", "jump01"], env)
    assert out.returncode == 0, out.stderr.decode()
    assert "imported 2 command(s)" in out.stderr.decode() and "1 secret(s) masked" in out.stderr.decode()

    bad = _write(tmp_path, "broken", f"- cmd: ls\n  when: {T0}\nnot fish\n")
    failed = run(["history", "import", str(bad), "--format", "fish"], env)
    err = failed.stderr.decode()
    assert failed.returncode == 2 and err.count("\n") == 1 and f"{bad}:3" in err and "Traceback" not in err
    unknown = run(["history", "import", str(good), "--format", "csh"], env)
    assert unknown.returncode == 2 and "csh" in unknown.stderr.decode()

    listed = run(["history", "list", "--json"], env)
    rows = json.loads(listed.stdout)
    assert [r["command"] for r in rows] == ["ls", "export API_TOKEN=<secret>"]  # nothing from the broken file
    assert rows[1]["duration_ms"] == 2000.0 and rows[1]["user"] == "bob" and rows[1]["host"] == "jump01"
    assert rows[1]["source"] == "import:zsh"
