"""The feedback bandit: cold start is the ranker's order, rewards move the right arm up in its own
context only, exploration stays within the margin, state survives a save/load round trip and is
rebuilt from a real store (feedback rows and command_history), and regret grows sub-linearly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from netcopilot.history.records import CommandEvent, save_events
from netcopilot.recommend.bandit import (
    Candidate,
    Context,
    ThompsonBandit,
    command_tool,
    load_or_rebuild,
    monotone_prior,
    slate_of,
)
from netcopilot.store.db import Store

RANKED = [Candidate("ping-count", 0.40), Candidate("mtr-report", 0.30), Candidate("traceroute", 0.20),
          Candidate("ss-listen", 0.06), Candidate("dig-short", 0.04)]
DNS = Context("dns", "linux", frozenset({"HOST"}))
LATENCY = Context("latency")


def arms(candidates: list[Candidate]) -> list[str]:
    return [c.arm for c in candidates]


def train(bandit: ThompsonBandit, context: Context, good: str, rounds: int = 30) -> None:
    """Users run `good` after every answer and nothing else."""
    for _ in range(rounds):
        shown = bandit.select(context, RANKED)
        bandit.credit_run(slate_of(context, RANKED, shown), arms(shown).index(good), succeeded=True)


def test_a_cold_bandit_keeps_the_rankers_order_even_when_the_ranker_diversified() -> None:
    diversified = [Candidate("a", 0.5), Candidate("b", 0.1), Candidate("c", 0.3), Candidate("d", 0.2)]
    assert monotone_prior(diversified) == [0.5, 0.1, 0.1, 0.1]
    for seed in range(5):
        bandit = ThompsonBandit(seed=seed)
        assert bandit.select(DNS, RANKED) == RANKED
        assert bandit.select(DNS, diversified) == diversified
        assert bandit.select(DNS, RANKED, k=2) == RANKED[:2]


def test_rewards_lift_the_best_arm_in_its_context_and_not_in_others() -> None:
    bandit = ThompsonBandit(seed=7)
    train(bandit, DNS, "traceroute")
    assert arms(bandit.select(DNS, RANKED))[0] == "traceroute"
    assert bandit.select(LATENCY, RANKED) == RANKED  # no evidence for latency questions
    assert bandit.select(Context("dns", "macos"), RANKED)[0].arm == "traceroute"  # same intent generalises


def test_a_clearly_best_command_is_never_buried_and_the_set_never_changes() -> None:
    bandit = ThompsonBandit(seed=3, margin=0.5)
    train(bandit, DNS, "ss-listen")  # below the margin: it keeps its slot
    for _ in range(20):
        shown = bandit.select(DNS, RANKED)
        assert sorted(arms(shown)) == sorted(arms(RANKED))
        assert arms(shown)[3:] == ["ss-listen", "dig-short"]


def test_answer_level_feedback_favours_what_was_on_top() -> None:
    bandit = ThompsonBandit(seed=1)
    shown = [RANKED[2], RANKED[0], RANKED[1], RANKED[3], RANKED[4]]
    for _ in range(10):
        bandit.credit_answer(slate_of(DNS, RANKED, shown), -1.0)  # bad answers: the top arm takes most blame
    means = bandit.values(DNS, arms(RANKED), monotone_prior(RANKED), explore=False)
    assert means[2] < means[0]


def test_state_round_trips_and_other_hyper_parameters_rebuild(tmp_path: Path) -> None:
    bandit = ThompsonBandit(seed=5)
    train(bandit, DNS, "mtr-report", rounds=10)
    bandit.feedback_mark, bandit.run_mark = 4, 9
    path = tmp_path / "state" / "bandit.npz"
    bandit.save(path)
    loaded = ThompsonBandit.load(path, seed=5)
    assert loaded is not None and (loaded.feedback_mark, loaded.run_mark) == (4, 9)
    assert loaded.intent_evidence == bandit.intent_evidence
    expected = bandit.values(DNS, arms(RANKED), monotone_prior(RANKED), explore=False)
    assert np.allclose(loaded.values(DNS, arms(RANKED), monotone_prior(RANKED), explore=False), expected)
    assert ThompsonBandit.load(path, noise=0.25) is None  # other hyper-parameters: rebuild
    path.write_bytes(b"not an npz")
    assert ThompsonBandit.load(path) is None
    assert [p.name for p in path.parent.iterdir()] == ["bandit.npz"]  # no temporary files left behind


def test_command_tool_skips_sudo_and_variables() -> None:
    assert command_tool("sudo LANG=C /usr/bin/mtr -rw 10.0.0.1") == "mtr"
    assert command_tool("dig 'unbalanced") == "dig"


# --- rebuilding from a real store ---------------------------------------------------------------


def payload(intent: str, commands: list[tuple[str, str, float, dict[str, str]]]) -> dict:
    return {
        "intent": {"name": intent, "confidence": 0.9}, "entities": [{"label": "IPV4", "text": "10.0.0.9"}],
        "model_versions": {"models": "v1"},
        "commands": [{"id": i, "utility": u, "command": f"{u} x", "score": s, "risk": "safe", "filled": f}
                     for i, u, s, f in commands],
    }


SHOWN = [("ping-count", "ping", 0.4, {"host": "10.0.0.9"}), ("mtr-report", "mtr", 0.3, {"host": "10.0.0.9"}),
         ("traceroute", "traceroute", 0.2, {"host": "10.0.0.9"})]


def backdate(store: Store, answer_id: int, when: datetime) -> None:
    from netcopilot.store.models import Answer

    with store.session() as s, s.begin():
        s.get(Answer, answer_id).created_at = when


@pytest.fixture
def store(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'nc.db'}")
    yield store
    store.close()


def test_rebuild_from_feedback_rows_and_command_history(store: Store, tmp_path: Path) -> None:
    user = store.user("cli:alice")
    conv = store.conversation(user.id, "cli")
    then = datetime.now(timezone.utc) - timedelta(hours=3)
    for n in range(8):
        answer = store.record_exchange(conv.id, "latency to 10.0.0.9", payload("latency", SHOWN), "", 5.0)
        when = then + timedelta(minutes=10 * n)
        backdate(store, answer, when)
        # alice runs the third suggestion for the same host a minute later, and it works
        save_events(store, [CommandEvent("sudo traceroute -n 10.0.0.9", user="alice", started_at=when + timedelta(minutes=1),
                                         exit_status=0),
                            CommandEvent("traceroute other.example", user="alice", started_at=when + timedelta(minutes=2),
                                         exit_status=0)])
    store.add_feedback(answer, user.id, "good", 1.0)
    path = tmp_path / "bandit.npz"
    bandit = load_or_rebuild(path, store, seed=0)
    assert bandit.feedback_mark == 1 and bandit.run_mark == answer
    ranked = [Candidate(i, s) for i, _, s, _ in SHOWN]
    context = Context.from_labels("latency", ["IPV4"])
    assert context.flags == {"HOST"}
    assert arms(bandit.select(context, ranked))[0] == "traceroute"
    assert bandit.select(Context.from_labels("dns", ["IPV4"]), ranked) == ranked

    again = load_or_rebuild(path, store, seed=0)  # from the cache: same state, nothing new applied
    means = bandit.values(context, arms(ranked), monotone_prior(ranked), explore=False)
    assert np.allclose(again.values(context, arms(ranked), monotone_prior(ranked), explore=False), means)

    fresh = Store(f"sqlite:///{tmp_path / 'other.db'}")  # a reset store: the cache is stale and rebuilt
    try:
        assert load_or_rebuild(path, fresh, seed=0).posteriors == {}
    finally:
        fresh.close()


def test_runs_of_other_hosts_users_or_after_the_window_do_not_count(store: Store, tmp_path: Path) -> None:
    user = store.user("cli:bob")
    conv = store.conversation(user.id, "cli")
    answer = store.record_exchange(conv.id, "latency to 10.0.0.9", payload("latency", SHOWN), "", 5.0)
    when = datetime.now(timezone.utc) - timedelta(hours=2)
    backdate(store, answer, when)
    save_events(store, [CommandEvent("mtr 10.0.0.1", user="bob", started_at=when + timedelta(minutes=1), exit_status=0),
                        CommandEvent("mtr 10.0.0.9", user="carol", started_at=when + timedelta(minutes=1), exit_status=0),
                        CommandEvent("mtr 10.0.0.9", user="bob", started_at=when + timedelta(minutes=45), exit_status=0)])
    recent = store.record_exchange(conv.id, "latency to 10.0.0.9", payload("latency", SHOWN), "", 5.0)
    bandit = load_or_rebuild(tmp_path / "b.npz", store)
    assert bandit.posteriors == {} and bandit.run_mark == answer < recent  # the recent window is still open


# --- learning curve -------------------------------------------------------------------------


def test_regret_grows_sub_linearly_and_beats_the_fixed_ranking() -> None:
    rng = np.random.default_rng(11)
    means = rng.uniform(0.2, 0.5, (4, 4))
    for c in range(4):
        means[c, (c + 1) % 4] = 0.85  # the ranker's first choice is never the best
    ranked = [Candidate(f"a{j}", s) for j, s in enumerate((0.4, 0.3, 0.2, 0.1))]
    bandit = ThompsonBandit(seed=2)
    regret = []
    for _ in range(3000):
        c = int(rng.integers(4))
        context = Context(f"intent{c}")
        (top,) = bandit.select(context, ranked, k=1)
        j = int(top.arm[1:])
        bandit.update(context, top.arm, float(rng.random() < means[c, j]), prior=ranked[j].score)
        regret.append(means[c].max() - means[c, j])
    total = np.cumsum(regret)
    fixed = sum(means[c].max() - means[c, 0] for c in range(4)) / 4 * 3000
    assert total[-1] < 0.2 * fixed
    assert total[-1] - total[1499] < 0.5 * total[1499]  # the second half adds far less than the first


# --- in the Assistant ---------------------------------------------------------------------------


def test_the_assistant_moves_up_the_command_people_run(assistant) -> None:
    from netcopilot.core.types import Request

    assistant.bandit = ThompsonBandit(seed=0)  # deterministic exploration
    question = Request("high latency to 10.0.0.9", user="cli:dana")
    first = assistant.answer(question)
    assert first.explanation["bandit"]["reordered"] is False  # no feedback yet: the ranker's order
    scores = [c["score"] for c in first.commands]
    target = max(i for i, s in enumerate(scores) if s >= assistant.bandit.margin * max(scores))
    assert target > 0, "the question needs a second command within the margin"
    wanted = first.commands[target]
    then = datetime.now(timezone.utc) - timedelta(hours=2)
    backdate(assistant.store, first.answer_id, then - timedelta(minutes=1))  # its run window has closed too
    for n in range(4):
        answer = assistant.answer(question)
        backdate(assistant.store, answer.answer_id, then + timedelta(minutes=n))
        ran = next(c for c in answer.commands if c["id"] == wanted["id"])
        save_events(assistant.store, [CommandEvent(ran["command"], user="dana", exit_status=0,
                                                   started_at=then + timedelta(minutes=n, seconds=30))])
    assistant.feedback(answer.answer_id, "cli:dana", "good", 1.0)  # feedback also brings the runs in
    after = assistant.answer(question)
    assert after.commands[0]["id"] == wanted["id"]
    assert sorted(c["id"] for c in after.commands) == sorted(c["id"] for c in first.commands)
    assert after.explanation["bandit"]["reordered"] is True
    assert f"Moved up from #{target + 1}" in after.commands[0]["why"]
    assert (Path(assistant.settings.home) / "bandit.npz").exists()
