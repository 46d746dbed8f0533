"""`netcopilot ingest KIND FILE`: read records, validate each against its declared schema, store
the good ones and quarantine the bad ones, in one transaction.

Readers: JSON Lines (one object per line) or CSV with a header row, chosen by the file's suffix
(.jsonl / .ndjson / .json, .csv) or by its first character. Every line read ends up counted as
stored, duplicate (examples already in the training data) or quarantined: nothing is dropped
silently. When more than `max_bad` of the records are bad the file is probably not what it says it
is: nothing is stored, nothing quarantined, and the error names the first bad record.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from netcopilot.errors import DataFormatError
from netcopilot.pipeline import lineage, quarantine
from netcopilot.pipeline.schema import SCHEMAS, CommandIn, ExampleIn, Rejection, check
from netcopilot.settings import Settings
from netcopilot.store.db import Store, StoreError

KINDS = tuple(SCHEMAS)
FIRST_PROBLEMS = 10


@dataclass
class IngestReport:
    kind: str
    source: str
    batch: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    already: str | None = None  # set when the same content was taken in before: nothing was done
    problems: list[str] = field(default_factory=list)  # the first FIRST_PROBLEMS "file:line: field: why"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        if self.already:
            return f"{self.source}: {self.already}"
        parts = [f"{self.stored} stored"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already known")
        parts.append(f"{self.quarantined} quarantined")
        return f"{self.source}: {self.read} {self.kind[:-1]} records read: " + ", ".join(parts)


def _format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "jsonl" if text.lstrip()[:1] == "{" else "csv"


def _lines(text: str) -> list[str]:
    """Physical lines as the readers count them: split at \n only (a U+2028 inside a JSON string
    or a form feed in a command is not a line break), a trailing \r dropped."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _jsonl(text: str) -> Iterator[tuple[int, Any, str]]:
    for n, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line), line
        except json.JSONDecodeError as exc:
            yield n, f"not valid JSON ({exc.msg}, column {exc.colno})", line
        except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, absurd nesting
            yield n, f"not valid JSON ({str(exc).split(';')[0] or exc.__class__.__name__})", line


def _csv(path: Path, text: str) -> Iterator[tuple[int, Any, str]]:
    """Rows as dicts by the header, each reported at the line where its record starts (a quoted
    field may span lines); a row that breaks CSV itself stops the file with its line."""
    lines = _lines(text)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise DataFormatError(path, f"not CSV ({exc})", line=reader.line_num) from None
    if not header or not all(header):
        raise DataFormatError(path, "the CSV header row has an empty column name", line=1)
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise DataFormatError(path, f"the CSV header names a column twice: {', '.join(twice)}", line=1)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataFormatError(path, f"not CSV ({exc})", line=reader.line_num) from None
        raw = "\n".join(lines[start - 1:reader.line_num])
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield start, f"{len(row)} columns where the header has {len(header)}", raw
            continue
        yield start, dict(zip(header, (cell.strip() for cell in row))), raw


def read_rows(path: Path) -> tuple[str, Iterator[tuple[int, Any, str]]]:
    """(the file's fingerprint, its rows as (line, parsed row or a reason string, raw line))."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text (byte {exc.start})") from None
    batch = hashlib.sha256(data).hexdigest()[:16]
    return batch, (_jsonl(text) if _format(path, text) == "jsonl" else _csv(path, text))


def ingest(settings: Settings, store: Store, kind: str, path: Path, max_bad: float = 0.1, user: str = "",
           source: str = "", force: bool = False) -> IngestReport:
    """Validate every record of `path`, store the good ones and quarantine the bad ones, and
    record the file in the lineage (one transaction). The same content again is a no-op unless `force`."""
    if kind not in SCHEMAS:
        raise DataFormatError(path, f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    batch, rows = read_rows(path)
    context = {"intents": _known_intents(settings)} if kind == "examples" else None
    good: list[BaseModel] = []
    bad: list[Rejection] = []
    for item in check(kind, rows, context):
        (bad if isinstance(item, Rejection) else good).append(item)
    report = IngestReport(kind, source or str(path), batch, read=len(good) + len(bad))
    report.problems = [r.where(str(path)) for r in bad[:FIRST_PROBLEMS]]
    if report.read == 0:
        raise DataFormatError(path, f"no {kind} records found")
    if len(bad) > max_bad * report.read:
        raise DataFormatError(path, f"{len(bad)} of {report.read} records are bad (more than --max-bad {max_bad:g}); "
                              f"nothing was stored; the first: {report.problems[0]}")
    try:
        with store.session() as s, s.begin():
            report.already = lineage.earlier(s, kind, batch, force)
            if report.already:
                report.problems = []
                return report
            lineage.record(s, kind, batch, report.source, report.read, 0, len(bad))
            s.flush()  # a concurrent run of the same file stops here, before anything is written
            report.quarantined = quarantine.add(s, kind, batch, report.source, bad)
            if kind == "commands":
                report.stored = _store_commands(s, good, user, source or f"ingest:{Path(path).name}", store.pseudonymizer)
            else:  # learned phrasings live in files; a failed write rolls the quarantine back with it
                report.stored = _store_examples(settings, good)
                report.duplicates = len(good) - report.stored
            lineage.set_stored(s, kind, batch, report.stored)
    except IntegrityError:
        report.already, report.problems = "another run was taking in the same content at the same time; nothing done", []
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot store the records: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    return report


def _known_intents(settings: Settings) -> set[str]:
    from netcopilot.nlu.data import load_definitions

    return set(load_definitions(Path(settings.intents_dir)))


def _store_commands(session: Any, records: list[CommandIn], user: str, source: str, pseudonymizer: Any) -> int:
    """Secrets masked exactly as the shell hook's sync masks them, stored as the sync stores them
    (addresses pseudonymised when the store does)."""
    from netcopilot.history.records import CommandEvent, insert_events
    from netcopilot.history.secrets import mask

    events = [CommandEvent(**{**r.model_dump(), "command": mask(r.command)[0], "user": r.user or user,
                              "source": source[:40]}) for r in records]
    return insert_events(session, events, pseudonymizer)


def _store_examples(settings: Settings, records: list[ExampleIn]) -> int:
    """Folded into <home>/learned/train like corrections from feedback; `netcopilot retrain` uses them."""
    from netcopilot.retrain import Example, fold_in

    return fold_in(settings, [Example(" ".join(r.text.split()), r.intent, "import") for r in records])
