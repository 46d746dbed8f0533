"""Retention: delete what is older than the retention period (`netcopilot privacy purge`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from netcopilot.durations import HOUR, positive_duration
from netcopilot.errors import InputError
from netcopilot.store.db import Store
from netcopilot.store.models import (
    AuditRecord, CommandRecord, Conversation, Feedback, FeatureRow, PostedMessage, ProcessedEvent, QuarantinedRecord,
)

# (table, its time column): conversations take their messages, answers, commands and vectors along;
# quarantined records hold raw text and cached features were computed from questions, so both age out too
PURGED = ((Feedback, Feedback.created_at), (Conversation, Conversation.updated_at), (CommandRecord, CommandRecord.created_at),
          (AuditRecord, AuditRecord.created_at), (PostedMessage, PostedMessage.created_at),
          (ProcessedEvent, ProcessedEvent.received_at), (QuarantinedRecord, QuarantinedRecord.created_at),
          (FeatureRow, FeatureRow.created_at))


def parse_age(text: str, flag: str = "--older-than") -> timedelta:
    """'90d', '12w', '48h' (also '1.5d', '3 days') -> a positive timedelta; no minutes or seconds,
    so '6m' meant as six months is refused rather than purging nearly everything."""
    age = positive_duration(text, smallest=HOUR)
    if age is None:
        raise InputError(f"{flag} {text!r}: give a positive number with h, d or w, e.g. 90d")
    return age


def purge(store: Store, older_than: timedelta, dry_run: bool = False) -> dict[str, int]:
    """Rows older than the cut-off, per table; deleted in one transaction unless `dry_run`."""
    cutoff = datetime.now(timezone.utc) - older_than
    counts: dict[str, int] = {}
    with store.session() as s, s.begin():
        for model, column in PURGED:
            counts[model.__tablename__] = s.scalar(select(func.count()).select_from(model).where(column < cutoff)) or 0
            if not dry_run and counts[model.__tablename__]:
                s.execute(delete(model).where(column < cutoff))
    return counts
