"""Learned step order: offline Q iteration over logged episodes recovers the fastest order when it
is known, leaves intents without enough episodes alone, reads episodes from JSONL (with clear
errors) and from solved conversations in a real store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from netcopilot.errors import DataFormatError
from netcopilot.history.records import CommandEvent, save_events
from netcopilot.recommend.sequences import Episode, StepOrderModel, episodes_from_store, expected_steps, load_episodes
from netcopilot.store.db import Store

STEPS = ["ping", "dig", "mtr", "ss", "tcpdump", "curl"]
CAUSE = dict(zip(STEPS, [0.05, 0.10, 0.40, 0.05, 0.15, 0.25]))  # which step finds the cause
FASTEST = sorted(STEPS, key=lambda s: -CAUSE[s])


def logged(n: int, seed: int, intent: str = "latency") -> list[Episode]:
    """Engineers trying steps in random order until the one that finds the cause."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        order = list(rng.permutation(STEPS))
        cause = rng.choice(STEPS, p=[CAUSE[s] for s in STEPS])
        out.append(Episode.of(intent, order[: order.index(cause) + 1]))
    return out


def test_the_fastest_order_is_learned_from_random_logged_orders() -> None:
    order = StepOrderModel().fit(logged(3000, seed=0)).order_steps("latency", STEPS)
    assert order[:4] == FASTEST[:4]  # ping and ss tie last
    assert expected_steps(order, CAUSE) == pytest.approx(expected_steps(FASTEST, CAUSE))
    assert expected_steps(FASTEST, CAUSE) < expected_steps(STEPS, CAUSE)


def test_few_episodes_still_beat_the_given_order_and_random() -> None:
    learned = [expected_steps(StepOrderModel().fit(logged(200, seed)).order_steps("latency", STEPS), CAUSE)
               for seed in range(5)]
    assert np.mean(learned) < expected_steps(STEPS, CAUSE)
    assert np.mean(learned) < (len(STEPS) + 1) / 2  # a random order's expectation


def test_unknown_intents_and_unlogged_steps_keep_their_order() -> None:
    model = StepOrderModel(min_episodes=3).fit(logged(300, seed=1) + [Episode.of("dns", ["dig"])])
    assert model.order_steps("dns", ["resolvectl", "dig"]) == ["resolvectl", "dig"]  # one episode is too few
    assert model.order_steps("latency", ["iperf3", "ping", "mtr"]) == ["mtr", "ping", "iperf3"]


def test_unsolved_episodes_count_against_their_steps() -> None:
    episodes = [Episode.of("dns", ["dig", "resolvectl"], solved=True)] * 5 + [Episode.of("dns", ["nslookup"], solved=False)] * 5
    assert StepOrderModel().fit(episodes).order_steps("dns", ["nslookup", "resolvectl", "dig"])[0] != "nslookup"


def test_episodes_from_jsonl_and_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "episodes.jsonl"
    good.write_text('{"intent": "dns", "steps": ["dig", "dig", "resolvectl"]}\n\n{"intent": "dns", "steps": [], "solved": false}\n')
    assert load_episodes(good) == [Episode("dns", ("dig", "resolvectl"), True), Episode("dns", (), False)]
    bad = tmp_path / "bad.jsonl"
    for text, where in (('{"intent": "dns", "steps": "dig"}', "field 'steps'"), ("[1]", "expected an object"),
                        ('{"intent": "", "steps": []}', "field 'intent'"), ("{", "not JSON"),
                        ('{"intent": "x", "steps": [], "solved": "yes"}', "field 'solved'")):
        bad.write_text('{"intent": "dns", "steps": ["dig"]}\n' + text + "\n")
        with pytest.raises(DataFormatError, match=rf"bad.jsonl:2: .*{where}|bad.jsonl:2: field"):
            load_episodes(bad)
    with pytest.raises(DataFormatError, match="missing.jsonl"):
        load_episodes(tmp_path / "missing.jsonl")


def test_episodes_from_solved_conversations(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nc.db'}")
    try:
        user = store.user("cli:alice")
        payload = {"intent": {"name": "dns", "confidence": 0.9}, "entities": [],
                   "commands": [{"id": i, "utility": u, "command": u, "score": 0.5, "risk": "safe"}
                                for i, u in (("dig-short", "dig"), ("resolvectl-status", "resolvectl"))]}
        solved = store.conversation(user.id, "cli", external_ref="t1")
        store.record_exchange(solved.id, "names do not resolve", payload, "", 1.0)
        open_conv = store.conversation(user.id, "cli", external_ref="t2")
        store.record_exchange(open_conv.id, "names do not resolve", payload, "", 1.0)
        now = datetime.now(timezone.utc)
        save_events(store, [CommandEvent("resolvectl status", user="alice", started_at=now + timedelta(seconds=1)),
                            CommandEvent("ls", user="alice", started_at=now + timedelta(seconds=2)),
                            CommandEvent("dig +short example.com", user="alice", started_at=now + timedelta(seconds=3))])
        store.mark_solved(solved.id, "names do not resolve", np.zeros(4, np.float32), "enc")
        with store.session() as s, s.begin():
            from netcopilot.store.models import Conversation

            s.get(Conversation, solved.id).solved_at = now + timedelta(minutes=5)
        assert episodes_from_store(store) == [Episode("dns", ("resolvectl", "dig"), True)]
    finally:
        store.close()
