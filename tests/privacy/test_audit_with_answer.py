"""An answer and its audit record are stored together or not at all; the store's row counts
cover the audit trail, command history and API keys."""

from __future__ import annotations

import pytest

from netcopilot import audit
from netcopilot.api.auth import KeyStore
from netcopilot.history.records import CommandEvent, save_events
from netcopilot.store.db import Store

PAYLOAD = {"intent": {"name": "dns", "confidence": 0.9}, "entities": [],
           "commands": [{"id": "dig", "utility": "dig", "command": "dig a.example", "score": 1.0, "risk": "safe"}],
           "model_versions": {"models": "v1"}}


def _row(answer_id: int):
    return audit.entry("answer", "dns is slow", {"intent": "dns", "answer_id": answer_id}, model_version="v1",
                       channel="cli", user="cli:alice")


def test_the_audit_row_is_written_with_the_answer_and_names_it(store_url: str) -> None:
    store = Store(store_url)
    conv = store.conversation(store.user("cli:alice").id, "cli")
    answer_id = store.record_exchange(conv.id, "dns is slow", PAYLOAD, "dig a.example", 3.0, audit_row=_row)
    (row,) = audit.query(store, kind="answer")
    assert row["output"] == {"intent": "dns", "answer_id": answer_id} and row["user"] == "cli:alice"
    assert row["input_sha256"] == audit.fingerprint("dns is slow")
    store.close()


def test_no_answer_is_kept_without_its_audit_row(store_url: str) -> None:
    store = Store(store_url)
    conv = store.conversation(store.user("cli:alice").id, "cli")

    def broken(answer_id: int):
        raise RuntimeError("audit row could not be made")

    with pytest.raises(RuntimeError):
        store.record_exchange(conv.id, "dns is slow", PAYLOAD, "dig a.example", 3.0, audit_row=broken)
    counts = store.counts()
    assert counts["answers"] == counts["messages"] == counts["suggested_commands"] == counts["audit_log"] == 0
    store.close()


def test_counts_cover_audit_history_and_api_keys(store_url: str) -> None:
    store = Store(store_url)
    assert {"audit_log", "command_history", "api_keys"} <= set(store.counts())
    audit.record(store, "threat", {"src": "10.9.9.9"}, {"summary": "port scan"})
    save_events(store, [CommandEvent("ls", user="alice"), CommandEvent("pwd", user="alice")])
    KeyStore(store).create("ci")
    counts = store.counts()
    assert (counts["audit_log"], counts["command_history"], counts["api_keys"]) == (1, 2, 1)
    store.close()
