"""Pseudonyms at rest, retention, opt-out, export and the audit trail, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from netcopilot import audit
from netcopilot.privacy.people import export_user, first_contact, set_opt_out
from netcopilot.privacy.pseudonymize import Pseudonymizer
from netcopilot.privacy.retention import parse_age, purge
from netcopilot.store.db import Store
from netcopilot.store.models import Conversation, Feedback, utcnow
from tests.clirun import cli_env, run

KEY = b"k" * 32
RAW = ("10.20.30.40", "2001:db8::17", "core-sw1.corp.example.net", "alice.ops@example.org", "web01", "dbadmin")


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("why can't I reach 10.20.30.40 on 443?", ["why can't I reach", "443"], ["10.20.30.40"]),
    ("ping 2001:db8::17 from core-sw1.corp.example.net", ["ping", "from"], ["2001:db8::17", "core-sw1.corp.example.net"]),
    ("mail alice.ops@example.org the output", ["mail", "the output"], ["alice.ops@example.org", "alice"]),
    ("ssh dbadmin@10.0.0.9 -p 2222", ["ssh", "-p 2222"], ["dbadmin", "10.0.0.9"]),
    ("ssh -l dbadmin bastion", ["ssh -l"], ["dbadmin"]),
    ("user dbadmin cannot log in", ["cannot log in"], ["dbadmin"]),
    ("arp shows 00:1a:2b:3c:4d:5e twice at 10:30", ["arp shows", "10:30"], ["00:1a:2b:3c:4d:5e"]),
    ("edit /etc/resolv.conf and nginx.conf, ping 127.0.0.1", ["/etc/resolv.conf", "nginx.conf", "127.0.0.1"], []),
    ("10.0.0.0/24 is routed", ["/24 is routed"], ["10.0.0.0"]),
])
def test_text_keeps_the_sentence_and_hides_the_values(text: str, kept: list[str], gone: list[str]) -> None:
    out = Pseudonymizer(KEY).text(text)
    for part in kept:
        assert part in out
    for value in gone:
        assert value not in out


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    a, b = Pseudonymizer(KEY), Pseudonymizer(b"x" * 32)
    assert a.text("ping 10.1.2.3") == a.text("ping 10.1.2.3") != b.text("ping 10.1.2.3")
    assert a.text("host web01 is down", ["web01"]) == f"host {a.token('host', 'web01')} is down"
    assert a.unseal(a.seal({"entities": [{"text": "web01"}]})) == {"entities": [{"text": "web01"}]}
    assert b.unseal(a.seal({"x": 1})) == {}


def _exchange(store: Store, user: str, question: str) -> int:
    uid = store.user(user).id
    conv = store.conversation(uid, "slack", f"C1:{user}")
    payload = {"intent": {"name": "port_check", "confidence": 0.9},
               "entities": [{"label": "HOSTNAME", "text": "web01", "start": 0, "end": 5},
                            {"label": "IPV4", "text": "10.20.30.40", "start": 0, "end": 5}],
               "commands": [{"id": "nc-tcp", "utility": "nc", "command": "nc -zv 10.20.30.40 443", "score": 1.0, "risk": "safe"}],
               "model_versions": {"models": "v1"}}
    context = {"text": question, "entities": payload["entities"]}
    answer = store.record_exchange(conv.id, question, payload, "try nc -zv 10.20.30.40 443 from web01", 5.0, context=context)
    store.add_feedback(answer, uid, "reply", 0.5, text="thanks, alice.ops@example.org says web01 works")
    return conv.id


def _dump(store: Store) -> str:
    with store.engine.connect() as conn:
        tables = [t for t in store.engine.dialect.get_table_names(conn) if t != "alembic_version"]
        return "\n".join(str(row) for t in tables for row in conn.execute(text(f'SELECT * FROM "{t}"')))


def test_nothing_raw_reaches_the_database_and_follow_up_context_is_read_back(store_url: str) -> None:
    store = Store(store_url, pseudonymizer=Pseudonymizer(KEY))
    conv_id = _exchange(store, "slack:T1:U1", "why can't web01 reach 10.20.30.40? ask alice.ops@example.org")
    dump = _dump(store)
    for value in ("10.20.30.40", "web01", "alice.ops@example.org"):
        assert value not in dump
    assert "port_check" in dump and "nc -zv ip_" in dump
    context = store.get_conversation(conv_id).context
    assert context["entities"][0]["text"] == "web01"  # sealed at rest, read back by the app
    assert store.conversation(store.user("slack:T1:U1").id, "slack", "C1:slack:T1:U1").context == context
    store.close()


def test_without_pseudonymizer_values_are_stored_as_given(store_url: str) -> None:
    store = Store(store_url)
    _exchange(store, "cli:bob", "why can't web01 reach 10.20.30.40?")
    assert "10.20.30.40" in _dump(store)
    store.close()


def test_opt_out_deletes_and_export_returns_what_is_stored(store_url: str) -> None:
    store = Store(store_url)
    _exchange(store, "slack:T1:U9", "is web01 up?")
    exported = export_user(store, "slack:T1:U9")
    assert exported["found"] and exported["conversations"][0]["messages"][0]["text"] == "is web01 up?"
    assert exported["feedback"][0]["kind"] == "reply"
    before = store.user("slack:T1:U9")
    assert first_contact(store, before) and not first_contact(store, store.user("slack:T1:U9"))
    assert not first_contact(store, before)  # read before another answer showed the notice: shown once
    set_opt_out(store, "slack:T1:U9")
    assert store.user("slack:T1:U9").opted_out_at is not None
    assert export_user(store, "slack:T1:U9")["conversations"] == []
    set_opt_out(store, "slack:T1:U9", False)
    assert store.user("slack:T1:U9").opted_out_at is None
    store.close()


def test_purge_deletes_only_what_is_older_than_the_cut_off(store_url: str) -> None:
    store = Store(store_url)
    old, new = _exchange(store, "cli:old", "old question"), _exchange(store, "cli:new", "new question")
    audit.record(store, "answer", "old question", {"intent": "port_check"}, model_version="v1")
    with store.session() as s, s.begin():
        s.execute(update(Conversation).where(Conversation.id == old).values(updated_at=utcnow() - timedelta(days=100)))
        s.execute(update(Feedback).where(Feedback.user_id == store.user("cli:old").id).values(created_at=utcnow() - timedelta(days=100)))
    assert purge(store, timedelta(days=90), dry_run=True)["conversations"] == 1
    assert store.get_conversation(old) is not None
    counts = purge(store, timedelta(days=90))
    assert counts["conversations"] == 1 and counts["audit_log"] == 0
    assert store.get_conversation(old) is None and store.get_conversation(new) is not None
    store.close()


def test_audit_trail_records_fingerprints_not_inputs(store_url: str) -> None:
    store = Store(store_url)
    audit.record(store, "threat", {"src": "10.9.9.9"}, {"summary": "port scan"}, model_version="t1", channel="api",
                 explanation={"features": ["syn ratio"]})
    (row,) = audit.query(store, kind="threat")
    assert row["output"] == {"summary": "port scan"} and row["input_sha256"] == audit.fingerprint({"src": "10.9.9.9"})
    assert "10.9.9.9" not in _dump(store)
    assert audit.query(store, kind="answer") == []
    store.close()


def test_privacy_cli(tmp_path) -> None:
    env = cli_env(tmp_path)
    assert "how long" in run(["privacy", "policy"], env).stdout.decode().lower()
    done = run(["privacy", "purge", "--older-than", "30d"], env)
    assert done.returncode == 0 and b"deleted 0 feedback" in done.stdout
    bad = run(["privacy", "purge", "--older-than", "soon"], env)
    assert bad.returncode == 2 and bad.stderr.count(b"\n") == 1 and b"--older-than" in bad.stderr
    assert run(["privacy", "optout", "--user", "cli:z"], env).returncode == 0
    assert b'"opted_out_at": "' in run(["privacy", "export", "--user", "cli:z"], env).stdout
    assert b"No audit records" in run(["audit"], env).stdout
    assert parse_age("12w") == timedelta(weeks=12)
