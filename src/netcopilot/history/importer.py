"""Reading existing shell histories: bash (optionally with `#<epoch>` lines from HISTTIMEFORMAT),
zsh (plain or EXTENDED_HISTORY `: <start>:<elapsed>;cmd`), fish (`- cmd:` / `  when:`) and plain
one-command-per-line files.

The whole file is parsed before anything is stored, so a malformed file raises DataFormatError
naming file:line and nothing is written. Secrets are masked here; commands starting with a space
(the ignorespace convention) and empty entries are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from netcopilot.errors import DataFormatError, InputError
from netcopilot.history.records import CommandEvent
from netcopilot.history.secrets import mask

FORMATS = ("auto", "bash", "zsh", "fish", "plain")
_BASH_TIME = re.compile(rb"#(\d{9,11})\s*$")
_ZSH_EXTENDED = re.compile(rb": *(\d+):(\d+);(.*)$", re.S)
_FISH_CMD = b"- cmd: "
_FISH_FIELD = re.compile(rb"  (when|paths): ?(.*)$")
_FISH_ESCAPES = re.compile(r"\\(.)")
_ZSH_META = 0x83
_SNIFF_LINES = 50

Progress = Callable[[int], None]  # called with the number of bytes read so far


@dataclass
class ImportResult:
    format: str
    events: list[CommandEvent] = field(default_factory=list)
    skipped: int = 0  # empty or space-prefixed entries
    masked: int = 0  # secret values replaced


@dataclass
class _Entry:
    line: int
    command: str
    started_at: datetime | None = None
    duration_ms: float | None = None


def detect_format(path: Path, head: list[bytes]) -> str:
    """The format by content (fish and zsh-extended markers, bash timestamps), then by name."""
    lines = [line for line in head if line.strip()][:_SNIFF_LINES]
    if any(line.startswith(_FISH_CMD) for line in lines):
        return "fish"
    if lines and _ZSH_EXTENDED.match(lines[0].rstrip(b"\n")):
        return "zsh"
    if any(_BASH_TIME.match(line) for line in lines):
        return "bash"
    name = path.name.lower()
    for fmt in ("zsh", "fish", "bash"):
        if fmt in name:
            return fmt
    return "plain"


def _lines(path: Path, progress: Progress | None) -> Iterator[tuple[int, bytes]]:
    """Numbered raw lines without their newline; rejects binary files (NUL bytes)."""
    done = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if b"\0" in raw:
                raise DataFormatError(path, "binary data (NUL byte): not a shell history file", line=number)
            done += len(raw)
            if progress is not None and number % 4096 == 0:
                progress(done)
            yield number, raw.rstrip(b"\r\n")
    if progress is not None:
        progress(done)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _when(seconds: bytes) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)


def _bash(path: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Entry]:
    """With timestamps the lines between two `#epoch` lines are one (multi-line) command, as bash
    itself reads them; without, every line is a command."""
    pending: _Entry | None = None
    for number, raw in lines:
        stamp = _BASH_TIME.match(raw)
        if stamp:
            if pending is not None:
                yield pending
            pending = _Entry(number + 1, "", started_at=_when(stamp.group(1)))
        elif pending is not None and pending.started_at is not None:
            pending.command = f"{pending.command}\n{_text(raw)}" if pending.command else _text(raw)
        else:
            yield _Entry(number, _text(raw))
    if pending is not None:
        yield pending


def _unmetafy(raw: bytes) -> bytes:
    """zsh stores bytes 0x83..0xA2 as 0x83 followed by the byte XOR 32."""
    if _ZSH_META not in raw:
        return raw
    out, meta = bytearray(), False
    for byte in raw:
        if meta:
            out.append(byte ^ 32)
            meta = False
        elif byte == _ZSH_META:
            meta = True
        else:
            out.append(byte)
    return bytes(out)


def _zsh(path: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Entry]:
    """Extended entries `: start:elapsed;cmd` (or plain lines); a trailing backslash continues the
    command on the next line (zsh's way of storing multi-line commands)."""
    parts: list[bytes] = []
    entry: _Entry | None = None
    for number, raw in lines:
        raw = _unmetafy(raw)
        if entry is None:
            entry = _Entry(number, "")
            if raw.startswith(b":"):
                match = _ZSH_EXTENDED.match(raw)
                if match is None:
                    raise DataFormatError(path, "expected ': <start>:<elapsed>;<command>' (zsh extended history)",
                                          line=number)
                entry.started_at, entry.duration_ms = _when(match.group(1)), int(match.group(2)) * 1000.0
                raw = match.group(3)
        if raw.endswith(b"\\") and not raw.endswith(b"\\\\"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        entry.command = _text(b"\n".join(parts))
        yield entry
        parts, entry = [], None
    if entry is not None:
        entry.command = _text(b"\n".join(parts))
        yield entry


def _fish_unescape(text: str) -> str:
    return _FISH_ESCAPES.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def _fish(path: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Entry]:
    """`- cmd: <escaped command>` then optional `  when: <epoch>` and `  paths:` with `    - <path>`."""
    entry: _Entry | None = None
    for number, raw in lines:
        if raw.startswith(_FISH_CMD) or raw == b"- cmd:":
            if entry is not None:
                yield entry
            entry = _Entry(number, _fish_unescape(_text(raw[len(_FISH_CMD):])))
            continue
        if not raw.strip():
            continue
        match = _FISH_FIELD.match(raw)
        if entry is None or not (match or raw.startswith(b"    - ")):
            raise DataFormatError(path, "expected '- cmd: ...', '  when: N' or '  paths:' (fish history)",
                                  line=number)
        if match and match.group(1) == b"when":
            if not match.group(2).strip().isdigit():
                raise DataFormatError(path, "'when' must be a Unix time in seconds", line=number, field="when")
            entry.started_at = _when(match.group(2).strip())
    if entry is not None:
        yield entry


def _plain(path: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Entry]:
    for number, raw in lines:
        yield _Entry(number, _text(raw))


_PARSERS = {"bash": _bash, "zsh": _zsh, "fish": _fish, "plain": _plain}


def read_history(path: Path, fmt: str = "auto", user: str = "", host: str = "",
                 progress: Progress | None = None) -> ImportResult:
    """Every command in `path`, masked, as events (source `import:<format>`). Raises
    DataFormatError (file:line) for malformed input and InputError for an unknown format."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if fmt == "auto":
        with path.open("rb") as handle:
            fmt = detect_format(path, [handle.readline() for _ in range(_SNIFF_LINES)])
    result = ImportResult(format=fmt)
    source = f"import:{fmt}"
    for entry in _PARSERS[fmt](path, _lines(path, progress)):
        if not entry.command.strip() or entry.command[0].isspace():
            result.skipped += 1
            continue
        command, count = mask(entry.command)
        result.masked += count
        result.events.append(CommandEvent(command=command, user=user, host=host, started_at=entry.started_at,
                                          duration_ms=entry.duration_ms, source=source))
    return result
