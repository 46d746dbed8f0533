"""NSL-KDD connection records: the 41 features, the attack taxonomy, and a strict reader.

A record is one line of comma-separated values, without a header:

    41 fields   the features only (records to score)
    42 fields   features + label (``normal`` or an attack name)
    43 fields   features + label + difficulty (the KDDTrain+/KDDTest+ ``.txt`` files)

`read_records` / `iter_records` read ``.txt``, ``.csv`` and gzip-compressed files (detected by
content, not name), tolerate one header line and empty values (``""`` or ``?``, read as missing),
and refuse anything else with a `DataFormatError` that names the file, the line and the field.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd

from netcopilot.errors import DataFormatError

COLUMNS: tuple[str, ...] = (
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
)
SYMBOLIC: tuple[str, ...] = ("protocol_type", "service", "flag")
NUMERIC: tuple[str, ...] = tuple(c for c in COLUMNS if c not in SYMBOLIC)

CATEGORIES: tuple[str, ...] = ("normal", "dos", "probe", "r2l", "u2r")
UNKNOWN = "unknown"

# KDDTrain+ and KDDTest+ attack names (Tavallaee et al. 2009; the DARPA 1998/1999 taxonomy).
ATTACK_CATEGORY: dict[str, str] = {
    "normal": "normal",
    # denial of service
    "apache2": "dos", "back": "dos", "land": "dos", "mailbomb": "dos", "neptune": "dos",
    "pod": "dos", "processtable": "dos", "smurf": "dos", "teardrop": "dos", "udpstorm": "dos",
    # probing
    "ipsweep": "probe", "mscan": "probe", "nmap": "probe", "portsweep": "probe", "saint": "probe",
    "satan": "probe",
    # remote to local
    "ftp_write": "r2l", "guess_passwd": "r2l", "imap": "r2l", "multihop": "r2l", "named": "r2l",
    "phf": "r2l", "sendmail": "r2l", "snmpgetattack": "r2l", "snmpguess": "r2l", "spy": "r2l",
    "warezclient": "r2l", "warezmaster": "r2l", "worm": "r2l", "xlock": "r2l", "xsnoop": "r2l",
    # user to root
    "buffer_overflow": "u2r", "httptunnel": "u2r", "loadmodule": "u2r", "perl": "u2r", "ps": "u2r",
    "rootkit": "u2r", "sqlattack": "u2r", "xterm": "u2r",
}

_MISSING = ("", "?")
_GZIP_MAGIC = b"\x1f\x8b"


def category_of(label: str | None) -> str:
    """The category (normal/dos/probe/r2l/u2r) of an attack name; ``"unknown"`` for names not in
    the NSL-KDD taxonomy. Case, surrounding blanks and KDD'99's trailing dot are ignored; a
    category name maps to itself."""
    if label is None:
        return UNKNOWN
    name = str(label).strip().lower().rstrip(".")
    if name in CATEGORIES:
        return name
    return ATTACK_CATEGORY.get(name, UNKNOWN)


def _open(path: Path) -> IO[bytes]:
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise DataFormatError(path, "no such file") from None
    except OSError as exc:
        raise DataFormatError(path, f"cannot open ({exc.strerror or exc})") from None
    if raw.read(2) == _GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # closing it does not close `raw`; see below
    raw.seek(0)
    return raw


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of every non-blank line; decoding/decompression problems
    become DataFormatError naming the line where they happened."""
    stream = _open(path)
    number = 0
    try:
        while True:
            try:
                raw = stream.readline()
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
                problem = "gzip data is truncated" if isinstance(exc, EOFError) else f"unreadable gzip data ({exc})"
                raise DataFormatError(path, problem, line=number + 1) from None
            if not raw:
                return
            number += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataFormatError(path, "not UTF-8 text (is this a binary file?)", line=number) from None
            text = text.strip()
            if text:
                yield number, text
    finally:
        stream.close()
        inner = getattr(stream, "fileobj", None)
        if inner is not None:
            inner.close()


def _is_header(fields: list[str]) -> bool:
    return fields[0].strip().lower() in ("duration", "index") or "protocol_type" in (f.strip().lower() for f in fields)


def _chunk_frame(path: Path, lines: list[str], numbers: list[int], width: int):
    """Parse one chunk of already field-counted lines (pandas' C parser; a slower exact pass
    only to name the offending line and field when a value is not a number)."""
    names = list(range(width))
    text = "\n".join(lines)
    read = dict(header=None, names=names, quoting=csv.QUOTE_NONE, skipinitialspace=True,
                keep_default_na=False, na_values=list(_MISSING), engine="c")
    numeric = {i: np.float64 for i, name in enumerate(COLUMNS) if name not in SYMBOLIC}
    text_cols = {i: str for i in range(width) if i not in numeric}
    try:
        raw = pd.read_csv(io.StringIO(text), dtype={**numeric, **text_cols}, **read)
    except (ValueError, TypeError):
        raw = pd.read_csv(io.StringIO(text), dtype=str, **read)
        for i in numeric:
            column = raw[i].str.strip()
            values = pd.to_numeric(column, errors="coerce")
            bad = values.isna().to_numpy() & raw[i].notna().to_numpy() & ~column.isin(_MISSING).to_numpy()
            if bad.any():
                k = int(np.argmax(bad))
                raise DataFormatError(path, f"not a number: {str(raw[i].iloc[k]).strip()[:40]!r}",
                                      line=numbers[k], field=COLUMNS[i])
            raw[i] = values.astype(np.float64)
    frame = {}
    for i, name in enumerate(COLUMNS):
        if name in SYMBOLIC:
            frame[name] = raw[i].fillna("").str.strip().to_numpy(dtype=object)
        else:
            frame[name] = raw[i].to_numpy(dtype=np.float64)
    X = pd.DataFrame(frame, columns=list(COLUMNS))
    labels = None
    if width >= 42:
        labels = [v.strip().lower().rstrip(".") for v in raw[41].fillna("").tolist()]
    return X, labels


def iter_records(path: str | Path, chunk_rows: int = 50_000) -> Iterator[tuple[pd.DataFrame, list[str] | None]]:
    """Yield ``(X, labels)`` chunks of at most `chunk_rows` records. `X` has the 41 `COLUMNS`
    (numeric columns as float64, NaN where a value is empty or ``?``; symbolic columns as
    strings, as written); `labels` are the attack names (lower case), or None for 41-field files.

    Every line must have the same number of fields as the first record (41, 42 or 43)."""
    path = Path(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    width: int | None = None
    lines: list[str] = []
    numbers: list[int] = []
    seen_any = False
    for number, text in _lines(path):
        count = text.count(",") + 1
        if width is None:
            if not seen_any and _is_header(text.split(",")):
                seen_any = True
                continue
            seen_any = True
            if count not in (41, 42, 43):
                raise DataFormatError(path, f"expected 41, 42 or 43 comma-separated fields, found {count}",
                                      line=number)
            width = count
        elif count != width:
            raise DataFormatError(path, f"expected {width} comma-separated fields like the first record, "
                                  f"found {count}", line=number)
        lines.append(text)
        numbers.append(number)
        if len(lines) >= chunk_rows:
            yield _chunk_frame(path, lines, numbers, width)
            lines, numbers = [], []
    if width is None:
        raise DataFormatError(path, "no records (the file is empty)" if not seen_any else "a header but no records")
    if lines:
        yield _chunk_frame(path, lines, numbers, width)


def read_records(path: str | Path) -> tuple[pd.DataFrame, list[str] | None]:
    """All records of a file: ``(X, labels)`` as `iter_records` yields them, concatenated."""
    frames: list[pd.DataFrame] = []
    labels: list[str] | None = []
    for X, chunk_labels in iter_records(path):
        frames.append(X)
        if chunk_labels is None:
            labels = None
        elif labels is not None:
            labels.extend(chunk_labels)
    X = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return X, labels


def to_frame(records: object) -> pd.DataFrame:
    """Coerce records to the 41-column frame the models expect: a DataFrame (columns by name;
    missing columns become missing values), a single mapping, or rows of 41 values in order."""
    if isinstance(records, pd.DataFrame):
        frame = records
    elif isinstance(records, pd.Series):
        frame = records.to_frame().T
    elif isinstance(records, dict):
        frame = pd.DataFrame([records])
    else:
        rows = list(records)  # type: ignore[call-overload]
        if rows and not isinstance(rows[0], (list, tuple, np.ndarray, dict)):
            rows = [rows]
        if rows and isinstance(rows[0], dict):
            frame = pd.DataFrame(rows)
        else:
            frame = pd.DataFrame([list(r)[:41] for r in rows], columns=list(COLUMNS))
    return frame.reindex(columns=list(COLUMNS))
