"""Pseudonymise on the way into the database: one `before_flush` hook on a Store's sessions, so no
code path (chat, Slack, API, history sync) can write a raw address, host name or e-mail into the
columns below, and nobody has to remember to call anything.

Columns not listed hold identifiers (Slack channel ids and timestamps, event ids, key hashes),
model names or numbers. The topology tables are left alone on purpose: they are an inventory
the operator loads explicitly (`netcopilot topology ingest`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from netcopilot.privacy.pseudonymize import Pseudonymizer, entity_literals
from netcopilot.store.models import (
    Answer, AuditRecord, CommandRecord, Conversation, Feedback, Message, QuarantinedRecord, SessionVector,
    SuggestedCommand,
)

TEXT_COLUMNS: dict[type, tuple[str, ...]] = {
    Conversation: ("title",),
    Message: ("text",),
    Answer: ("entities", "payload"),
    SuggestedCommand: ("command",),
    Feedback: ("text",),
    SessionVector: ("text",),
    CommandRecord: ("command", "cwd", "host"),
    AuditRecord: ("output", "explanation"),
    QuarantinedRecord: ("record", "reason", "field"),
}
SEALED_COLUMNS: dict[type, tuple[str, ...]] = {Conversation: ("context",)}  # read back by the app


def guard_sessions(factory: sessionmaker, pseudonymizer: Pseudonymizer) -> None:
    @event.listens_for(factory, "before_flush")
    def _pseudonymise(session: Session, _context: Any, _instances: Any) -> None:
        pending = [obj for obj in (*session.new, *session.dirty) if type(obj) in TEXT_COLUMNS or type(obj) in SEALED_COLUMNS]
        literals: set[str] = set()
        for obj in pending:
            if isinstance(obj, Answer):
                literals |= entity_literals(obj.entities) | entity_literals((obj.payload or {}).get("entities", []))
            elif isinstance(obj, Conversation) and isinstance(obj.context, dict):
                literals |= entity_literals(obj.context.get("entities", []))
        for obj in pending:
            for column in TEXT_COLUMNS.get(type(obj), ()):
                value = getattr(obj, column)
                if value is not None:
                    changed = pseudonymizer.value(value, literals)
                    if changed != value:
                        setattr(obj, column, changed)
            for column in SEALED_COLUMNS.get(type(obj), ()):
                value = getattr(obj, column)
                if value and not (isinstance(value, dict) and set(value) == {"sealed"}):
                    setattr(obj, column, pseudonymizer.seal(value))
