"""Parse the outputs people already have into topology observations: nodes and edges.

    obs = parse_file("traceroute.txt")            # format detected from the content
    obs = parse_text(text, "pasted")               # the same for text
    obs = from_connections(df)                     # flow records: src, dst (proto, dport, ts, bytes)

Supported: traceroute (Linux traceroute / inetutils), mtr --report (-w, -b), ip route, route -n,
ip neigh, arp -a (Linux, macOS/BSD, Windows), lldpctl (default and -f keyvalue), Cisco show cdp
neighbors (and detail), Cisco show lldp neighbors (and detail), and CSV flow records with src,dst.

Node ids are IP addresses when known, otherwise host names; the machine that ran the command is
`local` (host-side outputs) or the device named in a Cisco prompt (`sw1#show cdp neighbors`).
Every edge is undirected; its kind says how it was learned: hop (traceroute/mtr), route, l2 (ARP /
neighbour table), lldp, cdp, flow. Unrecognised text raises one DataFormatError; a malformed line
inside a recognised format is skipped with a note naming the line.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from netcopilot.errors import DataFormatError

LOCAL = "local"
EDGE_KINDS = ("hop", "l2", "route", "lldp", "cdp", "flow")
# a stronger kind replaces a weaker one when observations are merged; equal ones keep the first
KIND_RANK = {"unknown": 0, "network": 1, "host": 2, "phone": 3, "ap": 3, "dns": 4, "switch": 5, "router": 5, "gateway": 6}
UNRECOGNISED = ("not a recognised topology format: expected traceroute, mtr, ip route, ip neigh / arp -a, "
                "lldpctl, show cdp/lldp neighbors")
_MAX_NOTE_TEXT = 60
_DNS_NAME = re.compile(r"^(?:dns|ns|resolver|nameserver)\d*(?:[.-]|$)", re.I)


# --- the observation model -------------------------------------------------------------------


@dataclass
class Node:
    id: str
    kind: str = "unknown"
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Edge:
    a: str
    b: str
    kind: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observations:
    """What one file (or DataFrame) says: nodes by id, edges by (a, b, kind) with a < b, notes."""

    source: str
    format: str = ""
    local: str | None = None  # the machine that ran the command
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def node(self, node_id: str, kind: str | None = None, names: Iterable[str] = (), addresses: Iterable[str] = (),
             **attrs: Any) -> Node:
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = Node(node_id)
        if kind:
            node.kind = stronger_kind(node.kind, kind)
        for name in names:
            name = (name or "").strip().rstrip(".")
            if name and name not in ("?", "_gateway", "???") and name != node_id and not is_ip(name):
                _append(node.attrs, "names", name)
                if _DNS_NAME.match(name):
                    _append(node.attrs, "roles", "dns")
                    node.kind = stronger_kind(node.kind, "dns")
            elif name and is_ip(name) and name != node_id:
                _append(node.attrs, "addresses", name)
        for address in addresses:
            if address and address != node_id:
                _append(node.attrs, "addresses", address)
        if _DNS_NAME.match(node_id) and not is_ip(node_id):
            _append(node.attrs, "roles", "dns")
            node.kind = stronger_kind(node.kind, "dns")
        for key, value in attrs.items():
            if value not in (None, "", [], {}):
                node.attrs[key] = value
        return node

    def edge(self, a: str, b: str, kind: str, ports: dict[str, str] | None = None, **attrs: Any) -> Edge | None:
        if a == b:
            return None
        key = edge_key(a, b, kind)
        edge = self.edges.get(key)
        if edge is None:
            edge = self.edges[key] = Edge(key[0], key[1], kind)
        clean_ports = {k: v for k, v in (ports or {}).items() if v}
        if clean_ports:
            edge.attrs["ports"] = {**edge.attrs.get("ports", {}), **clean_ports}
        for key_, value in attrs.items():
            if value not in (None, "", [], {}):
                edge.attrs[key_] = value
        return edge

    def note(self, line: int | None, message: str, text: str | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        shown = ""
        if text is not None:
            text = text.strip()
            shown = f": {text[:_MAX_NOTE_TEXT]!r}" + ("..." if len(text) > _MAX_NOTE_TEXT else "")
        self.notes.append(f"{where}{message}{shown}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "format": self.format, "local": self.local,
            "nodes": [{"id": n.id, "kind": n.kind, **n.attrs} for n in self.nodes.values()],
            "edges": [{"a": e.a, "b": e.b, "kind": e.kind, **e.attrs} for e in self.edges.values()],
            "notes": list(self.notes),
        }


def edge_key(a: str, b: str, kind: str) -> tuple[str, str, str]:
    """Every edge kind is undirected: the endpoints are stored in sorted order."""
    return (a, b, kind) if a <= b else (b, a, kind)


def stronger_kind(old: str | None, new: str | None) -> str:
    old, new = old or "unknown", new or "unknown"
    return new if KIND_RANK.get(new, 1) > KIND_RANK.get(old, 1) else old


def _append(attrs: dict[str, Any], key: str, value: Any) -> None:
    values = attrs.setdefault(key, [])
    if value not in values:
        values.append(value)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
        return True
    except ValueError:
        return False


def _ip(text: str | None) -> str | None:
    """A normalised IP address, or None (zone ids like fe80::1%en0 are dropped)."""
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


def _mac(text: str) -> str | None:
    """00:00:5e:00:53:01 from 0:0:5e:0:53:1, 00-00-5E-00-53-01 or 0000.5e00.5301; None if not a MAC."""
    text = text.strip().lower()
    if re.fullmatch(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}", text):
        digits = text.replace(".", "")
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    parts = re.split(r"[:-]", text)
    if len(parts) == 6 and all(re.fullmatch(r"[0-9a-f]{1,2}", p) for p in parts):
        return ":".join(p.zfill(2) for p in parts)
    return None


def _is_group_mac(mac: str) -> bool:
    """Broadcast and multicast MACs (the low bit of the first octet)."""
    return bool(int(mac.split(":")[0], 16) & 1)


_IF_SHORT = [
    (re.compile(r"^(?:TwentyFiveGigE|Twe)\s*(?=\d)"), "Twe"),
    (re.compile(r"^(?:TenGigabitEthernet|TenGigE|Ten|Te)\s*(?=\d)"), "Te"),
    (re.compile(r"^(?:FortyGigabitEthernet|FortyGigE|For|Fo)\s*(?=\d)"), "Fo"),
    (re.compile(r"^(?:HundredGigE|Hu)\s*(?=\d)"), "Hu"),
    (re.compile(r"^(?:GigabitEthernet|Gig|Gi)\s*(?=\d)"), "Gi"),
    (re.compile(r"^(?:FastEthernet|Fas|Fa)\s*(?=\d)"), "Fa"),
    (re.compile(r"^(?:Ethernet|Eth)\s*(?=\d)"), "Eth"),
    (re.compile(r"^(?:Port-channel|Po)\s*(?=\d)"), "Po"),
]


def short_ifname(name: str | None) -> str | None:
    """Cisco interface names in one short form: 'Gig 1/0/1' and 'GigabitEthernet1/0/1' -> 'Gi1/0/1'.
    Other names (eth0, ge-0/0/5, Port 1) are kept."""
    if not name:
        return name
    name = name.strip()
    for pattern, short in _IF_SHORT:
        if pattern.match(name):
            return pattern.sub(short, name, count=1)
    return name


def _hostname(device_id: str) -> str:
    """A CDP/LLDP device id as a host name: 'n9k-2(FDO1234X)' -> 'n9k-2'."""
    return re.sub(r"\([^)]*\)$", "", device_id.strip()).strip()


# --- entry points ----------------------------------------------------------------------------


def parse_file(path: str | Path, local: str | None = None) -> Observations:
    """Read one file and parse it (format detected from the content). `local` names the machine
    that ran the command (default: `local`, or the device in a Cisco prompt)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, "no such file") from None
    except IsADirectoryError:
        raise DataFormatError(path, "is a directory, expected a file") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read: {exc.strerror or exc}") from None
    from netcopilot.threats.pcap import is_capture
    from netcopilot.threats.zeek import looks_like_conn_log

    if is_capture(raw) or looks_like_conn_log(raw[:4096]):
        return _from_capture_or_log(path, is_capture(raw))
    if b"\x00" in raw[:65536]:
        raise DataFormatError(path, "binary data, not command output text; " + UNRECOGNISED)
    text = raw.decode("utf-8", errors="replace")
    return parse_text(text, str(path), local=local)


def _from_capture_or_log(path: Path, capture: bool) -> Observations:
    """The conversations in a packet capture or a Zeek conn.log, as flow edges."""
    import pandas as pd

    notes: list[str] = []
    if capture:
        from netcopilot.threats.pcap import iter_connections

        frames = list(iter_connections(path, notes=notes))
    else:
        from netcopilot.threats.zeek import iter_conn_log

        frames = list(iter_conn_log(path))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["src", "dst"])
    if frame.empty:
        raise DataFormatError(path, "no connections in this capture or log")
    frame = frame.assign(bytes=frame.get("src_bytes", 0) + frame.get("dst_bytes", 0))
    obs = from_connections(frame, source=str(path))
    obs.notes.extend(notes)
    return obs


def parse_text(text: str, source: str = "<text>", local: str | None = None) -> Observations:
    if "\x00" in text:
        raise DataFormatError(source, "binary data, not command output text; " + UNRECOGNISED)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise DataFormatError(source, "empty file; " + UNRECOGNISED)
    fmt = detect_format(text)
    if fmt is None:
        raise DataFormatError(source, UNRECOGNISED)
    obs = Observations(source=source, format=fmt)
    lines = text.split("\n")
    _PARSERS[fmt](obs, lines, local)
    if not obs.nodes:
        obs.note(None, f"no {fmt} entries found")
    return obs


_DETECT: list[tuple[str, Callable[[str], bool]]] = [
    ("traceroute", lambda t: re.search(r"^\s*traceroute6? to \S+", t, re.M | re.I) is not None),
    ("mtr", lambda t: re.search(r"^HOST:\s*\S*\s+Loss%", t, re.M) is not None
        or len(re.findall(r"^\s*\d+\.\s*\|--", t, re.M)) >= 1),
    ("lldpctl keyvalue", lambda t: len(re.findall(r"^lldp\.[^=\s]+\.(?:via|chassis\.[^=]+|port\.[^=]+)=", t, re.M)) >= 2),
    ("lldpctl", lambda t: re.search(r"^Interface:\s+\S+,\s+via:", t, re.M) is not None
        or re.search(r"^LLDP neighbors:", t, re.M) is not None),
    ("cdp neighbors detail", lambda t: re.search(r"^Device ID:", t, re.M) is not None
        and re.search(r"Port ID \(outgoing port\)", t) is not None),
    ("lldp neighbors detail", lambda t: re.search(r"^(?:Local Intf|Local Port id):", t, re.M) is not None
        and re.search(r"^(?:Chassis id|System Name):", t, re.M | re.I) is not None),
    ("cdp neighbors", lambda t: re.search(r"^Device[ -]ID\s+Local Intrfce\s+Hol?dtme", t, re.M) is not None),
    ("lldp neighbors", lambda t: re.search(r"^Device[ -]ID\s+Local Intf\s+Hold-?time", t, re.M) is not None),
    ("route -n", lambda t: re.search(r"^Kernel IP routing table", t, re.M) is not None
        or re.search(r"^Destination\s+Gateway\s+Genmask\s+Flags", t, re.M) is not None),
    ("ip neigh", lambda t: re.search(
        r"^\S+\s+dev\s+\S+(?:\s+lladdr\s+\S+)?(?:\s+(?:router|proxy|extern_learn))*\s+"
        r"(?:REACHABLE|STALE|DELAY|PROBE|FAILED|INCOMPLETE|PERMANENT|NOARP|NONE)\b", t, re.M) is not None),
    ("arp -a", lambda t: re.search(r"^\S+\s+\([0-9a-fA-F.:]+\)\s+at\s+\S+", t, re.M) is not None
        or re.search(r"^\s*Internet Address\s+Physical Address\s+Type", t, re.M) is not None),
    ("ip route", lambda t: re.search(r"^(?:unicast\s+)?(?:default|[0-9a-fA-F.:]+(?:/\d+)?)\s+(?:via|dev|proto)\s+\S+", t, re.M)
        is not None),
    ("flows", lambda t: _csv_header(t) is not None),
]


def detect_format(text: str) -> str | None:
    """The name of the format of `text`, or None."""
    for name, test in _DETECT:
        if test(text):
            return name
    return None


# --- traceroute and mtr ----------------------------------------------------------------------

_TR_HEADER = re.compile(r"^\s*traceroute6?\s+to\s+(?P<name>\S+)\s+\((?P<ip>[^)]+)\)", re.I)
_TR_HOP = re.compile(r"^\s*(?P<n>\d+)\s+(?P<rest>.*)$")
_TR_TOKEN = re.compile(
    r"(?P<name>[^\s()*!\[\]]+)\s+\((?P<ip>[^()\s]+)\)"
    r"|(?P<rtt>\d+(?:\.\d+)?)\s*ms\b"
    r"|(?P<star>\*)"
    r"|(?P<flag>![A-Za-z0-9<>]*)"
    r"|\[(?P<asn>[^\]]*)\]"
    r"|(?P<bare>[^\s()*!\[\]]+)"
)


@dataclass
class _Hop:
    number: int
    hosts: list[tuple[str, str | None, list[float]]] = field(default_factory=list)  # (id, name, rtts)
    loss: float | None = None


def _add_host(hop: _Hop, node_id: str, name: str | None) -> list[float]:
    for host in hop.hosts:
        if host[0] == node_id:
            return host[2]
    rtts: list[float] = []
    hop.hosts.append((node_id, name, rtts))
    return rtts


def _parse_traceroute(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    trace: list[_Hop] | None = None
    dest: tuple[str, str | None] | None = None
    traces: list[tuple[tuple[str, str | None] | None, list[_Hop], int]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        header = _TR_HEADER.match(line)
        if header:
            ip = _ip(header["ip"])
            dest = (ip or header["name"], header["name"] if header["name"] != header["ip"] else None)
            trace = []
            traces.append((dest, trace, number))
            continue
        hop_match = _TR_HOP.match(line)
        if not hop_match:
            if trace is None and re.match(r"^\s*traceroute", line, re.I):
                continue  # e.g. "traceroute: Warning: ..."
            obs.note(number, "not a traceroute hop, skipped", line)
            continue
        if trace is None:  # hops without a header: still one trace
            trace = []
            traces.append((None, trace, number))
        hop = _Hop(int(hop_match["n"]))
        rtts: list[float] | None = None
        bad = False
        for token in _TR_TOKEN.finditer(hop_match["rest"]):
            if token["ip"]:
                ip = _ip(token["ip"])
                if ip is None:
                    bad = True
                    break
                rtts = _add_host(hop, ip, token["name"])
            elif token["rtt"]:
                if rtts is not None:
                    rtts.append(float(token["rtt"]))
            elif token["bare"]:
                ip = _ip(token["bare"])
                if ip is None:
                    bad = True
                    break
                rtts = _add_host(hop, ip, None)
        if bad:
            obs.note(number, "traceroute hop with an unreadable address, skipped", line)
            continue
        trace.append(hop)
    for dest, hops, number in traces:
        _chain(obs, src, hops, dest, number)


def _chain(obs: Observations, src: str, hops: list[_Hop], dest: tuple[str, str | None] | None, line: int) -> None:
    """Edges along one trace: the source to hop 1 to hop 2...; silent hops are bridged over
    (the edge carries hidden_hops)."""
    previous = [src]
    hidden = 0
    reached = False
    for index, hop in enumerate(hops):
        if not hop.hosts:
            hidden += 1
            continue
        current = []
        for node_id, name, rtts in hop.hosts:
            is_dest = dest is not None and node_id == dest[0]
            kind = "host" if is_dest else ("gateway" if hop.number == 1 and index == 0 else "router")
            obs.node(node_id, kind, names=[name] if name else ())
            reached = reached or is_dest
            current.append((node_id, rtts))
        for a in previous:
            for b, rtts in current:
                attrs: dict[str, Any] = {}
                if rtts:
                    attrs["rtt_ms"] = round(sum(rtts) / len(rtts), 3)
                if hop.loss is not None:
                    attrs["loss_pct"] = hop.loss
                if hidden:
                    attrs["hidden_hops"] = hidden
                obs.edge(a, b, "hop", **attrs)
        previous = [node_id for node_id, _ in current]
        hidden = 0
    if dest is not None and not reached:
        obs.node(dest[0], "host", names=[dest[1]] if dest[1] else ())
        if hops:
            obs.note(line, f"the trace to {dest[1] or dest[0]} did not reach it; it is added without a link")


_MTR_HOST = re.compile(r"^HOST:\s*(?P<host>\S*)\s+Loss%", re.I)
_MTR_HOP = re.compile(
    r"^\s*(?P<n>\d+)\.\s*(?:\|--|\|-|-)?\s*(?:AS\S+\s+)?(?P<host>\S+)(?:\s+\((?P<ip>[^)]+)\))?\s+"
    r"(?P<loss>\d+(?:\.\d+)?)%?\s+(?P<snt>\d+)\s+(?P<last>\d+(?:\.\d+)?)\s+(?P<avg>\d+(?:\.\d+)?)\s+"
)
_MTR_EXTRA = re.compile(r"^\s*\|\s*`?\|--\s*(?:AS\S+\s+)?(?P<host>\S+)(?:\s+\((?P<ip>[^)]+)\))?\s*$")


def _parse_mtr(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    hops: list[_Hop] = []
    first_line = None
    for number, line in enumerate(lines, 1):
        if not line.strip() or re.match(r"^\s*Start:", line):
            continue
        header = _MTR_HOST.match(line)
        if header:
            if header["host"] and src == LOCAL:
                obs.node(src, names=[header["host"]])
            continue
        hop_match = _MTR_HOP.match(line)
        if hop_match:
            first_line = first_line or number
            hop = _Hop(int(hop_match["n"]), loss=float(hop_match["loss"]))
            if hop_match["host"] != "???":
                ip = _ip(hop_match["ip"]) or _ip(hop_match["host"])
                name = hop_match["host"] if hop_match["ip"] or ip is None else None
                avg = float(hop_match["avg"])
                _add_host(hop, ip or hop_match["host"], name).append(avg)
            hops.append(hop)
            continue
        extra = _MTR_EXTRA.match(line)
        if extra and hops:
            ip = _ip(extra["ip"]) or _ip(extra["host"])
            _add_host(hops[-1], ip or extra["host"], extra["host"] if extra["ip"] or ip is None else None)
            continue
        obs.note(number, "not an mtr report line, skipped", line)
    if hops:
        last = hops[-1]
        dest = (last.hosts[0][0], None) if last.hosts else None
        _chain(obs, src, hops, dest, first_line or 1)


def _host_vantage(obs: Observations, local: str | None) -> str:
    """The machine that ran a host-side command: `local` (this machine) unless named."""
    node_id = local or LOCAL
    obs.local = node_id
    obs.node(node_id, "host", **({"local": True} if node_id == LOCAL else {}))
    return node_id


# --- routing tables --------------------------------------------------------------------------

_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "anycast"}


def _parse_ip_route(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    current: dict[str, Any] | None = None
    skipped_types: Counter[str] = Counter()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        tokens = line.split()
        if line[:1].isspace() and tokens[0] == "nexthop" and current is not None:
            hop = _pairs(tokens[1:])
            _add_route(obs, src, current["dest"], hop.get("via"), hop.get("dev"), current, number)
            continue
        rtype = "unicast"
        if tokens[0] in _ROUTE_TYPES:
            rtype = tokens.pop(0)
            if not tokens:
                obs.note(number, "route without a destination, skipped", line)
                continue
        if rtype != "unicast":
            skipped_types[rtype] += 1
            current = None
            continue
        dest = tokens[0]
        if dest != "default" and not _is_prefix(dest):
            obs.note(number, "not an ip route line, skipped", line)
            current = None
            continue
        attrs = _pairs(tokens[1:])
        current = {"dest": dest, **attrs}
        if "via" not in attrs and "dev" not in attrs:
            continue  # a multipath head: the nexthop lines follow
        _add_route(obs, src, dest, attrs.get("via"), attrs.get("dev"), attrs, number)
    if skipped_types:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(skipped_types.items()))
        obs.note(None, f"non-unicast routes not added ({kinds})")


_FLAG_WORDS = {"onlink", "pervasive", "offload", "trap", "linkdown", "dead", "notify", "rt_offload", "rt_trap"}


def _pairs(tokens: list[str]) -> dict[str, Any]:
    """'via 10.0.0.1 dev eth0 proto dhcp linkdown' -> {'via': ..., 'dev': ..., 'proto': ..., 'linkdown': True}."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word in _FLAG_WORDS or i + 1 >= len(tokens):
            out[word] = True
            i += 1
        else:
            out[word] = tokens[i + 1]
            i += 2
    return out


def _is_prefix(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def _network_id(dest: str) -> str:
    """'10.0.0.0/24' as given; a bare address is a host route and stays an address."""
    net = ipaddress.ip_network(dest, strict=False)
    if "/" not in dest or net.num_addresses == 1:
        return str(net.network_address)
    return str(net)


def _add_route(obs: Observations, src: str, dest: str, via: Any, dev: Any, attrs: dict[str, Any], line: int) -> None:
    gateway = _ip(via) if isinstance(via, str) else None
    if via and gateway is None:
        obs.note(line, f"route via an unreadable address {via!r}, skipped")
        return
    local_ip = _ip(attrs.get("src")) if isinstance(attrs.get("src"), str) else None
    if local_ip:
        obs.node(src, addresses=[local_ip])
    dev = dev if isinstance(dev, str) else None
    extra = {k: attrs[k] for k in ("proto", "metric", "scope") if isinstance(attrs.get(k), str)}
    if attrs.get("linkdown") is True:
        extra["linkdown"] = True
    if dest == "default" or dest in ("0.0.0.0/0", "::/0"):
        if gateway:
            obs.node(gateway, "gateway")
            obs.edge(src, gateway, "route", ports={src: dev} if dev else None, default=True, **extra)
        elif dev:
            obs.note(line, f"default route straight out of {dev} (no gateway): no node added")
        return
    target = _network_id(dest)
    is_host = "/" not in target
    obs.node(target, "host" if is_host else "network")
    if gateway:
        obs.node(gateway, "router")
        obs.edge(src, gateway, "route", ports={src: dev} if dev else None, **extra)
        obs.edge(gateway, target, "route", destination=target, **extra)
    else:
        obs.edge(src, target, "route", ports={src: dev} if dev else None, connected=True, **extra)


def _parse_route_n(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    columns: list[str] | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("Kernel IP routing table"):
            continue
        tokens = line.split()
        if tokens[0] == "Destination":
            columns = [t.lower() for t in tokens]
            continue
        if columns is None or len(tokens) != len(columns):
            obs.note(number, "not a route -n line, skipped", line)
            continue
        row = dict(zip(columns, tokens))
        dest, via, mask, flags = _ip(row.get("destination")), _ip(row.get("gateway")), row.get("genmask"), row.get("flags", "")
        if dest is None or via is None:
            obs.note(number, "not a route -n line, skipped", line)
            continue
        if "U" not in flags:
            continue  # a route that is down
        try:
            prefix = ipaddress.ip_network(f"{dest}/{mask}", strict=False).prefixlen if mask else 32
        except ValueError:
            obs.note(number, f"unreadable netmask {mask!r}, skipped", line)
            continue
        destination = "default" if prefix == 0 else (dest if "H" in flags else f"{dest}/{prefix}")
        attrs = {"metric": row.get("metric")}
        _add_route(obs, src, destination, via if "G" in flags else None, row.get("iface"), attrs, number)


# --- neighbour tables ------------------------------------------------------------------------

_NEIGH_STATES = {"REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "INCOMPLETE", "PERMANENT", "NOARP", "NONE"}


def _parse_ip_neigh(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        tokens = line.split()
        ip = _ip(tokens[0])
        if ip is None:
            obs.note(number, "not an ip neigh line, skipped", line)
            continue
        entry: dict[str, Any] = {"ip": ip, "router": False, "states": []}
        i, bad = 1, False
        while i < len(tokens):
            word = tokens[i]
            if word in ("dev", "lladdr") and i + 1 < len(tokens):
                entry[word] = tokens[i + 1]
                i += 2
                continue
            if word == "router":
                entry["router"] = True
            elif word.upper() in _NEIGH_STATES:
                entry["states"].append(word.upper())
            elif word not in ("proxy", "extern_learn", "managed", "used"):
                bad = True
            i += 1
        if bad and not entry["states"]:
            obs.note(number, "not an ip neigh line, skipped", line)
            continue
        entries.append((number, entry))
    _add_neighbours(obs, src, [
        (n, e["ip"], None, e.get("lladdr"), e.get("dev"), "/".join(e["states"]) or None, e["router"]) for n, e in entries
    ])


def _add_neighbours(obs: Observations, src: str,
                    entries: list[tuple[int, str, str | None, str | None, str | None, str | None, bool]]) -> None:
    """(line, ip, name, mac, interface, state, is_router) rows -> l2 edges from the local machine.
    Unresolved (FAILED / INCOMPLETE) and broadcast/multicast entries are not added; an IPv6
    link-local entry with the MAC of an IPv4 entry is the same interface and joins that node."""
    unresolved, group = [], 0
    by_mac: dict[str, str] = {}
    for _, ip, name, raw_mac, dev, state, router in entries:
        mac = _mac(raw_mac) if raw_mac else None
        if mac is None or (state and state.split("/")[0] in ("FAILED", "INCOMPLETE")):
            unresolved.append(ip)
            continue
        if _is_group_mac(mac) or ipaddress.ip_address(ip).is_multicast:
            group += 1
            continue
        if ipaddress.ip_address(ip).is_link_local and ipaddress.ip_address(ip).version == 6 and mac in by_mac:
            obs.node(by_mac[mac], addresses=[ip])
            continue
        if ipaddress.ip_address(ip).version == 4:
            by_mac.setdefault(mac, ip)
        node_kind = "router" if router else "host"
        if name == "_gateway":
            node_kind = "gateway"
        obs.node(ip, node_kind, names=[name] if name else (), mac=mac)
        obs.edge(src, ip, "l2", ports={src: dev} if dev else None, state=state)
    if unresolved:
        obs.note(None, f"{len(unresolved)} unresolved neighbour(s) (FAILED/INCOMPLETE) not added: "
                       + ", ".join(unresolved[:5]) + (" ..." if len(unresolved) > 5 else ""))
    if group:
        obs.note(None, f"{group} broadcast/multicast entr{'y' if group == 1 else 'ies'} not added")


_ARP = re.compile(r"^(?P<name>\S+)\s+\((?P<ip>[^)]+)\)\s+at\s+(?P<mac>\S+)(?P<mid>.*?)\s+on\s+(?P<dev>\S+)(?P<rest>.*)$")
_ARP_WINDOWS_IF = re.compile(r"^Interface:\s*(?P<ip>\S+)\s+---\s+\S+", re.I)
_ARP_WINDOWS_ROW = re.compile(r"^\s+(?P<ip>[0-9a-fA-F.:]+)\s+(?P<mac>[0-9a-fA-F-]{17})\s+(?P<type>\w+)\s*$")


def _parse_arp(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = _ARP.match(line)
        if m:
            ip = _ip(m["ip"])
            if ip is None:
                obs.note(number, "arp entry with an unreadable address, skipped", line)
                continue
            incomplete = "incomplete" in m["mac"].lower()
            state = "INCOMPLETE" if incomplete else ("PERMANENT" if re.search(r"\b(PERM|permanent)\b", m["mid"] + m["rest"]) else None)
            name = None if m["name"] == "?" else m["name"]
            entries.append((number, ip, name, None if incomplete else m["mac"], m["dev"], state, False))
            continue
        w = _ARP_WINDOWS_IF.match(line)
        if w:
            if _ip(w["ip"]):
                obs.node(src, addresses=[_ip(w["ip"])])
            continue
        if re.match(r"^\s*Internet Address\s+Physical Address", line):
            continue
        w = _ARP_WINDOWS_ROW.match(line)
        if w and _ip(w["ip"]):
            entries.append((number, _ip(w["ip"]), None, w["mac"], None, w["type"].upper() if w["type"] == "static" else None, False))
            continue
        obs.note(number, "not an arp -a line, skipped", line)
    _add_neighbours(obs, src, entries)


# --- LLDP (lldpd) ----------------------------------------------------------------------------

_LLDP_LETTER = {"R": "router", "B": "bridge", "T": "telephone", "W": "wlan", "S": "station", "C": "docsis",
                "P": "repeater", "O": "other"}
_CDP_LETTER = {"R": "router", "T": "trans-bridge", "B": "source-route-bridge", "S": "switch", "H": "host",
               "P": "phone", "I": "igmp", "r": "repeater", "M": "mac-relay", "W": "wlan"}


def _kind_from_caps(words: Iterable[str], platform: str = "") -> str:
    """Enabled capabilities as words (LLDP: Bridge, Router, Wlan, Station, Telephone; CDP: Router,
    Switch, Host, Phone, Trans-Bridge) -> a node kind."""
    caps = {w.strip().lower() for w in words if w and w.strip()}
    if platform.upper().startswith("AIR-") or "wlan" in caps:
        return "ap"
    if caps & {"phone", "telephone"}:
        return "phone"
    if caps & {"switch", "bridge", "trans-bridge", "source-route-bridge"}:
        return "switch"
    if "router" in caps:
        return "router"
    if caps & {"station", "host"}:
        return "host"
    return "unknown"


def _lldp_letters(tokens: Iterable[str]) -> list[str]:
    """IOS 'B,R' / NX-OS 'BR' capability letters -> words."""
    out = []
    for token in tokens:
        token = token.strip()
        letters = list(token) if token and all(c in _LLDP_LETTER for c in token) else [token]
        out.extend(_LLDP_LETTER.get(letter, letter) for letter in letters if letter)
    return out


def _lldp_neighbour(obs: Observations, src: str, interface: str, info: dict[str, Any], line: int) -> None:
    mgmt = [ip for ip in (_ip(a) for a in info.get("mgmt", [])) if ip]
    mgmt.sort(key=lambda ip: ipaddress.ip_address(ip).version)
    name = info.get("name")
    chassis = info.get("chassis")
    node_id = (mgmt[0] if mgmt else None) or name or (f"chassis {chassis}" if chassis else None)
    if node_id is None:
        obs.note(line, f"LLDP neighbour on {interface} has no name, address or chassis id, skipped")
        return
    kind = _kind_from_caps(info.get("caps", []))
    descr = (info.get("descr") or "").strip()
    obs.node(node_id, kind, names=[name] if name else (), addresses=mgmt[1:],
             platform=descr.split("\n")[0][:120] or None, chassis_id=chassis)
    port = info.get("port")
    port_descr = info.get("port_descr")
    if port is None or info.get("port_type") in ("local", "mac") and port_descr:
        port = port_descr or port
    obs.edge(src, node_id, "lldp", ports={src: short_ifname(interface), node_id: short_ifname(port)},
             port_descr=port_descr, vlan=info.get("vlan"))


_LLDPCTL_IF = re.compile(r"^Interface:\s+(?P<if>[^,]+),\s+via:\s*(?P<via>[^,]+)")
_LLDPCTL_FIELD = re.compile(r"^\s+(?P<key>[A-Za-z][A-Za-z -]*?):\s*(?P<val>.*?)\s*$")


def _parse_lldpctl(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    blocks: list[tuple[int, str, dict[str, Any]]] = []
    info: dict[str, Any] | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip() or re.match(r"^-{5,}\s*$", line) or line.startswith("LLDP neighbors"):
            continue
        m = _LLDPCTL_IF.match(line)
        if m:
            info = {"caps": [], "mgmt": []}
            blocks.append((number, m["if"].strip(), info))
            continue
        f = _LLDPCTL_FIELD.match(line)
        if info is None or not f:
            if info is not None and line[:1].isspace():
                continue  # a continuation line (e.g. of SysDescr)
            obs.note(number, "not an lldpctl line, skipped", line)
            continue
        key, val = f["key"].strip(), f["val"]
        if key == "ChassisID":
            info["chassis"] = val.split(None, 1)[-1] if val else None
        elif key == "SysName":
            info["name"] = val
        elif key == "SysDescr":
            info["descr"] = val
        elif key == "MgmtIP":
            info["mgmt"].append(val)
        elif key == "Capability":
            cap, _, state = val.partition(",")
            if state.strip().lower() == "on":
                info["caps"].append(cap.strip())
        elif key == "PortID":
            kind, _, value = val.partition(" ")
            info["port_type"], info["port"] = (kind, value.strip()) if value else (None, val)
        elif key == "PortDescr":
            info["port_descr"] = val
        elif key == "VLAN":
            info["vlan"] = val.split(",")[0].strip()
    for number, interface, found in blocks:
        _lldp_neighbour(obs, src, interface, found, number)


_KEYVALUE = re.compile(
    r"^lldp\.(?P<if>.+?)\.(?P<key>via|rid|age|chassis\.[^=]+|port\.[^=]+|vlan[^=]*|ppvid[^=]*|pi[^=]*|lldp-med[^=]*"
    r"|unknown-tlvs[^=]*|mfs|power[^=]*)=(?P<val>.*)$"
)


def _parse_lldpctl_keyvalue(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _host_vantage(obs, local)
    blocks: list[tuple[int, str, dict[str, Any]]] = []
    current: dict[str, Any] | None = None
    current_if = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = _KEYVALUE.match(line.strip())
        if not m:
            obs.note(number, "not an lldpctl keyvalue line, skipped", line)
            continue
        interface, key, val = m["if"], m["key"], m["val"].strip()
        if current is None or interface != current_if or key == "via" and "via" in current:
            current = {"caps": [], "mgmt": []}
            current_if = interface
            blocks.append((number, interface, current))
        if key == "via":
            current["via"] = val
        elif key in ("chassis.mac", "chassis.id", "chassis.local"):
            current["chassis"] = val
        elif key == "chassis.name":
            current["name"] = val
        elif key == "chassis.descr":
            current["descr"] = val
        elif key in ("chassis.mgmt-ip", "chassis.mgmt-ip.ip"):
            current["mgmt"].append(val)
        elif key.startswith("chassis.") and key.endswith(".enabled"):
            if val.lower() == "on":
                current["caps"].append(key.split(".")[1])
        elif key in ("port.ifname", "port.local", "port.mac", "port.id"):
            current["port"] = val
            current["port_type"] = key.split(".")[1]
        elif key == "port.descr":
            current["port_descr"] = val
        elif key in ("vlan.vlan-id", "vlan"):
            current.setdefault("vlan", val)
    for number, interface, found in blocks:
        _lldp_neighbour(obs, src, interface, found, number)


# --- Cisco show cdp / lldp neighbors ---------------------------------------------------------

_PROMPT = re.compile(r"^(?P<host>[A-Za-z0-9][\w.\-]*)(?:\([\w-]+\))?[#>]\s*(?P<cmd>.*)$")


def _device_vantage(obs: Observations, lines: list[str], local: str | None) -> str:
    """The device that ran a `show ...` command: --from, else the prompt, else the file name."""
    node_id = local
    if node_id is None:
        for line in lines:
            m = _PROMPT.match(line.strip())
            if m and (m["cmd"].startswith(("sh", "show")) or not m["cmd"]):
                node_id = m["host"]
                break
    if node_id is None:
        stem = Path(obs.source).stem if obs.source and not obs.source.startswith("<") else ""
        node_id = stem or "device"
        obs.note(None, f"no prompt line (like 'sw1#show cdp neighbors') names the device that ran the command: "
                       f"taken to be {node_id!r}; use --from NAME to set it")
    obs.local = node_id
    obs.node(node_id, "unknown", **({"local": True} if node_id == LOCAL else {}))
    return node_id


def _skip_cisco_line(line: str) -> bool:
    s = line.strip()
    return (not s or bool(_PROMPT.match(s)) and not re.search(r"\s{2,}", s)
            or s.lower().startswith(("total cdp entries", "total entries displayed", "capability codes")))


_IFNAME = r"[A-Za-z][A-Za-z-]*\s?\d+(?:[/.:]\d+)*"
_CDP_REST = re.compile(
    rf"^(?P<local>{_IFNAME})\s+(?P<hold>\d+)\s+(?P<cap>(?:[RTBSHIrPDCMsVvWw]\s+)*[RTBSHIrPDCMsVvWw])\s+"
    rf"(?:(?P<platform>.*?)\s+)?(?P<port>{_IFNAME})\s*$"
)
def _parse_cdp(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _device_vantage(obs, lines, local)
    in_table = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        if re.match(r"^Device[ -]ID\s+Local Intrfce", line):
            in_table = True
            continue
        if not in_table or _skip_cisco_line(line):
            continue
        if line[:1].isspace():
            if pending is None:
                if re.match(r"^\s+[A-Za-z] - ", line):
                    continue  # the capability codes legend
                obs.note(number, "not a show cdp neighbors row, skipped", line)
                continue
            rest, device = line.strip(), pending[1]
            pending = None
        else:
            parts = line.strip().split(None, 1)
            if len(parts) == 1:
                if pending is not None:
                    obs.note(pending[0], "device id without its row, skipped", pending[1])
                pending = (number, parts[0])
                continue
            if pending is not None:
                obs.note(pending[0], "device id without its row, skipped", pending[1])
                pending = None
            device, rest = parts[0], parts[1]
        m = _CDP_REST.match(rest)
        if not m:
            obs.note(number, "not a show cdp neighbors row, skipped", line)
            continue
        letters = m["cap"].split()
        platform = (m["platform"] or "").strip()
        name = _hostname(device)
        kind = _kind_from_caps([_CDP_LETTER.get(letter, letter) for letter in letters], platform)
        obs.node(name, kind, platform=platform or None)
        obs.edge(src, name, "cdp", ports={src: short_ifname(m["local"]), name: short_ifname(m["port"])})
    if pending is not None:
        obs.note(pending[0], "device id without its row, skipped", pending[1])


def _split_records(lines: list[str], starts: Callable[[str], bool]) -> list[tuple[int, list[str]]]:
    records: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, 1):
        if starts(line):
            records.append((number, []))
        if records:
            records[-1][1].append(line)
    return records


def _parse_cdp_detail(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _device_vantage(obs, lines, local)
    for number, record in _split_records(lines, lambda s: s.startswith("Device ID:")):
        text = "\n".join(record)
        device = re.search(r"^Device ID:\s*(\S+)", text, re.M)
        interface = re.search(r"^Interface:\s*([^,]+),\s*Port ID \(outgoing port\):\s*(.+?)\s*$", text, re.M)
        if not device or not interface:
            obs.note(number, "CDP entry without a device id or interfaces, skipped", record[0])
            continue
        addresses = [ip for ip in (_ip(a) for a in re.findall(r"^\s*IP(?:v4)? [Aa]ddress:\s*(\S+)", text, re.M)) if ip]
        platform_m = re.search(r"^Platform:\s*(.*?),\s*Capabilities:\s*(.*?)\s*$", text, re.M)
        platform = platform_m[1].strip() if platform_m else ""
        if platform.lower().startswith("cisco "):
            platform = platform[6:]
        caps = platform_m[2].split() if platform_m else []
        version = re.search(r"^Version\s*:\s*\n(.+)$", text, re.M)
        vlan = re.search(r"^Native VLAN:\s*(\d+)", text, re.M)
        name = _hostname(device[1])
        node_id = addresses[0] if addresses else name
        obs.node(node_id, _kind_from_caps(caps, platform), names=[name], addresses=addresses[1:],
                 platform=platform or None, software=version[1].strip()[:160] if version else None)
        obs.edge(src, node_id, "cdp", ports={src: short_ifname(interface[1]), node_id: short_ifname(interface[2])},
                 vlan=vlan[1] if vlan else None)


def _parse_lldp_table(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _device_vantage(obs, lines, local)
    in_table = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        if re.match(r"^Device[ -]ID\s+Local Intf", line):
            in_table = True
            continue
        if not in_table or _skip_cisco_line(line):
            continue
        tokens = line.split()
        if not line[:1].isspace() and len(tokens) == 1:
            pending = (number, tokens[0])
            continue
        if line[:1].isspace() and pending is not None:
            tokens = [pending[1], *tokens]
            pending = None
        if len(tokens) < 4 or not tokens[2].isdigit():
            obs.note(number, "not a show lldp neighbors row, skipped", line)
            continue
        device, local_if, port = tokens[0], tokens[1], tokens[-1]
        caps = _lldp_letters(c for c in ",".join(tokens[3:-1]).split(",") if c)
        name = _hostname(device)
        kind = _kind_from_caps(caps)
        port_mac = _mac(port)
        obs.node(name, kind, mac=port_mac if kind == "host" else None)
        obs.edge(src, name, "lldp", ports={src: short_ifname(local_if), name: short_ifname(port)})
    if pending is not None:
        obs.note(pending[0], "device id without its row, skipped", pending[1])


def _parse_lldp_detail(obs: Observations, lines: list[str], local: str | None) -> None:
    src = _device_vantage(obs, lines, local)
    records: list[tuple[int, dict[str, Any]]] = []
    current: dict[str, Any] | None = None
    in_mgmt = in_descr = False
    for number, line in enumerate(lines, 1):
        if in_descr and current is not None and line.strip():
            current["system description"] = line.strip()
            in_descr = False
            continue
        m = re.match(r"^(?P<key>[A-Z][A-Za-z ]*?):\s*(?P<val>.*?)\s*$", line)
        if m:
            key, val = m["key"].strip().lower(), m["val"]
            # IOS records start at 'Local Intf', NX-OS ones at 'Chassis id'
            if (key == "local intf" or key == "chassis id" and (current is None or "chassis id" in current)
                    or key == "local port id" and current is None):
                current = {"mgmt": []}
                records.append((number, current))
            if current is None:
                continue
            in_mgmt = key in ("management addresses", "management address") and not _ip(val)
            in_descr = key == "system description" and not val
            if key == "management address" and _ip(val):
                current["mgmt"].append(val)
            elif key not in current:
                current[key] = val
            continue
        ip_line = re.match(r"^\s+IP(?:v4)?:\s*(\S+)", line)
        if current is not None and in_mgmt and ip_line:
            current["mgmt"].append(ip_line[1])
    for number, rec in records:
        interface = rec.get("local intf") or rec.get("local port id")
        if not interface:
            obs.note(number, "LLDP entry without a local interface, skipped")
            continue
        caps = _lldp_letters(c for c in re.split(r"[,\s]+", rec.get("enabled capabilities", "")) if c)
        port_id = rec.get("port id")
        info = {
            "name": _hostname(rec["system name"]) if rec.get("system name") else None,
            "chassis": rec.get("chassis id"), "mgmt": rec["mgmt"], "descr": rec.get("system description"),
            "caps": caps, "port": port_id, "port_descr": rec.get("port description"),
            "port_type": "mac" if port_id and _mac(port_id) else None,
        }
        vlan = rec.get("vlan id", "")
        info["vlan"] = vlan if vlan.isdigit() else None
        _lldp_neighbour(obs, src, interface, info, number)


# --- flows -----------------------------------------------------------------------------------

_FLOW_COLUMNS = {
    "src": ("src", "source", "src_ip", "srcaddr", "sa", "source_ip", "id.orig_h"),
    "dst": ("dst", "destination", "dst_ip", "dstaddr", "da", "destination_ip", "id.resp_h"),
    "proto": ("proto", "protocol", "pr"),
    "dport": ("dport", "dst_port", "dstport", "dp", "destination_port", "id.resp_p"),
    "ts": ("ts", "time", "timestamp", "start", "first"),
    "bytes": ("bytes", "byt", "octets", "ibyt", "orig_bytes"),
}


def _csv_header(text: str) -> dict[str, str] | None:
    first = text.lstrip().split("\n", 1)[0]
    if "," not in first:
        return None
    columns = [c.strip().strip('"').lower() for c in first.split(",")]
    found = _flow_columns(columns)
    return found if "src" in found and "dst" in found else None


def _flow_columns(columns: Iterable[str]) -> dict[str, str]:
    lower = {str(c).strip().lower(): c for c in columns}
    found: dict[str, str] = {}
    for role, names in _FLOW_COLUMNS.items():
        for name in names:
            if name in lower:
                found[role] = lower[name]
                break
    return found


def _parse_flows_csv(obs: Observations, lines: list[str], local: str | None) -> None:
    import io

    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False, on_bad_lines="skip")
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataFormatError(obs.source, f"unreadable CSV: {exc}") from None
    _flows(obs, df, first_line=2)


def from_connections(df: Any, source: str = "<connections>") -> Observations:
    """Conversations in flow records -> flow edges. `df` is a pandas DataFrame with columns src,
    dst and optionally proto, dport, ts, bytes; rows are aggregated per pair of hosts (count,
    bytes, protocols, the most used destination ports, first and last time). A destination of
    port 53 gets the dns role."""
    obs = Observations(source=source, format="flows")
    _flows(obs, df, first_line=None)
    return obs


def _flows(obs: Observations, df: Any, first_line: int | None) -> None:
    columns = _flow_columns(df.columns)
    for role in ("src", "dst"):
        if role not in columns:
            raise DataFormatError(obs.source, f"flow records need a {role} column (found: {', '.join(map(str, df.columns))})",
                                  field=role)
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    bad: list[str] = []
    get = {role: df[col].tolist() for role, col in columns.items()}
    for index in range(len(df)):
        where = str(index + first_line) if first_line is not None else f"row {index}"
        src, dst = _ip(str(get["src"][index])), _ip(str(get["dst"][index]))
        if src is None or dst is None or src == dst:
            bad.append(where)
            continue
        a, b, _ = edge_key(src, dst, "flow")
        agg = pairs.setdefault((a, b), {"connections": 0, "bytes": 0, "protocols": Counter(), "ports": Counter(),
                                        "first": None, "last": None})
        agg["connections"] += 1
        if "bytes" in get:
            try:
                agg["bytes"] += int(float(get["bytes"][index]))
            except (TypeError, ValueError):
                pass
        if "proto" in get and str(get["proto"][index]).strip() not in ("", "nan", "None"):
            agg["protocols"][str(get["proto"][index]).strip().lower()] += 1
        port = None
        if "dport" in get:
            try:
                port = int(float(get["dport"][index]))
            except (TypeError, ValueError):
                port = None
        if port is not None:
            agg["ports"][port] += 1
            if port == 53:
                obs.node(dst, "dns", roles=["dns"])
        if "ts" in get:
            ts = str(get["ts"][index]).strip()
            if ts and ts not in ("nan", "NaT", "None"):
                agg["first"] = ts if agg["first"] is None else min(agg["first"], ts)
                agg["last"] = ts if agg["last"] is None else max(agg["last"], ts)
    for (a, b), agg in pairs.items():
        obs.node(a, "host")
        obs.node(b, "host")
        obs.edge(a, b, "flow", connections=agg["connections"], bytes=agg["bytes"] if "bytes" in get else None,
                 protocols=sorted(agg["protocols"]), dports=[p for p, _ in agg["ports"].most_common(10)],
                 first=agg["first"], last=agg["last"])
    if bad:
        label = "line" if first_line is not None else ""
        shown = ", ".join(bad[:8]) + (" ..." if len(bad) > 8 else "")
        obs.note(None, f"{len(bad)} flow record(s) without a valid src and dst skipped ({label + ' ' if label else ''}{shown})")


_PARSERS: dict[str, Callable[[Observations, list[str], str | None], None]] = {
    "traceroute": _parse_traceroute,
    "mtr": _parse_mtr,
    "ip route": _parse_ip_route,
    "route -n": _parse_route_n,
    "ip neigh": _parse_ip_neigh,
    "arp -a": _parse_arp,
    "lldpctl": _parse_lldpctl,
    "lldpctl keyvalue": _parse_lldpctl_keyvalue,
    "cdp neighbors": _parse_cdp,
    "cdp neighbors detail": _parse_cdp_detail,
    "lldp neighbors": _parse_lldp_table,
    "lldp neighbors detail": _parse_lldp_detail,
    "flows": _parse_flows_csv,
}
FORMATS = tuple(_PARSERS)
