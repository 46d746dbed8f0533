"""'You usually run X after this': counted from the user's own recorded commands."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from netcopilot.history.habits import habit_for, history_user, usual_next
from netcopilot.history.records import CommandEvent, save_events
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
