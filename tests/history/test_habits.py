"""'You usually run X after this': counted from the user's own recorded commands."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from netcopilot.history.habits import Habit, habit_for, history_user, usual_next
from netcopilot.history.records import CommandEvent, events_for, save_events
from netcopilot.store.db import Store

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def _events(commands: list[str], user: str = "alice", end: datetime = NOW) -> list[CommandEvent]:
    start = end - timedelta(seconds=len(commands))
    return [CommandEvent(command=c, user=user, started_at=start + timedelta(seconds=i), exit_status=0)
            for i, c in enumerate(commands)]


def test_the_usual_follower_is_counted_and_said_plainly() -> None:
    habit = usual_next(_events(["ping -c 4 gw", "ss -tlnp", "ls", "ping -c 4 gw", "ss -tlnp", "ping -c 4 gw", "ip r",
                                "ping -c 4 gw"]))
    assert habit is not None and habit.usual == "ss -tlnp" and (habit.times, habit.of) == (2, 3)
    assert habit.sentence() == "After `ping -c 4 gw` you usually run `ss -tlnp` (2 of 3 times)."


def test_no_habit_from_a_single_occurrence_or_a_scattered_history() -> None:
    assert usual_next(_events(["ping gw", "ss -tlnp", "ping gw"])) is None
    assert usual_next(_events(["a", "x", "a", "y", "a", "z", "a", "w", "a", "x", "a"])) is None  # 2 of 5 is not "usually"
    assert usual_next(_events(["a", "x", "a", "y", "a", "z", "a", "w", "a", "v", "a", "x", "a", "u", "a"])) is None


def test_habit_needs_a_cli_user_and_a_recent_command(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    save_events(store, _events(["dig example.com", "curl -I https://example.com"] * 3 + ["dig example.com"]))
    assert history_user("cli:alice") == "alice" and history_user("slack:T:U") is None
    assert habit_for(store, "cli:alice", now=NOW + timedelta(minutes=1)).usual == "curl -I https://example.com"
    assert habit_for(store, "cli:alice", now=NOW + timedelta(hours=2)) is None
    assert habit_for(store, "slack:T:U", now=NOW) is None
    assert habit_for(store, "cli:bob", now=NOW) is None
    store.close()


def _reference(store: Store, login: str, window: int) -> Habit | None:
    """What habit_for said when it read the whole window (the recency check aside)."""
    return usual_next(events_for(store, user=login, limit=window))


def test_habit_for_says_what_the_whole_window_says(store_url: str) -> None:
    store = Store(store_url)
    rng = random.Random(7)
    vocabulary = ["ss -tlnp", "ip r", "dig a.example", "ls", "curl -I https://a.example"]
    found = []
    for _ in range(40):
        # bursts from two people, interleaved: followers are per person, not per table
        for login in ("alice", "bob"):
            burst = []
            for _ in range(rng.randint(1, 12)):  # "ss -tlnp" mostly follows "ping gw"
                burst.append("ping gw" if rng.random() < 0.4 else
                             "ss -tlnp" if burst and burst[-1] == "ping gw" and rng.random() < 0.7 else rng.choice(vocabulary))
            save_events(store, _events(burst, user=login))
        for login in ("alice", "bob"):
            for window in (2, 7, 30, 2000):
                habit = habit_for(store, f"cli:{login}", window=window, now=NOW)
                assert habit == _reference(store, login, window)
                found.append(habit)
    assert sum(h is not None for h in found) > 20 and len({h.last for h in found if h}) > 1
    store.close()


def test_commands_that_did_not_follow_the_last_one_are_not_read(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    save_events(store, _events(["dig example.com", "curl -I https://example.com"] * 3))
    with store.engine.begin() as connection:  # a row no reader could turn into a datetime
        connection.execute(text("INSERT INTO command_history (user, host, session, command, cwd, started_at, source, created_at) "
                                "VALUES ('alice', '', '', 'ls', '', 'not a time', 'hook', '2026-11-28 12:00:00')"))
    save_events(store, _events(["dig example.com"], end=NOW))
    with pytest.raises(ValueError):
        events_for(store, user="alice")  # reading the whole history fails on that row
    habit = habit_for(store, "cli:alice", now=NOW)
    assert habit == Habit("dig example.com", "curl -I https://example.com", 3, 3)
    store.close()
