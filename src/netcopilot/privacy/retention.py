"""Retention: delete what is older than the retention period (`netcopilot privacy purge`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from netcopilot.errors import InputError
from netcopilot.store.db import Store
from netcopilot.store.models import AuditRecord, CommandRecord, Conversation, Feedback, PostedMessage, ProcessedEvent

# (table, its time column): conversations take their messages, answers, commands and vectors along
PURGED = ((Feedback, Feedback.created_at), (Conversation, Conversation.updated_at), (CommandRecord, CommandRecord.created_at),
          (AuditRecord, AuditRecord.created_at), (PostedMessage, PostedMessage.created_at),
          (ProcessedEvent, ProcessedEvent.received_at))


def parse_age(text: str, flag: str = "--older-than") -> timedelta:
    """'90d', '12w', '48h' -> a timedelta."""
    units = {"h": 1 / 24, "d": 1, "w": 7}
    text = text.strip().lower()
    try:
        value, unit = float(text[:-1]), text[-1]
        if unit not in units or value <= 0:
            raise ValueError
    except (ValueError, IndexError):
        raise InputError(f"{flag} {text!r}: give a positive number with h, d or w, e.g. 90d") from None
    return timedelta(days=value * units[unit])


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
