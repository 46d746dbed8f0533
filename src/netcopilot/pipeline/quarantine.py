"""Quarantined records: what failed its schema, kept in the store with where it came from and why.

Raw text is kept so a person can fix and re-ingest it, but never with its secrets (they are masked
by netcopilot.history.secrets first), and when the store pseudonymises, the privacy guard rewrites
it like any other stored text. Retention applies (`netcopilot privacy purge`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from netcopilot.history.secrets import mask
from netcopilot.pipeline.schema import Rejection
from netcopilot.store.db import Store
from netcopilot.store.models import QuarantinedRecord

MAX_RAW = 4096


@dataclass(frozen=True)
class Quarantined:
    id: int
    created_at: datetime
    kind: str
    batch: str
    source: str
    line: int | None
    field: str
    reason: str
    record: str

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["created_at"] = self.created_at.isoformat(timespec="seconds")
        return out


def masked_record(rejection: Rejection) -> str:
    """The record as kept: each string value of a record that could be read masked on its own (a
    JSON line masked as one string would hide the command from the per-tool rules), else the raw
    text masked; cut at MAX_RAW characters."""
    if rejection.row is not None:
        row = {k: mask(v)[0] if isinstance(v, str) else v for k, v in rejection.row.items()}
        return json.dumps(row, ensure_ascii=False, default=str)[:MAX_RAW]
    return mask(rejection.raw[:MAX_RAW])[0]


def add(session: Session, kind: str, batch: str, source: str, rejections: Iterable[Rejection]) -> int:
    """Quarantine rejections inside the caller's transaction; returns how many."""
    rows = [QuarantinedRecord(kind=kind, batch=batch, source=source, line=r.line, field=r.field[:100],
                              reason=r.reason, record=masked_record(r)) for r in rejections]
    session.add_all(rows)
    return len(rows)


def records(store: Store, kind: str | None = None, batch: str | None = None, limit: int = 50) -> list[Quarantined]:
    """The newest quarantined records first."""
    query = select(QuarantinedRecord).order_by(QuarantinedRecord.id.desc()).limit(limit)
    if kind:
        query = query.where(QuarantinedRecord.kind == kind)
    if batch:
        query = query.where(QuarantinedRecord.batch == batch)
    with store.session() as s:
        return [Quarantined(r.id, r.created_at, r.kind, r.batch, r.source, r.line, r.field, r.reason, r.record)
                for r in s.scalars(query)]


def counts(store: Store) -> dict[str, int]:
    """Quarantined records per kind."""
    query = select(QuarantinedRecord.kind, func.count()).group_by(QuarantinedRecord.kind)
    with store.session() as s:
        return {kind: n for kind, n in s.execute(query)}


def drop(store: Store, kind: str | None = None, batch: str | None = None) -> int:
    """Forget quarantined records (all of them, of one kind, or of one batch); returns how many."""
    query = delete(QuarantinedRecord)
    if kind:
        query = query.where(QuarantinedRecord.kind == kind)
    if batch:
        query = query.where(QuarantinedRecord.batch == batch)
    with store.session() as s, s.begin():
        return s.execute(query).rowcount or 0
