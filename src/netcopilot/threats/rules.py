"""Unsupervised, rule-based threat detectors: they need no labelled data.

``detect_rules(connections, events=None, *, indicators=None) -> list[Finding]`` runs every rule on
connection records (from ``pcap`` or ``zeek``) plus the side events of a capture (ARP, DNS, L2
address changes, odd TCP probes) and returns findings sorted by severity, then score.

Thresholds are module constants; each says why it has its value. They are deliberately set so
ordinary traffic (web browsing, DNS, DHCP, ping, traceroute, file transfers) never reaches them:
a false alarm on a normal capture costs more trust than a missed slow scan.

Every command in ``next_steps`` is built only from addresses that parse with ``ipaddress``
(anything else is left out) and names from the data pass through ``shlex.quote``.
"""

from __future__ import annotations

import ipaddress
import math
import shlex
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

# --- port scan ----------------------------------------------------------------------------
# nmap's default scan touches 1000 ports in seconds; even `nmap -F` touches 100. A client talks to
# a handful of ports on one server (80/443/53, an app port). 15 distinct ports that mostly go
# unanswered within a minute is far outside normal use and still catches small targeted scans.
PORT_SCAN_MIN_PORTS = 15
PORT_SCAN_WINDOW = 60.0          # seconds
PORT_SCAN_MIN_FAILED = 0.6       # share of those attempts that got no data (S0/REJ/RST...)
PORT_SCAN_HIGH_PORTS = 100       # >= this many ports (or any port found open): severity high

# --- host sweep ---------------------------------------------------------------------------
# One source probing the same port (or pinging) on many hosts. Browsers reach many web servers,
# but those connections succeed; a sweep mostly hits nothing. 10 hosts per minute, 70 % failed.
HOST_SWEEP_MIN_HOSTS = 10
HOST_SWEEP_WINDOW = 60.0
HOST_SWEEP_MIN_FAILED = 0.7      # TCP/UDP only; an ICMP echo sweep counts whether answered or not
# Sweeps walk a subnet: 10 hosts of one /24 (IPv6: one /64). Hosts spread over the internet are
# what a client with broken connectivity produces (every site it tries fails), so those need 50.
HOST_SWEEP_SPREAD_MIN = 50

# UDP traceroute (Linux traceroute, mtr -u) sends to consecutive ports from 33434 and gets no UDP
# answer: it would look like a UDP port scan / sweep.
TRACEROUTE_PORTS = range(33434, 33535)

# --- SYN flood ----------------------------------------------------------------------------
# A busy server sees at most a few half-open connections per second from packet loss; a flood is
# hundreds to millions. 200 unanswered SYNs to one host:port in 10 s (20/s) with >= 80 % of all
# attempts half-open is well above loss-driven noise and well below any real flood.
SYN_FLOOD_MIN = 200
SYN_FLOOD_WINDOW = 10.0
SYN_FLOOD_MIN_HALF_OPEN = 0.8
SYN_FLOOD_CRITICAL = 2000        # or >= SYN_FLOOD_SPOOFED_SOURCES distinct sources: critical
SYN_FLOOD_SPOOFED_SOURCES = 50

# --- brute force --------------------------------------------------------------------------
# fail2ban's sshd default bans after 5 failures in 10 min; we want fewer false alarms than a
# ban, so 15 short connections that exchanged data, from one source to one login port, in 5 min.
BRUTE_FORCE_PORTS = {22: "ssh", 3389: "rdp", 23: "telnet", 21: "ftp", 5900: "vnc",
                     110: "pop3", 143: "imap", 445: "smb"}
BRUTE_FORCE_MIN = 15
BRUTE_FORCE_WINDOW = 300.0
BRUTE_FORCE_MAX_DURATION = 30.0  # a login attempt is short; an interactive session is not

# --- DNS ----------------------------------------------------------------------------------
# A typo or a stale search domain gives a few NXDOMAINs; DGA malware, tunnels and subdomain
# brute-forcing give dozens of distinct failing names per minute.
NXDOMAIN_MIN = 20
NXDOMAIN_MIN_NAMES = 10
NXDOMAIN_WINDOW = 60.0
NXDOMAIN_HIGH = 100

# --- OS fingerprinting / stealth probes -----------------------------------------------------
# No TCP stack sends NULL, SYN+FIN, SYN+RST or FIN+PSH+URG ("Xmas") packets: one is a curiosity
# (a broken middlebox), several distinct kinds against one host is nmap -O / xprobe.
OSFP_MIN_KINDS = 2
OSFP_MIN_PACKETS = 3

# --- unusual flows ------------------------------------------------------------------------
# Robust z-score of log bytes / packets / duration per (proto, service) against the file's own
# baseline (median and MAD). Needs a real baseline (30 flows of the service), a z >= 6 and at least
# 1 (natural log) unit of spread assumed, so a flow must be ~400x the typical size to be flagged.
UNUSUAL_MIN_GROUP = 30
UNUSUAL_Z = 6.0
UNUSUAL_MIN_SCALE = 1.0
UNUSUAL_MAX_FINDINGS = 10

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_FAILED_STATES = {"S0", "REJ", "RSTOS0", "RSTR", "RSTRH", "SH", "SHR", "OTH", "RSTO", "S1"}


@dataclass
class Finding:
    kind: str            # port_scan | host_sweep | syn_flood | brute_force | arp_spoof |
    #                      dns_nxdomain_burst | dns_zone_transfer | unusual_flow | intel_match |
    #                      os_fingerprinting
    severity: str        # critical | high | medium | low
    score: float         # 0..1, for ranking
    hosts: list[str]     # involved, attacker first
    summary: str         # one line a person reads
    evidence: list[str]  # facts: counts, ports, time span, examples
    next_steps: list[str]  # commands to run
    records: list[int] = field(default_factory=list)  # indices of the connection records


# ------------------------------------------------------------------ helpers
def safe_ip(value) -> str | None:
    """The canonical text of an IP address, or None if it is not one (never trust data)."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def _q(value) -> str:
    return shlex.quote(str(value))


def _fmt_ts(ts: float) -> str:
    return pd.Timestamp(ts, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")


def _span(t0: float, t1: float) -> str:
    return f"{_fmt_ts(t0)} .. {_fmt_ts(t1)} UTC ({t1 - t0:.1f} s)"


def _ports(ports: Iterable[int], limit: int = 12) -> str:
    ps = sorted(set(int(p) for p in ports))
    text = ", ".join(str(p) for p in ps[:limit])
    return text + (f" ... (+{len(ps) - limit} more)" if len(ps) > limit else "")


def _tcpdump(*ips: str) -> str:
    ok = [ip for ip in (safe_ip(i) for i in ips) if ip]
    return "sudo tcpdump -nn -c 200 " + " and ".join(f"host {ip}" for ip in ok)


def _best_window(ts: np.ndarray, keys: np.ndarray, width: float):
    """Sliding window (ts sorted) maximising distinct keys: (count, lo, hi) with hi exclusive."""
    best = (0, 0, 0)
    cnt: Counter = Counter()
    lo = 0
    for hi in range(len(ts)):
        cnt[keys[hi]] += 1
        while ts[hi] - ts[lo] > width:
            k = keys[lo]
            cnt[k] -= 1
            if not cnt[k]:
                del cnt[k]
            lo += 1
        if len(cnt) > best[0]:
            best = (len(cnt), lo, hi + 1)
    return best


def _busiest(ts: np.ndarray, width: float) -> tuple[int, int]:
    """The busiest window of `width` seconds in sorted, non-empty ts: (start, end), end
    exclusive, so ts[start:end] are its records."""
    j = np.searchsorted(ts, ts + width, side="right")
    k = int(np.argmax(j - np.arange(len(ts))))
    return k, int(j[k])


def _prep(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    for c in ("src_bytes", "dst_bytes", "src_pkts", "dst_pkts", "sport", "dport"):
        if c in d:
            d[c] = pd.to_numeric(d[c], errors="coerce").fillna(0).astype("int64")
        else:
            d[c] = 0
    d["duration"] = pd.to_numeric(d.get("duration", 0.0), errors="coerce").fillna(0.0)
    d["state"] = d["state"].fillna("OTH").astype(str) if "state" in d else "OTH"
    d["proto"] = d["proto"].astype(str)
    d["src"] = d["src"].astype(str)
    d["dst"] = d["dst"].astype(str)
    d["payload"] = (d["src_bytes"] > 0) | (d["dst_bytes"] > 0)
    # an attempt that failed: TCP with no data either way; UDP/ICMP that got no answer at all
    d["failed"] = np.where(d["proto"] == "tcp", ~d["payload"] & d["state"].isin(_FAILED_STATES),
                           d["dst_pkts"] == 0)
    d["traceroute"] = (d["proto"] == "udp") & d["dport"].isin(TRACEROUTE_PORTS)
    return d.sort_values("ts", kind="stable")


def _groups(df: pd.DataFrame, keys: list[str], distinct: str | None, minimum: int):
    """(key, rows) for the groups with at least `minimum` rows (or distinct values of a column).
    Cheap filter first: only qualifying groups are materialised."""
    g = df.groupby(keys, sort=False)
    sizes = g[distinct].nunique() if distinct else g.size()
    keep = sizes[sizes >= minimum]
    if keep.empty:
        return []
    sel = df.set_index(keys).index.isin(keep.index)
    sub = df[sel]
    return list(sub.groupby(keys, sort=False))


def _net(ip: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) holding an address."""
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    return str(ipaddress.ip_network(f"{a}/{24 if a.version == 4 else 64}", strict=False))


def _is_unicast(ip: str) -> bool:
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if a.is_multicast or a.is_unspecified:
        return False
    return not (a.version == 4 and (str(a) == "255.255.255.255" or str(a).endswith(".255")))


# ------------------------------------------------------------------ rules on connections
def rule_port_scan(d: pd.DataFrame) -> list[Finding]:
    out = []
    cand = d[d["proto"].isin(["tcp", "udp"]) & ~d["traceroute"]]
    if cand.empty:
        return out
    for (src, dst), sub in _groups(cand, ["src", "dst"], "dport", PORT_SCAN_MIN_PORTS):
        ts = sub["ts"].to_numpy()
        nbest, lo, hi = _best_window(ts, sub["dport"].to_numpy(), PORT_SCAN_WINDOW)
        if nbest < PORT_SCAN_MIN_PORTS:
            continue
        w = sub.iloc[lo:hi]
        failed = float(w["failed"].mean())
        if failed < PORT_SCAN_MIN_FAILED:
            continue
        allsub = sub  # whole scan for evidence
        ports = allsub["dport"].unique()
        is_tcp = allsub["proto"] == "tcp"
        opened = (is_tcp & allsub["state"].isin(["S1", "SF", "RSTO", "S2", "S3", "RSTR"])) | \
            (~is_tcp & (allsub["dst_pkts"] > 0))
        open_ports = sorted(set(int(p) for p in allsub.loc[opened, "dport"]))
        closed = int((allsub["state"] == "REJ").sum())
        silent = int((allsub["state"] == "S0").sum())
        protos = "/".join(sorted(allsub["proto"].unique()))
        high = len(ports) >= PORT_SCAN_HIGH_PORTS or bool(open_ports)
        rate = nbest / max(w["ts"].iloc[-1] - w["ts"].iloc[0], 1.0)
        score = min(1.0, 0.5 + math.log10(len(ports)) / 6 + (0.1 if open_ports else 0.0))
        a, t = safe_ip(src), safe_ip(dst)
        evidence = [
            f"{len(ports)} distinct {protos} ports probed on {dst} from {src} "
            f"({len(allsub)} attempts, {_span(allsub['ts'].iloc[0], allsub['ts'].iloc[-1])})",
            f"busiest {PORT_SCAN_WINDOW:.0f} s: {nbest} ports, {rate:.1f} ports/s, "
            f"{failed:.0%} got no data back",
            f"responses: {silent} unanswered (S0), {closed} refused (REJ), "
            f"{len(open_ports)} open",
            f"ports: {_ports(ports)}",
        ]
        if open_ports:
            evidence.append(f"open ports seen by the scanner: {_ports(open_ports, 20)}")
        steps = []
        if a and t:
            steps = [_tcpdump(a, t),
                     f"sudo ss -tnp state established '( dst {a} or src {a} )'",
                     f"grep -r {_q(a)} /var/log/ 2>/dev/null | tail -n 50",
                     f"sudo iptables -I INPUT -s {a} -j DROP   # only if the scan is not authorised"]
        out.append(Finding(
            "port_scan", "high" if high else "medium", round(score, 3), [src, dst],
            f"{src} scanned {len(ports)} ports on {dst}"
            + (f"; {len(open_ports)} answered as open" if open_ports else ""),
            evidence, steps, [int(i) for i in allsub.index]))
    return out


def rule_host_sweep(d: pd.DataFrame) -> list[Finding]:
    out = []
    uni = {ip: _is_unicast(ip) for ip in pd.unique(d["dst"])}
    d = d[d["dst"].map(uni).astype(bool)]
    icmp_echo = (d["proto"] == "icmp") & d["sport"].isin([8, 128])
    tcpudp = d["proto"].isin(["tcp", "udp"]) & ~d["traceroute"]
    cand = d[icmp_echo | tcpudp].copy()
    if cand.empty:
        return out
    cand["target"] = np.where(cand["proto"] == "icmp", "echo", cand["proto"] + "/" +
                              cand["dport"].astype(str))
    for (src, target), sub in _groups(cand, ["src", "target"], "dst", HOST_SWEEP_MIN_HOSTS):
        nbest, lo, hi = _best_window(sub["ts"].to_numpy(), sub["dst"].to_numpy(),
                                     HOST_SWEEP_WINDOW)
        if nbest < HOST_SWEEP_MIN_HOSTS:
            continue
        w = sub.iloc[lo:hi]
        failed = float(w["failed"].mean())
        if target != "echo" and failed < HOST_SWEEP_MIN_FAILED:
            continue
        per_net = Counter(_net(h) for h in set(w["dst"]))
        if max(per_net.values()) < HOST_SWEEP_MIN_HOSTS and nbest < HOST_SWEEP_SPREAD_MIN:
            continue
        hosts = list(dict.fromkeys(sub["dst"]))
        alive = sorted(set(sub.loc[sub["dst_pkts"] > 0, "dst"]))
        what = "ping (ICMP echo)" if target == "echo" else target
        a = safe_ip(src)
        steps = [_tcpdump(a)] if a else []
        if a:
            steps.append(f"sudo tcpdump -nn -c 100 src host {a} and "
                         + ("icmp" if target == "echo" else
                            f"{target.split('/')[0]} dst port {int(target.split('/')[1])}"))
        out.append(Finding(
            "host_sweep", "medium", round(min(1.0, 0.4 + math.log10(len(hosts)) / 5), 3),
            [src] + hosts[:50],
            f"{src} swept {len(hosts)} hosts with {what}",
            [f"{len(hosts)} distinct hosts probed with {what} "
             f"({_span(sub['ts'].iloc[0], sub['ts'].iloc[-1])})",
             f"busiest {HOST_SWEEP_WINDOW:.0f} s: {nbest} hosts, {failed:.0%} unanswered",
             f"{len(alive)} hosts answered" + (f": {', '.join(alive[:10])}" if alive else ""),
             f"examples: {', '.join(hosts[:8])}"],
            steps, [int(i) for i in sub.index]))
    return out


def rule_syn_flood(d: pd.DataFrame) -> list[Finding]:
    out = []
    tcp = d[d["proto"] == "tcp"]
    if tcp.empty:
        return out
    half = tcp["state"].isin(["S0", "RSTOS0", "SH"]) & ~tcp["payload"]
    cand = tcp[half]
    for (dst, dport), sub in _groups(cand, ["dst", "dport"], None, SYN_FLOOD_MIN):
        ts = sub["ts"].to_numpy()
        # max attempts in any window
        k, end = _busiest(ts, SYN_FLOOD_WINDOW)
        nwin = end - k
        if nwin < SYN_FLOOD_MIN:
            continue
        t0, t1 = ts[k], ts[end - 1]
        allw = int(((tcp["ts"] >= t0) & (tcp["ts"] <= t1) & (tcp["dport"] == dport) &
                    (tcp["dst"] == dst)).sum())
        share = nwin / max(allw, 1)
        if share < SYN_FLOOD_MIN_HALF_OPEN:
            continue
        srcs = sub["src"].value_counts()
        crit = len(sub) >= SYN_FLOOD_CRITICAL or len(srcs) >= SYN_FLOOD_SPOOFED_SOURCES
        t = safe_ip(dst)
        steps = []
        if t:
            steps = [f"sudo tcpdump -nn -c 200 'dst host {t} and tcp dst port {int(dport)} "
                     "and tcp[tcpflags] & tcp-syn != 0'",
                     f"ss -tan state syn-recv '( sport = :{int(dport)} )' | wc -l",
                     "sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog"]
        top = ", ".join(f"{s} ({c})" for s, c in srcs.head(5).items())
        out.append(Finding(
            "syn_flood", "critical" if crit else "high",
            round(min(1.0, 0.6 + math.log10(len(sub)) / 10), 3),
            list(srcs.index[:20]) + [dst],
            f"SYN flood against {dst}:{int(dport)}: {len(sub)} half-open connections from "
            f"{len(srcs)} source{'s' if len(srcs) != 1 else ''}",
            [f"{nwin} half-open attempts in {SYN_FLOOD_WINDOW:.0f} s "
             f"({nwin / SYN_FLOOD_WINDOW:.0f}/s), {share:.0%} of all connections to the port",
             f"{len(sub)} in total, {_span(ts[0], ts[-1])}",
             f"{len(srcs)} distinct sources; top: {top}"],
            steps, [int(i) for i in sub.index]))
    return out


def rule_brute_force(d: pd.DataFrame) -> list[Finding]:
    out = []
    cand = d[(d["proto"] == "tcp") & d["dport"].isin(list(BRUTE_FORCE_PORTS))]
    if cand.empty:
        return out
    for (src, dst, dport), sub in _groups(cand, ["src", "dst", "dport"], None, BRUTE_FORCE_MIN):
        short = sub[(sub["duration"] <= BRUTE_FORCE_MAX_DURATION) & sub["payload"]]
        if len(short) < BRUTE_FORCE_MIN:
            continue
        ts = short["ts"].to_numpy()
        k, end = _busiest(ts, BRUTE_FORCE_WINDOW)
        nwin = end - k
        if nwin < BRUTE_FORCE_MIN:
            continue
        svc = BRUTE_FORCE_PORTS[int(dport)]
        long_after = sub[(sub["duration"] > BRUTE_FORCE_MAX_DURATION) & sub["payload"] &
                         (sub["ts"] >= ts[0])]
        a, t = safe_ip(src), safe_ip(dst)
        steps = []
        if a and t:
            steps = [_tcpdump(a, t)]
            if svc == "ssh":
                steps += [f"sudo grep -E 'Failed password|Invalid user' /var/log/auth.log | "
                          f"grep -F {_q(a)} | tail -n 20",
                          f"sudo journalctl -u ssh -u sshd --since today | grep -F {_q(a)} | "
                          "tail -n 50"]
            elif svc == "rdp":
                steps += ["Get-WinEvent -FilterHashtable @{LogName='Security';Id=4625} "
                          "-MaxEvents 50   # on the Windows target"]
            steps += [f"sudo iptables -I INPUT -s {a} -p tcp --dport {int(dport)} -j DROP   "
                      "# if the source is not yours",
                      f"last -i | grep -F {_q(a)}"]
        ev = [f"{nwin} short {svc} connections from {src} to {dst}:{int(dport)} within "
              f"{BRUTE_FORCE_WINDOW:.0f} s ({len(short)} in total, "
              f"{_span(ts[0], ts[-1])})",
              f"median duration {short['duration'].median():.1f} s, median bytes "
              f"{int(short['src_bytes'].median())} out / {int(short['dst_bytes'].median())} in"]
        sev = "high"
        if not long_after.empty:
            ev.append(f"{len(long_after)} longer session(s) followed: a login may have "
                      "succeeded")
            sev = "critical"
        out.append(Finding(
            "brute_force", sev, round(min(1.0, 0.6 + math.log10(len(short)) / 8), 3),
            [src, dst],
            f"possible {svc} brute force from {src} against {dst}: {len(short)} short "
            "connections", ev, steps, [int(i) for i in sub.index]))
    return out


def rule_unusual_flow(d: pd.DataFrame) -> list[Finding]:
    if len(d) < UNUSUAL_MIN_GROUP:
        return []
    feats = {"src_bytes": np.log1p(d["src_bytes"].clip(lower=0)),
             "dst_bytes": np.log1p(d["dst_bytes"].clip(lower=0)),
             "packets": np.log1p((d["src_pkts"] + d["dst_pkts"]).clip(lower=0)),
             "duration": np.log1p(d["duration"].clip(lower=0))}
    X = pd.DataFrame(feats, index=d.index)
    group = d["proto"] + "/" + d.get("service", pd.Series("other", index=d.index)).astype(str)
    zmax = pd.Series(0.0, index=d.index)
    which = pd.Series("", index=d.index)
    for _g, idx in group.groupby(group).groups.items():
        if len(idx) < UNUSUAL_MIN_GROUP:
            continue
        sub = X.loc[idx]
        med = sub.median()
        mad = (sub - med).abs().median() * 1.4826
        scale = np.maximum(mad, UNUSUAL_MIN_SCALE)
        z = (sub - med) / scale          # only "more than usual" is suspicious
        zz = z.max(axis=1)
        zmax.loc[idx] = zz
        which.loc[idx] = z.idxmax(axis=1)
    hits = zmax[zmax >= UNUSUAL_Z].sort_values(ascending=False).head(UNUSUAL_MAX_FINDINGS)
    out = []
    for i, z in hits.items():
        r = d.loc[i]
        a, t = safe_ip(r["src"]), safe_ip(r["dst"])
        svc = r.get("service", "other")
        out.append(Finding(
            "unusual_flow", "low", round(min(1.0, float(z) / 20), 3), [r["src"], r["dst"]],
            f"unusual {r['proto']}/{svc} flow {r['src']}:{int(r['sport'])} -> "
            f"{r['dst']}:{int(r['dport'])} ({which[i].replace('_', ' ')} far above the file's "
            "baseline)",
            [f"robust z = {z:.1f} on {which[i]} against {int((group == group[i]).sum())} "
             f"{r['proto']}/{svc} flows in this data",
             f"{int(r['src_bytes'])} bytes out, {int(r['dst_bytes'])} bytes in, "
             f"{int(r['src_pkts'] + r['dst_pkts'])} packets, {float(r['duration']):.1f} s, "
             f"state {r['state']}, started {_fmt_ts(float(r['ts']))} UTC"],
            [_tcpdump(a, t)] if a and t else [], [int(i)]))
    return out


# ------------------------------------------------------------------ rules on events
def rule_arp_spoof(events: list[dict]) -> list[Finding]:
    arps = [e for e in events if e.get("kind") == "arp"]
    if not arps:
        return []
    l2 = [e for e in events if e.get("kind") == "l2_change"]
    ip_macs: dict[str, dict[str, float]] = defaultdict(dict)     # ip -> mac -> first seen
    mac_ips: dict[str, dict[str, float]] = defaultdict(dict)
    asked: set[tuple[str, str]] = set()                           # (asker ip, asked-for ip)
    unsolicited: dict[str, list[dict]] = defaultdict(list)        # mac -> replies nobody asked
    for e in arps:
        sip, smac = e["sender_ip"], e["sender_mac"]
        if e["op"] == "request":
            asked.add((sip, e["target_ip"]))
        elif e["op"] == "reply" and (e["target_ip"], sip) not in asked and \
                e["target_ip"] != sip:
            unsolicited[smac].append(e)
        if sip == "0.0.0.0" or smac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
            continue                                              # ARP probes claim nothing
        ip_macs[sip].setdefault(smac, e["ts"])
        mac_ips[smac].setdefault(sip, e["ts"])
    out: list[Finding] = []
    seen_macs: set[str] = set()
    # (a) one IP claimed by two or more MACs
    for ip, macs in ip_macs.items():
        if len(macs) < 2:
            continue
        order = sorted(macs, key=macs.get)
        newer = order[1:]
        seen_macs.update(newer)
        flips = [e for e in arps if e["sender_ip"] == ip and e["sender_mac"] in macs]
        changes = sum(1 for x, y in zip(flips, flips[1:]) if x["sender_mac"] != y["sender_mac"])
        others = sorted({o for m in newer for o in mac_ips[m] if o != ip})
        attacker = others[:1] if others else []
        victims = sorted({e["target_ip"] for e in flips if e["sender_mac"] in newer} - {ip})
        out.append(Finding(
            "arp_spoof", "high", round(min(1.0, 0.7 + 0.05 * changes), 3),
            attacker + [ip] + victims,
            f"ARP spoofing: {ip} is claimed by {len(macs)} MAC addresses ({', '.join(order)})",
            [f"{ip} first at {order[0]} ({_fmt_ts(macs[order[0]])} UTC), then "
             + ", ".join(f"{m} ({_fmt_ts(macs[m])} UTC)" for m in newer),
             f"{changes} change(s) of the mapping in {len(flips)} ARP packets from {ip}"]
            + ([f"{m} also claims {', '.join(sorted(mac_ips[m]))}" for m in newer
                if len(mac_ips[m]) > 1]),
            _arp_steps(ip, attacker)))
    # (b) a MAC claiming several IPs, with traffic rerouted through it or unsolicited replies
    for mac, ips in mac_ips.items():
        if len(ips) < 2 or mac in seen_macs:
            continue
        moved = [e for e in l2 if e["new_mac"] == mac]
        unsol = unsolicited.get(mac, [])
        if not moved and not unsol:
            continue                                              # a multi-homed host/router
        impersonated = sorted({e["sender_ip"] for e in unsol}) or \
            sorted(ip for ip in ips if any(ev["target_ip"] == ip for ev in arps
                                           if ev["op"] == "reply" and ev["sender_mac"] != mac))
        own = [ip for ip in sorted(ips, key=ips.get) if ip not in impersonated]
        victims = sorted({e["target_ip"] for e in unsol} | {e["peer"] for e in moved}
                         - set(ips))
        old_macs = sorted({e["old_mac"] for e in moved})
        ev = [f"{mac} claims {len(ips)} IP addresses in ARP: "
              + ", ".join(f"{ip} ({_fmt_ts(t)} UTC)" for ip, t in sorted(ips.items(),
                                                                      key=lambda kv: kv[1]))]
        if unsol:
            ev.append(f"{len(unsol)} unsolicited ARP repl{'ies' if len(unsol) > 1 else 'y'} "
                      f"from {mac} claiming {', '.join(sorted({e['sender_ip'] for e in unsol}))}"
                      f" sent to {', '.join(sorted({e['target_ip'] for e in unsol}))}")
        if moved:
            moved_ips = sorted({e["ip"] for e in moved})
            ev.append(f"traffic between {', '.join(victims[:5]) or 'hosts'} and "
                      f"{len(moved_ips)} address(es) ({', '.join(moved_ips[:5])}) switched from "
                      f"{', '.join(old_macs)} to {mac} at {_fmt_ts(min(e['ts'] for e in moved))}"
                      " UTC: the victim's traffic now passes through that MAC (man in the "
                      "middle)")
        sev = "high" if moved or len(unsol) >= 2 else "medium"
        score = 0.6 + (0.2 if moved else 0.0) + (0.1 if unsol else 0.0)
        target_ip = impersonated[0] if impersonated else (own[-1] if own else "")
        out.append(Finding(
            "arp_spoof", sev, round(min(score, 1.0), 3),
            own + impersonated + victims,
            f"ARP spoofing: {mac} ({', '.join(own) or '?'}) claims "
            f"{', '.join(impersonated) or 'another host'}"
            + (" and traffic was rerouted through it" if moved else ""),
            ev, _arp_steps(target_ip, own)))
    return out


def _arp_steps(ip: str, attacker: list[str]) -> list[str]:
    steps = ["arp -an", "ip neigh show"]
    t = safe_ip(ip)
    if t:
        steps.append(f"ip neigh show to {t}")
        steps.append(f"sudo arping -c 3 {t}   # who answers for {t} right now")
    steps.append("sudo tcpdump -nn -e -c 100 arp")
    for a in attacker[:1]:
        a = safe_ip(a)
        if a:
            steps.append(f"sudo tcpdump -nn -e -c 100 host {a}")
    return steps


def _dns_events(events: list[dict], d: pd.DataFrame) -> list[dict]:
    dns = [e for e in events if e.get("kind") == "dns"]
    if dns or "dns_query" not in d:
        return dns
    # no DNS events (e.g. a log): fall back on the per-connection DNS columns
    rows = d[d["dns_query"].notna()] if "dns_query" in d else d.iloc[:0]
    for i, r in rows.iterrows():
        base = {"kind": "dns", "ts": float(r["ts"]), "query": r["dns_query"],
                "qtype": r.get("dns_qtype"), "id": None, "opcode": 0, "answers": 0,
                "proto": r["proto"], "record": int(i)}
        dns.append({**base, "src": r["src"], "sport": int(r["sport"]), "dst": r["dst"],
                    "dport": int(r["dport"]), "qr": False, "rcode": None})
        rc = r.get("dns_rcode")
        if isinstance(rc, str) and rc:
            dns.append({**base, "src": r["dst"], "sport": int(r["dport"]), "dst": r["src"],
                        "dport": int(r["sport"]), "qr": True, "rcode": rc,
                        "answers": None})
    return dns


def rule_dns(dns: list[dict]) -> list[Finding]:
    out = []
    # zone transfers
    xfr = [e for e in dns if not e["qr"] and e.get("qtype") in ("AXFR", "IXFR")]
    for (client, server, zone, qtype), qs in _group(xfr, lambda e: (e["src"], e["dst"],
                                                                    e["query"], e["qtype"])).items():
        answers = [e for e in dns if e["qr"] and e["src"] == server and e["dst"] == client
                   and e.get("qtype") == qtype and e.get("query") == zone]
        ok = [e for e in answers if e.get("rcode") == "NOERROR" and (e.get("answers") or 0) > 0]
        refused = [e for e in answers if e.get("rcode") not in (None, "NOERROR")]
        c, s = safe_ip(client), safe_ip(server)
        ev = [f"{len(qs)} {qtype} quer{'ies' if len(qs) > 1 else 'y'} for zone {zone!r} from "
              f"{client} to {server} at {_fmt_ts(qs[0]['ts'])} UTC"]
        if ok:
            ev.append(f"the server answered: {sum(e.get('answers') or 0 for e in ok)} records in "
                      f"{len(ok)} message(s) - the zone was transferred")
        elif refused:
            ev.append(f"the server refused ({refused[0]['rcode']})")
        else:
            ev.append("no answer seen in this data")
        steps = []
        if s:
            steps.append(f"dig axfr {_q(zone)} @{s}   # from a host that should NOT be allowed")
            steps.append("grep -rn allow-transfer /etc/bind/ 2>/dev/null   # restrict to "
                         "secondary servers")
        if c:
            steps.append(_tcpdump(c))
        out.append(Finding(
            "dns_zone_transfer", "high" if ok else "medium", 0.8 if ok else 0.5,
            [client, server],
            f"DNS zone transfer ({qtype}) of {zone!r} requested by {client} from {server}"
            + (" and it succeeded" if ok else ""),
            ev, steps, sorted({int(e["record"]) for e in qs + answers
                               if e.get("record") is not None})))
    # NXDOMAIN bursts per client
    nx = sorted((e for e in dns if e["qr"] and e.get("rcode") == "NXDOMAIN"),
                key=lambda e: e["ts"])
    for client, es in _group(nx, lambda e: e["dst"]).items():
        if len(es) < NXDOMAIN_MIN:
            continue
        ts = np.array([e["ts"] for e in es])
        k, end = _busiest(ts, NXDOMAIN_WINDOW)
        win = es[k:end]
        names = sorted({e.get("query") or "?" for e in win})
        if len(win) < NXDOMAIN_MIN or len(names) < NXDOMAIN_MIN_NAMES:
            continue
        parents = Counter(".".join(str(n).split(".")[-2:]) for n in names)
        c = safe_ip(client)
        out.append(Finding(
            "dns_nxdomain_burst", "high" if len(es) >= NXDOMAIN_HIGH else "medium",
            round(min(1.0, 0.4 + math.log10(len(es)) / 5), 3), [client],
            f"{client} received {len(es)} NXDOMAIN answers ({len(names)} distinct names in "
            f"{NXDOMAIN_WINDOW:.0f} s): DGA malware, DNS tunnelling or subdomain brute-forcing",
            [f"{len(win)} NXDOMAIN in the busiest {NXDOMAIN_WINDOW:.0f} s, {len(es)} in total "
             f"({_span(es[0]['ts'], es[-1]['ts'])})",
             f"most common parent domains: "
             + ", ".join(f"{p} ({n})" for p, n in parents.most_common(5)),
             f"examples: {', '.join(names[:8])}"],
            ([f"sudo tcpdump -nn -c 200 host {c} and port 53"] if c else [])
            + ["sudo ss -tunap | grep -F ':53 '"],
            sorted({int(e["record"]) for e in es if e.get("record") is not None})))
    return out


def rule_os_fingerprint(events: list[dict], d: pd.DataFrame) -> list[Finding]:
    odd = [e for e in events if e.get("kind") == "tcp_odd"]
    out = []
    pairs = {k: es for k, es in _group(odd, lambda e: (e["src"], e["dst"])).items()
             if len(es) >= OSFP_MIN_PACKETS and len({e["probe"] for e in es}) >= OSFP_MIN_KINDS}
    by_pair: dict = {}
    if pairs and d is not None and len(d):
        sel = d.set_index(["src", "dst"]).index.isin(list(pairs))
        by_pair = {k: g for k, g in d[sel].groupby(["src", "dst"], sort=False)}
    for (src, dst), es in pairs.items():
        kinds = Counter(e["probe"] for e in es)
        ports = sorted({e["dport"] for e in es})
        stealth_scan = len(ports) >= PORT_SCAN_MIN_PORTS
        a, t = safe_ip(src), safe_ip(dst)
        extra = []
        recs = {int(e["record"]) for e in es if e.get("record") is not None}
        pair = by_pair.get((src, dst))
        if pair is not None:
            pair = pair[(pair["ts"] >= es[0]["ts"] - 5.0) & (pair["ts"] <= es[-1]["ts"] + 5.0)]
            recs |= {int(i) for i in pair.index}
            if len(pair):
                extra.append(f"{len(pair)} connection records from {src} to {dst} in "
                             f"{_span(pair['ts'].min(), pair['ts'].max())}: "
                             f"{int((pair['proto'] == 'icmp').sum())} ICMP, "
                             f"{int((pair['proto'] == 'udp').sum())} UDP, "
                             f"{int((pair['proto'] == 'tcp').sum())} TCP")
        out.append(Finding(
            "port_scan" if stealth_scan else "os_fingerprinting", "medium",
            round(min(1.0, 0.5 + 0.1 * len(kinds)), 3), [src, dst],
            (f"{src} ran a stealth scan ({'/'.join(sorted(kinds))} probes) of {len(ports)} "
             f"ports on {dst}" if stealth_scan else
             f"{src} sent OS-fingerprinting probes to {dst} (nmap -O style: "
             f"{', '.join(sorted(kinds))})"),
            [f"{len(es)} TCP packets with flag combinations no TCP stack sends: "
             + ", ".join(f"{k} x{n}" for k, n in kinds.most_common()),
             f"to port(s) {_ports(ports)} between {_span(es[0]['ts'], es[-1]['ts'])}",
             "examples: " + "; ".join(f"{e['src']}:{e['sport']} > {e['dst']}:{e['dport']} "
                                      f"[{e['flags']}]" for e in es[:3])] + extra,
            ([_tcpdump(a, t), f"sudo tcpdump -nn -c 50 'src host {a} and "
              "(tcp[tcpflags] & (tcp-syn|tcp-fin) = (tcp-syn|tcp-fin) or "
              "tcp[tcpflags] = 0)'"] if a and t else []),
            sorted(recs)))
    return out


def _group(items, key):
    g: dict = defaultdict(list)
    for it in items:
        g[key(it)].append(it)
    return g


# ------------------------------------------------------------------ entry point
def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), -f.score))


def detect_rules(connections: pd.DataFrame | None, events: Iterable[dict] | None = None, *,
                 indicators=None) -> list[Finding]:
    """Run every rule; findings sorted by severity, then score (highest first).

    ``events`` are the side events of a capture (``pcap.read_pcap(...).events``); with a Zeek log
    there are none and the ARP / probe rules simply have nothing to look at. ``indicators`` (an
    ``intel.IndicatorSet``) adds threat-intelligence matches."""
    events = list(events or [])
    d = _prep(connections) if connections is not None and len(connections) else None
    findings: list[Finding] = []
    scan_pairs: set[tuple[str, str]] = set()
    if d is not None:
        scans = rule_port_scan(d)
        scan_pairs = {(f.hosts[0], f.hosts[1]) for f in scans}
        findings += scans
        findings += rule_host_sweep(d)
        findings += rule_syn_flood(d)
        findings += rule_brute_force(d)
        findings += rule_unusual_flow(d)
    findings += rule_arp_spoof(events)
    findings += rule_dns(_dns_events(events, d) if d is not None else
                         [e for e in events if e.get("kind") == "dns"])
    for f in rule_os_fingerprint(events, d):
        if f.kind == "port_scan" and (f.hosts[0], f.hosts[1]) in scan_pairs:
            continue                         # already reported by the connection-based rule
        findings.append(f)
    if indicators is not None:
        from netcopilot.threats.intel import intel_findings
        findings += intel_findings(connections if connections is not None else pd.DataFrame(),
                                   [e for e in events if e.get("kind") == "dns"], indicators)
    return sort_findings(findings)
