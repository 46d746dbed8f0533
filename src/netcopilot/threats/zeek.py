"""Zeek ``conn.log`` (TSV with ``#fields`` headers, or JSON lines; optionally gzipped) -> the
connection-record DataFrame of ``pcap.COLUMNS`` (plus ``uid``).

    id.orig_h -> src, id.orig_p -> sport, id.resp_h -> dst, id.resp_p -> dport, proto, service,
    duration, orig_bytes -> src_bytes, resp_bytes -> dst_bytes, orig_pkts -> src_pkts,
    resp_pkts -> dst_pkts, conn_state -> state, history -> flags (TCP flags seen)

The unset field ("-" by default, from ``#unset_field``) and empty sets mean "missing": counts become
0, duration 0.0, service is derived from the responder port. A malformed line raises
``DataFormatError`` naming file, line and field.

    read_conn_log(path) -> pd.DataFrame
    iter_conn_log(path, chunk=50_000) -> Iterator[pd.DataFrame]
"""

from __future__ import annotations

import gzip
import ipaddress
import json
from datetime import datetime
from pathlib import Path
from typing import Iterator, TextIO

import pandas as pd

from netcopilot.errors import DataFormatError
from netcopilot.threats.pcap import COLUMNS, service_for

REQUIRED = ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto")
ZEEK_COLUMNS = COLUMNS + ["uid"]
_STATES = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR",
           "OTH"}
_SERVICE_MAP = {"ftp-data": "ftp_data", "krb": "kerberos", "krb_tcp": "kerberos",
                "dce_rpc": "msrpc", "ssl": None, "dtls": None}
_HISTORY_FLAGS = (("S", "sShH"), ("A", "aAhH"), ("F", "fF"), ("R", "rR"), ("P", "dD"))


def looks_like_conn_log(head: bytes) -> bool:
    """Whether text starting with `head` is a Zeek log: TSV with its header lines, or JSON lines."""
    return head.startswith(b"#separator") or b'"id.orig_h"' in head.split(b"\n", 1)[0]


def _open(path: Path) -> TextIO:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except FileNotFoundError:
        raise DataFormatError(path, "no such file") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, "r", encoding="utf-8", errors="replace", newline="")


def _flags_from_history(history: str | None, proto: str) -> str:
    if proto != "tcp" or not history:
        return ""
    return "".join(flag for flag, letters in _HISTORY_FLAGS
                   if any(ch in history for ch in letters))


def _service(raw, proto: str, dport: int) -> str:
    if raw:
        first = str(raw).split(",")[0].strip().lower()
        if first:
            mapped = _SERVICE_MAP.get(first, first)
            if mapped:
                return mapped
            return "https" if dport == 443 else first     # ssl on 443 is https
    return service_for(proto, 0, dport)


class _Parser:
    def __init__(self, path: Path):
        self.path = path

    def err(self, line: int, problem: str, field: str | None = None):
        return DataFormatError(self.path, problem, line=line, field=field)

    def num(self, value, line, field, kind=float, default=0):
        if value is None or value == "" or value == "-":
            return default
        if isinstance(value, bool):
            raise self.err(line, f"not a number: {value!r}", field)
        try:
            x = kind(value)
        except (TypeError, ValueError):
            raise self.err(line, f"not a number: {value!r}", field) from None
        if kind is int and x < 0:
            raise self.err(line, f"negative count: {value!r}", field)
        return x

    def port(self, value, line, field):
        p = self.num(value, line, field, int, None)
        if p is None:
            raise self.err(line, "missing port", field)
        if not 0 <= p <= 65535:
            raise self.err(line, f"port out of range: {value!r}", field)
        return p

    def addr(self, value, line, field):
        if value in (None, "", "-"):
            raise self.err(line, "missing address", field)
        try:
            return str(ipaddress.ip_address(str(value)))
        except ValueError:
            raise self.err(line, f"not an IP address: {value!r}", field) from None

    def ts(self, value, line):
        if isinstance(value, str) and ("T" in value or "-" in value[1:]):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise self.err(line, f"not a timestamp: {value!r}", "ts") from None
        t = self.num(value, line, "ts", float, None)
        if t is None:
            raise self.err(line, "missing timestamp", "ts")
        return t

    def record(self, get, line: int) -> tuple:
        proto = str(get("proto") or "").lower()
        if proto in ("", "-"):
            raise self.err(line, "missing protocol", "proto")
        sport = self.port(get("id.orig_p"), line, "id.orig_p")
        dport = self.port(get("id.resp_p"), line, "id.resp_p")
        state = get("conn_state")
        if state in (None, "", "-"):
            state = "OTH"
        elif state not in _STATES:
            raise self.err(line, f"unknown connection state {state!r}", "conn_state")
        history = get("history")
        history = None if history in (None, "-") else str(history)
        uid = get("uid")
        return (
            self.ts(get("ts"), line),
            self.num(get("duration"), line, "duration", float, 0.0),
            self.addr(get("id.orig_h"), line, "id.orig_h"), sport,
            self.addr(get("id.resp_h"), line, "id.resp_h"), dport,
            proto, _service(None if get("service") in ("-", "(empty)") else get("service"),
                            proto, dport),
            state, _flags_from_history(history, proto),
            self.num(get("orig_bytes"), line, "orig_bytes", int, 0),
            self.num(get("resp_bytes"), line, "resp_bytes", int, 0),
            self.num(get("orig_pkts"), line, "orig_pkts", int, 0),
            self.num(get("resp_pkts"), line, "resp_pkts", int, 0),
            0, 0, None, None, None,
            None if uid in (None, "-") else str(uid))


def _frame(rows: list[tuple], start: int) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=ZEEK_COLUMNS,
                                   index=pd.RangeIndex(start, start + len(rows)))
    if not rows:
        df = df.astype({"ts": "float64", "duration": "float64", "sport": "int64",
                        "dport": "int64", "src_bytes": "int64", "dst_bytes": "int64",
                        "src_pkts": "int64", "dst_pkts": "int64", "wrong_fragment": "int64",
                        "urgent": "int64"})
    return df


def iter_conn_log(path: str | Path, chunk: int = 50_000) -> Iterator[pd.DataFrame]:
    """Stream a conn.log as DataFrame chunks (index = record number)."""
    p = Path(path)
    parser = _Parser(p)
    rows: list[tuple] = []
    emitted = 0
    fields: list[str] | None = None
    sep, unset, empty = "\t", "-", "(empty)"
    mode = None
    with _open(p) as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if mode is None:
                mode = "json" if line.lstrip().startswith("{") else "tsv"
                if mode == "tsv" and not line.startswith("#"):
                    raise parser.err(n, "not a Zeek conn.log: no '#fields' header and not JSON")
            if mode == "json":
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise parser.err(n, f"invalid JSON ({exc.msg} at column {exc.colno})") \
                        from None
                if not isinstance(obj, dict):
                    raise parser.err(n, "a JSON line must hold an object")
                missing = [f for f in REQUIRED if f not in obj]
                if missing:
                    raise parser.err(n, "missing field", missing[0])
                rows.append(parser.record(obj.get, n))
            else:
                if line.startswith("#"):
                    key, _, value = line[1:].partition(" " if line.startswith("#separator")
                                                       else sep)
                    if key == "separator":
                        sep = value.strip().encode().decode("unicode_escape") or "\t"
                    elif key == "unset_field":
                        unset = value
                    elif key == "empty_field":
                        empty = value
                    elif key == "fields":
                        fields = value.split(sep)
                        missing = [f for f in REQUIRED if f not in fields]
                        if missing:
                            raise parser.err(n, "missing from the #fields header", missing[0])
                    elif key == "path" and value.strip() not in ("conn", ""):
                        raise parser.err(n, f"this is a Zeek {value.strip()!r} log, not conn.log")
                    continue
                if fields is None:
                    raise parser.err(n, "data before the '#fields' header")
                values = line.split(sep)
                if len(values) != len(fields):
                    raise parser.err(n, f"expected {len(fields)} fields separated by "
                                        f"{sep!r}, found {len(values)}")
                rec = dict(zip(fields, values))

                def get(k, _rec=rec):
                    v = _rec.get(k)
                    return None if v == unset or v == empty else v
                rows.append(parser.record(get, n))
            if len(rows) >= chunk:
                yield _frame(rows, emitted)
                emitted += len(rows)
                rows = []
    if mode is None:
        raise DataFormatError(p, "empty file, not a Zeek conn.log")
    if mode == "tsv" and fields is None:
        raise DataFormatError(p, "not a Zeek conn.log: no '#fields' header")
    if rows or emitted == 0:
        yield _frame(rows, emitted)


def read_conn_log(path: str | Path) -> pd.DataFrame:
    """A whole conn.log as one DataFrame, sorted by start time (index = line order)."""
    frames = list(iter_conn_log(path))
    df = pd.concat(frames) if len(frames) > 1 else frames[0]
    return df.sort_values("ts", kind="stable")
