"""Better parameters for a command line: limits and timeouts it lacks, `-n` when DNS is broken,
typos in the utility or its options, and what worked before in the user's own history.

    advise(command_line, context=None, history=(), classifier=None) -> list[Advice]

`context` may say {"dns_broken": True}; `history` is a list of
`CommandEvent`s in the order they were run. Every advice names its rule (`kind`: typo,
wrong-flag, missing-limit, timeout, no-dns, better-flag, worked-before, fixed-before) and carries
the full suggested line, every word shell-quoted; nothing is run. Rules are plain checks over
the parsed line, so the same input always gives the same advice in the same order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from netcopilot.errors import InputError
from netcopilot.history.classify import ALIASES, CommandClassifier, damerau
from netcopilot.history.cmdline import Piece, Stage, lex, rebuild, stages
from netcopilot.history.options import ABBREVIATING, COMPLETE_LONG, known_flags, parse_args
from netcopilot.history.records import CommandEvent


@dataclass(frozen=True)
class Advice:
    kind: str
    message: str
    suggested: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Limit:
    """A flag to add when none of `present` is there: `add` goes right after the utility."""
    kind: str
    present: frozenset[str]
    add: tuple[str, ...]
    message: str
    unless: frozenset[str] = frozenset()


def _limit(kind: str, present: str, add: str, message: str, unless: str = "") -> _Limit:
    return _Limit(kind, frozenset(present.split()), tuple(add.split()), message, frozenset(unless.split()))


LIMITS: dict[str, tuple[_Limit, ...]] = {
    "ping": (_limit("missing-limit", "-c -w -f", "-c 4", "ping without -c runs until interrupted; -c 4 stops after 4 requests"),
             _limit("timeout", "-W -w", "-W 2", "-W 2 stops waiting for a lost reply after 2 s instead of the default 10 s")),
    "traceroute": (_limit("timeout", "-w", "-w 2", "-w 2 waits 2 s per probe; silent hops otherwise cost 5 s each"),
                   _limit("no-dns", "-n", "-n", "-n skips the reverse DNS of every hop: faster, and works when DNS is broken")),
    "nc": (_limit("timeout", "-w", "-w 3", "without -w, nc waits for the OS connect timeout (about 2 minutes) on a "
                                          "filtered port", unless="-l"),),
    "ncat": (_limit("timeout", "-w --wait", "-w 3", "without -w, ncat can wait minutes on a filtered port", unless="-l --listen"),),
    "dig": (_limit("timeout", "+time +tries +retry", "+time=2 +tries=1",
                   "+time=2 +tries=1 answers within 2 s when a server is unreachable (default: 5 s x 3 tries)"),),
    "curl": (_limit("timeout", "-m --connect-timeout", "--connect-timeout 5 --max-time 20",
                    "curl has no overall timeout by default; --connect-timeout/--max-time make a hang fail fast"),),
    "wget": (_limit("timeout", "-T --connect-timeout --dns-timeout --read-timeout", "-T 10 -t 2",
                    "wget retries 20 times with a 15-minute read timeout; -T 10 -t 2 fails fast"),),
    "ssh": (_limit("timeout", "-o", "-o ConnectTimeout=5", "ConnectTimeout=5 fails fast when the host doesn't answer",
                   unless="-G -N"),),
    "mtr": (_limit("better-flag", "-r -w -j -C -x -l -p --split --raw", "--report -c 10",
                   "--report -c 10 runs 10 cycles and prints a report instead of the full-screen display"),),
    "tcpdump": (_limit("missing-limit", "-c -w -r -D -G -C", "-c 100", "tcpdump runs until interrupted; -c 100 stops after "
                                                                      "100 packets"),),
    "tshark": (_limit("missing-limit", "-c -a -r -D", "-c 100", "tshark runs until interrupted; -c 100 stops after 100 packets"),),
}
# utilities where `-n` avoids name lookups (what to add when DNS is broken)
NO_DNS = {"traceroute": "-n", "ss": "-n", "netstat": "-n", "mtr": "-n", "tcpdump": "-n", "arp": "-n", "tshark": "-n",
          "iptables": "-n", "ip6tables": "-n", "lsof": "-n", "tracepath": "-n", "route": "-n", "nc": "-n"}
_NO_DNS_PRESENT = {"-n", "-nn", "--numeric", "--no-dns"}


def advise(command_line: str, context: dict[str, Any] | None = None, history: Sequence[CommandEvent] = (),
           classifier: CommandClassifier | None = None) -> list[Advice]:
    """Advice for one command line, most certain first (typos, then limits, then history).
    Typo fixes are carried into the later suggestions, so each suggested line is runnable."""
    context = context or {}
    pieces = lex(command_line)
    out: list[Advice] = []
    fixes: dict[int, str] = {}
    for stage in stages(pieces):
        if stage.index is None:
            continue  # nested in a string (`watch '...'`): not edited
        utility = stage.utility
        if classifier is not None:
            family, guessed = classifier.family_of(utility)
            if guessed and family and utility not in ALIASES:
                fixes[stage.index] = family
                out.append(Advice("typo", f"'{utility}' is not a known command; did you mean '{family}'?",
                                  rebuild(pieces, replace=fixes)))
                utility = family
        for pos, wrong, right in _flag_typos(stage, utility):
            fixes[pos] = right
            out.append(Advice("wrong-flag", f"{utility} has no option '{wrong}'; did you mean '{right.split('=')[0]}'?",
                              rebuild(pieces, replace=fixes)))
        args = tuple(fixes.get(i, a) for i, a in zip(stage.arg_index or (), stage.args))
        out.extend(_limits(pieces, fixes, stage, utility, args, context))
    seen = {a.suggested for a in out}
    out.extend(a for a in _from_history(command_line, pieces, history) if a.suggested not in seen)
    return out


def _flag_typos(stage: Stage, utility: str) -> list[tuple[int, str, str]]:
    """(piece index, wrong option, corrected word) for long options within two edits of exactly
    one known option of a utility whose long options are listed in full."""
    if utility not in COMPLETE_LONG or stage.arg_index is None:
        return []
    known = known_flags(utility)
    out = []
    for pos, word in zip(stage.arg_index, stage.args):
        name, eq, value = word.partition("=")
        if not name.startswith("--") and not (name.startswith("+") and utility == "dig") or name in known:
            continue
        if name.startswith("+no") and f"+{name[3:]}" in known:
            continue
        if utility in ABBREVIATING and sum(k.startswith(name) for k in known) == 1:
            continue  # getopt_long takes an unambiguous prefix
        close = sorted((damerau(name, k), k) for k in known if k[0] == name[0])
        if close and close[0][0] <= 2 and (len(close) == 1 or close[1][0] > close[0][0]):
            out.append((pos, name, close[0][1] + (eq + value if eq else "")))
    return out


def _present(args: tuple[str, ...], stage: Stage, utility: str) -> set[str]:
    names = {a.name for a in parse_args(utility, args) if a.flag}
    if "timeout" in stage.wrappers:
        names.add("timeout")
    return names


def _limits(pieces: list[Piece], fixes: dict[int, str], stage: Stage, utility: str, args: tuple[str, ...],
            context: dict[str, Any]) -> list[Advice]:
    present = _present(args, stage, utility)
    out = []

    def add(kind: str, message: str, words: list[str]) -> None:
        out.append(Advice(kind, message, rebuild(pieces, replace=fixes, insert={stage.index: words})))

    for rule in LIMITS.get(utility, ()):
        if present & rule.present or present & rule.unless:
            continue
        if rule.kind in ("missing-limit", "timeout") and "timeout" in present:
            continue  # `timeout 10 ping ...` already bounds it
        if utility == "ssh" and any(a.startswith("ConnectTimeout") for a in args):
            continue
        message = rule.message
        if utility in ("tcpdump", "tshark") and rule.kind == "missing-limit" and not _has_filter(args, utility):
            message += "; add a filter (host X, port N) too, or it records everything"
        add(rule.kind, message, list(rule.add))
    flag = NO_DNS.get(utility)
    if context.get("dns_broken") and flag and not present & _NO_DNS_PRESENT and utility != "traceroute":
        add("no-dns", f"DNS is broken: {flag} makes {utility} show numbers instead of waiting on name lookups", [flag])
    return out


def _has_filter(args: tuple[str, ...], utility: str) -> bool:
    return any(not a.flag for a in parse_args(utility, args))


def _signature(stage: Stage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(options as typed, positionals) of a stage: what to copy from a run that worked."""
    args = parse_args(stage.utility, stage.args)
    options = tuple(w for a in args if a.flag for w in a.text.split(" ", 1))
    return options, tuple(a.text for a in args if not a.flag)


def _main_stage(line: str) -> Stage | None:
    try:
        found = stages(lex(line))
    except InputError:  # a history line we cannot read is skipped, not fatal
        return None
    return found[0] if found else None


def _from_history(command_line: str, pieces: list[Piece], history: Sequence[CommandEvent]) -> list[Advice]:
    """What worked: the option set this user ran successfully most often with the same utility
    (preferring the same target), and the variant that succeeded right after this line failed."""
    current = next((s for s in stages(pieces) if s.index is not None), None)
    if current is None or not history:
        return []
    options, targets = _signature(current)
    out: list[Advice] = []
    events = [(e, _main_stage(e.command)) for e in history]
    events = [(e, s) for e, s in events if s is not None and s.utility == current.utility]
    fixed = _fixed_variant(command_line.strip(), options, events)
    if fixed is not None and fixed.strip() != command_line.strip():
        out.append(Advice("fixed-before", f"last time '{command_line.strip()}' failed and '{fixed}' worked", fixed))
    worked: Counter = Counter()
    for event, stage in events:
        if event.exit_status == 0:
            opts, tgts = _signature(stage)
            worked[opts] += 3 if set(tgts) & set(targets) else 1  # the same target counts more
    if worked:
        best, weight = max(worked.items(), key=lambda kv: (kv[1], kv[0]))
        if weight >= 2 and best and not set(best) <= set(options):
            words = [w for w in current.wrappers if w in ("sudo", "doas")] + [current.utility, *best, *targets]
            suggested = rebuild([Piece(w) for w in words])
            if suggested != fixed:
                    out.append(Advice("worked-before", f"you usually run {current.utility} with {' '.join(best)} "
                                                    "and it succeeded", suggested))
    return out


def _fixed_variant(line: str, options: tuple[str, ...], events: list[tuple[CommandEvent, Stage]]) -> str | None:
    """The first success after a failure of this exact line (or of the same options)."""
    for i in reversed(range(len(events))):
        event, stage = events[i]
        if not event.failed:
            continue
        same = event.command.strip() == line or _signature(stage)[0] == options
        if not same:
            continue
        for later, _ in events[i + 1:i + 4]:
            if later.exit_status == 0 and (not event.session or later.session == event.session):
                return later.command.strip()
    return None
