"""The store against real SQLite and the local PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect

from netcopilot.store.db import Store, StoreError
from netcopilot.store.models import Base

PAYLOAD = {
    "intent": {"name": "port_check", "confidence": 0.91},
    "entities": [{"label": "IPV4", "text": "10.0.0.5", "start": 18, "end": 26}],
    "model_versions": {"models": "v1"},
    "commands": [
        {"id": "nc-tcp", "utility": "nc", "command": "nc -zv 10.0.0.5 443", "score": 0.8, "risk": "safe"},
        {"id": "nmap-port", "utility": "nmap", "command": "nmap -p 443 10.0.0.5", "score": 0.1, "risk": "caution"},
    ],
}


@pytest.fixture
def store(store_url: str):
    s = Store(store_url)
    yield s
    s.close()


def test_migrations_create_the_model_tables(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrating_twice_is_harmless(store_url: str) -> None:
    Store(store_url).close()
    again = Store(store_url)
    assert again.counts()["users"] == 0
    again.close()


def test_exchange_feedback_and_solved_sessions(store: Store) -> None:
    user = store.user("cli:alice")
    assert store.user("cli:alice").id == user.id
    conv = store.conversation(user.id, "cli")
    answer_id = store.record_exchange(conv.id, "why can't I reach 10.0.0.5 on 443?", PAYLOAD, "nc -zv 10.0.0.5 443", 12.5)
    store.add_feedback(answer_id, user.id, "good", 1.0)
    store.save_context(conv.id, {"intent": "port_check", "entities": PAYLOAD["entities"]})
    assert store.get_conversation(conv.id).context["intent"] == "port_check"

    counts = store.counts()
    assert counts["messages"] == 2 and counts["answers"] == 1 and counts["suggested_commands"] == 2 and counts["feedback"] == 1

    vector = np.arange(384, dtype=np.float32) / 384
    store.mark_solved(conv.id, "why can't I reach 10.0.0.5 on 443?", vector, "enc-1")
    (found,) = list(store.solved_sessions("enc-1"))
    assert found[0] == conv.id and np.allclose(found[2], vector)
    assert list(store.solved_sessions("another-encoder")) == []
    summary = store.conversation_summary(conv.id)
    assert summary["solved"] and summary["commands"][0] == "nc -zv 10.0.0.5 443"
    recent = store.recent_questions(user.id)
    assert recent[0]["text"].startswith("why can't I reach") and recent[0]["solved"]


def test_threads_map_to_one_conversation(store: Store) -> None:
    user = store.user("slack:T1:U1")
    first = store.conversation(user.id, "slack", external_ref="C1/1700000000.1")
    again = store.conversation(user.id, "slack", external_ref="C1/1700000000.1")
    other = store.conversation(user.id, "slack", external_ref="C1/1700000000.2")
    assert first.id == again.id != other.id


def test_feedback_on_a_missing_answer_is_refused_and_nothing_is_written(store: Store) -> None:
    user = store.user("cli:bob")
    with pytest.raises(StoreError, match="answer 999 does not exist"):
        store.add_feedback(999, user.id, "good", 1.0)
    assert store.counts()["feedback"] == 0


def test_unreachable_database_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")


def test_the_migrations_match_the_models(store: Store) -> None:
    """Alembic's autogenerate comparison finds nothing to add: the migrations build exactly the
    tables, columns and indexes the ORM declares, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_feedback_carries_intent_model_and_updates_satisfaction(store: Store) -> None:
    user = store.user("slack:T1:U7")
    conv = store.conversation(user.id, "slack", external_ref="C1/1700.1")
    answer_id = store.record_exchange(conv.id, "is 443 open on 10.0.0.5?", PAYLOAD, "", 9.0)
    store.add_feedback(answer_id, user.id, "reaction", 1.0, source="+1")
    store.add_feedback(answer_id, user.id, "reply", -0.5, text="still broken", score=-0.5, source="vader")
    rows = store.satisfaction_rows()
    assert [(r["intent"], r["model_version"], r["value"]) for r in rows] == [("port_check", "v1", 1.0), ("port_check", "v1", -0.5)]
    assert store.user_satisfaction(user.id)["feedback"] == 2
    with store.session() as s:
        from netcopilot.store.models import Answer

        assert s.get(Answer, answer_id).satisfaction == pytest.approx(0.25)


def test_posted_messages_and_event_claims(store: Store) -> None:
    user = store.user("slack:T1:U8")
    conv = store.conversation(user.id, "slack", external_ref="C9/1700.5")
    first = store.record_exchange(conv.id, "dns is slow", PAYLOAD, "", 5.0)
    second = store.record_exchange(conv.id, "and on 10.0.0.6?", PAYLOAD, "", 5.0)
    store.record_posted(first, "C9", "1700.6", "1700.5")
    store.record_posted(second, "C9", "1700.7", "1700.5")
    assert store.answer_for_message("C9", "1700.6") == first
    assert store.answer_for_message("C9", "1700.8") is None
    assert store.latest_answer_in_thread("C9", "1700.5") == second
    assert store.conversation_of_answer(second) == conv.id
    assert store.answer_payload(first)["intent"]["name"] == "port_check"
    assert store.claim_event("Ev1") and not store.claim_event("Ev1") and store.claim_event("Ev2")
