"""What answering someone stores about them: the data-use notice once, nothing after an opt-out
(made anywhere), an audit row for every answer that reaches them - written with the answer."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

from netcopilot import audit
from netcopilot.core.types import Request
from netcopilot.privacy.people import set_opt_out
from netcopilot.store.db import Store


def ask(assistant, text: str, user: str = "cli:tester", **kw):
    return assistant.answer(Request(text=text, user=user, **kw))


@contextmanager
def transactions(store: Store) -> Iterator[list[list[str]]]:
    """The SQL statements run on the store meanwhile, one list per transaction."""
    seen: list[list[str]] = []

    def begin(_conn) -> None:
        seen.append([])

    def statement(_conn, _cursor, sql: str, *_args) -> None:
        seen[-1].append(" ".join(sql.split()))

    event.listen(store.engine, "begin", begin)
    event.listen(store.engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", statement)
        event.remove(store.engine, "begin", begin)


def test_the_notice_is_shown_once_and_every_answer_is_audited(assistant) -> None:
    first, second = ask(assistant, "dns is slow on 10.1.2.3"), ask(assistant, "is port 22 open on 10.0.0.9?")
    empty = ask(assistant, "   ")
    assert first.notice and second.notice is None and empty.notice is None
    rows = audit.query(assistant.store, kind="answer", user="cli:tester")
    assert [r["output"]["answer_id"] for r in reversed(rows)] == [first.answer_id, second.answer_id, None]
    assert rows[-1]["output"]["intent"] == first.intent and rows[-1]["model_version"] == first.model_versions["models"]
    assert ask(assistant, "dns is slow", user="cli:other").notice  # per person


def test_a_stored_answer_reads_the_person_once_and_writes_its_audit_row_with_it(assistant) -> None:
    ask(assistant, "dns is slow on 10.1.2.3")  # first contact: user row, notice
    with transactions(assistant.store) as seen:
        answer = ask(assistant, "is port 22 open on 10.0.0.9?")
    statements = [sql for tx in seen for sql in tx]
    assert sum(" FROM users" in sql for sql in statements) == 1
    assert not [sql for sql in statements if sql.startswith(("UPDATE users", "INSERT INTO users"))]
    (stored,) = [tx for tx in seen if any(sql.startswith("INSERT INTO answers") for sql in tx)]
    assert sum(sql.startswith("INSERT INTO audit_log") for sql in stored) == 1
    assert sum(sql.startswith("INSERT INTO audit_log") for sql in statements) == 1
    assert audit.query(assistant.store, kind="answer", limit=1)[0]["output"]["answer_id"] == answer.answer_id


def test_an_opt_out_made_elsewhere_counts_at_once(assistant) -> None:
    kept = ask(assistant, "dns is slow on 10.1.2.3")
    elsewhere = Store(assistant.settings.database_url)  # `netcopilot privacy optout` in another process
    set_opt_out(elsewhere, "cli:tester")
    elsewhere.close()
    answer = ask(assistant, "is port 22 open on 10.0.0.9?")
    assert answer.commands and answer.answer_id is None and answer.notice is None
    counts = assistant.store.counts()
    assert counts["answers"] == 0 and counts["conversations"] == 0  # the earlier one went with the opt-out
    assert assistant.feedback(kept.answer_id, "cli:tester", "good", 1.0) is None
    newest = audit.query(assistant.store, kind="answer", limit=1)[0]
    assert newest["output"]["answer_id"] is None and newest["user"] == "cli:tester"  # it reached them


def test_batch_requests_are_neither_stored_nor_audited(assistant) -> None:
    assistant.answer(Request(text="dns is slow on 10.1.2.3", record=False))
    counts = assistant.store.counts()
    assert counts["answers"] == counts["audit_log"] == counts["users"] == 0
