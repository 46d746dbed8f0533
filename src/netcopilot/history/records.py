"""Commands people ran, as stored in `command_history`: one small API shared by the shell hook,
history import, `netcopilot fix`, execution-time prediction and next-command suggestions.

Writers hand over `CommandEvent`s that have already been through `history.secrets` (the hook's
sync and the importer do that); readers get events back in the order they were run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select

from netcopilot.store.db import Store
from netcopilot.store.models import CommandRecord


@dataclass
class CommandEvent:
    command: str
    user: str = ""
    host: str = ""
    session: str = ""
    cwd: str = ""
    started_at: datetime | None = None
    duration_ms: float | None = None
    exit_status: int | None = None
    source: str = "hook"

    @property
    def failed(self) -> bool:
        return self.exit_status not in (None, 0)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat() if self.started_at else None
        return out

    @classmethod
    def from_row(cls, row: CommandRecord) -> "CommandEvent":
        return cls(command=row.command, user=row.user, host=row.host, session=row.session, cwd=row.cwd,
                   started_at=row.started_at, duration_ms=row.duration_ms, exit_status=row.exit_status,
                   source=row.source)


def save_events(store: Store, events: Iterable[CommandEvent]) -> int:
    """Write events in one transaction (all or nothing); returns how many were written."""
    with store.engine.begin() as connection:
        return insert_events(connection, events, store.pseudonymizer)


def insert_events(connection: Any, events: Iterable[CommandEvent], pseudonymizer: Any = None) -> int:
    """Write events inside the caller's transaction (a Connection or a Session). One Core
    executemany INSERT rather than ORM objects: imports write 10^5 rows at a time. The store's
    flush-time privacy guard does not see Core inserts, so its pseudonymizer is applied here."""
    rows = [dict(e.__dict__) for e in events]
    if pseudonymizer is not None:
        for row in rows:
            for column in ("command", "cwd", "host"):
                if row[column]:
                    row[column] = pseudonymizer.value(row[column])
    if rows:
        connection.execute(CommandRecord.__table__.insert(), rows)
    return len(rows)


def events_for(store: Store, user: str | None = None, session: str | None = None,
               limit: int | None = None, failed: bool = False) -> list[CommandEvent]:
    """Events in the order they were run (the newest `limit` of them when a limit is given;
    only those with a non-zero exit status when `failed`)."""
    query = select(CommandRecord)
    if failed:
        query = query.where(CommandRecord.exit_status.is_not(None), CommandRecord.exit_status != 0)
    if user is not None:
        query = query.where(CommandRecord.user == user)
    if session is not None:
        query = query.where(CommandRecord.session == session)
    query = query.order_by(CommandRecord.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with store.session() as s:
        rows = list(s.scalars(query))
    return [CommandEvent.from_row(r) for r in reversed(rows)]


def last_failed(store: Store, session: str | None = None, user: str | None = None) -> CommandEvent | None:
    """The most recent command with a non-zero exit status (in that session or of that user)."""
    query = select(CommandRecord).where(CommandRecord.exit_status.is_not(None), CommandRecord.exit_status != 0)
    if session:
        query = query.where(CommandRecord.session == session)
    if user:
        query = query.where(CommandRecord.user == user)
    with store.session() as s:
        row = s.scalars(query.order_by(CommandRecord.id.desc()).limit(1)).first()
    return CommandEvent.from_row(row) if row is not None else None
