"""What a user usually runs next, from their recorded shell history: the chat's "you usually run
`ss -tlnp` after this". Deliberately a plain count (how often B followed A in their history), so
the sentence it produces is literally true and can say "n of m times"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from netcopilot.history.records import CommandEvent, events_for
from netcopilot.store.db import Store

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
    followers = Counter(b.command for a, b in zip(events, events[1:]) if a.command == last and b.command != last)
    if not followers:
        return None
    usual, times = followers.most_common(1)[0]
    of = sum(followers.values())
    if times < min_times or times / of < min_share:
        return None
    return Habit(last, usual, times, of)


def habit_for(store: Store, user_key: str, window: int = 2000, now: datetime | None = None) -> Habit | None:
    """The habit that applies right now: the user's last command was recent and has a usual follower."""
    login = history_user(user_key)
    if not login:
        return None
    events = events_for(store, user=login, limit=window)
    if not events or events[-1].started_at is None:
        return None
    when = events[-1].started_at if events[-1].started_at.tzinfo else events[-1].started_at.replace(tzinfo=timezone.utc)
    if (now or datetime.now(timezone.utc)) - when > RECENT:
        return None
    return usual_next(events)
