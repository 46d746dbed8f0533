"""Threat intelligence: indicator lists (IPs, CIDRs, domains, URLs) and matching them on traffic.

Formats read by ``load_indicators(path)``:

* plain lists, one indicator per line: IPv4/IPv6 addresses, CIDRs (FireHOL ``.netset``/``.ipset``),
  ``a.b.c.d-e.f.g.h`` ranges, domains, URLs (reduced to their host), ``ip:port`` (Feodo-style),
  hosts-file lines (``0.0.0.0 evil.example``); ``#`` and ``;`` start comments (whole line or
  after whitespace);
* CSV exports (abuse.ch URLhaus / Feodo / ThreatFox style): a header (possibly on a ``#`` comment
  line), quoted fields; the column holding the indicators is found by its name (ip, dst_ip,
  ioc_value, url, domain, host, indicator...) or, failing that, by which column parses best.

Lines that hold no valid indicator are skipped and counted (``IndicatorSet.skipped``, first line
numbers in ``skipped_lines``); a file with no valid indicator at all raises ``DataFormatError``.

Matching is fast on 100k+ entries: IP ranges are kept as sorted integer intervals (one list per
address family) searched with ``bisect``; CIDRs nest or are disjoint, so walking up the enclosing
ranges from the bisect position finds the most specific match in at most 33 (IPv4) / 129 (IPv6)
steps. Domains match exactly or by any parent domain (a listed ``evil.example`` matches
``cdn.evil.example``).

Persisting: ``save_indicators(indicators, home, name)`` writes ``<home>/intel/<name>.txt``
(normalised, one indicator per line); ``load_saved(home)`` merges every saved list.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import os
import re
import shlex
import socket
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

import pandas as pd

from netcopilot.errors import DataFormatError, InputError

MAX_SKIPPED_LINES_NOTED = 5
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+"
                        r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEADER_HINTS = ("ioc_value", "dst_ip", "ip_address", "ipaddress", "ip", "indicator", "ioc",
                 "url", "domain", "hostname", "host", "address", "value", "network", "cidr")
_SINKHOLES = {"0.0.0.0", "127.0.0.1", "::", "::1"}


@dataclass(frozen=True)
class Indicator:
    value: str          # normalised: "192.0.2.1", "198.51.100.0/24", "2001:db8::/32", "evil.example"
    kind: str           # "ip" | "cidr" | "domain"
    source: str = ""    # list name (file stem)
    line: int = 0       # line in the source file (0 when unknown)

    def __str__(self) -> str:
        where = f" ({self.source}" + (f":{self.line}" if self.line else "") + ")" \
            if self.source else ""
        return f"{self.value}{where}"


def parse_indicator(text: str) -> tuple[str, str] | None:
    """(kind, normalised value) for one token, or None if it is not an IP, CIDR, domain or URL."""
    t = text.strip().strip('"').strip("'").strip()
    if not t:
        return None
    t = t.replace("[.]", ".").replace("(.)", ".").replace("[:]", ":")
    if "://" in t or t.lower().startswith(("www.", "hxxp")):
        if t.lower().startswith("hxxp"):
            t = "http" + t[4:]
        if "://" not in t:
            t = "http://" + t
        try:
            host = urlsplit(t).hostname
        except ValueError:
            return None
        return parse_indicator(host) if host else None
    try:
        if "/" in t:
            net = ipaddress.ip_network(t, strict=False)
            if net.num_addresses == 1:
                return "ip", str(net.network_address)
            return "cidr", str(net)
        return "ip", str(ipaddress.ip_address(t))
    except ValueError:
        pass
    if t.startswith("[") and "]" in t:                       # [v6]:port
        return parse_indicator(t[1:t.index("]")])
    if t.count(":") == 1:                                    # ip:port or host:port
        host, port = t.split(":")
        if port.isdigit():
            return parse_indicator(host)
        return None
    name = t.lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    if _DOMAIN_RE.match(name):
        return "domain", name
    return None


def _range_to_cidrs(text: str) -> list[str] | None:
    if text.count("-") != 1:
        return None
    a, b = (x.strip() for x in text.split("-"))
    try:
        lo, hi = ipaddress.ip_address(a), ipaddress.ip_address(b)
        if lo.version != hi.version or hi < lo:
            return None
        return [str(n) for n in ipaddress.summarize_address_range(lo, hi)]
    except ValueError:
        return None


def _ip_int(ip) -> tuple[int, int] | None:
    """(version, integer) of an address (str or ipaddress object); IPv4-mapped IPv6 -> IPv4."""
    if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        addr = ip
    else:
        text = str(ip).strip()
        try:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
        except OSError:
            pass
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return None
    mapped = getattr(addr, "ipv4_mapped", None)
    if mapped is not None:
        addr = mapped
    return addr.version, int(addr)


def _ip_range(value: str) -> tuple[int, int, int]:
    """(version, first, last) integers of a normalised IP or CIDR."""
    addr, _, plen = value.partition("/")
    ver = 6 if ":" in addr else 4
    base = int.from_bytes(socket.inet_pton(socket.AF_INET6 if ver == 6 else socket.AF_INET,
                                           addr), "big")
    bits = 128 if ver == 6 else 32
    host = bits - int(plen) if plen else 0
    return ver, base, base | ((1 << host) - 1)


class IndicatorSet:
    """A set of indicators with fast IP (CIDR containment) and domain (parent) matching."""

    def __init__(self, indicators: Iterable[Indicator] = ()):
        self._items: list[Indicator] = []
        self._keys: set[tuple[str, str]] = set()
        self._domains: dict[str, Indicator] = {}
        self._ranges: dict[int, list[tuple[int, int, Indicator]]] = {4: [], 6: []}
        self._index: dict[int, tuple] | None = None
        self.skipped = 0
        self.skipped_lines: list[int] = []
        self.sources: list[str] = []
        for ind in indicators:
            self.add(ind)

    # ---------------------------------------------------------------- building
    def add(self, ind: Indicator) -> bool:
        key = (ind.kind, ind.value)
        if key in self._keys:
            return False
        self._keys.add(key)
        self._items.append(ind)
        if ind.kind == "domain":
            self._domains[ind.value] = ind
        else:
            ver, lo, hi = _ip_range(ind.value)
            self._ranges[ver].append((lo, hi, ind))
            self._index = None
        return True

    def update(self, other: "IndicatorSet") -> None:
        for ind in other:
            self.add(ind)
        self.sources += [s for s in other.sources if s not in self.sources]

    def _build(self) -> dict[int, tuple]:
        index = {}
        for ver, ranges in self._ranges.items():
            rs = sorted(ranges, key=lambda r: (r[0], -r[1]))
            starts = [r[0] for r in rs]
            ends = [r[1] for r in rs]
            parent = [-1] * len(rs)
            stack: list[int] = []
            for i, (s, e, _ind) in enumerate(rs):
                while stack and ends[stack[-1]] < s:
                    stack.pop()
                parent[i] = stack[-1] if stack else -1
                stack.append(i)
            index[ver] = (starts, ends, parent, [r[2] for r in rs])
        self._index = index
        return index

    # ---------------------------------------------------------------- matching
    def match_ip(self, ip) -> Indicator | None:
        """The most specific listed IP/CIDR containing ``ip`` (str or ipaddress), else None."""
        parsed = _ip_int(ip)
        if parsed is None:
            return None
        ver, x = parsed
        index = self._index or self._build()
        starts, ends, parent, inds = index[ver]
        if not starts:
            return None
        i = bisect_right(starts, x) - 1
        while i >= 0:
            if ends[i] >= x:
                return inds[i]
            i = parent[i]
        return None

    def match_domain(self, name) -> Indicator | None:
        """The listed domain equal to ``name`` or one of its parents, else None."""
        if not name or not self._domains:
            return None
        n = str(name).strip().lower().rstrip(".")
        while n:
            hit = self._domains.get(n)
            if hit is not None:
                return hit
            dot = n.find(".")
            if dot < 0:
                return None
            n = n[dot + 1:]
        return None

    # ---------------------------------------------------------------- container protocol
    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def __contains__(self, value) -> bool:
        p = parse_indicator(str(value))
        return p is not None and (p[0], p[1]) in self._keys

    def counts(self) -> dict[str, int]:
        c = {"ip": 0, "cidr": 0, "domain": 0}
        for ind in self._items:
            c[ind.kind] += 1
        return c

    def __repr__(self) -> str:
        c = self.counts()
        return (f"IndicatorSet({len(self)} indicators: {c['ip']} IPs, {c['cidr']} networks, "
                f"{c['domain']} domains; {self.skipped} lines skipped)")


# ------------------------------------------------------------------ reading files
def _note_skip(s: IndicatorSet, lineno: int) -> None:
    s.skipped += 1
    if len(s.skipped_lines) < MAX_SKIPPED_LINES_NOTED:
        s.skipped_lines.append(lineno)


def _strip_comment(line: str) -> str:
    s = line.strip()
    if not s or s[0] in "#;" or s.startswith("//"):
        return ""
    for mark in (" #", "\t#", " ;", "\t;"):
        k = s.find(mark)
        if k >= 0:
            s = s[:k]
    return s.strip()


def _plain_tokens(line: str) -> list[str]:
    parts = line.replace(",", " ").split()
    if len(parts) >= 2 and parts[0] in _SINKHOLES:          # hosts-file format
        return parts[1:]
    rng = _range_to_cidrs(line.replace(" ", ""))
    if rng:
        return rng
    return parts[:1]


def _looks_csv(lines: list[tuple[int, str]]) -> bool:
    data = [l for _n, l in lines if l.strip() and not l.lstrip().startswith(("#", ";"))][:50]
    if not data:
        return False
    with_commas = sum(1 for l in data if l.count(",") >= 1)
    return with_commas >= max(1, int(0.8 * len(data))) and any(
        l.count(",") >= 2 or '"' in l for l in data)


def _csv_column(header: list[str] | None, rows: list[list[str]]) -> int | None:
    ncols = max((len(r) for r in rows), default=0)
    if header:
        names = [h.strip().strip('"').strip().lower().lstrip("#").strip() for h in header]
        for hint in _HEADER_HINTS:
            for i, nm in enumerate(names):
                if nm == hint:
                    return i
        for hint in _HEADER_HINTS:
            for i, nm in enumerate(names):
                if hint in nm and not any(x in nm for x in ("type", "status", "port", "link",
                                                             "date", "first", "last")):
                    return i
    sample = rows[:200]
    best, best_rate = None, 0.0
    order = {"ip": 0, "cidr": 0, "domain": 1}
    for i in range(ncols):
        vals = [r[i] for r in sample if i < len(r) and r[i].strip()]
        if not vals:
            continue
        parsed = [parse_indicator(v) for v in vals]
        rate = sum(1 for p in parsed if p) / len(vals)
        # URLs/IPs beat free-text columns that merely contain dotted words
        kinds = [p[0] for p in parsed if p]
        bonus = 0.01 if kinds and min(order[k] for k in kinds) == 0 else 0.0
        if rate + bonus > best_rate:
            best, best_rate = i, rate + bonus
    return best if best_rate >= 0.5 else None


def load_indicators(path: str | Path, *, source: str | None = None) -> IndicatorSet:
    """Read one indicator file (plain list, FireHOL netset, hosts file or CSV export)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(p, "no such file") from None
    except OSError as exc:
        raise DataFormatError(p, f"cannot read ({exc.strerror or exc})") from None
    if b"\x00" in raw[:4096]:
        raise DataFormatError(p, "binary file, not an indicator list")
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    src = source or p.stem
    result = IndicatorSet()
    result.sources.append(src)
    lines = list(enumerate(text.splitlines(), start=1))
    if _looks_csv(lines):
        _read_csv(lines, result, src)
    else:
        for n, line in lines:
            s = _strip_comment(line)
            if not s:
                continue
            good = False
            for tok in _plain_tokens(s):
                parsed = parse_indicator(tok)
                if parsed:
                    result.add(Indicator(parsed[1], parsed[0], src, n))
                    good = True
            if not good:
                _note_skip(result, n)
    if len(result) == 0:
        where = (f"; unusable lines: {', '.join(map(str, result.skipped_lines))}"
                 if result.skipped_lines else "")
        raise DataFormatError(p, "no valid indicators (IP, CIDR, domain or URL) found" + where,
                              line=result.skipped_lines[0] if result.skipped_lines else None)
    return result


def _read_csv(lines: list[tuple[int, str]], result: IndicatorSet, src: str) -> None:
    header = None
    data: list[tuple[int, list[str]]] = []
    last_comment = None
    for n, line in lines:
        st = line.strip()
        if not st:
            continue
        if st.startswith(("#", ";")):
            last_comment = st.lstrip("#; ").strip()
            continue
        row = next(csv.reader(io.StringIO(st), skipinitialspace=True))
        if header is None and not data:
            # a header: this line has no indicator at all, or the last comment looks like one
            if not any(parse_indicator(c) for c in row):
                header = row
                continue
            if last_comment and last_comment.count(",") >= len(row) - 1 >= 1:
                header = next(csv.reader(io.StringIO(last_comment), skipinitialspace=True))
        data.append((n, row))
    col = _csv_column(header, [r for _n, r in data])
    if col is None:
        for n, _row in data:
            _note_skip(result, n)
        return
    for n, row in data:
        parsed = parse_indicator(row[col]) if col < len(row) else None
        if parsed:
            result.add(Indicator(parsed[1], parsed[0], src, n))
        else:
            _note_skip(result, n)


# ------------------------------------------------------------------ persisting
def _intel_dir(home: Path) -> Path:
    return Path(home) / "intel"


def save_indicators(indicators: IndicatorSet, home: str | Path, name: str) -> Path:
    """Write the indicators, normalised, to ``<home>/intel/<name>.txt``; returns the path."""
    if not _NAME_RE.match(name or "") or name in (".", ".."):
        raise InputError(f"invalid intel list name {name!r}: use letters, digits, '.', '_' "
                         "or '-' (at most 64 characters)")
    d = _intel_dir(Path(home))
    d.mkdir(parents=True, exist_ok=True)
    target = d / f"{name}.txt"
    c = indicators.counts()
    lines = [f"# netcopilot indicator list {name}: {len(indicators)} indicators "
             f"({c['ip']} IPs, {c['cidr']} networks, {c['domain']} domains)"]
    lines += [ind.value for ind in indicators]
    tmp = target.with_suffix(".txt.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def load_saved(home: str | Path) -> IndicatorSet:
    """Every list saved under ``<home>/intel/`` merged into one set (empty if none)."""
    merged = IndicatorSet()
    d = _intel_dir(Path(home))
    if not d.is_dir():
        return merged
    for f in sorted(d.glob("*.txt")):
        try:
            merged.update(load_indicators(f, source=f.stem))
        except DataFormatError:
            continue                                   # an emptied list: nothing to merge
    return merged


# ------------------------------------------------------------------ findings
def _safe_ip(value) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def intel_findings(df: pd.DataFrame, dns_events: Iterable[dict], indicators: IndicatorSet):
    """Findings for traffic to/from listed IPs and DNS queries for listed domains."""
    from netcopilot.threats.rules import Finding, _fmt_ts, _ports, _span, sort_findings

    out: list[Finding] = []
    if indicators is None or len(indicators) == 0:
        return out
    if df is not None and len(df):
        ips = pd.unique(pd.concat([df["src"].astype(str), df["dst"].astype(str)]))
        hits = {ip: indicators.match_ip(ip) for ip in ips}
        hits = {ip: ind for ip, ind in hits.items() if ind is not None}
        for ip, ind in hits.items():
            sub = df[(df["src"].astype(str) == ip) | (df["dst"].astype(str) == ip)]
            peers = sorted(set(sub["src"].astype(str)) | set(sub["dst"].astype(str)) - {ip})
            inbound = int((sub["src"].astype(str) == ip).sum())
            sb = pd.to_numeric(sub["src_bytes"], errors="coerce").fillna(0)
            db = pd.to_numeric(sub["dst_bytes"], errors="coerce").fillna(0)
            data = int(sb.sum() + db.sum())
            talked = bool(((sb > 0) & (db > 0)).any())
            a = _safe_ip(ip)
            steps = []
            if a:
                steps = [f"sudo tcpdump -nn -c 200 host {a}",
                         f"sudo ss -tnp dst {a}",
                         f"whois {a}",
                         f"sudo iptables -I OUTPUT -d {a} -j DROP   # block while you "
                         "investigate"]
            out.append(Finding(
                "intel_match", "high" if talked else "medium", 0.9 if talked else 0.6,
                [ip] + peers[:20],
                f"traffic with {ip}, listed in threat intelligence as {ind}",
                [f"{ip} matches indicator {ind.value} ({ind.kind}) from list "
                 f"{ind.source or '?'}" + (f" line {ind.line}" if ind.line else ""),
                 f"{len(sub)} connections ({inbound} initiated by {ip}) with "
                 f"{len(peers)} host(s): {', '.join(peers[:5])}",
                 f"{data} payload bytes exchanged; ports {_ports(sub['dport'])}; "
                 f"{_span(float(sub['ts'].min()), float(sub['ts'].max()))}"],
                steps, [int(i) for i in sub.index]))
    # DNS queries for listed domains
    queries: dict[str, list[dict]] = {}
    for e in dns_events or []:
        if e.get("qr") or not e.get("query"):
            continue
        ind = indicators.match_domain(e["query"])
        if ind is not None:
            queries.setdefault(ind.value, []).append({**e, "_ind": ind})
    if not queries and df is not None and len(df) and "dns_query" in df:
        for i, r in df[df["dns_query"].notna()].iterrows():
            ind = indicators.match_domain(r["dns_query"])
            if ind is not None:
                queries.setdefault(ind.value, []).append(
                    {"ts": float(r["ts"]), "src": r["src"], "dst": r["dst"],
                     "query": r["dns_query"], "record": int(i), "_ind": ind})
    for value, es in queries.items():
        ind = es[0]["_ind"]
        clients = sorted({str(e["src"]) for e in es})
        names = sorted({str(e["query"]) for e in es})
        steps = [f"dig +short {shlex.quote(names[0])}"]
        for c in clients[:3]:
            c = _safe_ip(c)
            if c:
                steps.append(f"sudo tcpdump -nn -c 200 host {c} and port 53")
        out.append(Finding(
            "intel_match", "high", 0.85, clients,
            f"{len(clients)} host(s) looked up {value}, listed in threat intelligence ({ind})",
            [f"{len(es)} DNS quer{'ies' if len(es) > 1 else 'y'} for {', '.join(names[:5])} "
             f"matching indicator {ind.value} from list {ind.source or '?'}",
             f"first at {_fmt_ts(min(e['ts'] for e in es))} UTC by {', '.join(clients[:5])}"],
            steps, sorted({int(e["record"]) for e in es if e.get("record") is not None})))
    return sort_findings(out)
