"""Packet captures (pcap and pcapng) -> connection records, streamed with bounded memory.

One record per flow, in the order flows start (order of their first packet), with Zeek conn.log
semantics: the originator is the sender of the first packet (flipped when that packet is a SYN-ACK,
or when only the "client" side looks like a server port), ``state`` is Zeek's ``conn_state``
computed from a per-endpoint TCP state machine modelled on Zeek's, and byte counts are payload bytes
by sequence space (retransmissions are not counted twice).

Public API::

    iter_connections(path, chunk=50_000, *, events=None, notes=None) -> Iterator[pd.DataFrame]
    read_pcap(path) -> Capture          # whole file at once: .connections, .events, .notes, .packets
    iter_events(path) -> Iterator[dict]  # ARP, DNS, L2 address changes, odd TCP probes
    PcapStream(path, chunk=50_000).chunks() -> Iterator[(DataFrame, list[dict])]

Memory: only active flows are kept (idle timeouts below); finished flows are flushed as records as
soon as every older flow has finished too (so records come out in start order), and a DataFrame is
yielded every ``chunk`` records. A flow that stays active for very long cannot hold back more than
``4 * chunk`` finished records: past that they are released anyway (their index still says where
they belong) and a note says so.

Events (plain dicts, ``kind`` first):

* ``arp``: ts, op ("request"/"reply"), sender_mac, sender_ip, target_mac, target_ip, eth_src, eth_dst
* ``dns``: ts, src, sport, dst, dport, proto, id, qr (bool), opcode, query, qtype, rcode, answers,
  record (index of the connection record)
* ``l2_change``: ts, ip, role ("src"/"dst"), old_mac, new_mac, peer -- the MAC address carrying
  an IP address changed (what ARP poisoning does to traffic); at most ``MAX_L2_EVENTS`` per chunk
* ``tcp_odd``: ts, src, sport, dst, dport, flags, probe ("null"/"xmas"/"syn_fin"/"syn_rst"/
  "fin_only"), record -- TCP flag combinations no normal stack sends (scanners, fingerprinting)
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import dpkt
import pandas as pd

from netcopilot.errors import DataFormatError

# --- timeouts (seconds of capture time), as in Zeek's defaults -------------------------------
TCP_TIMEOUT = 300.0          # tcp_inactivity_timeout
TCP_CLOSED_TIMEOUT = 5.0     # tcp_close_delay: wait for late ACK/FIN after both sides closed/RST
UDP_TIMEOUT = 60.0           # udp_inactivity_timeout
ICMP_TIMEOUT = 60.0          # icmp_inactivity_timeout
SWEEP_INTERVAL = 1.0         # look for expired flows at most once per second of capture time...
SWEEP_MIN_PACKETS = 2_000    # ...and at most once per this many packets (keeps sweeps cheap)
MAX_ACTIVE = 1_000_000       # hard cap on active flows: past it, the idlest are flushed early
MAX_L2_EVENTS = 1_000         # per chunk of records: keeps the event list bounded
DNS_PORTS = frozenset({53})
DNS_TCP_BUFFER = 70_000      # one DNS-over-TCP message is at most 65535 + 2 bytes

COLUMNS = ["ts", "duration", "src", "sport", "dst", "dport", "proto", "service", "state", "flags",
           "src_bytes", "dst_bytes", "src_pkts", "dst_pkts", "wrong_fragment", "urgent",
           "dns_query", "dns_qtype", "dns_rcode"]

# --- services by (proto, responder port) ------------------------------------------------------
_SERVICES_BOTH = {
    20: "ftp_data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "dns", 67: "dhcp",
    68: "dhcp", 69: "tftp", 79: "finger", 80: "http", 88: "kerberos", 110: "pop3", 111: "sunrpc",
    113: "auth", 119: "nntp", 123: "ntp", 135: "msrpc", 137: "netbios_ns", 138: "netbios_dgm",
    139: "netbios_ssn", 143: "imap", 161: "snmp", 162: "snmp", 179: "bgp", 389: "ldap",
    443: "https", 445: "smb", 465: "smtps", 500: "ike", 514: "syslog", 515: "printer",
    546: "dhcp", 547: "dhcp", 587: "smtp", 636: "ldaps", 993: "imaps", 995: "pop3s",
    1080: "socks", 1433: "mssql", 1521: "oracle", 1900: "ssdp", 3306: "mysql", 3389: "rdp",
    5060: "sip", 5353: "mdns", 5355: "llmnr", 5432: "postgresql", 5900: "vnc", 6379: "redis",
    6667: "irc", 8080: "http", 8000: "http", 8443: "https", 9200: "elasticsearch",
}
_UDP_ONLY = {67, 68, 69, 123, 137, 138, 161, 162, 500, 514, 546, 547, 1900, 5353, 5355}


def service_for(proto: str, sport: int, dport: int) -> str:
    """Service name from the responder port (Zeek-like names; "other" when unknown)."""
    if proto == "icmp":
        return "icmp"
    name = _SERVICES_BOTH.get(dport)
    if name is None or (proto == "tcp" and dport in _UDP_ONLY):
        return "other"
    return name


# --- TCP endpoint states (Zeek's) -------------------------------------------------------------
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
_FLAG_LETTERS = ((SYN, "S"), (ACK, "A"), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"),
                 (ECE, "E"), (CWR, "C"))
_FLAG_STR = {}
for _i in range(256):
    _FLAG_STR[_i] = "".join(ch for bit, ch in _FLAG_LETTERS if _i & bit)

_DNS_TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
              33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 64: "SVCB",
              65: "HTTPS", 99: "SPF", 251: "IXFR", 252: "AXFR", 255: "ANY", 257: "CAA"}
_DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
               6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}

_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
                b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

_u16 = struct.Struct("!H").unpack_from
_u32 = struct.Struct("!I").unpack_from
_hh = struct.Struct("!HH").unpack_from
_tcp_hdr = struct.Struct("!HHII").unpack_from


def _ip(b: bytes) -> str:
    if len(b) == 4:
        return socket.inet_ntoa(b)
    return socket.inet_ntop(socket.AF_INET6, b)


def _mac(b: bytes) -> str:
    return b.hex(":")


def parse_dns(p: bytes):
    """(id, qr, opcode, rcode, qdcount, ancount, qname, qtype) of a DNS message, None if not DNS.

    Only the header and the first question are decoded: that is all the rules need, and it is much
    faster than decoding every resource record (a zone transfer answer can hold thousands)."""
    if len(p) < 12:
        return None
    ident, fl, qd, an = struct.unpack_from("!HHHH", p)
    qname, qtype = None, None
    if qd:
        labels, i, jumps, total = [], 12, 0, 0
        n = len(p)
        while True:
            if i >= n:
                return None
            ln = p[i]
            if ln == 0:
                i += 1
                break
            if ln & 0xC0 == 0xC0:            # compression pointer (rare in a question)
                if i + 1 >= n or jumps > 10:
                    return None
                i = ((ln & 0x3F) << 8) | p[i + 1]
                jumps += 1
                continue
            if ln > 63 or i + 1 + ln > n:
                return None
            labels.append(p[i + 1:i + 1 + ln].decode("ascii", "replace"))
            total += ln + 1
            if total > 255:
                return None
            i += 1 + ln
        if jumps == 0 and i + 4 <= n:
            qtype = _u16(p, i)[0]
        elif jumps and i + 4 <= n:
            qtype = None                     # position after a pointer is not the question end
        qname = ".".join(labels).lower() or "."
    return ident, bool(fl & 0x8000), (fl >> 11) & 0xF, fl & 0xF, qd, an, qname, qtype


class _Flow:
    __slots__ = ("seq", "key", "ts", "last", "proto", "src", "sport", "dst", "dport",
                 "o_state", "r_state", "o_prev", "r_prev", "flags", "o_bytes", "r_bytes",
                 "o_pkts", "r_pkts", "o_hi", "r_hi", "o_size", "r_size", "dns_query",
                 "dns_qtype", "dns_rcode", "wrong_frag", "urgent", "o_buf", "r_buf", "closing", "isn")

    def __init__(self, seq, key, ts, proto, src, sport, dst, dport):
        self.seq, self.key, self.ts, self.last = seq, key, ts, ts
        self.proto, self.src, self.sport, self.dst, self.dport = proto, src, sport, dst, dport
        self.o_state = self.r_state = self.o_prev = self.r_prev = INACTIVE
        self.flags = 0
        self.o_bytes = self.r_bytes = self.o_pkts = self.r_pkts = 0
        self.o_hi = self.r_hi = None
        self.o_size = self.r_size = 0
        self.dns_query = self.dns_qtype = self.dns_rcode = None
        self.wrong_frag = self.urgent = 0
        self.o_buf = self.r_buf = None
        self.closing = False
        self.isn = None


def _count(f: _Flow, is_orig: bool, ts: float, nbytes: int) -> None:
    """One more packet of nbytes in a UDP or ICMP flow, from its originator or its responder."""
    if ts > f.last:
        f.last = ts
    if is_orig:
        f.o_pkts += 1
        f.o_bytes += nbytes
    else:
        f.r_pkts += 1
        f.r_bytes += nbytes


def _tcp_set(f: _Flow, is_orig: bool, state: int) -> None:
    if is_orig:
        f.o_prev, f.o_state = f.o_state, state
    else:
        f.r_prev, f.r_state = f.r_state, state


def _tcp_update(f: _Flow, is_orig: bool, fl: int, plen: int) -> None:
    """Zeek's per-endpoint TCP state machine (UpdateStateMachine), reduced to what conn_state needs."""
    ep = f.o_state if is_orig else f.r_state
    peer = f.r_state if is_orig else f.o_state
    syn, ack, fin, rst = fl & SYN, fl & ACK, fl & FIN, fl & RST
    if ep == INACTIVE:
        if syn:
            if is_orig:
                _tcp_set(f, True, SYN_ACK_SENT if ack else SYN_SENT)
            else:
                if peer == SYN_SENT:
                    _tcp_set(f, True, ESTABLISHED)
                _tcp_set(f, False, ESTABLISHED)
        if fin:
            _tcp_set(f, is_orig, CLOSED)
        if rst:
            _tcp_set(f, is_orig, RESET)
        cur = f.o_state if is_orig else f.r_state
        if cur == INACTIVE:
            peer = f.r_state if is_orig else f.o_state
            if not is_orig and plen == 0 and f.o_state == SYN_SENT:
                pass                         # an ACK of the SYN before the SYN-ACK: not partial
            elif ack and peer == ESTABLISHED:
                _tcp_set(f, is_orig, ESTABLISHED)   # missed the SYN, saw SYN-ACK then ACK
            else:
                _tcp_set(f, is_orig, PARTIAL)
    elif ep in (SYN_SENT, SYN_ACK_SENT):
        if fin:
            _tcp_set(f, is_orig, CLOSED)
        if rst:
            _tcp_set(f, is_orig, RESET)
        elif ack and not syn and not fin and peer == ESTABLISHED:
            _tcp_set(f, is_orig, ESTABLISHED)       # third packet of the handshake
    elif ep in (ESTABLISHED, PARTIAL):
        if syn and ep == PARTIAL and peer == INACTIVE and not ack:
            _tcp_set(f, is_orig, SYN_SENT)
        if fin and not rst:
            _tcp_set(f, is_orig, CLOSED)
            if is_orig:
                if f.r_state == RESET and f.r_prev == CLOSED:
                    f.r_state = CLOSED
            elif f.o_state == RESET and f.o_prev == CLOSED:
                f.o_state = CLOSED
        if rst:
            _tcp_set(f, is_orig, RESET)
    elif ep == CLOSED:
        other = f.r_state if is_orig else f.o_state
        if rst and other != CLOSED:
            _tcp_set(f, is_orig, RESET)
    # RESET: terminal


def conn_state(f: _Flow) -> str:
    """Zeek's conn_state from the two endpoint states."""
    if f.proto == "udp":
        o, r = f.o_pkts > 0, f.r_pkts > 0
        return ("SF" if r else "S0") if o else ("SHR" if r else "OTH")
    if f.proto != "tcp":
        return "OTH"
    os_, rs = f.o_state, f.r_state
    o_inactive = os_ in (INACTIVE, PARTIAL)
    r_inactive = rs in (INACTIVE, PARTIAL)
    if rs == RESET:
        if os_ in (SYN_SENT, SYN_ACK_SENT) or (os_ == RESET and f.o_size == 0 and f.r_size == 0):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if os_ == RESET:
        if r_inactive:
            # Zeek: history matches ^?S[^HAFGIQ]*R -> originator SYN then RST, no SYN-ACK seen
            if f.o_prev == SYN_SENT and f.o_size == 0:
                return "RSTOS0"
            return "OTH"
        return "RSTO"
    if rs == CLOSED and os_ == CLOSED:
        return "SF"
    if os_ == CLOSED:
        return "SH" if r_inactive else "S2"
    if rs == CLOSED:
        return "SHR" if o_inactive else "S3"
    if os_ == SYN_SENT and rs == INACTIVE:
        return "S0"
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return "S1"
    return "OTH"


@dataclass
class Capture:
    """A whole capture read at once (small files)."""
    path: str
    connections: pd.DataFrame
    events: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    packets: int = 0


def _empty_frame() -> pd.DataFrame:
    return _frame([], [])


def _frame(rows: list[tuple], index: list[int]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=COLUMNS, index=pd.Index(index, dtype="int64"))
    if not rows:
        df = df.astype({"ts": "float64", "duration": "float64", "sport": "int64", "dport": "int64",
                        "src_bytes": "int64", "dst_bytes": "int64", "src_pkts": "int64",
                        "dst_pkts": "int64", "wrong_fragment": "int64", "urgent": "int64"})
    return df


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DataFormatError(path, "no such file") from None
    except IsADirectoryError:
        raise DataFormatError(path, "is a directory, not a capture file") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read ({exc.strerror or exc})") from None


def is_capture(head: bytes) -> bool:
    """Whether a file starting with `head` is a pcap or pcapng capture (magic bytes)."""
    return head[:4] in _PCAP_MAGICS or head[:4] == _PCAPNG_MAGIC


def _sniff(path: Path) -> str:
    """"pcap" or "pcapng" from the magic bytes; DataFormatError for anything else."""
    with _open(path) as fh:
        head = fh.read(4)
    if head in _PCAP_MAGICS:
        return "pcap"
    if head == _PCAPNG_MAGIC:
        return "pcapng"
    if not head:
        raise DataFormatError(path, "not a pcap or pcapng capture (the file is empty)")
    raise DataFormatError(path, f"not a pcap or pcapng capture (starts with {head.hex(' ')})")


class PcapStream:
    """Decode one capture file into connection records and events, chunk by chunk."""

    def __init__(self, path: str | Path, chunk: int = 50_000):
        self.path = Path(path)
        self.chunk = max(1, int(chunk))
        self.notes: list[str] = []
        self.packets = 0                 # packets read from the file
        self.decoded = 0                 # packets that were IP or ARP and decoded
        self.skipped: dict[str, int] = {}
        self.records = 0
        self.linktype: int | None = None
        self._flows: dict[tuple, _Flow] = {}
        self._done: dict[int, tuple] = {}
        self._events: list[dict] = []
        self._seq = 0
        self._next_sweep = None
        self._since_sweep = 0
        self._frags: dict[tuple, tuple] = {}
        self._l2: dict[tuple, bytes] = {}
        self._l2_seen: set = set()
        self._l2_events = 0
        self._l2_capped = False
        self._out_of_order = False
        self._kind = _sniff(self.path)          # fails early on a file that is no capture

    # ---------------------------------------------------------------- reading the file
    def _packets(self) -> Iterator[tuple[float, bytes, int]]:
        fh = _open(self.path)
        n = 0
        try:
            if self._kind == "pcap":
                hdr = fh.read(24)
                if len(hdr) < 24:
                    self.notes.append("truncated after packet 0 (incomplete file header)")
                    return
                endian, unit = _PCAP_MAGICS[hdr[:4]]
                fhdr = dpkt.pcap.LEFileHdr(hdr) if endian == "<" else dpkt.pcap.FileHdr(hdr)
                lt = fhdr.linktype & 0x0FFFFFFF
                self.linktype = lt
                rec = struct.Struct(endian + "IIII").unpack
                read = fh.read
                while True:
                    ph = read(16)
                    if not ph:
                        break
                    if len(ph) < 16:
                        self.notes.append(f"truncated after packet {n} (partial packet header)")
                        break
                    sec, frac, caplen, _wire = rec(ph)
                    if caplen > 0x4000000:
                        self.notes.append(f"corrupt packet header after packet {n} "
                                          f"(captured length {caplen}); stopped there")
                        break
                    buf = read(caplen)
                    if len(buf) < caplen:
                        self.notes.append(f"truncated after packet {n} (packet {n + 1} is cut: "
                                          f"{len(buf)} of {caplen} bytes)")
                        break
                    n += 1
                    yield sec + frac * unit, buf, lt
            else:
                try:
                    reader = dpkt.pcapng.Reader(fh)
                except (dpkt.NeedData, struct.error):
                    self.notes.append("truncated after packet 0 (incomplete pcapng header)")
                    return
                except (ValueError, dpkt.UnpackError) as exc:
                    if "IDB not found" in str(exc) or fh.seek(0, 2) < 64:
                        self.notes.append("truncated after packet 0 (no complete section header "
                                          "and interface block)")
                        return
                    raise DataFormatError(self.path, f"unreadable pcapng header ({exc})") from None
                lt = reader.datalink()
                self.linktype = lt
                it = iter(reader)
                while True:
                    try:
                        ts, buf = next(it)
                    except StopIteration:
                        break
                    except (dpkt.NeedData, dpkt.UnpackError, struct.error, ValueError):
                        self.notes.append(f"truncated after packet {n} (cut or corrupt block)")
                        break
                    n += 1
                    yield float(ts), buf, lt
        finally:
            self.packets = n
            fh.close()

    # ---------------------------------------------------------------- public iteration
    def chunks(self) -> Iterator[tuple[pd.DataFrame, list[dict]]]:
        """Yield (connection records, events seen since the last chunk)."""
        handlers = {1: self._eth, 113: self._sll, 276: self._sll2, 101: self._raw, 12: self._raw,
                    14: self._raw, 228: self._raw, 229: self._raw, 0: self._null, 108: self._loop}
        handler = None
        chunk = self.chunk
        for ts, buf, lt in self._packets():
            if handler is None:
                handler = handlers.get(lt)
                if handler is None:
                    raise DataFormatError(self.path, f"unsupported link type {lt} (supported: "
                                          "Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback)")
            try:
                handler(ts, buf)
            except (IndexError, struct.error, ValueError):
                self._skip("malformed")
            nxt = self._next_sweep
            self._since_sweep += 1
            if nxt is None:
                self._next_sweep = ts + SWEEP_INTERVAL
            elif ts >= nxt and self._since_sweep >= SWEEP_MIN_PACKETS:
                self._sweep(ts)
                # finished flows only pile up at sweeps (and port reuse): release them here
                while len(self._done) >= chunk:
                    out = self._release(force=False)
                    if out is None:
                        break
                    yield out
        for f in list(self._flows.values()):
            self._finish(f)
        self._flows.clear()
        while self._done:
            out = self._release(force=True)
            if out is not None:
                yield out
        self._final_notes()
        if self.records == 0 or self._events:
            events, self._events = self._events, []
            yield _empty_frame(), events

    def _final_notes(self) -> None:
        for why, count in sorted(self.skipped.items()):
            self.notes.append(f"skipped {count} {why} packet{'s' if count != 1 else ''}")
        if self._out_of_order:
            self.notes.append("some records were released before older long-lived flows ended; "
                              "sort by index for strict start order")
        if self._l2_capped:
            self.notes.append(f"L2 address changes: only the first {MAX_L2_EVENTS} of a chunk "
                              "were recorded")

    def _skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    # ---------------------------------------------------------------- flow bookkeeping
    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_INTERVAL
        self._since_sweep = 0
        expired = []
        for k, f in self._flows.items():
            if f.proto == "tcp":
                limit = TCP_CLOSED_TIMEOUT if f.closing else TCP_TIMEOUT
            elif f.proto == "udp":
                limit = UDP_TIMEOUT
            else:
                limit = ICMP_TIMEOUT
            if now - f.last > limit:
                expired.append(k)
        for k in expired:
            self._finish(self._flows.pop(k))
        if len(self._flows) > MAX_ACTIVE:
            idle = sorted(self._flows.items(), key=lambda kv: kv[1].last)
            for k, f in idle[:len(self._flows) - MAX_ACTIVE]:
                self._finish(self._flows.pop(k))
            self.notes.append(f"more than {MAX_ACTIVE} active flows: idlest flushed early")

    def _finish(self, f: _Flow) -> None:
        proto = f.proto
        src, dst = _ip(f.src), _ip(f.dst)
        self._done[f.seq] = (
            f.ts, max(0.0, f.last - f.ts), src, f.sport, dst, f.dport, proto,
            service_for(proto, f.sport, f.dport), conn_state(f),
            _FLAG_STR[f.flags] if proto == "tcp" else "",
            f.o_bytes, f.r_bytes, f.o_pkts, f.r_pkts, f.wrong_frag, f.urgent,
            f.dns_query, f.dns_qtype, f.dns_rcode)

    def _release(self, force: bool):
        done = self._done
        if not done:
            return None
        if self._flows and not force:
            oldest = next(iter(self._flows.values())).seq
            ready = sorted(s for s in done if s < oldest)
            if len(ready) < self.chunk:
                if len(done) < 4 * self.chunk:
                    return None
                ready = sorted(done)
                self._out_of_order = True
        else:
            ready = sorted(done)
        ready = ready[:self.chunk]
        rows = [done.pop(s) for s in ready]
        self.records += len(rows)
        events, self._events = self._events, []
        self._l2_events = 0                 # the cap on L2 events is per chunk of records
        return _frame(rows, ready), events

    def _new_flow(self, key, ts, proto, src, sport, dst, dport) -> _Flow:
        f = _Flow(self._seq, key, ts, proto, src, sport, dst, dport)
        self._seq += 1
        self._flows[key] = f
        return f

    def _lookup(self, key):
        """The live flow of a (proto, src, sport, dst, dport) packet key, either way round, and
        whether the packet goes from its originator; (None, False) when there is none."""
        flows = self._flows
        f = flows.get(key)
        if f is not None:
            return f, True
        proto, src, sport, dst, dport = key
        return flows.get((proto, dst, dport, src, sport)), False

    def _start(self, key, ts, name, reverse):
        """A new flow for a packet key; reverse: the packet's receiver is the originator."""
        proto, src, sport, dst, dport = key
        if reverse:
            return self._new_flow((proto, dst, dport, src, sport), ts, name, dst, dport, src,
                                  sport), False
        return self._new_flow(key, ts, name, src, sport, dst, dport), True

    # ---------------------------------------------------------------- link layers
    def _eth(self, ts: float, buf: bytes) -> None:
        et = _u16(buf, 12)[0]
        o = 14
        while et in (0x8100, 0x88A8, 0x9100):
            et = _u16(buf, o + 2)[0]
            o += 4
        if et == 0x0800:
            self._ipv4(ts, buf, o, buf[6:12], buf[0:6])
        elif et == 0x86DD:
            self._ipv6(ts, buf, o, buf[6:12], buf[0:6])
        elif et == 0x0806:
            self._arp(ts, buf, o, buf[6:12], buf[0:6])
        else:
            self._skip("non-IP")

    def _sll(self, ts: float, buf: bytes) -> None:
        self._l3(ts, buf, 16, _u16(buf, 14)[0])

    def _sll2(self, ts: float, buf: bytes) -> None:
        self._l3(ts, buf, 20, _u16(buf, 0)[0])

    def _l3(self, ts, buf, o, et):
        if et == 0x0800:
            self._ipv4(ts, buf, o, None, None)
        elif et == 0x86DD:
            self._ipv6(ts, buf, o, None, None)
        elif et == 0x0806:
            self._arp(ts, buf, o, None, None)
        else:
            self._skip("non-IP")

    def _raw(self, ts: float, buf: bytes) -> None:
        v = buf[0] >> 4
        if v == 4:
            self._ipv4(ts, buf, 0, None, None)
        elif v == 6:
            self._ipv6(ts, buf, 0, None, None)
        else:
            self._skip("non-IP")

    def _null(self, ts: float, buf: bytes) -> None:
        fam = struct.unpack_from("<I", buf)[0]
        if fam > 0xFFFF:
            fam = struct.unpack_from(">I", buf)[0]
        self._loopfam(ts, buf, fam)

    def _loop(self, ts: float, buf: bytes) -> None:
        self._loopfam(ts, buf, _u32(buf, 0)[0])

    def _loopfam(self, ts, buf, fam):
        if fam == 2:
            self._ipv4(ts, buf, 4, None, None)
        elif fam in (10, 24, 28, 30):
            self._ipv6(ts, buf, 4, None, None)
        else:
            self._skip("non-IP")

    # ---------------------------------------------------------------- ARP
    def _arp(self, ts, buf, o, esrc, edst):
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", buf, o)
        if hlen != 6 or plen != 4 or ptype != 0x0800:
            self._skip("non-IPv4 ARP")
            return
        self.decoded += 1
        b = o + 8
        self._events.append({
            "kind": "arp", "ts": ts, "op": {1: "request", 2: "reply"}.get(op, str(op)),
            "sender_mac": _mac(buf[b:b + 6]), "sender_ip": socket.inet_ntoa(buf[b + 6:b + 10]),
            "target_mac": _mac(buf[b + 10:b + 16]),
            "target_ip": socket.inet_ntoa(buf[b + 16:b + 20]),
            "eth_src": _mac(esrc) if esrc else None, "eth_dst": _mac(edst) if edst else None})

    # ---------------------------------------------------------------- IP
    def _ipv4(self, ts, buf, o, esrc, edst):
        vhl = buf[o]
        ihl = (vhl & 0x0F) * 4
        if vhl >> 4 != 4 or ihl < 20:
            self._skip("malformed")
            return
        tot, _ident, off = struct.unpack_from("!HHH", buf, o + 2)
        proto = buf[o + 9]
        src = buf[o + 12:o + 16]
        dst = buf[o + 16:o + 20]
        if tot < ihl:                     # TSO / zero total length: trust the capture
            tot = len(buf) - o
        plen = tot - ihl
        fo = off & 0x1FFF
        mf = off & 0x2000
        wrong = 0
        if mf or fo:
            if (mf and plen % 8) or fo * 8 + plen > 65535:
                wrong = 1
            fkey = (src, dst, _ident, proto)
            if fo:                        # a later fragment: no transport header, credit the flow
                fl = self._frags.get(fkey)
                if fl is not None:
                    f, is_orig = fl
                    f.last = max(f.last, ts)
                    f.wrong_frag += wrong
                    if is_orig:
                        f.o_bytes += plen
                    else:
                        f.r_bytes += plen
                else:
                    self._skip("fragment without first")
                return
        if esrc is not None:
            self._l2_track(ts, src, dst, esrc, edst)
        f, is_orig = self._transport(ts, buf, o + ihl, plen, proto, src, dst)
        if f is not None:
            if wrong:
                f.wrong_frag += 1
            if mf:
                if len(self._frags) > 50_000:
                    self._frags.clear()
                self._frags[(src, dst, _ident, proto)] = (f, is_orig)

    def _ipv6(self, ts, buf, o, esrc, edst):
        plen = _u16(buf, o + 4)[0]
        nxt = buf[o + 6]
        src = buf[o + 8:o + 24]
        dst = buf[o + 24:o + 40]
        p = o + 40
        if plen == 0:                     # jumbogram or TSO: trust the capture
            plen = len(buf) - p
        # skip extension headers: hop-by-hop, routing, destination options, fragment
        for _ in range(8):
            if nxt in (0, 43, 60):
                hl = (buf[p + 1] + 1) * 8
                nxt = buf[p]
                p += hl
                plen -= hl
            elif nxt == 44:
                fo = _u16(buf, p + 2)[0] >> 3
                nxt = buf[p]
                p += 8
                plen -= 8
                if fo:
                    self._skip("IPv6 fragment")
                    return
            else:
                break
        if esrc is not None:
            self._l2_track(ts, src, dst, esrc, edst)
        if nxt == 58:
            nxt = 1                        # ICMPv6 counted as icmp
        self._transport(ts, buf, p, plen, nxt, src, dst, v6=True)

    def _l2_track(self, ts, src, dst, esrc, edst):
        """Remember which MAC carries each IP; an unexplained change is what ARP poisoning does."""
        if self._l2_events >= MAX_L2_EVENTS:
            self._l2_capped = True
            return
        l2 = self._l2
        for ip, mac, role, peer in ((src, esrc, "src", dst), (dst, edst, "dst", src)):
            if mac[0] & 1 or ip[0] in (0, 255) or (len(ip) == 4 and ip[0] >= 224) or \
                    (len(ip) == 16 and ip[0] == 0xFF):
                continue                   # broadcast / multicast
            k = (ip, role)
            old = l2.get(k)
            if old is None:
                if len(l2) > 200_000:
                    l2.clear()
                l2[k] = mac
            elif old != mac:
                l2[k] = mac
                sig = (ip, role, old, mac)
                if sig in self._l2_seen:
                    continue
                if len(self._l2_seen) > 100_000:
                    self._l2_seen.clear()
                self._l2_seen.add(sig)
                self._l2_events += 1
                self._events.append({"kind": "l2_change", "ts": ts, "ip": _ip(ip), "role": role,
                                     "old_mac": _mac(old), "new_mac": _mac(mac),
                                     "peer": _ip(peer)})

    # ---------------------------------------------------------------- transport
    def _transport(self, ts, buf, p, plen, proto, src, dst, v6=False):
        flows = self._flows
        if proto == 6:
            sport, dport, seq, _ack = _tcp_hdr(buf, p)
            doff = (buf[p + 12] >> 4) * 4
            fl = buf[p + 13]
            dlen = plen - doff
            if dlen < 0 or doff < 20:
                self._skip("malformed")
                return None, False
            self.decoded += 1
            key = (6, src, sport, dst, dport)
            f, is_orig = self._lookup(key)
            if f is not None and fl & SYN and not fl & ACK and seq != f.isn and (
                    (f.o_state in (CLOSED, RESET) and f.r_state in (CLOSED, RESET, INACTIVE))
                    or (f.r_state == RESET) or (f.o_state == RESET)):
                # a new SYN on a finished 5-tuple: port reuse -> new connection
                self._finish(flows.pop(f.key))
                f = None
            elif f is not None and ts - f.last > (TCP_CLOSED_TIMEOUT if f.closing
                                                  else TCP_TIMEOUT):
                self._finish(flows.pop(f.key))    # idle past its timeout: a new connection
                f = None
            if f is None:
                f, is_orig = self._start(key, ts, "tcp", fl & SYN and fl & ACK or (
                    not fl & SYN and _looks_reversed(sport, dport)))
            if ts > f.last:
                f.last = ts
            if fl & SYN and is_orig and f.isn is None:
                f.isn = seq
            f.flags |= fl
            if fl & URG:
                f.urgent += 1
            if not fl & (SYN | ACK | RST) or fl & (SYN | FIN) == (SYN | FIN) or \
                    fl & (SYN | RST) == (SYN | RST) or fl & (FIN | PSH | URG) == (FIN | PSH | URG) \
                    and not fl & ACK:
                self._odd(ts, f, src, sport, dst, dport, fl)
            # sequence-space byte counting (retransmissions not counted twice)
            new = 0
            if not fl & RST:
                end = (seq + dlen + (1 if fl & SYN else 0)) & 0xFFFFFFFF
                hi = f.o_hi if is_orig else f.r_hi
                if hi is None:
                    new = dlen
                    hi = end
                else:
                    d = (end - hi) & 0xFFFFFFFF
                    if 0 < d < 0x80000000:
                        new = min(d, dlen) if dlen else 0
                        hi = end
                if is_orig:
                    f.o_hi = hi
                else:
                    f.r_hi = hi
            if is_orig:
                f.o_pkts += 1
                f.o_bytes += new
                f.o_size += dlen
            else:
                f.r_pkts += 1
                f.r_bytes += new
                f.r_size += dlen
            _tcp_update(f, is_orig, fl, dlen)
            if (f.o_state in (CLOSED, RESET) and f.r_state in (CLOSED, RESET)) or \
                    f.o_state == RESET or f.r_state == RESET:
                f.closing = True
            if new and (sport in DNS_PORTS or dport in DNS_PORTS):
                start = p + doff + dlen - new
                self._dns_tcp(ts, f, is_orig, buf[start:p + doff + dlen], src, sport, dst, dport)
            return f, is_orig
        if proto == 17:
            sport, dport = _hh(buf, p)
            dlen = plen - 8
            if dlen < 0:
                self._skip("malformed")
                return None, False
            self.decoded += 1
            key = (17, src, sport, dst, dport)
            f, is_orig = self._lookup(key)
            if f is not None and ts - f.last > UDP_TIMEOUT:
                self._finish(flows.pop(f.key))
                f = None
            if f is None:
                f, is_orig = self._start(key, ts, "udp", _looks_reversed(sport, dport))
            _count(f, is_orig, ts, dlen)
            if sport in DNS_PORTS or dport in DNS_PORTS:
                self._dns_msg(ts, f, buf[p + 8:p + 8 + dlen], src, sport, dst, dport, "udp")
            return f, is_orig
        if proto == 1:
            typ, code = buf[p], buf[p + 1]
            dlen = max(0, plen - 8)
            self.decoded += 1
            # Zeek's ICMP "ports": orig_p = type, resp_p = the counterpart type for request/reply
            # pairs (echo 8 <-> 0 ...), else the code. A reply joins its request's flow.
            pairs = _ICMP6_PAIRS if v6 else _ICMP4_PAIRS
            other = pairs.get(typ)
            f = None
            if other is not None:
                if typ in (_ICMP6_REPLIES if v6 else _ICMP4_REPLIES):
                    key = (1, dst, other, src, typ)
                    f = flows.get(key)
                    is_orig = False
                if f is None:
                    key = (1, src, typ, dst, other)
                    f = flows.get(key)
                    is_orig = True
                code = other
            else:
                key = (1, src, typ, dst, code)
                f = flows.get(key)
                is_orig = True
            if f is not None and ts - f.last > ICMP_TIMEOUT:
                self._finish(flows.pop(f.key))
                f = None
                key = (1, src, typ, dst, code if other is None else other)
                is_orig = True
            if f is None:
                f = self._new_flow(key, ts, "icmp", src, typ, dst, code)
            _count(f, is_orig, ts, dlen)
            return f, is_orig
        self._skip(f"IP protocol {proto}")
        return None, False

    def _odd(self, ts, f, src, sport, dst, dport, fl):
        if fl == 0:
            probe = "null"
        elif fl & (SYN | RST) == (SYN | RST):
            probe = "syn_rst"
        elif fl & (SYN | FIN) == (SYN | FIN):
            probe = "syn_fin"
        elif fl & (FIN | PSH | URG) == (FIN | PSH | URG):
            probe = "xmas"
        elif fl & FIN and not fl & ACK:
            probe = "fin_only"
        else:
            probe = "no_ack"
        self._events.append({"kind": "tcp_odd", "ts": ts, "src": _ip(src), "sport": sport,
                             "dst": _ip(dst), "dport": dport, "flags": _FLAG_STR[fl] or "none",
                             "probe": probe, "record": f.seq})

    # ---------------------------------------------------------------- DNS
    def _dns_tcp(self, ts, f, is_orig, data, src, sport, dst, dport):
        buf = (f.o_buf if is_orig else f.r_buf) or b""
        buf += data
        while len(buf) >= 2:
            n = _u16(buf, 0)[0]
            if len(buf) < 2 + n:
                break
            self._dns_msg(ts, f, buf[2:2 + n], src, sport, dst, dport, "tcp")
            buf = buf[2 + n:]
        if len(buf) > DNS_TCP_BUFFER:
            buf = b""
        if is_orig:
            f.o_buf = buf
        else:
            f.r_buf = buf

    def _dns_msg(self, ts, f, payload, src, sport, dst, dport, proto):
        m = parse_dns(payload)
        if m is None:
            self._skip("unparseable DNS")
            return
        ident, qr, opcode, rcode, _qd, an, qname, qtype = m
        qtype_s = _DNS_TYPES.get(qtype, str(qtype)) if qtype is not None else None
        rcode_s = _DNS_RCODES.get(rcode, str(rcode))
        if f.dns_query is None and qname is not None:
            f.dns_query, f.dns_qtype = qname, qtype_s
        if qr and f.dns_rcode is None:
            f.dns_rcode = rcode_s
        self._events.append({"kind": "dns", "ts": ts, "src": _ip(src), "sport": sport,
                             "dst": _ip(dst), "dport": dport, "proto": proto, "id": ident,
                             "qr": qr, "opcode": opcode, "query": qname, "qtype": qtype_s,
                             "rcode": rcode_s if qr else None, "answers": an, "record": f.seq})


_ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
_ICMP4_REPLIES = frozenset({0, 14, 16, 18, 9})
_ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130}
_ICMP6_REPLIES = frozenset({129, 134, 136, 131})


def _is_service_port(port: int) -> bool:
    return port < 1024 or port in _SERVICES_BOTH


def _looks_reversed(sport: int, dport: int) -> bool:
    """First packet seen came from the server side (Zeek's likely_server_ports heuristic)."""
    return _is_service_port(sport) and not _is_service_port(dport)


# ------------------------------------------------------------------ convenience API
def iter_connections(path: str | Path, chunk: int = 50_000, *, events: list | None = None,
                     notes: list | None = None) -> Iterator[pd.DataFrame]:
    """Connection records of a capture as DataFrame chunks (index = record number, start order).

    If ``events`` / ``notes`` lists are given, ARP/DNS/... events and notes (e.g. "truncated after
    packet N") are appended to them as the file is read."""
    stream = PcapStream(path, chunk=chunk)
    for df, evs in stream.chunks():
        if events is not None:
            events.extend(evs)
        if len(df):
            yield df
    if notes is not None:
        notes.extend(stream.notes)


def iter_events(path: str | Path) -> Iterator[dict]:
    """ARP, DNS, L2-change and odd-TCP events of a capture, in chunks of the file's order."""
    stream = PcapStream(path)
    for _df, evs in stream.chunks():
        yield from evs


def read_pcap(path: str | Path) -> Capture:
    """Read a whole capture (for small files; use iter_connections for big ones)."""
    stream = PcapStream(path)
    frames, events = [], []
    for df, evs in stream.chunks():
        if len(df):
            frames.append(df)
        events.extend(evs)
    conns = pd.concat(frames).sort_index() if frames else _empty_frame()
    events.sort(key=lambda e: e["ts"])
    return Capture(str(path), conns, events, stream.notes, stream.packets)
