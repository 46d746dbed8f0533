"""The audit trail: every model decision that reached someone (an answer, an anomaly detection, a
threat verdict) with the model version that made it, a fingerprint of its input (SHA-256, so the
input itself is not kept twice), its output and the explanation (`netcopilot audit` reads it)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from netcopilot.store.db import Store
from netcopilot.store.models import AuditRecord


def fingerprint(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def entry(kind: str, input_value: Any, output: dict[str, Any], *, model_version: str = "", channel: str = "",
          user: str = "", explanation: dict[str, Any] | None = None) -> AuditRecord:
    """An audit row not yet written: `save` writes it on its own, `Store.record_exchange` in the
    transaction that stores the answer it is about."""
    return AuditRecord(kind=kind[:30], channel=channel[:40], user=user[:200], model_version=model_version[:100],
                       input_fingerprint=fingerprint(input_value), output=output, explanation=explanation or {})


def save(store: Store, row: AuditRecord) -> int:
    """Write one audit row in a transaction of its own; returns its id."""
    with store.session() as s, s.begin():
        s.add(row)
        s.flush()
        return row.id


def record(store: Store, kind: str, input_value: Any, output: dict[str, Any], *, model_version: str = "",
           channel: str = "", user: str = "", explanation: dict[str, Any] | None = None) -> int:
    return save(store, entry(kind, input_value, output, model_version=model_version, channel=channel, user=user,
                             explanation=explanation))


def query(store: Store, kind: str | None = None, user: str | None = None, since: datetime | None = None,
          model_version: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest matching decisions first."""
    q = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    for column, value in ((AuditRecord.kind, kind), (AuditRecord.user, user), (AuditRecord.model_version, model_version)):
        if value:
            q = q.where(column == value)
    if since is not None:
        q = q.where(AuditRecord.created_at >= since)
    with store.session() as s:
        return [{"id": r.id, "at": r.created_at.isoformat(timespec="seconds"), "kind": r.kind, "channel": r.channel,
                 "user": r.user, "model_version": r.model_version, "input_sha256": r.input_fingerprint,
                 "output": r.output, "explanation": r.explanation} for r in s.scalars(q)]
