"""Shell integration: the hooks `netcopilot init bash|zsh|fish` prints, and the spool they write.

Starting Python costs far more than a prompt may take, so the hooks use shell builtins only: when a
command starts they note it with its start time and directory; when the prompt returns they append
ONE tab-separated line to `<home>/spool/<session>.tsv` (a 0700 directory, 0600 files). Every
`SYNC_EVERY` commands, or when the last sync is `SYNC_AFTER_S` old, they start
`netcopilot history sync` detached and silent, which moves the spool into the store through
`sync_spool`. A slow or failing database therefore never blocks or breaks the shell: the sync just
fails in the background and the spool waits for the next one.

Spool line (fields separated by tabs; backslash, tab, newline and CR escaped as \\\\ \\t \\n \\r):
    start_us  duration_us  exit  cwd  session  host  user  shell  command
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from netcopilot.errors import InputError
from netcopilot.history.records import CommandEvent
from netcopilot.history.secrets import mask

SHELLS = ("bash", "zsh", "fish")
SPOOL_FIELDS = ("start_us", "duration_us", "exit", "cwd", "session", "host", "user", "shell", "command")
SYNC_EVERY = 25
SYNC_AFTER_S = 300
QUARANTINE = "quarantine.tsv"
# A spool line without its newline is a hook still writing, unless the file is older than this.
PARTIAL_LINE_GRACE_S = 60.0
_UNESCAPE = re.compile(r"\\(.)", re.S)
_UNESCAPED = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def spool_dir(home: Path) -> Path:
    return Path(home) / "spool"


# ---------------------------------------------------------------------------------------------
# Hook scripts. @@NAME@@ placeholders are filled by `hook_script`; everything else is verbatim.

_BASH = r'''# netcopilot shell integration for bash (printed by `netcopilot init bash`).
# Load it from ~/.bashrc with:   eval "$(@@NETCOPILOT@@ init bash)"   (or save it to a file and source that)
# Records each command (start, duration, exit status, directory, session) with builtins only;
# a background `netcopilot history sync` stores them. Commands starting with a space are skipped.
if [[ -n "${BASH_VERSION-}" && -z "${__nc_hooked-}" && $- == *i* ]]; then
__nc_hooked=1
__nc_spool_dir="${NETCOPILOT_HOME:-@@HOME@@}/spool"
__nc_sync_cmd=(@@SYNC@@)
__nc_host=${HOSTNAME:-localhost}
__nc_user=${USER:-${LOGNAME:-$(id -un 2>/dev/null)}}
__nc_now() {  # sets __nc_t to the time in microseconds, without forking
    if [[ -n "${EPOCHREALTIME-}" ]]; then __nc_t=${EPOCHREALTIME//[!0-9]/}
    else builtin printf -v __nc_t '%(%s)T000000' -1; fi
}
__nc_now
export NETCOPILOT_SESSION="${__nc_host%%.*}-$$-${__nc_t:0:10}"
__nc_spool="$__nc_spool_dir/$NETCOPILOT_SESSION.tsv"
__nc_count=0 __nc_last_sync=${__nc_t:0:10} __nc_ready= __nc_start= __nc_cmd= __nc_cwd=
__nc_last_num= __nc_prev_cmd= __nc_ignorespace= __nc_ignoredups=
__nc_escape() {  # sets __nc_esc to $1 as one spool field
    local v=${1//\\/\\\\}
    v=${v//$'\t'/\\t}
    v=${v//$'\n'/\\n}
    __nc_esc=${v//$'\r'/\\r}
}
__nc_last_entry() {  # sets __nc_num and __nc_line from `history 1` (one fork)
    local entry
    entry=$(HISTTIMEFORMAT= builtin history 1)
    entry=${entry#"${entry%%[![:space:]]*}"}
    __nc_num=${entry%%[!0-9]*}
    __nc_line=${entry:${#__nc_num}+2}
}
__nc_forget() { builtin history -d "$1" 2>/dev/null && __nc_last_num=$(( $1 - 1 )); }
__nc_preexec() {  # DEBUG trap: the first command of a new history line is the user's
    [[ -n "$__nc_ready" && -z "${COMP_LINE-}" && $BASH_SUBSHELL == 0 && -o history ]] || return 0
    __nc_last_entry
    [[ -n "$__nc_num" && "$__nc_num" != "$__nc_last_num" ]] || return 0  # no new line: a PROMPT_COMMAND part
    __nc_ready= __nc_last_num=$__nc_num
    if [[ "$__nc_line" == [[:space:]]* ]]; then  # not recorded, and kept out of history if the user asked
        [[ -n "$__nc_ignorespace" ]] && __nc_forget "$__nc_num"
        return 0
    fi
    [[ -n "$__nc_ignoredups" && "$__nc_line" == "$__nc_prev_cmd" ]] && __nc_forget "$__nc_num"
    __nc_prev_cmd=$__nc_line __nc_cmd=$__nc_line __nc_cwd=$PWD
    __nc_now
    __nc_start=$__nc_t
}
__nc_boot='__nc_prev_debug=$(trap -p DEBUG); __nc_install'  # runs once, at the top level of the first prompt
__nc_install() {  # after every rc file, outside `source` and functions, which both hide DEBUG traps
    __nc_trap_arg() { __nc_prev_debug=$2; }  # "trap -- 'command' DEBUG": keep running it after ours
    eval "__nc_trap_arg ${__nc_prev_debug#trap } '' ''"
    trap "__nc_preexec \"\$_\"${__nc_prev_debug:+; $__nc_prev_debug}" DEBUG
    if [[ ":${HISTCONTROL-}:" == *:ignore@(space|both):* ]]; then __nc_ignorespace=1; fi
    if [[ ":${HISTCONTROL-}:" == *:ignore@(dups|both):* ]]; then __nc_ignoredups=1; fi
    # bash would drop those lines before we see them; we drop them ourselves (see __nc_preexec)
    HISTCONTROL=${HISTCONTROL//ignoreboth/}
    HISTCONTROL=${HISTCONTROL//ignorespace/}
    HISTCONTROL=${HISTCONTROL//ignoredups/}
    __nc_last_entry
    __nc_last_num=$__nc_num __nc_prev_cmd=$__nc_line
    if (( ${#PROMPT_COMMAND[@]} > 1 )); then PROMPT_COMMAND=("${PROMPT_COMMAND[@]:1}")
    else PROMPT_COMMAND=${PROMPT_COMMAND#"$__nc_boot"$'\n'}; fi
}
__nc_precmd() {  # first in PROMPT_COMMAND: append one line, keep $? for what follows
    local status=$?
    if [[ -n "$__nc_start" ]]; then
        __nc_now
        local end=$__nc_t cwd
        __nc_escape "$__nc_cwd"; cwd=$__nc_esc
        __nc_escape "$__nc_cmd"
        [[ -e "$__nc_spool" ]] || (umask 077; mkdir -p "$__nc_spool_dir" && : >>"$__nc_spool") 2>/dev/null
        { builtin printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tbash\t%s\n' "$__nc_start" "$((end - __nc_start))" "$status" \
            "$cwd" "$NETCOPILOT_SESSION" "$__nc_host" "$__nc_user" "$__nc_esc" >>"$__nc_spool"; } 2>/dev/null
        __nc_start=
        if (( ++__nc_count >= @@EVERY@@ || ${end:0:10} - __nc_last_sync >= @@AFTER@@ )); then
            __nc_count=0 __nc_last_sync=${end:0:10}
            (command nice -n 10 "${__nc_sync_cmd[@]}" history sync --quiet </dev/null >/dev/null 2>&1 &) >/dev/null 2>&1
        fi
    fi
    __nc_keep_arm_last
    return $status
}
__nc_arm() { local status=$?; __nc_ready=1; return $status; }
__nc_keep_arm_last() {  # tools loaded after us append to PROMPT_COMMAND; arming after them saves forks
    if (( ${#PROMPT_COMMAND[@]} > 1 )); then
        if [[ "${PROMPT_COMMAND[-1]}" != __nc_arm ]]; then
            local parts=() part
            for part in "${PROMPT_COMMAND[@]}"; do [[ "$part" == __nc_arm ]] || parts+=("$part"); done
            PROMPT_COMMAND=("${parts[@]}" __nc_arm)
        fi
    elif [[ "${PROMPT_COMMAND-}" != *$'\n'__nc_arm ]]; then
        PROMPT_COMMAND="${PROMPT_COMMAND//$'\n'__nc_arm/}"$'\n'__nc_arm
    fi
}
if (( ${#PROMPT_COMMAND[@]} > 1 )); then
    PROMPT_COMMAND=("$__nc_boot" __nc_precmd "${PROMPT_COMMAND[@]}" __nc_arm)
else
    PROMPT_COMMAND="$__nc_boot"$'\n'"__nc_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}"$'\n'__nc_arm
fi
fi
'''

_ZSH = r'''# netcopilot shell integration for zsh (printed by `netcopilot init zsh`).
# Load it from ~/.zshrc with:   eval "$(@@NETCOPILOT@@ init zsh)"   (or save it to a file and source that)
# Records each command (start, duration, exit status, directory, session) with builtins only;
# a background `netcopilot history sync` stores them. Commands starting with a space are skipped.
if [[ -n "${ZSH_VERSION-}" && -z "${__nc_hooked-}" && -o interactive ]]; then
typeset -g __nc_hooked=1
zmodload zsh/datetime 2>/dev/null
autoload -Uz add-zsh-hook
typeset -g __nc_spool_dir="${NETCOPILOT_HOME:-@@HOME@@}/spool"
typeset -ga __nc_sync_cmd=(@@SYNC@@)
typeset -g __nc_host=${HOST:-localhost} __nc_user=${USER:-${LOGNAME:-$(id -un 2>/dev/null)}}
export NETCOPILOT_SESSION="${__nc_host%%.*}-$$-${epochtime[1]}"
typeset -g __nc_spool="$__nc_spool_dir/$NETCOPILOT_SESSION.tsv"
typeset -gi __nc_count=0 __nc_last_sync=${epochtime[1]} __nc_start=0
typeset -g __nc_cmd= __nc_cwd= __nc_pending=
__nc_escape() {  # sets REPLY to $1 as one spool field
    local v=${1//\\/\\\\}
    v=${v//$'\t'/\\t}
    v=${v//$'\n'/\\n}
    REPLY=${v//$'\r'/\\r}
}
__nc_preexec() {
    __nc_pending=
    [[ "$1" == [[:space:]]* ]] && return 0
    __nc_cmd=$1 __nc_cwd=$PWD __nc_pending=1
    (( __nc_start = epochtime[1] * 1000000 + epochtime[2] / 1000 ))
}
__nc_precmd() {
    local exit_status=$?
    if [[ -n "$__nc_pending" ]]; then
        local -i end
        (( end = epochtime[1] * 1000000 + epochtime[2] / 1000 ))
        local cwd
        __nc_escape "$__nc_cwd"; cwd=$REPLY
        __nc_escape "$__nc_cmd"
        [[ -e "$__nc_spool" ]] || (umask 077; mkdir -p "$__nc_spool_dir" && : >>"$__nc_spool") 2>/dev/null
        { builtin printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tzsh\t%s\n' "$__nc_start" "$(( end - __nc_start ))" "$exit_status" \
            "$cwd" "$NETCOPILOT_SESSION" "$__nc_host" "$__nc_user" "$REPLY" >>"$__nc_spool"; } 2>/dev/null
        __nc_pending=
        if (( ++__nc_count >= @@EVERY@@ || epochtime[1] - __nc_last_sync >= @@AFTER@@ )); then
            __nc_count=0 __nc_last_sync=${epochtime[1]}
            (command nice -n 10 "${__nc_sync_cmd[@]}" history sync --quiet </dev/null >/dev/null 2>&1 &) >/dev/null 2>&1
        fi
    fi
    return $exit_status
}
add-zsh-hook preexec __nc_preexec
precmd_functions=(__nc_precmd ${precmd_functions:#__nc_precmd})
fi
'''

_FISH = r'''# netcopilot shell integration for fish (printed by `netcopilot init fish`).
# Load it from ~/.config/fish/config.fish with:   @@NETCOPILOT@@ init fish | source
# Records each command (duration, exit status, directory, session); a background
# `netcopilot history sync` stores them. Commands starting with a space are skipped.
if status is-interactive; and not set -q __nc_hooked
    set -g __nc_hooked 1
    if set -q NETCOPILOT_HOME; and test -n "$NETCOPILOT_HOME"
        set -g __nc_spool_dir $NETCOPILOT_HOME/spool
    else
        set -g __nc_spool_dir '@@HOME@@/spool'
    end
    set -g __nc_sync_cmd @@SYNC@@
    set -g __nc_host (hostname 2>/dev/null; or echo localhost)
    set -g __nc_user (set -q USER; and echo $USER; or id -un 2>/dev/null)
    set -g __nc_last_sync (date +%s)
    set -g __nc_count 0
    set -gx NETCOPILOT_SESSION (string split -m1 . $__nc_host)[1]-$fish_pid-$__nc_last_sync
    set -g __nc_spool $__nc_spool_dir/$NETCOPILOT_SESSION.tsv

    function __nc_escape
        set -l v (string replace -a -- '\\' '\\\\' $argv[1])
        set v (string join -- '\\n' $v)
        string replace -a -- \t '\\t' $v | string replace -a -- \r '\\r'
    end

    function __nc_preexec --on-event fish_preexec
        set -g __nc_cwd $PWD
    end

    function __nc_postexec --on-event fish_postexec
        set -l exit_status $status
        if string match -qr -- '^\s' $argv[1]; or test -z "$argv[1]"
            return $exit_status
        end
        set -l now_us (date +%s%6N)  # GNU date; elsewhere whole seconds (then commands of one second tie)
        string match -qr -- '^[0-9]+$' $now_us; or set now_us (date +%s)000000
        set -l now (string sub -e -6 -- $now_us)
        set -l duration_us (math -s0 "$CMD_DURATION * 1000")
        set -l start_us (math -s0 "$now_us - $duration_us")
        if not test -e $__nc_spool
            command sh -c 'umask 077; mkdir -p "$1" && : >>"$2"' sh $__nc_spool_dir $__nc_spool 2>/dev/null
        end
        begin
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tfish\t%s\n' $start_us $duration_us $exit_status \
                (__nc_escape $__nc_cwd) $NETCOPILOT_SESSION $__nc_host $__nc_user (__nc_escape $argv[1]) >>$__nc_spool
        end 2>/dev/null
        set -g __nc_count (math $__nc_count + 1)
        if test $__nc_count -ge @@EVERY@@; or test (math $now - $__nc_last_sync) -ge @@AFTER@@
            set -g __nc_count 0
            set -g __nc_last_sync $now
            command nice -n 10 $__nc_sync_cmd history sync --quiet </dev/null >/dev/null 2>&1 &
            disown $last_pid 2>/dev/null
        end
        return $exit_status
    end
end
'''

_TEMPLATES = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def hook_script(shell: str, home: Path, netcopilot: list[str], every: int = SYNC_EVERY,
                after_s: int = SYNC_AFTER_S) -> str:
    """The hook for `shell`. `netcopilot` is the command that runs this program (absolute, so the
    hook works whatever PATH the shell has); `home` is used when NETCOPILOT_HOME is unset."""
    if shell not in _TEMPLATES:
        raise InputError(f"shell {shell!r} is not supported: choose one of {', '.join(SHELLS)}")
    quoted = " ".join(shlex.quote(part) for part in netcopilot)
    home_text = str(home).replace("'", "")
    if shell != "fish":  # inside "${NETCOPILOT_HOME:-...}": escape what double quotes would expand
        home_text = re.sub(r'([\\$`"])', r"\\\1", str(home))
    text = _TEMPLATES[shell]
    for key, value in (("NETCOPILOT", quoted), ("HOME", home_text), ("SYNC", quoted), ("EVERY", str(int(every))),
                       ("AFTER", str(int(after_s)))):
        text = text.replace(f"@@{key}@@", value)
    return text


# ---------------------------------------------------------------------------------------------
# Spool lines


def unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(0)), text)


def parse_spool_line(line: str) -> CommandEvent:
    """One spool line as an event (secrets not yet masked); ValueError names the bad field."""
    parts = line.rstrip("\n").split("\t")
    if len(parts) != len(SPOOL_FIELDS):
        raise ValueError(f"expected {len(SPOOL_FIELDS)} tab-separated fields, got {len(parts)}")
    values = dict(zip(SPOOL_FIELDS, parts))
    numbers = {}
    for name in ("start_us", "duration_us", "exit"):
        try:
            numbers[name] = int(values[name])
        except ValueError:
            raise ValueError(f"field '{name}' is not an integer: {values[name][:40]!r}") from None
    command = unescape(values["command"])
    if not command.strip():
        raise ValueError("field 'command' is empty")
    return CommandEvent(
        command=command, user=values["user"], host=values["host"], session=values["session"],
        cwd=unescape(values["cwd"]), started_at=datetime.fromtimestamp(numbers["start_us"] / 1e6, tz=timezone.utc),
        duration_ms=max(numbers["duration_us"], 0) / 1000.0, exit_status=numbers["exit"],
        source=f"hook:{values['shell'] or 'shell'}",
    )


# ---------------------------------------------------------------------------------------------
# Sync


@dataclass
class SyncReport:
    files: int = 0
    stored: int = 0
    masked: int = 0
    malformed: int = 0
    busy: bool = False  # another sync holds the lock
    quarantine: Path | None = None
    problems: list[str] = field(default_factory=list)  # "file:line: why" for malformed lines
    rejected: list[tuple[str, int, str, str]] = field(default_factory=list)  # file, line, masked raw line, why


@dataclass
class _Batch:
    """What was read from one `.syncing` file: its events and how far it was consumed."""

    path: Path
    consumed: int
    events: list[CommandEvent]
    bad: list[tuple[int, str, str]]  # line number, raw line, problem


def _lock(folder: Path) -> int | None:
    fd = os.open(folder / ".sync.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _claim(folder: Path) -> list[Path]:
    """Rename every spool to `.syncing` (a hook appending meanwhile starts a new file); earlier
    `.syncing` files, left by a sync whose database failed, are taken again."""
    claimed = sorted(folder.glob("*.syncing"))
    for spool in sorted(folder.glob("*.tsv")):
        if spool.name == QUARANTINE:
            continue
        target = spool.with_name(f"{spool.name}.{os.getpid()}.{time.time_ns()}.syncing")
        try:
            spool.rename(target)
        except FileNotFoundError:
            continue
        claimed.append(target)
    return claimed


def _read(path: Path) -> _Batch:
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and time.time() - path.stat().st_mtime > PARTIAL_LINE_GRACE_S:
        end = len(data)  # an abandoned partial line: quarantined below, not kept forever
    events, bad = [], []
    for number, raw in enumerate(data[:end].decode("utf-8", "replace").split("\n"), 1):
        if not raw.strip():
            continue
        try:
            events.append(parse_spool_line(raw))
        except ValueError as exc:
            bad.append((number, raw, str(exc)))
    return _Batch(path, end, events, bad)


def _finish(batch: _Batch) -> None:
    """Remove what was stored; bytes appended after the read (a hook that opened the file just
    before the rename) stay in a `.syncing` file for the next sync."""
    with batch.path.open("rb") as handle:
        handle.seek(batch.consumed)
        tail = handle.read()
    if tail:
        rest = batch.path.with_name(f"{batch.path.name}.{time.time_ns()}.syncing")
        fd = os.open(rest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(tail)
    batch.path.unlink()


def _masked_fields(raw: str) -> str:
    """A malformed line is kept for a human to look at, but never with its secrets."""
    return "\t".join(mask(part)[0] for part in raw.split("\t"))


def _quarantine(folder: Path, batches: list[_Batch]) -> Path | None:
    lines = [f"{b.path.name}:{number}\t{_masked_fields(raw)}\n" for b in batches for number, raw, _ in b.bad]
    if not lines:
        return None
    target = folder / QUARANTINE
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.writelines(lines)
    return target


def in_order(events: Iterable[CommandEvent]) -> list[CommandEvent]:
    """Events in the order they were run (by start time; the order read breaks ties)."""
    return sorted(events, key=lambda e: e.started_at.timestamp() if e.started_at else 0.0)


def pending(folder: Path) -> Iterator[Path]:
    """Spool files waiting for a sync."""
    if folder.is_dir():
        yield from (p for p in folder.iterdir() if p.suffix in (".tsv", ".syncing") and p.name != QUARANTINE)


def sync_spool(folder: Path, save: Callable[[list[CommandEvent]], int]) -> SyncReport:
    """Mask and store every spooled command with `save` (one transaction). If `save` raises, the
    spool stays for the next sync; malformed lines are counted and moved to the quarantine file."""
    report = SyncReport()
    if not folder.is_dir():
        return report
    folder.chmod(0o700)
    fd = _lock(folder)
    if fd is None:
        report.busy = True
        return report
    try:
        batches = [_read(path) for path in _claim(folder)]
        events = in_order(e for b in batches for e in b.events)  # a failed sync's leftovers come first in time
        for event in events:
            event.command, count = mask(event.command)
            report.masked += count
        report.stored = save(events) if events else 0
        report.quarantine = _quarantine(folder, batches)
        for batch in batches:
            _finish(batch)
        report.files = len(batches)
        report.malformed = sum(len(b.bad) for b in batches)
        report.problems = [f"{b.path.name}:{n}: {why}" for b in batches for n, _, why in b.bad]
        report.rejected = [(b.path.name, n, _masked_fields(raw), why) for b in batches for n, raw, why in b.bad]
    finally:
        os.close(fd)
    return report
