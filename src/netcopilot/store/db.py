"""Opening the store (SQLite by default, PostgreSQL via NETCOPILOT_DATABASE_URL), migrating it,
and the few queries the core needs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from netcopilot.errors import NetcopilotError
from netcopilot.store.models import (
    Answer,
    ApiKey,
    AuditRecord,
    CommandRecord,
    Conversation,
    FeatureRow,
    Feedback,
    IngestBatch,
    Message,
    PostedMessage,
    ProcessedEvent,
    QuarantinedRecord,
    SessionVector,
    SuggestedCommand,
    User,
    utcnow,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(NetcopilotError):
    pass


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {_redact(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe under WAL; no fsync per answer
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


def migrate(engine: Engine, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {_redact(str(engine.url))}: {exc.orig}") from None


class Store:
    """The store behind the Assistant. One instance per process; sessions are short-lived."""

    def __init__(self, url: str, run_migrations: bool = True, pseudonymizer: Any = None):
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.pseudonymizer = pseudonymizer  # netcopilot.privacy: pseudonymise what is written
        if pseudonymizer is not None:
            from netcopilot.privacy.guard import guard_sessions

            guard_sessions(self._sessions, pseudonymizer)

    def _reveal(self, conv: Conversation | None) -> Conversation | None:
        """A conversation's follow-up context is sealed at rest when pseudonymising; the app
        reads it back (the object is detached, so this does not write anything)."""
        if conv is not None and self.pseudonymizer is not None:
            conv.context = self.pseudonymizer.unseal(conv.context)
        return conv

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()

    # --- users and conversations ------------------------------------------------------------

    def user(self, external_id: str, display_name: str = "") -> User:
        """The person's row, created on first sight. Its privacy flags (`opted_out_at`,
        `notice_at`) come with it, so answering someone takes this one query, not one per flag."""
        with self.session() as s, s.begin():
            user = s.scalar(select(User).where(User.external_id == external_id))
            if user is None:
                user = User(external_id=external_id, display_name=display_name or external_id)
                s.add(user)
            return user

    def conversation(self, user_id: int, channel: str, external_ref: str | None = None) -> Conversation:
        """The conversation for `external_ref` (e.g. a Slack thread), or a new one."""
        with self.session() as s, s.begin():
            conv = None
            if external_ref:
                conv = s.scalar(
                    select(Conversation).where(Conversation.channel == channel, Conversation.external_ref == external_ref)
                )
            if conv is None:
                conv = Conversation(user_id=user_id, channel=channel, external_ref=external_ref, context={})
                s.add(conv)
        return self._reveal(conv)

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        with self.session() as s:
            return self._reveal(s.get(Conversation, conversation_id))

    def save_context(self, conversation_id: int, context: dict[str, Any]) -> None:
        with self.session() as s, s.begin():
            conv = s.get(Conversation, conversation_id)
            if conv is not None:
                conv.context = context

    # --- exchanges --------------------------------------------------------------------------

    def record_exchange(
        self,
        conversation_id: int,
        question: str,
        payload: dict[str, Any],
        reply_text: str,
        latency_ms: float,
        context: dict[str, Any] | None = None,
        audit_row: Callable[[int], AuditRecord] | None = None,
    ) -> int:
        """Store a question, the answer given, its suggested commands and (if given) the
        conversation's new follow-up context, in one transaction; returns the answer id.
        `audit_row` makes the answer's audit record from the new answer id: written in the same
        transaction, an answer is never kept without it."""
        with self.session() as s, s.begin():
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise StoreError(f"conversation {conversation_id} does not exist")
            if not conv.title:
                conv.title = question[:300]
            if context is not None:
                conv.context = context
            msg = Message(conversation_id=conversation_id, role="user", text=question)
            s.add(msg)
            s.flush()
            answer = Answer(
                conversation_id=conversation_id,
                message_id=msg.id,
                intent=payload["intent"]["name"],
                confidence=float(payload["intent"]["confidence"]),
                clarified=bool(payload.get("clarify")),
                entities=payload.get("entities", []),
                model_versions=payload.get("model_versions", {}),
                payload=payload,
                latency_ms=latency_ms,
            )
            s.add(answer)
            s.add(Message(conversation_id=conversation_id, role="assistant", text=reply_text))
            s.flush()
            for rank, cmd in enumerate(payload.get("commands", []), 1):
                s.add(
                    SuggestedCommand(
                        answer_id=answer.id, rank=rank, command_id=cmd["id"], utility=cmd["utility"],
                        command=cmd["command"], score=float(cmd["score"]), risk=cmd["risk"],
                    )
                )
            if audit_row is not None:
                s.add(audit_row(answer.id))
            return answer.id

    def add_feedback(self, answer_id: int, user_id: int, kind: str, value: float, text: str = "",
                     score: float | None = None, source: str = "") -> int:
        """Record one satisfaction signal (value in -1..1) against an answer; it carries the
        answer's intent and model version, and the answer's satisfaction becomes the mean."""
        with self.session() as s, s.begin():
            answer = s.get(Answer, answer_id)
            if answer is None:
                raise StoreError(f"answer {answer_id} does not exist")
            fb = Feedback(answer_id=answer_id, user_id=user_id, kind=kind, value=max(-1.0, min(1.0, value)),
                          text=text[:4000], score=score, source=source[:80], intent=answer.intent,
                          model_version=str((answer.model_versions or {}).get("models", "")))
            s.add(fb)
            s.flush()
            answer.satisfaction = s.scalar(select(func.avg(Feedback.value)).where(Feedback.answer_id == answer_id))
            return fb.id

    def conversation_of_answer(self, answer_id: int) -> int | None:
        with self.session() as s:
            return s.scalar(select(Answer.conversation_id).where(Answer.id == answer_id))

    def answer_payload(self, answer_id: int) -> dict[str, Any] | None:
        with self.session() as s:
            answer = s.get(Answer, answer_id)
            return dict(answer.payload, answer_id=answer.id) if answer is not None else None

    def latest_answer(self, conversation_id: int) -> int | None:
        with self.session() as s:
            return s.scalar(select(func.max(Answer.id)).where(Answer.conversation_id == conversation_id))

    # --- messages posted on chat platforms ----------------------------------------------------

    def record_posted(self, answer_id: int, channel: str, ts: str, thread_ts: str | None = None,
                      platform: str = "slack") -> None:
        with self.session() as s, s.begin():
            s.add(PostedMessage(answer_id=answer_id, platform=platform, channel=channel, ts=ts, thread_ts=thread_ts))

    def answer_for_message(self, channel: str, ts: str, platform: str = "slack") -> int | None:
        with self.session() as s:
            return s.scalar(select(PostedMessage.answer_id).where(
                PostedMessage.platform == platform, PostedMessage.channel == channel, PostedMessage.ts == ts))

    def latest_answer_in_thread(self, channel: str, thread_ts: str, platform: str = "slack") -> int | None:
        with self.session() as s:
            return s.scalar(
                select(PostedMessage.answer_id)
                .where(PostedMessage.platform == platform, PostedMessage.channel == channel,
                       (PostedMessage.thread_ts == thread_ts) | (PostedMessage.ts == thread_ts))
                .order_by(PostedMessage.id.desc()).limit(1)
            )

    def claim_event(self, event_id: str) -> bool:
        """True the first time an event id is seen, False for every redelivery."""
        try:
            with self.session() as s, s.begin():
                s.add(ProcessedEvent(event_id=event_id[:100]))
            return True
        except IntegrityError:
            return False

    # --- satisfaction -------------------------------------------------------------------------

    def satisfaction_rows(self, since: datetime | None = None) -> list[dict[str, Any]]:
        with self.session() as s:
            query = select(Feedback.created_at, Feedback.intent, Feedback.model_version, Feedback.kind,
                           Feedback.value, Feedback.score).order_by(Feedback.created_at, Feedback.id)
            if since is not None:
                query = query.where(Feedback.created_at >= since)
            return [
                {"when": when if when.tzinfo else when.replace(tzinfo=timezone.utc), "intent": intent,
                 "model_version": version, "kind": kind, "value": value, "score": score}
                for when, intent, version, kind, value, score in s.execute(query)
            ]

    def user_satisfaction(self, user_id: int) -> dict[str, Any]:
        with self.session() as s:
            count, mean = s.execute(select(func.count(Feedback.id), func.avg(Feedback.value)).where(Feedback.user_id == user_id)).one()
            questions = s.scalar(select(func.count(Answer.id)).join(Conversation, Conversation.id == Answer.conversation_id)
                                 .where(Conversation.user_id == user_id)) or 0
            return {"feedback": count or 0, "mean": float(mean) if mean is not None else None, "questions": questions}

    def mark_solved(self, conversation_id: int, text: str, vector: np.ndarray, encoder: str) -> None:
        with self.session() as s, s.begin():
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise StoreError(f"conversation {conversation_id} does not exist")
            conv.solved, conv.solved_at = True, utcnow()
            row = s.get(SessionVector, conversation_id)
            blob = np.asarray(vector, dtype=np.float32).tobytes()
            if row is None:
                s.add(SessionVector(conversation_id=conversation_id, text=text, encoder=encoder, vector=blob))
            else:
                row.text, row.encoder, row.vector = text, encoder, blob

    def solved_sessions(self, encoder: str) -> Iterator[tuple[int, str, np.ndarray]]:
        with self.session() as s:
            rows = s.execute(
                select(SessionVector.conversation_id, SessionVector.text, SessionVector.vector).where(
                    SessionVector.encoder == encoder
                )
            )
            for conv_id, text, blob in rows:
                yield conv_id, text, np.frombuffer(blob, dtype=np.float32)

    def conversation_summary(self, conversation_id: int) -> dict[str, Any] | None:
        with self.session() as s:
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                return None
            first = s.scalar(
                select(Answer).where(Answer.conversation_id == conversation_id).order_by(Answer.id).limit(1)
            )
            commands = []
            if first is not None:
                commands = [c.command for c in first.commands[:3]]
            return {
                "id": conv.id, "title": conv.title, "solved": conv.solved,
                "when": (conv.solved_at or conv.started_at).isoformat(timespec="minutes"),
                "intent": first.intent if first else None, "commands": commands,
                "channel": conv.channel, "external_ref": conv.external_ref,
            }

    def recent_questions(self, user_id: int, limit: int = 10, since_days: int | None = None) -> list[dict[str, Any]]:
        with self.session() as s:
            query = (
                select(Message.text, Message.created_at, Answer.intent, Conversation.solved, Conversation.id)
                .join(Answer, Answer.message_id == Message.id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.user_id == user_id, Message.role == "user")
                .order_by(Message.id.desc())
                .limit(limit)
            )
            if since_days:
                query = query.where(Message.created_at >= datetime.now(timezone.utc) - timedelta(days=since_days))
            return [
                {"text": text, "when": when.isoformat(timespec="minutes"), "intent": intent, "solved": solved, "conversation": cid}
                for text, when, intent, solved, cid in s.execute(query)
            ]

    def counts(self) -> dict[str, int]:
        """Rows per table that using netcopilot adds to; tests and benchmarks compare them before and after."""
        with self.session() as s:
            return {
                model.__tablename__: s.scalar(select(func.count()).select_from(model)) or 0
                for model in (User, Conversation, Message, Answer, SuggestedCommand, Feedback, SessionVector,
                              PostedMessage, ProcessedEvent, AuditRecord, CommandRecord, ApiKey, QuarantinedRecord,
                              FeatureRow, IngestBatch)
            }
