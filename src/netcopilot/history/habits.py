"""What a user usually runs next, from their recorded shell history: the chat's "you usually run
`ss -tlnp` after this". Deliberately a plain count (how often B followed A in their history), so
the sentence it produces is literally true and can say "n of m times"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from netcopilot.history.records import CommandEvent
from netcopilot.store.db import Store
from netcopilot.store.models import CommandRecord

RECENT = timedelta(minutes=30)  # only a command run this recently is "what you just did"


@dataclass(frozen=True)
class Habit:
    last: str
    usual: str
    times: int
    of: int

    def sentence(self) -> str:
        return f"After `{self.last}` you usually run `{self.usual}` ({self.times} of {self.of} times)."


def history_user(user_key: str) -> str | None:
    """The shell login behind a chat user ("cli:alice" -> "alice"); other front ends have none."""
    return user_key.split(":", 1)[1] if user_key.startswith("cli:") else None


def usual_next(events: list[CommandEvent], min_times: int = 2, min_share: float = 0.5) -> Habit | None:
    if len(events) < 2:
        return None
    last = events[-1].command
    return _habit(last, [b.command for a, b in zip(events, events[1:]) if a.command == last], min_times, min_share)


def _habit(last: str, followers: list[str], min_times: int = 2, min_share: float = 0.5) -> Habit | None:
    """The habit in what followed `last` each time it was run (oldest first: ties go to the
    follower seen first), if one follower is both frequent and the majority."""
    counts = Counter(command for command in followers if command != last)
    if not counts:
        return None
    usual, times = counts.most_common(1)[0]
    of = sum(counts.values())
    if times < min_times or times / of < min_share:
        return None
    return Habit(last, usual, times, of)


def habit_for(store: Store, user_key: str, window: int = 2000, now: datetime | None = None) -> Habit | None:
    """The habit that applies right now: the user's last command was recent and has a usual follower
    among their newest `window` commands. Called on every CLI answer, so it reads the last command
    and then only the commands that directly followed an earlier run of it, never the window."""
    login = history_user(user_key)
    if not login:
        return None
    with store.session() as s:
        newest = s.execute(select(CommandRecord.command, CommandRecord.started_at).where(CommandRecord.user == login)
                           .order_by(CommandRecord.id.desc()).limit(1)).first()
        if newest is None or newest.started_at is None:
            return None
        when = newest.started_at if newest.started_at.tzinfo else newest.started_at.replace(tzinfo=timezone.utc)
        if (now or datetime.now(timezone.utc)) - when > RECENT:
            return None
        return _habit(newest.command, list(s.scalars(_followers(login, newest.command, window))))


def _followers(login: str, command: str, window: int) -> Select:
    """The command run right after each run of `command`, oldest first, within the user's newest
    `window` commands (a follower is newer than the run it follows, so inside the window too)."""
    run, later, edge = aliased(CommandRecord), aliased(CommandRecord), aliased(CommandRecord)
    first = (select(edge.id).where(edge.user == login).order_by(edge.id.desc())
             .offset(window - 1).limit(1).scalar_subquery())
    follower = select(func.min(later.id)).where(later.user == login, later.id > run.id).scalar_subquery()
    runs = select(follower).where(run.user == login, run.command == command, run.id >= func.coalesce(first, 0))
    return select(CommandRecord.command).where(CommandRecord.id.in_(runs)).order_by(CommandRecord.id)
