"""The shell hooks in real shells (bash; zsh and fish when installed) and `netcopilot history sync`."""

from __future__ import annotations

import os
import pty
import select
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netcopilot.history.records import CommandEvent, events_for
from netcopilot.history.shell import (
    QUARANTINE, hook_script, in_order, parse_spool_line, pending, spool_dir, sync_spool,
)
from netcopilot.store.db import Store
from tests.clirun import cli_env, run

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"
NETCOPILOT = [sys.executable, "-m", "netcopilot"]


def _shell_env(home: Path, **extra: str) -> dict[str, str]:
    env = cli_env(home, PS1="$ ", HISTFILE=os.devnull, **extra)
    env.pop("PROMPT_COMMAND", None)
    return env


def _bash(tmp: Path, home: Path, lines: list[str], env: dict[str, str], before: str = "", after: str = "",
          every: int = 25) -> subprocess.CompletedProcess:
    """An interactive bash (`bash -i`, commands on stdin) with the hook loaded from its rc file."""
    hook = tmp / "hook.bash"
    hook.write_text(hook_script("bash", home, NETCOPILOT, every=every))
    rc = tmp / "bashrc"
    rc.write_text(f"{before}\nsource {hook}\n{after}\n")
    return subprocess.run(["bash", "--noediting", "--rcfile", str(rc), "-i"], input="\n".join(lines + ["exit"]) + "\n",
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=120)


def _spooled(home: Path) -> list[CommandEvent]:
    return in_order(parse_spool_line(line) for path in pending(spool_dir(home))
                    for line in path.read_text().splitlines() if line)


def _wait_for_background_syncs(home: Path, timeout: float = 90.0) -> None:
    """Wait until no process runs with this NETCOPILOT_HOME (the hook's detached syncs)."""
    marker = f"NETCOPILOT_HOME={home}".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and proc.name != str(os.getpid()):
                try:
                    busy = busy or marker in (proc / "environ").read_bytes().split(b"\0")
                except OSError:
                    continue
        if not busy:
            return
        time.sleep(0.2)
    pytest.fail("background syncs still running")


def test_bash_hook_records_commands_and_sync_stores_them_masked(tmp_path: Path) -> None:
    home, sub = tmp_path / "home", tmp_path / "sub dir"
    sub.mkdir()
    env = _shell_env(home)
    lines = ["echo hello", "false", f"cd '{sub}'", "sleep 0.05", "sshpass -p hunter2 true 2>/dev/null; (exit 3)",
             " echo not-recorded", "echo 'two\nlines'", "echo \"tab\there\"", "echo session=$NETCOPILOT_SESSION"]
    out = _bash(tmp_path, home, lines, env)
    assert out.returncode == 0, out.stderr
    session = out.stdout.split("session=")[1].strip()
    assert session and "netcopilot:" not in out.stderr and "Traceback" not in out.stderr

    folder = spool_dir(home)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in pending(folder))

    synced = run(["history", "sync"], env)
    assert synced.returncode == 0, synced.stderr.decode()
    assert "stored 8 command(s)" in synced.stderr.decode() and "1 secret(s) masked" in synced.stderr.decode()
    assert list(pending(folder)) == []
    store = Store(f"sqlite:///{home / 'netcopilot.db'}")
    rows = events_for(store, session=session)
    store.close()
    by_command = {r.command: r for r in rows}
    assert [r.command for r in rows] == [
        "echo hello", "false", f"cd '{sub}'", "sleep 0.05", "sshpass -p <secret> true 2>/dev/null; (exit 3)",
        "echo 'two\nlines'", "echo \"tab\there\"", "echo session=$NETCOPILOT_SESSION"]
    assert by_command["false"].exit_status == 1 and by_command["echo hello"].exit_status == 0
    assert by_command["sshpass -p <secret> true 2>/dev/null; (exit 3)"].exit_status == 3
    assert by_command["echo hello"].cwd == str(tmp_path) and by_command["sleep 0.05"].cwd == str(sub)
    assert by_command["sleep 0.05"].duration_ms >= 50
    assert all(r.duration_ms > 0 and r.session == session and r.source == "hook:bash" for r in rows)
    assert all(r.user and r.host and r.started_at is not None for r in rows)
    starts = [r.started_at for r in rows]
    assert starts == sorted(starts)


def test_unreachable_database_never_breaks_the_shell(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _shell_env(home, NETCOPILOT_DATABASE_URL=UNREACHABLE)
    lines = ["(exit 3)", "echo status=$?", "false", "echo status=$?", "true", "echo status=$?", "echo done"]
    out = _bash(tmp_path, home, lines, env, every=3)  # background syncs after the 3rd and 6th commands
    assert out.returncode == 0
    assert out.stdout == "status=3\nstatus=1\nstatus=0\ndone\n"  # the hook prints nothing, $? is intact
    assert "netcopilot" not in out.stderr.lower() and "error" not in out.stderr.lower()
    _wait_for_background_syncs(home)
    assert [e.command for e in _spooled(home)] == lines  # kept for a later sync

    failed = run(["history", "sync"], env)
    err = failed.stderr.decode()
    assert failed.returncode == 2 and len(err.strip().splitlines()) == 1 and "127.0.0.1" in err
    assert len(_spooled(home)) == len(lines)
    ok = run(["history", "sync"], cli_env(home))
    assert ok.returncode == 0 and f"stored {len(lines)} command(s)" in ok.stderr.decode()
    assert list(pending(spool_dir(home))) == []


def _in_pty(argv: list[str], env: dict[str, str], cwd: Path):  # noqa: ANN202
    """Start `argv` on a pty, as in a terminal: (pid, fd, read_until(token, seconds), seen())."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.execvpe(argv[0], argv, env)
    output = bytearray()

    def read_until(token: bytes, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while token not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output.extend(os.read(fd, 65536))
                except OSError:
                    return

    return pid, fd, read_until, lambda: output.decode(errors="replace")


def test_bash_hook_in_a_terminal_with_job_control(tmp_path: Path) -> None:
    """Through a pty (readline, job control): no job notices or errors from the background sync."""
    home = tmp_path / "home"
    hook = tmp_path / "hook.bash"
    hook.write_text(hook_script("bash", home, NETCOPILOT, every=2))
    rc = tmp_path / "bashrc"
    rc.write_text(f"PS1='$ '\nsource {hook}\n")
    env = _shell_env(home, NETCOPILOT_DATABASE_URL=UNREACHABLE, TERM="dumb")
    pid, fd, read_until, seen = _in_pty(["bash", "--rcfile", str(rc), "-i"], env, tmp_path)
    for i, command in enumerate(["true", "false", "ls >/dev/null", "echo mark-$((40+2))"]):
        os.write(fd, command.encode() + b"\n")
        read_until(b"mark-42" if i == 3 else b"$ ", 30)
    time.sleep(1.5)  # let the background syncs fail while the shell is still open
    os.write(fd, b"echo end-$((1+1))\n")
    read_until(b"end-2")
    os.write(fd, b"exit\n")
    read_until(b"exit", 10)
    os.waitpid(pid, 0)
    text = seen()
    assert "mark-42" in text and "end-2" in text
    for noise in ("Done", "Exit ", "[1]", "Traceback", "error", "netcopilot:"):
        assert noise not in text
    _wait_for_background_syncs(home)
    assert [e.command for e in _spooled(home)] == ["true", "false", "ls >/dev/null", "echo mark-$((40+2))",
                                                  "echo end-$((1+1))"]


def test_coexists_with_prompt_command_debug_trap_and_ignorespace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = tmp_path / "log"
    before = (f"HISTCONTROL=ignoreboth\nPROMPT_COMMAND='echo prompt:$? >> {log}'\n"
              f"trap 'echo trap >> {log}' DEBUG")
    after = f"PROMPT_COMMAND+=$'\\n'\"echo later >> {log}\""  # a tool loaded after the hook
    lines = ["false", "echo one", " echo secret-one", "echo one", "history | grep -c '^ *[0-9]*  *echo secret'"]
    out = _bash(tmp_path, home, lines, _shell_env(home), before=before, after=after)
    assert out.stdout.splitlines() == ["one", "secret-one", "one", "0"]  # the space command is kept out of history
    recorded = _spooled(home)
    assert [e.command for e in recorded] == ["false", "echo one", "echo one", lines[-1]]
    assert [e.exit_status for e in recorded] == [1, 0, 0, 1]
    logged = log.read_text().splitlines()
    assert "prompt:1" in logged and logged.count("later") >= len(lines) and "trap" in logged


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_hook(tmp_path: Path) -> None:  # pragma: no cover - zsh is not on every machine
    home = tmp_path / "home"
    hook = tmp_path / "hook.zsh"
    hook.write_text(hook_script("zsh", home, NETCOPILOT))
    env = _shell_env(home, ZDOTDIR=str(tmp_path))
    (tmp_path / ".zshrc").write_text(f"source {hook}\n")
    out = subprocess.run(["zsh", "-i"], input="false\ncd /\n echo no\necho status=$?\nexit\n", capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)
    assert "status=0" in out.stdout
    recorded = _spooled(home)
    assert [(e.command, e.exit_status) for e in recorded] == [("false", 1), ("cd /", 0), ("echo status=$?", 0)]
    assert recorded[2].cwd == "/" and recorded[0].source == "hook:zsh"


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_hook(tmp_path: Path) -> None:  # pragma: no cover - fish is not on every machine
    home = tmp_path / "home"
    hook = tmp_path / "hook.fish"
    hook.write_text(hook_script("fish", home, NETCOPILOT))
    # fish emits fish_preexec/fish_postexec only for commands its interactive reader takes from a terminal
    env = _shell_env(home, NETCOPILOT_DATABASE_URL=UNREACHABLE, TERM="dumb")
    pid, fd, read_until, seen = _in_pty(["fish", "-i", "-C", f"source {hook}"], env, tmp_path)
    read_until(b"# " if os.geteuid() == 0 else b"> ", 30)  # the first prompt: the hook is loaded
    time.sleep(0.5)
    for command, token in [("false", b"false"), ("cd /", b"cd /"), ("echo mark-(math 40 + 2)", b"mark-42")]:
        os.write(fd, command.encode() + b"\n")
        read_until(token, 30)
        time.sleep(0.3)
    os.write(fd, b"exit\n")
    read_until(b"exit", 10)
    os.waitpid(pid, 0)
    assert "mark-42" in seen()
    recorded = _spooled(home)
    assert [(e.command, e.exit_status) for e in recorded][:3] == [("false", 1), ("cd /", 0), ("echo mark-(math 40 + 2)", 0)]
    assert recorded[2].cwd == "/" and recorded[0].source == "hook:fish"


def test_init_prints_each_hook_and_rejects_unknown_shells(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    out = run(["init", "bash"], env)
    assert out.returncode == 0 and "__nc_precmd" in out.stdout.decode() and str(tmp_path) in out.stdout.decode()
    check = subprocess.run(["bash", "-n"], input=out.stdout, capture_output=True)
    assert check.returncode == 0, check.stderr
    assert "add-zsh-hook" in hook_script("zsh", tmp_path, NETCOPILOT)
    assert "fish_postexec" in hook_script("fish", tmp_path, NETCOPILOT)
    bad = run(["init", "tcsh"], env)
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1 and "tcsh" in bad.stderr.decode()


def _write_spool(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


GOOD = "1700000000000000\t1500\t0\t/srv\ts1\th\tu\tbash\tmysql -pX -e 'select 1'"


def test_sync_quarantines_malformed_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    _write_spool(folder, "s1.tsv", [GOOD, "garbage without tabs", GOOD.replace("\t0\t", "\tx\t", 1), GOOD])
    saved: list[CommandEvent] = []
    report = sync_spool(folder, lambda events: saved.extend(events) or len(events))
    assert (report.stored, report.malformed, report.masked, report.files) == (2, 2, 2, 1)
    assert saved[0].command == "mysql -p<secret> -e 'select 1'" and saved[0].duration_ms == 1.5
    assert report.problems[0].endswith(":2: expected 9 tab-separated fields, got 1")
    assert "field 'exit'" in report.problems[1]
    quarantined = (folder / QUARANTINE).read_text().splitlines()
    assert len(quarantined) == 2 and "<secret>" in quarantined[1] and "-pX" not in quarantined[1]
    assert list(pending(folder)) == []


def test_failed_save_keeps_the_spool_and_partial_lines_wait(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    path = _write_spool(folder, "s1.tsv", [GOOD])
    with path.open("a") as handle:
        handle.write(GOOD.replace("s1", "s2"))  # a hook still writing: no newline yet

    def broken(_: list[CommandEvent]) -> int:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        sync_spool(folder, broken)
    assert len(list(pending(folder))) == 1
    saved: list[CommandEvent] = []
    report = sync_spool(folder, lambda events: saved.extend(events) or len(events))
    assert report.stored == 1 and report.malformed == 0
    left = list(pending(folder))
    assert len(left) == 1 and left[0].read_text() == GOOD.replace("s1", "s2")  # the partial line waits


def test_sync_into_postgresql(tmp_path: Path, postgres_url: str) -> None:
    folder = tmp_path / "spool"
    _write_spool(folder, "s1.tsv", [GOOD, GOOD.replace("\t0\t", "\t2\t", 1)])
    store = Store(postgres_url)
    from netcopilot.history.records import last_failed, save_events

    report = sync_spool(folder, lambda events: save_events(store, events))
    assert report.stored == 2
    failed = last_failed(store, session="s1")
    store.close()
    assert failed is not None and failed.exit_status == 2 and failed.command == "mysql -p<secret> -e 'select 1'"
