"""Which files were taken in, when, and what became of their records (`ingest_batches`).

A file is known by its content's fingerprint, so taking the same file in twice (a cron job run
again, an import repeated by hand) is caught before its records are stored a second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from netcopilot.store.db import Store
from netcopilot.store.models import IngestBatch


def earlier(session: Session, kind: str, batch: str, force: bool) -> str | None:
    """When this content was taken in before: a sentence saying when and what came of it, or None
    when it is new (or `force` is given, which forgets the earlier record)."""
    seen = session.scalar(select(IngestBatch).where(IngestBatch.kind == kind, IngestBatch.batch == batch))
    if seen is None:
        return None
    if force:
        session.execute(delete(IngestBatch).where(IngestBatch.id == seen.id))
        return None
    return (f"the same content was already taken in on {seen.created_at:%Y-%m-%d %H:%M} UTC from {seen.source} "
            f"({seen.stored} stored, {seen.quarantined} quarantined); nothing done (--force takes it in again)")


def record(session: Session, kind: str, batch: str, source: str, read: int, stored: int, quarantined: int) -> None:
    session.add(IngestBatch(kind=kind, batch=batch, source=source, read=read, stored=stored, quarantined=quarantined))


def set_stored(session: Session, kind: str, batch: str, stored: int) -> None:
    session.execute(update(IngestBatch).where(IngestBatch.kind == kind, IngestBatch.batch == batch).values(stored=stored))


def batches(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ingested files first."""
    query = select(IngestBatch).order_by(IngestBatch.id.desc()).limit(limit)
    with store.session() as s:
        return [{"created_at": _iso(b.created_at), "kind": b.kind, "batch": b.batch, "source": b.source,
                 "read": b.read, "stored": b.stored, "quarantined": b.quarantined} for b in s.scalars(query)]


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
