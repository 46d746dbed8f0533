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

from netcopilot.errors import DataFormatError
from netcopilot.pipeline import lineage, quarantine
from netcopilot.pipeline.schema import SCHEMAS, CommandIn, ExampleIn, Rejection, check
from netcopilot.settings import Settings
from netcopilot.store.db import Store

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


def _jsonl(text: str) -> Iterator[tuple[int, Any, str]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line), line
        except ValueError as exc:
            yield n, f"not valid JSON ({exc.msg} at column {exc.colno})", line


def _csv(path: Path, text: str) -> Iterator[tuple[int, Any, str]]:
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        return
    if not header or not all(header):
        raise DataFormatError(path, "the CSV header row has an empty column name", line=1)
    for row in reader:
        n = reader.line_num
        raw = lines[n - 1] if 0 < n <= len(lines) else ",".join(row)
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield n, f"{len(row)} columns where the header has {len(header)}", raw
            continue
        yield n, dict(zip(header, (cell.strip() for cell in row))), raw


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
    with store.session() as s, s.begin():
        report.already = lineage.earlier(s, kind, batch, force)
        if report.already:
            report.problems = []
            return report
        report.quarantined = quarantine.add(s, kind, batch, report.source, bad)
        if kind == "commands":
            report.stored = _store_commands(s, good, user, source or f"ingest:{Path(path).name}", store.pseudonymizer)
        else:  # learned phrasings live in files; a failed write rolls the quarantine back with it
            report.stored = _store_examples(settings, good)
            report.duplicates = len(good) - report.stored
        lineage.record(s, kind, batch, report.source, report.read, report.stored, report.quarantined)
    return report


def _known_intents(settings: Settings) -> set[str]:
    from netcopilot.nlu.data import load_definitions

    return set(load_definitions(Path(settings.intents_dir)))


def _store_commands(session: Any, records: list[CommandIn], user: str, source: str, pseudonymizer: Any) -> int:
    """Secrets masked exactly as the shell hook's sync masks them (and addresses pseudonymised when
    the store does), then one executemany INSERT: ingests write 10^5 rows at a time."""
    from netcopilot.history.secrets import mask
    from netcopilot.store.models import CommandRecord

    def protect(value: str) -> str:
        return pseudonymizer.value(value, set()) if pseudonymizer is not None and value else value

    rows = [{**r.model_dump(), "command": protect(mask(r.command)[0]), "cwd": protect(r.cwd), "host": protect(r.host),
             "user": r.user or user, "source": source[:40]} for r in records]
    if rows:
        session.execute(CommandRecord.__table__.insert(), rows)
    return len(rows)


def _store_examples(settings: Settings, records: list[ExampleIn]) -> int:
    """Folded into <home>/learned/train like corrections from feedback; `netcopilot retrain` uses them."""
    from netcopilot.retrain import Example, fold_in

    return fold_in(settings, [Example(" ".join(r.text.split()), r.intent, "import") for r in records])
