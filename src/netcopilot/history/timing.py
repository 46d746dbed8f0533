"""How long will this command take? Execution-time prediction from the command's own parameters
plus what the user's recorded runs of the same family and target took.

A command line is parsed (by `history.cmdline`: its lexer, simple commands and wrapper table; sudo,
env, time, nice, ... stripped, `timeout N` caps the duration) into a `Parsed`: a family (ping, dig,
curl, ...; an unknown program is its own family), the targets it talks to, and three physical
quantities taken from its flags:

    schedule  seconds spent by design: ping's (count-1)*interval, sleep N, iperf -t, mtr cycles
    steps     packets or probes sent on that schedule (each costs a little: timers, wake-ups)
    budget    seconds spent waiting when a target never answers: dig +time x tries per query,
              nc -w, ping -W linger, ssh ConnectTimeout; 0 when the tool has no such wait
    cap       a hard bound: the `timeout` wrapper, curl --max-time, ping -w deadline

The model (`DurationModel`) predicts  min(cap, overhead_f + rate_f * schedule + step_f * steps + sum over
targets of m * (latency_t + p_t * budget_t)):  per family an overhead (process start), a schedule rate
and a cost per step learned by a relative least squares pulled toward the prior (overhead, 1, 0); per target a latency (a server's delay) and the fraction p of
the timeout budget it uses (0: it answers, 1: a black hole), learned from that target's history with
shrinkage toward the family. Measured on this machine: dig against a silent UDP port takes
+time x +tries per query (+retry=R means R+1 tries; default 5 s x 3), against a closed port it is
refused at once; host -W w -R r takes w*(r+1); nslookup -timeout=t -retry=r takes t*r; ping to a
silent host takes (count-1)*interval + W. Intervals come from the log-ratio residuals of the fit,
widened when the target (or the family) has no history, and reaching the full timeout budget
when the target has never been seen answering.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from netcopilot.errors import DataFormatError, InputError
from netcopilot.history.cmdline import lex, simple_commands, unwrap

FAST_TOOLS = frozenset(
    "ss ip ifconfig arp netstat route hostname ethtool iwconfig nmcli resolvectl iptables ip6tables nft lsof "
    "bridge tc ls cat echo pwd cd whoami id uname date true false".split()
)
# Wrappers whose run time is not the wrapped command's (it repeats, runs per input line, is traced):
# the line stays a command of the wrapper's own family, learned from its own history.
NOT_TRANSPARENT = frozenset({"watch", "xargs", "strace"})
UNBOUNDED_GUESS = 30.0  # a command that runs until interrupted, with no history: a guess, wide interval


@dataclass
class Parsed:
    """What the command line says about its own duration (see the module docstring)."""

    command: str
    family: str
    targets: list[tuple[str, float]] = field(default_factory=list)  # (key, sequential requests to it)
    schedule: float = 0.0
    steps: float = 0.0
    budget: float = 0.0  # per request, when the target never answers
    cap: float | None = None
    unbounded: bool = False  # runs until interrupted (ping without -c, interactive ssh, iperf -s)
    known: bool = True  # a family whose flags we understand
    features: dict[str, float] = field(default_factory=dict)

    def capped(self, seconds: float, slack: float = 0.0) -> float:
        """No longer than the cap (plus `slack`: stopping and exiting take a moment too)."""
        return min(seconds, self.cap + slack) if self.cap is not None else seconds


# ---------------------------------------------------------------- parsing helpers

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "ms": 0.001}


def duration(text: str, default_unit: str = "s") -> float | None:
    """'5', '2.5s', '1m', '300ms' -> seconds; None when it is not a duration."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*", str(text))
    if not m:
        return None
    return float(m.group(1)) * _UNITS[m.group(2) or default_unit]


def number(text: str | None, default: float) -> float:
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


def is_local(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in {"localhost", "::1", "ip6-localhost", "0.0.0.0"} or host.startswith("127.")


class Args:
    """Short/long options of one tool: `value(...)` finds an option's argument in any of the usual
    spellings (-c 3, -c3, --count=3, --count 3); `positionals` skips the values of options that take one."""

    def __init__(self, argv: Sequence[str], takes_value: str = "", long_values: Iterable[str] = ()):
        self.argv = list(argv)
        self.short_values = set(takes_value)
        self.long_values = set(long_values)

    def value(self, *names: str) -> str | None:
        found = None
        for i, arg in enumerate(self.argv):
            for name in names:
                if arg == name and i + 1 < len(self.argv):
                    found = self.argv[i + 1]
                elif name.startswith("--") and arg.startswith(name + "="):
                    found = arg[len(name) + 1:]
                elif len(name) == 2 and not name.startswith("--") and arg.startswith(name) and len(arg) > 2 \
                        and not arg.startswith("--"):
                    found = arg[2:]
        return found

    def flag(self, *names: str) -> bool:
        return any(a in names or (len(n) == 2 and a.startswith("-") and not a.startswith("--")
                                  and n[1] in a[1:] and not self._valued(a)) for a in self.argv for n in names)

    def _valued(self, arg: str) -> bool:
        return any(c in self.short_values for c in arg[1:])

    def positionals(self) -> list[str]:
        out, skip = [], False
        for arg in self.argv:
            if skip:
                skip = False
            elif arg.startswith("--"):
                skip = "=" not in arg and arg[2:] in self.long_values
            elif arg.startswith("-") and len(arg) > 1:
                letters = arg[1:]
                for j, c in enumerate(letters):  # -nc3: a valued letter eats the rest or the next word
                    if c in self.short_values:
                        skip = j == len(letters) - 1
                        break
            else:
                out.append(arg)
        return out


# ---------------------------------------------------------------- one parser per family

def _ping(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "cisWwtIlpQMSmT", {"count", "interval", "size", "timeout", "deadline"})
    hosts = a.positionals()
    host = hosts[-1] if hosts else ""
    interval = number(a.value("-i"), 1.0)
    flood = a.flag("-f")
    if flood:
        interval = 0.0
    deadline = duration(a.value("-w") or "x")
    linger = number(a.value("-W"), 10.0)
    count = a.value("-c")
    p = Parsed("", name, [(host, 1.0)] if host else [], cap=deadline,
               features={"count": number(count, 0), "interval": interval, "size": number(a.value("-s"), 56),
                         "flood": float(flood), "local": float(is_local(host))})
    if count is None:
        p.unbounded = deadline is None
        p.schedule = deadline or 0.0
        p.features["count"] = math.inf
    else:
        n = max(1.0, number(count, 1))
        p.schedule, p.steps = (n - 1) * interval, n
        p.budget = linger
    return p


def _fping(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "cCptriIbBOQSf", set())
    hosts = a.positionals()
    count = number(a.value("-c", "-C"), 1)
    period, gap = number(a.value("-p"), 1000) / 1000, number(a.value("-i"), 10) / 1000
    timeout, retries = number(a.value("-t"), 500) / 1000, number(a.value("-r"), 3)
    backoff = number(a.value("-B"), 1.5)
    return Parsed("", name, [(h, 1.0) for h in hosts], schedule=(count - 1) * period + max(0, len(hosts) - 1) * gap,
                  budget=timeout * sum(backoff ** k for k in range(int(retries) + 1)),
                  features={"count": count, "hosts": float(len(hosts)), "period": period})


def _arping(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "cwiIsW", set())
    hosts = a.positionals()
    deadline = duration(a.value("-w") or "x")
    count = a.value("-c")
    interval = number(a.value("-i"), 1.0)
    p = Parsed("", name, [(hosts[-1], 1.0)] if hosts else [], cap=deadline,
               features={"count": number(count, math.inf), "interval": interval})
    if count is None and not a.flag("-f"):
        p.unbounded = deadline is None
        p.schedule = deadline or 0.0
    else:
        p.schedule = (number(count, 1) - 1) * interval if count else 0.0
        p.budget = interval
    return p


def _traceroute(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "mqwfNpszigtFM", {"max-hops", "queries", "wait", "port", "first", "sim-queries"})
    hosts = a.positionals()
    host = hosts[0] if hosts else ""
    hops = number(a.value("-m", "--max-hops"), 30)
    queries = number(a.value("-q", "--queries"), 3 if name == "traceroute" else 1)
    wait = number((a.value("-w", "--wait") or "5").split(",")[0], 5.0)
    parallel = number(a.value("-N", "--sim-queries"), 16) if name == "traceroute" else 1
    local = is_local(host)
    expected_hops = 1.0 if local else min(hops, 12.0)  # a typical internet path; history corrects it
    return Parsed("", name, [(host, expected_hops / max(1.0, parallel / queries))] if host else [],
                  budget=wait * math.ceil(hops * queries / parallel) / max(1.0, expected_hops),
                  features={"max_hops": hops, "queries": queries, "wait": wait, "local": float(local),
                            "numeric": float(a.flag("-n"))})


def _mtr(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "cimsBfpPaQGIuT", {"report-cycles", "interval", "max-ttl", "psize"})
    hosts = a.positionals()
    report = any(x in argv for x in ("-r", "--report", "-w", "--report-wide", "--json", "--csv", "-j", "-C", "-x"))
    cycles = number(a.value("-c", "--report-cycles"), 10)
    interval = number(a.value("-i", "--interval"), 1.0)
    return Parsed("", name, [(hosts[0], 1.0)] if hosts else [], schedule=cycles * interval if report else 0.0,
                  unbounded=not report, features={"cycles": cycles, "interval": interval, "report": float(report)})


def _dig(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "bcfkpqtxyi", set())
    server = ([x[1:] for x in argv if x.startswith("@")] or ["resolver"])[-1]
    plus = {k: v for k, _, v in (x[1:].partition("=") for x in argv if x.startswith("+"))}
    wait = number(plus.get("time", plus.get("timeout")), 5.0)
    tries = number(plus.get("tries"), 3.0)
    if "retry" in plus:
        tries = number(plus["retry"], 2.0) + 1
    tcp = "tcp" in plus or "vc" in plus
    if tcp and "tries" not in plus and "retry" not in plus:
        tries = 1.0
    types = {"a", "aaaa", "mx", "ns", "txt", "soa", "ptr", "srv", "cname", "any", "axfr", "caa", "ds", "dnskey", "in",
             "ch", "hs"}
    names = [x for x in a.positionals() if not x.startswith(("@", "+")) and x.lower() not in types]
    queries = float(max(1, len(names) + (1 if a.value("-x") else 0)))
    port = a.value("-p") or "53"
    return Parsed("", name, [(f"{server}:{port}{'/tcp' if tcp else ''}", queries)], budget=wait * max(1.0, tries),
                  features={"time": wait, "tries": max(1.0, tries), "queries": queries, "tcp": float(tcp)})


def _host(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "cNRtWmp", set())
    args = a.positionals()
    wait = 30.0 if a.flag("-w") else number(a.value("-W"), 5.0)
    tries = max(1.0, number(a.value("-R"), 1.0)) + 1  # host: "-R 0" means the default, 1 retry
    server = args[1] if len(args) > 1 else "resolver"
    return Parsed("", name, [(f"{server}:{a.value('-p') or '53'}", 1.0)], budget=wait * tries,
                  features={"time": wait, "tries": tries})


def _nslookup(name: str, argv: list[str]) -> Parsed:
    opts = {k.lstrip("-"): v for k, _, v in (x.partition("=") for x in argv if x.startswith("-"))}
    args = [x for x in argv if not x.startswith("-")]
    wait, tries = number(opts.get("timeout"), 5.0), max(1.0, number(opts.get("retry"), 3.0))
    server = args[1] if len(args) > 1 else "resolver"
    return Parsed("", name, [(f"{server}:{opts.get('port', '53')}", 1.0)], budget=wait * tries,
                  features={"time": wait, "tries": tries}, unbounded=not args)


_CURL_VALUED = ("o", "H", "d", "X", "u", "A", "e", "x", "m", "w", "T", "F", "b", "c", "r", "C", "K", "E", "Y", "y",
                "z", "U", "P", "Q", "t")
_CURL_LONG = {"output", "header", "data", "data-raw", "data-binary", "data-urlencode", "request", "user", "user-agent",
              "referer", "proxy", "max-time", "write-out", "upload-file", "form", "cookie", "cookie-jar", "range",
              "continue-at", "config", "cert", "key", "cacert", "connect-timeout", "limit-rate", "retry",
              "retry-delay", "retry-max-time", "resolve", "interface", "url", "speed-limit", "speed-time",
              "max-filesize", "dns-servers", "connect-to", "expect100-timeout", "tries", "timeout", "wait",
              "read-timeout", "dns-timeout", "output-document", "post-data", "header"}


def url_key(url: str) -> str:
    """scheme://host:port/path of a URL (the query string varies too often to be a target)."""
    url = url.split("?", 1)[0].split("#", 1)[0]
    return url if "://" in url else "http://" + url


def _http(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "".join(_CURL_VALUED) if name == "curl" else "OotTwUePd", _CURL_LONG)
    urls = [x for x in a.positionals() if "." in x or "://" in x or x.startswith("localhost")]
    if a.value("--url"):
        urls.append(a.value("--url") or "")
    if name == "curl":
        cap = duration(a.value("-m", "--max-time") or "x")
        connect = number(a.value("--connect-timeout"), 0.0)
        retries = number(a.value("--retry"), 0.0)
    else:
        cap = None
        connect = number(a.value("-T", "--timeout", "--connect-timeout"), 0.0)
        retries = number(a.value("-t", "--tries"), 20.0) - 1
    rate = a.value("--limit-rate")
    return Parsed("", name, [(url_key(u), 1.0) for u in urls], budget=connect * (1 + retries), cap=cap,
                  features={"urls": float(len(urls)), "max_time": cap or 0.0, "connect_timeout": connect,
                            "limit_rate": float(bool(rate)), "retries": retries})


def _nc(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "wispqIOTVXxe", set())
    args = a.positionals()
    wait = number(a.value("-w"), 0.0)
    host = args[0] if args else ""
    ports = 0.0
    for spec in args[1:]:
        lo, _, hi = spec.partition("-")
        ports += max(1.0, number(hi, 0) - number(lo, 0) + 1) if hi else 1.0
    scan = a.flag("-z")
    listen = a.flag("-l")
    key = f"{host}:{','.join(args[1:])}{' scan' if scan else ''}"  # a session and a port scan differ
    return Parsed("", name, [(key, max(1.0, ports) if scan else 1.0)] if host else [], budget=wait,
                  unbounded=listen or (not scan and wait == 0.0),
                  features={"wait": wait, "ports": ports, "scan": float(scan), "udp": float(a.flag("-u"))})


def _ssh(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "bcDEeFIiJLlmOoPpQRSWw", set())
    args = a.positionals()
    opts = dict(o.partition("=")[::2] for o in (v for i, v in enumerate(argv) if i and argv[i - 1] == "-o"))
    opts.update(dict(o[2:].partition("=")[::2] for o in argv if o.startswith("-o") and len(o) > 2))
    connect = number({k.lower(): v for k, v in opts.items()}.get("connecttimeout"), 0.0)
    host = f"{args[0]}:{a.value('-p') or 22}" if args else ""
    return Parsed("", name, [(host, 1.0)] if host else [], budget=connect,
                  unbounded=len(args) < 2 and name == "ssh", features={"connect_timeout": connect,
                                                                       "remote_command": float(len(args) > 1)})


def _sleep(name: str, argv: list[str]) -> Parsed:
    total = sum(d for d in (duration(x) for x in argv) if d is not None)
    return Parsed("", name, schedule=total, features={"seconds": total}, known=bool(argv))


def _iperf(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "ctpiObnlPwBMlkfTCAJ", {"time", "client", "port", "interval", "omit", "bytes", "blockcount"})
    server = a.flag("-s") or "--server" in argv
    seconds = number(a.value("-t", "--time"), 10.0) + number(a.value("-O", "--omit"), 0.0)
    host = a.value("-c", "--client") or ""
    return Parsed("", name, [(host, 1.0)] if host else [], schedule=0.0 if server else seconds, unbounded=server,
                  features={"seconds": seconds, "server": float(server)})


def _tcpdump(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "cirwsCGWyEFMTVzZBj", set())
    count = a.value("-c")
    reads_file = a.value("-r") is not None
    return Parsed("", name, unbounded=not reads_file, features={"count": number(count, math.inf),
                                                                "file": float(reads_file)})


def _nmap(name: str, argv: list[str]) -> Parsed:
    a = Args(argv, "pTeiSDgoM", {"top-ports", "max-retries", "host-timeout", "min-rate", "max-rate"})
    hosts = 0.0
    for h in a.positionals():
        bits = int(h.split("/", 1)[1]) if "/" in h and h.split("/", 1)[1].isdigit() else 32
        hosts += 2.0 ** max(0, 32 - bits) if ":" not in h else 1.0
    ports = 1000.0
    if a.value("-p"):
        ports = 0.0
        for spec in (a.value("-p") or "").split(","):
            lo, _, hi = spec.split(":")[-1].partition("-")
            ports += max(1.0, number(hi or lo, 65535) - number(lo, 1) + 1) if hi or lo else 65535.0
    ports = number(a.value("--top-ports"), ports)
    if a.flag("-F"):
        ports = 100.0
    ping_only = "-sn" in argv or "-sP" in argv
    timing = number((a.value("-T") or "3").lstrip("T"), 3)
    per_probe = {0: 300.0, 1: 15.0, 2: 0.4, 3: 0.0015, 4: 0.001, 5: 0.0008}.get(int(min(5, timing)), 0.0015)
    work = max(1.0, hosts) * (1.0 if ping_only else ports)
    return Parsed("", name, [(" ".join(a.positionals()), 1.0)], schedule=work * per_probe,
                  features={"hosts": hosts, "ports": 0.0 if ping_only else ports, "timing": timing})


PARSERS = {
    "ping": _ping, "ping6": _ping, "fping": _fping, "fping6": _fping, "arping": _arping,
    "traceroute": _traceroute, "traceroute6": _traceroute, "tracepath": _traceroute, "tracepath6": _traceroute,
    "mtr": _mtr, "dig": _dig, "host": _host, "nslookup": _nslookup, "curl": _http, "wget": _http,
    "nc": _nc, "ncat": _nc, "netcat": _nc, "ssh": _ssh, "sleep": _sleep, "iperf": _iperf, "iperf3": _iperf,
    "tcpdump": _tcpdump, "tshark": _tcpdump, "nmap": _nmap,
}


def _strip_wrappers(words: list[str]) -> tuple[list[str], float | None]:
    """The real command's words and the cap of its `timeout` wrappers (the smallest), if any."""
    wrappers, start = unwrap(words, keep_last=False)
    cut = next((w.start for w in wrappers if w.name in NOT_TRANSPARENT), start)
    limits = [duration(w.args[-1]) for w in wrappers if w.name == "timeout" and w.start < cut and w.args]
    caps = [x for x in limits if x is not None]
    return words[cut:], min(caps) if caps else None


def parse_simple(words: list[str], text: str) -> Parsed:
    """One simple command (no pipes or lists) -> Parsed; never raises."""
    words, cap = _strip_wrappers(words)
    if not words:
        return Parsed(text, "empty", known=False)
    prog = words[0].rsplit("/", 1)[-1]
    parser = PARSERS.get(prog)
    if parser is not None:
        parsed = parser(prog, words[1:])
    elif prog in FAST_TOOLS:
        parsed = Parsed("", prog, features={"fast": 1.0})
    else:  # any other program: its own family, the exact command as its target, learned from history
        parsed = Parsed("", prog or "unknown", [(" ".join(words[1:]), 1.0)], known=False)
    parsed.command = text
    if cap is not None:
        parsed.cap = cap if parsed.cap is None else min(cap, parsed.cap)
        if parsed.unbounded:  # runs until `timeout` stops it
            parsed.schedule, parsed.unbounded = cap, False
        parsed.features["timeout_wrapper"] = cap
    return parsed


def split_command(text: str) -> list[list[list[str]]]:
    """Sequence (; && ||) of pipelines (|) of word lists; broken quoting falls back to whitespace."""
    try:
        pieces = lex(text, lenient=True)
    except InputError:  # nothing to run: empty, or only operators
        return []
    sequence: list[list[list[str]]] = [[]]
    for words, _, ended_by in simple_commands(pieces):
        sequence[-1].append([pieces[i].text for i in words])
        if ended_by not in ("|", "|&"):
            sequence.append([])
    return [pipe for pipe in sequence if pipe]


def parse(text: str) -> list[list[Parsed]]:
    """A command line -> its pipelines (run one after another) of Parsed simple commands (run together)."""
    out = [[parse_simple(words, text) for words in pipe] for pipe in split_command(text)]
    return out or [[Parsed(text, "empty", known=False)]]


def main_part(text: str) -> Parsed:
    """The simple command that dominates a line (the first of the longest-looking pipeline)."""
    parts = [p for pipe in parse(text) for p in pipe]
    return max(parts, key=lambda p: (p.unbounded, p.schedule + p.budget, p.known, bool(p.targets)))


# ---------------------------------------------------------------- the model
# fit and predict_one both read a line through `parse`: pipeline.features declares it as the
# `command` feature set, so learning and predicting cannot see a command differently

# Process start and tool set-up (seconds) before anything is learned, and the latency of one request
# to a target never seen (loopback, elsewhere); measured here for the tools installed, guessed otherwise.
PRIOR_OVERHEAD = {"ping": 0.02, "ping6": 0.02, "dig": 0.05, "host": 0.03, "nslookup": 0.03, "curl": 0.02,
                  "wget": 0.02, "traceroute": 0.01, "tracepath": 0.01, "nc": 0.01, "ssh": 0.2, "sleep": 0.003,
                  "nmap": 0.2, "iperf3": 0.1, "iperf": 0.1, "mtr": 0.1}
PRIOR_LATENCY = {"ssh": (0.05, 0.5), "curl": (0.01, 0.3), "wget": (0.01, 0.3), "nmap": (0.05, 0.5)}
DEFAULT_OVERHEAD, DEFAULT_LATENCY, UNKNOWN_GUESS = 0.01, (0.001, 0.03), 0.5


def target_host(key: str) -> str:
    """The host part of a target key (URL, host:port, host)."""
    rest = key.split("://", 1)[-1].split("/", 1)[0]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def observations(events: Iterable[Any]) -> list[tuple[str, float]]:
    """(command, seconds) from CommandEvents (duration_ms), {"command", "seconds"} dicts or pairs;
    runs without a duration, and runs interrupted by the user (exit 130), teach nothing."""
    out = []
    for e in events:
        if isinstance(e, dict):
            command, seconds = e.get("command"), e.get("seconds")
        elif isinstance(e, (tuple, list)):
            command, seconds = e[0], e[1]
        else:
            if getattr(e, "exit_status", None) == 130 or e.duration_ms is None:
                continue
            command, seconds = e.command, e.duration_ms / 1000.0
        if isinstance(command, str) and command.strip() and isinstance(seconds, (int, float)) and seconds > 0:
            out.append((command, float(seconds)))
    return out


@dataclass
class Prediction:
    command: str
    family: str
    seconds: float
    low: float
    high: float
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "seconds": round(self.seconds, 4), "low": round(self.low, 4),
                "high": round(self.high, 4), "family": self.family, "basis": self.basis}


class DurationModel:
    """Per-family overhead and schedule rate + per-target latency and timeout fraction (module docstring).

    fit(events) learns from recorded runs (older runs of a target count `decay` times less per newer
    run); predict(commands) gives seconds; predict_intervals(commands) gives `Prediction`s. The
    estimator protocol of scikit-learn (explicit hyper-parameters, get_params, learned state in `_`)
    without importing it: importing scikit-learn would cost `predict-time` seconds of start-up.
    """

    PARAMS = ("decay", "ridge", "min_spread", "unseen_widen", "jitter", "iterations")

    def __init__(self, decay: float = 0.7, ridge: float = 0.05, min_spread: float = 0.08,
                 unseen_widen: float = 0.35, jitter: float = 0.01, iterations: int = 3):
        self.decay = decay
        self.ridge = ridge
        self.min_spread = min_spread
        self.unseen_widen = unseen_widen
        self.jitter = jitter  # seconds of process-start noise on a busy machine: the interval's floor
        self.iterations = iterations

    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002 - scikit-learn's signature
        return {name: getattr(self, name) for name in self.PARAMS}

    def set_params(self, **params: Any) -> "DurationModel":
        for name, value in params.items():
            if name not in self.PARAMS:
                raise ValueError(f"DurationModel has no parameter {name!r}; expected one of {', '.join(self.PARAMS)}")
            setattr(self, name, value)
        return self

    # -------------------------------------------------------------- learning
    def fit(self, X: Iterable[Any], y: Sequence[float] | None = None) -> "DurationModel":
        """X: events (or commands, with `y` their seconds). Only single simple commands teach."""
        pairs = observations(zip(X, y)) if y is not None else observations(X)
        rows: dict[str, list[tuple[Parsed, float]]] = {}
        for command, seconds in pairs:
            parts = [p for pipe in parse(command) for p in pipe]
            if len(parts) == 1 and parts[0].family != "empty":
                rows.setdefault(parts[0].family, []).append((parts[0], seconds))
        self.families_: dict[str, dict[str, Any]] = {}
        self.targets_: dict[str, dict[str, Any]] = {}
        for family, fam_rows in rows.items():
            self._fit_family(family, fam_rows)
        self.n_observations_ = sum(len(r) for r in rows.values())
        return self

    def _fit_family(self, family: str, rows: list[tuple[Parsed, float]]) -> None:
        y = np.array([s for _, s in rows])
        X = np.array([[1.0, p.schedule, p.steps] for p, _ in rows])
        free = np.array([p.cap is None or s < 0.97 * p.cap for p, s in rows])  # a capped run only says ">= cap"
        keys = [(p.targets[0] if len(p.targets) == 1 else None) for p, _ in rows]
        fam = {"overhead": PRIOR_OVERHEAD.get(family, DEFAULT_OVERHEAD), "rate": 1.0, "step": 0.0, "n": len(rows)}
        coef = lambda: np.array([fam["overhead"], fam["rate"], fam["step"]])  # noqa: E731
        mems = self._fit_targets(rows, y - X @ coef(), free, keys)  # first against the prior: a run that
        for _ in range(max(1, self.iterations)):  # lasted its timeout is read as such, not as overhead
            part = np.array([self._target_part(p, mems, fam)[0] for p, _ in rows])
            fam.update(self._fit_base(X[free], y[free] - part[free], y[free], family))
            mems = self._fit_targets(rows, y - X @ coef(), free, keys)
        fam["latency"] = float(np.median([m["latency"] for m in mems.values() if "/" not in m["level"]] or [0.0]))
        pred = np.array([self._point(p, fam, mems)[0] for p, _ in rows])
        err = np.log(np.maximum(y, 1e-4) / np.maximum(pred, 1e-4))
        fam["spread"] = self._spread(err)
        for key, mem in mems.items():
            idx = [i for i, (p, _) in enumerate(rows) if self._keys(p, family) and key in self._keys(p, family)]
            widen = math.sqrt(1 + 1 / max(1, mem["n"]))
            mem["spread"] = [e * widen for e in self._spread(err[idx])]
        self.families_[family] = fam
        self.targets_.update(mems)

    def _fit_base(self, X: np.ndarray, z: np.ndarray, y: np.ndarray, family: str) -> dict[str, float]:
        """[1, schedule, steps] @ (overhead, rate, step) ~ z: relative least squares with a ridge toward
        the prior (overhead, 1, 0) on the columns that vary; a negative coefficient is dropped."""
        if not len(z):
            return {}
        prior = np.array([PRIOR_OVERHEAD.get(family, DEFAULT_OVERHEAD), 1.0, 0.0])
        w = 1.0 / np.maximum(y, 0.01) ** 2
        active = [0] + [k for k in (1, 2) if np.ptp(X[:, k]) > 0 or np.any(X[:, k] > 0) and k == 1]
        coef = prior.copy()
        for _ in range(2):
            A, base = X[:, active], z - X @ np.where(np.isin(np.arange(3), active), 0.0, coef)
            lam = self.ridge * float(np.sum(w)) / len(z) * np.eye(len(active))
            sol = np.linalg.solve(A.T @ (A * w[:, None]) + lam, A.T @ (w * base) + lam @ prior[active])
            coef[active] = sol
            if np.all(sol[1:] >= 0):
                break
            active = [k for k, c in zip(active, sol) if k == 0 or c >= 0]
            coef[[k for k in (1, 2) if k not in active]] = [0.0 if k == 2 else 1.0 for k in (1, 2) if k not in active]
        return {"overhead": float(max(0.0, coef[0])), "rate": float(max(0.0, coef[1])), "step": float(max(0.0, coef[2]))}

    def _keys(self, p: Parsed, family: str) -> list[str]:
        if len(p.targets) != 1:
            return []
        key = p.targets[0][0]
        host = target_host(key)
        return [f"{family}|{key}"] + ([f"{family}|host/{host}"] if host and host != key else [])

    def _fit_targets(self, rows: list[tuple[Parsed, float]], resid: np.ndarray, free: np.ndarray,
                     keys: list[Any]) -> dict[str, dict[str, Any]]:
        """Per target (and per host): latency a and timeout fraction p with r/m ~ a + p*budget."""
        groups: dict[str, list[int]] = {}
        for i, (p, _) in enumerate(rows):
            if free[i] and keys[i] is not None:
                for key in self._keys(p, p.family):
                    groups.setdefault(key, []).append(i)
        mems = {}
        for key, idx in groups.items():
            m = np.array([rows[i][0].targets[0][1] for i in idx])
            r = resid[idx] / np.maximum(m, 1e-9)
            budget = np.array([rows[i][0].budget for i in idx])
            scale = np.maximum(np.array([rows[i][1] for i in idx]) / m, 0.01)
            w = self.decay ** np.arange(len(idx))[::-1] / scale ** 2  # newest runs count most; relative error
            mems[key] = {"level": key.split("|", 1)[1], "n": len(idx), **self._latency_and_timeout(r, budget, w)}
        return mems

    @staticmethod
    def _latency_and_timeout(r: np.ndarray, budget: np.ndarray, w: np.ndarray) -> dict[str, float]:
        candidates = [(0.0, float(np.sum(w * r) / np.sum(w)))]
        if np.any(budget > 0):
            candidates.append((1.0, float(np.sum(w * (r - budget)) / np.sum(w))))
            if len(r) >= 3 and np.ptp(budget) > 0:
                A = np.stack([np.ones_like(r), budget], axis=1) * np.sqrt(w)[:, None]
                a, p = np.linalg.lstsq(A, r * np.sqrt(w), rcond=None)[0]
                p = float(np.clip(p, 0.0, 1.0))
                candidates.append((p, float(np.sum(w * (r - p * budget)) / np.sum(w))))
        errors = [float(np.sum(w * (r - a - p * budget) ** 2)) for p, a in candidates]
        # equally good fits (one run, or runs with one budget): the one needing the least unexplained
        # latency wins, so a run that lasted exactly its timeout is read as "timed out"
        good = [c for c, e in zip(candidates, errors) if e <= min(errors) * 1.05 + 1e-12]
        p, a = min(good, key=lambda c: abs(c[1]))
        return {"latency": a, "p": p}

    @staticmethod
    def _spread(err: np.ndarray) -> list[float]:
        if not len(err):
            return [0.0, 0.0]
        return [float(np.quantile(err, 0.1)), float(np.quantile(err, 0.9))]

    # -------------------------------------------------------------- predicting
    def _target_part(self, p: Parsed, mems: dict[str, dict[str, Any]], fam: dict[str, Any]) -> tuple[float, float, int]:
        """(expected seconds, seconds if nothing answers, requests to targets without history)."""
        expected = worst = 0.0
        unseen = 0
        for key, m in p.targets:
            mem = mems.get(f"{p.family}|{key}") or mems.get(f"{p.family}|host/{target_host(key)}")
            if mem is None:
                local = is_local(target_host(key))
                default = fam.get("latency")
                if default is None:
                    default = PRIOR_LATENCY.get(p.family, DEFAULT_LATENCY)[0 if local else 1]
                latency, frac = max(0.0, default), 0.0
                unseen += 1
            else:
                latency, frac = mem["latency"], mem["p"]
            expected += m * max(0.0, latency + frac * p.budget)
            worst += m * max(0.0, latency + p.budget)
        return expected, worst, unseen

    def _point(self, p: Parsed, fam: dict[str, Any], mems: dict[str, dict[str, Any]]) -> tuple[float, float, int]:
        base = fam["overhead"] + fam["rate"] * p.schedule + fam.get("step", 0.0) * p.steps
        expected, worst, unseen = self._target_part(p, mems, fam)
        slack = fam["overhead"]
        return p.capped(max(1e-3, base + expected), slack), p.capped(max(1e-3, base + worst), slack), unseen

    def predict_part(self, p: Parsed) -> Prediction:
        """One simple command -> Prediction (never raises)."""
        if p.family == "empty":  # only wrappers, assignments or separators: the shell returns at once
            return Prediction(p.command, "empty", 0.001, 0.0, 0.01, "nothing to run")
        families = getattr(self, "families_", {})
        mems = getattr(self, "targets_", {})
        fam = families.get(p.family)
        seen = fam is not None
        if fam is None:
            fam = {"overhead": PRIOR_OVERHEAD.get(p.family, DEFAULT_OVERHEAD if p.known else UNKNOWN_GUESS),
                   "rate": 1.0, "spread": [-0.3, 0.4] if p.known else [-2.3, 2.3]}
        if p.unbounded and not (seen and any(self._lookup(p, mems))):
            guess = p.capped(UNBOUNDED_GUESS)
            return Prediction(p.command, p.family, guess, min(guess, 1.0), p.capped(600.0),
                              "runs until interrupted; a guess")
        seconds, worst, unseen = self._point(p, fam, mems)
        hits = [m for m in self._lookup(p, mems) if m]
        spread = list(hits[0]["spread"]) if hits and hits[0]["n"] >= 2 else list(fam["spread"])
        lo = min(spread[0], -self.min_spread) - (self.unseen_widen if unseen or not seen else 0.0)
        hi = max(spread[1], self.min_spread) + (self.unseen_widen if unseen or not seen else 0.0)
        low = max(0.0, min(seconds * math.exp(lo), seconds - self.jitter))
        high = max(seconds * math.exp(hi), seconds + self.jitter)
        if unseen or (hits and hits[0]["p"] > 0):
            high = max(high, worst)  # never seen answering (or timed out before): it may wait the full budget
        high = p.capped(high, fam["overhead"])
        basis = (f"history of this target ({hits[0]['n']} run(s))" if hits else
                 f"{p.family} history ({fam.get('n', 0)} run(s))" if seen else
                 "command parameters only" if p.known else "unknown command; a guess")
        return Prediction(p.command, p.family, seconds, min(low, seconds), max(high, seconds), basis)

    def _lookup(self, p: Parsed, mems: dict[str, dict[str, Any]]) -> list[dict[str, Any] | None]:
        return [mems.get(f"{p.family}|{k}") or mems.get(f"{p.family}|host/{target_host(k)}") for k, _ in p.targets]

    def predict_one(self, command: str) -> Prediction:
        """A whole command line: pipelines run one after another (sums), parts of a pipe together (max)."""
        if not command.strip():  # nothing to run: the shell returns at once
            return Prediction(command, "empty", 0.001, 0.0, 0.01, "empty line")
        total = Prediction(command, "empty", 0.0, 0.0, 0.0, "")
        pipes = [[self.predict_part(p) for p in pipe] for pipe in parse(command)]
        for parts in pipes:
            longest = max(parts, key=lambda x: x.seconds)
            total.seconds += longest.seconds
            total.low += max(x.low for x in parts)
            total.high += max(x.high for x in parts)
        main = max((x for parts in pipes for x in parts), key=lambda x: x.seconds)
        total.family = main.family
        total.basis = main.basis + (f"; {len(pipes)} commands in sequence" if len(pipes) > 1 else "")
        return total

    def predict_intervals(self, commands: Iterable[str]) -> list[Prediction]:
        return [self.predict_one(c) for c in commands]

    def predict(self, X: Iterable[str]) -> np.ndarray:
        return np.array([p.seconds for p in self.predict_intervals(X)])

    # -------------------------------------------------------------- persistence (JSON, no pickle)
    def save(self, path: Path) -> Path:
        state = {"params": self.get_params(), "families": getattr(self, "families_", {}),
                 "targets": getattr(self, "targets_", {}), "n_observations": getattr(self, "n_observations_", 0)}
        Path(path).write_text(json.dumps(state, indent=1))
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> "DurationModel":
        try:
            state = json.loads(Path(path).read_text())
            model = cls(**state["params"])
            model.families_, model.targets_ = dict(state["families"]), dict(state["targets"])
            model.n_observations_ = int(state["n_observations"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataFormatError(path, f"not a saved command-time model ({exc})") from None
        return model


def read_learn_file(path: Path) -> list[tuple[str, float]]:
    """A JSONL of {"command", "seconds"} observations; a bad line names its line and field."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read ({exc.__class__.__name__}: {exc})") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise DataFormatError(path, "not a JSON object", line=n) from None
        if not isinstance(row, dict) or not isinstance(row.get("command"), str):
            raise DataFormatError(path, "expected a string", line=n, field="command")
        seconds = row.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
            raise DataFormatError(path, f"expected a non-negative number of seconds, got {seconds!r}", line=n,
                                  field="seconds")
        out.append((row["command"], float(seconds)))
    return out
