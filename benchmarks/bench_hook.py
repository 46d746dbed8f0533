"""What the shell hook costs per prompt, and how fast `history sync` and `history import` are.

    python benchmarks/bench_hook.py [--loops 1000] [--commands 300] [--lines 100000]

1. Functions: an interactive bash with the hook loaded runs, --loops times, what one prompt runs
   (a new history line, the DEBUG-trap preexec, precmd) against the same loop calling no-op
   functions; preexec and precmd are also timed alone, and so is a prompt that starts the
   background sync (with `true` standing in for netcopilot, so no Python runs).
2. End to end: `bash -i` reads --commands commands (`true`) on stdin with and without the hook.
3. `history sync` of a spool of --lines lines and `history import` of a --lines-line bash history:
   parse+mask vs. the database insert (the baseline: the same rows inserted already parsed).
Target: under 20 ms added per prompt.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

# Each line of a timing loop, in bash; `run` prints the milliseconds per iteration.
_LOOP = r'''
run() {  # run NAME N BODY...: time N iterations of BODY
    local name=$1 n=$2 i t0 t1; shift 2
    t0=${EPOCHREALTIME//[!0-9]/}
    for ((i = 0; i < n; i++)); do "$@"; done
    t1=${EPOCHREALTIME//[!0-9]/}
    printf 'RESULT %s %s\n' "$name" "$(( (t1 - t0) / n ))"
}
__b_noop() { :; }
__b_baseline() { builtin history -s "echo $i"; __b_noop; __b_noop; __b_noop; }
__b_prompt() { builtin history -s "echo $i"; __nc_arm; __nc_preexec; __nc_precmd; }
__b_preexec() { builtin history -s "echo $i"; __nc_ready=1; __nc_preexec; __nc_start=; }
__b_precmd() { __nc_start=$__nc_t __nc_cmd="echo $i" __nc_cwd=$PWD; __nc_precmd; }
__b_date() { local t; t=$(date +%s%N); }
trap - DEBUG
'''

COMMANDS = ["ls -la", "cd /srv/app", "git status", "ping -c 4 10.0.0.1", "ssh -p 2222 admin@sw{i}",
            "mysql -u root -phunter{i} prod", "curl -s https://api.example.com/v1/items?page={i}",
            "snmpwalk -v2c -c public 10.0.{i}.1 ifDescr", "kubectl get pods -n team{i}", "tail -f /var/log/syslog"]


def _bash(script: str, env: dict[str, str], stdin_lines: list[str] | None = None, rc: Path | None = None) -> str:
    args = ["bash", "--noediting", "--rcfile", str(rc), "-i"] if rc else ["bash", "--noediting", "--norc", "-i"]
    text = script + "\n" + "\n".join(stdin_lines or []) + "\nexit\n"
    return subprocess.run(args, input=text, capture_output=True, text=True, env=env, check=True).stdout


def _results(out: str) -> dict[str, float]:
    return {line.split()[1]: int(line.split()[2]) / 1000.0 for line in out.splitlines() if line.startswith("RESULT ")}


def bench_functions(tmp: Path, env: dict[str, str], loops: int) -> None:
    from netcopilot.history.shell import hook_script

    quiet = tmp / "hook-nosync.bash"  # syncs never start: the hook's own cost
    quiet.write_text(hook_script("bash", tmp / "home", ["true"], every=10**9, after_s=10**9))
    every = tmp / "hook-sync.bash"  # a sync starts at every prompt (`true` instead of netcopilot)
    every.write_text(hook_script("bash", tmp / "home", ["true"], every=1))
    out = {}
    for name, hook in (("nosync", quiet), ("sync", every)):
        rc = tmp / f"rc-{name}"
        rc.write_text(f"source {hook}\n")
        body = ["run baseline %d __b_baseline" % loops, "run prompt %d __b_prompt" % loops,
                "run preexec %d __b_preexec" % loops, "run precmd %d __b_precmd" % loops,
                "run date_fork %d __b_date" % (loops // 4)]
        if name == "sync":
            body = ["run prompt_with_sync %d __b_prompt" % max(loops // 10, 20)]
        out.update(_results(_bash(_LOOP, env, body, rc)))
    base = out["baseline"]
    print(f"\n1. Hook functions, mean of {loops} iterations in an interactive bash {_bash_version()}:")
    print(f"   baseline (history -s + 3 no-op calls)      {base:8.3f} ms")
    print(f"   one prompt: preexec + precmd               {out['prompt']:8.3f} ms   (+{out['prompt'] - base:.3f} ms)")
    print(f"     preexec alone (history 1 in $(...))      {out['preexec']:8.3f} ms")
    print(f"     precmd alone (escape + append a line)    {out['precmd']:8.3f} ms")
    print(f"   a prompt that starts the background sync  {out['prompt_with_sync']:8.3f} ms   "
          f"(+{out['prompt_with_sync'] - base:.3f} ms, once every 25 commands by default)")
    print(f"   for scale: one $(date +%s%N) fork+exec     {out['date_fork']:8.3f} ms (the hook makes none per prompt)")
    print(f"   dominant cost: the one fork of $(history 1) in preexec ({out['preexec']:.3f} ms); the append is "
          f"{out['precmd']:.3f} ms")


def _bash_version() -> str:
    return subprocess.run(["bash", "-c", "echo $BASH_VERSION"], capture_output=True, text=True).stdout.strip()


def bench_end_to_end(tmp: Path, env: dict[str, str], commands: int) -> None:
    from netcopilot.history.shell import hook_script

    hook = tmp / "hook-e2e.bash"
    hook.write_text(hook_script("bash", tmp / "home-e2e", ["true"], every=25))
    rc_hook, rc_plain = tmp / "rc-e2e-hook", tmp / "rc-e2e-plain"
    rc_hook.write_text(f"source {hook}\n")
    rc_plain.write_text("PS1='$ '\n")
    lines = ["true"] * commands
    timings = {}
    env = dict(env, NETCOPILOT_HOME=str(tmp / "home-e2e"))
    for name, rc in (("without", rc_plain), ("with", rc_hook), ("without2", rc_plain), ("with2", rc_hook)):
        start = time.perf_counter()
        _bash("", env, lines, rc)
        timings[name] = (time.perf_counter() - start) * 1000.0 / commands
    without, with_ = min(timings["without"], timings["without2"]), min(timings["with"], timings["with2"])
    spooled = sum(len(p.read_text().splitlines()) for p in (tmp / "home-e2e" / "spool").glob("*.tsv"))
    print(f"\n2. End to end: `bash -i` running {commands} commands from stdin (best of 2, incl. bash start-up):")
    print(f"   without the hook  {without:8.3f} ms per command")
    print(f"   with the hook     {with_:8.3f} ms per command   (+{with_ - without:.3f} ms; {spooled} lines spooled "
          f"in the 2 runs; syncs every 25 commands, `true` standing in for netcopilot)")


def _history_lines(n: int) -> list[str]:
    return [COMMANDS[i % len(COMMANDS)].format(i=(i * 7919) % 3000) for i in range(n)]


def _timed(work):  # noqa: ANN001, ANN202
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench_sync_and_import(tmp: Path, lines: int) -> None:
    from netcopilot.history.importer import read_history
    from netcopilot.history.records import save_events
    from netcopilot.history.secrets import mask
    from netcopilot.history.shell import parse_spool_line, spool_dir, sync_spool
    from netcopilot.store.db import Store

    commands = _history_lines(lines)
    folder = spool_dir(tmp / "home-sync")
    folder.mkdir(parents=True)
    t0 = 1_700_000_000_000_000
    spool_text = "".join(f"{t0 + i * 1000}\t{1500 + i % 7}\t{i % 3}\t/srv\ts1\th\tu\tbash\t{c}\n"
                         for i, c in enumerate(commands))
    (folder / "s1.tsv").write_text(spool_text)

    baseline_store = Store(f"sqlite:///{tmp / 'baseline.db'}")
    parsed = [parse_spool_line(line) for line in spool_text.splitlines()]
    _, insert_wall, insert_cpu = _timed(lambda: save_events(baseline_store, parsed))
    baseline_store.close()
    distinct = [f"{c} # {i}" for i, c in enumerate(commands[:20_000])]
    _, mask_wall, mask_cpu = _timed(lambda: [mask(c) for c in distinct])

    store = Store(f"sqlite:///{tmp / 'home-sync' / 'netcopilot.db'}")
    mask.cache_clear()
    report, sync_wall, sync_cpu = _timed(lambda: sync_spool(folder, lambda events: save_events(store, events)))
    store.close()

    history = tmp / ".bash_history"
    history.write_text("".join(f"#{1_700_000_000 + i}\n{c}\n" for i, c in enumerate(commands)))
    mask.cache_clear()
    result, read_wall, read_cpu = _timed(lambda: read_history(history, "auto", "u", "h"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETCOPILOT_")}
    env["NETCOPILOT_HOME"] = str(tmp / "home-import")
    cli, cli_wall, _ = _timed(lambda: subprocess.run([sys.executable, "-m", "netcopilot", "history", "import",
                                                      str(history)], env=env, capture_output=True, text=True))
    assert cli.returncode == 0, cli.stderr
    print(f"\n3. {lines:,} commands ({len(set(commands)):,} distinct), SQLite; wall s / CPU s of this process:")
    print(f"   baseline: insert {lines:,} already-parsed rows      {insert_wall:6.2f} / {insert_cpu:5.2f}")
    print(f"   history sync (read, parse, mask, insert, remove)  {sync_wall:6.2f} / {sync_cpu:5.2f}  "
          f"({report.stored:,} stored, {report.masked:,} secrets masked)")
    print(f"   import: parse + mask a bash history, no insert    {read_wall:6.2f} / {read_cpu:5.2f}  "
          f"({result.masked:,} masked)")
    print(f"   mask alone, 20,000 all-distinct lines (no cache)  {mask_wall:6.2f} / {mask_cpu:5.2f}  "
          f"({20_000 / mask_cpu:,.0f} lines per CPU second)")
    print(f"   `netcopilot history import` end to end            {cli_wall:6.2f}   ({cli.stderr.strip()})")
    print(f"   dominant cost: {'the insert' if insert_cpu > read_cpu else 'parsing and masking'} "
          f"(insert {insert_cpu:.2f} CPU s vs parse+mask {read_cpu:.2f} CPU s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times grow with it; CPU times less so)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETCOPILOT_")}
        env.update(HISTFILE=os.devnull, PS1="$ ", NETCOPILOT_HOME=str(tmp / "home"))
        bench_functions(tmp, env, args.loops)
        bench_end_to_end(tmp, env, args.commands)
        bench_sync_and_import(tmp, args.lines)


if __name__ == "__main__":
    main()
