"""SQLAlchemy 2 models: users, conversations, messages, answers, suggested commands, feedback.

Schema changes go through Alembic (`store/migrations/versions/`); `tests/store/test_migrations.py`
checks that the migrations produce exactly these tables on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)  # "cli:alice", "slack:T1:U2"
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    notice_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # data-use notice shown
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # nothing of theirs is kept

    conversations: Mapped[list["Conversation"]] = relationship(back_populates="user")


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40), default="cli")  # cli | slack | api
    external_ref: Mapped[str | None] = mapped_column(String(200), index=True)  # e.g. a Slack thread
    title: Mapped[str] = mapped_column(String(300), default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # follow-up state
    solved: Mapped[bool] = mapped_column(Boolean, default=False)
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="conversations")
    messages: Mapped[list["Message"]] = relationship(back_populates="conversation", order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # user | assistant
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Answer(Base):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))  # the question
    intent: Mapped[str] = mapped_column(String(60), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    clarified: Mapped[bool] = mapped_column(Boolean, default=False)
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model_versions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the structured answer
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    satisfaction: Mapped[float | None] = mapped_column(Float)  # mean of its feedback values, -1..1
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    commands: Mapped[list["SuggestedCommand"]] = relationship(back_populates="answer", order_by="SuggestedCommand.rank")
    feedback: Mapped[list["Feedback"]] = relationship(back_populates="answer")


class SuggestedCommand(Base):
    __tablename__ = "suggested_commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    command_id: Mapped[str] = mapped_column(String(100))
    utility: Mapped[str] = mapped_column(String(60))
    command: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    risk: Mapped[str] = mapped_column(String(20))

    answer: Mapped[Answer] = relationship(back_populates="commands")


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # good | bad | reaction | button | reply
    value: Mapped[float] = mapped_column(Float)  # satisfaction in [-1, 1]
    text: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)  # VADER compound score of a reply
    source: Mapped[str] = mapped_column(String(80), default="")  # reaction name, button id, channel
    intent: Mapped[str] = mapped_column(String(60), default="", index=True)  # copied from the answer
    model_version: Mapped[str] = mapped_column(String(100), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    answer: Mapped[Answer] = relationship(back_populates="feedback")


class SessionVector(Base):
    """The embedding of a solved conversation, so it can be recalled by similarity."""

    __tablename__ = "session_vectors"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    encoder: Mapped[str] = mapped_column(String(100))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PostedMessage(Base):
    """Where an answer was posted (a Slack channel and message ts), so reactions and thread
    replies on that message find their answer."""

    __tablename__ = "posted_messages"
    __table_args__ = (UniqueConstraint("platform", "channel", "ts", name="uq_posted_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20), default="slack")
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessedEvent(Base):
    """Event ids already handled: Slack redelivers events (X-Slack-Retry-Num) and each is
    answered once, even across processes."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TopologyNode(Base):
    """A device or network learned from command outputs (netcopilot.topology); `node_id` is an IP
    address, a host name, a prefix such as 10.0.0.0/24, or `local` (the user's machine)."""

    __tablename__ = "topology_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default="unknown")  # router | switch | host | gateway | dns | ...
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # names, addresses, mac, platform, ...
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class TopologyEdge(Base):
    """A link between two topology nodes, one row per kind of evidence (hop, l2, route, lldp, cdp,
    flow); undirected, so `a` < `b`."""

    __tablename__ = "topology_edges"
    __table_args__ = (UniqueConstraint("a", "b", "kind", name="uq_topology_edge"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    a: Mapped[str] = mapped_column(ForeignKey("topology_nodes.node_id", ondelete="CASCADE"), index=True)
    b: Mapped[str] = mapped_column(ForeignKey("topology_nodes.node_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ports, rtt_ms, state, counts, ...
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sources: Mapped[int] = mapped_column(Integer, default=1)  # how many ingested outputs showed it


class TopologyObservation(Base):
    """One ingested output: which file, what format, when it was observed, what it held."""

    __tablename__ = "topology_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(40))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    nodes: Mapped[int] = mapped_column(Integer, default=0)
    edges: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)


class CommandRecord(Base):
    """One command a user ran in a shell: recorded by the shell hook (`netcopilot init`) or
    imported from a history file (`netcopilot history import`). Secrets are masked before a row
    is written (netcopilot.history.secrets)."""

    __tablename__ = "command_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(200), index=True)  # login name, or "cli:alice" style ids
    host: Mapped[str] = mapped_column(String(255), default="")
    session: Mapped[str] = mapped_column(String(100), default="", index=True)  # one shell session
    command: Mapped[str] = mapped_column(Text)
    cwd: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    exit_status: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(40), default="hook")  # hook:bash | import:zsh | ...
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """A key for the HTTP API (netcopilot.api.auth). Only a SHA-256 hash of the key is stored; the
    prefix (the first characters, shown by `netcopilot apikey list`) finds the candidate rows."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the whole key
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # ask, suggest, ..., admin
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRecord(Base):
    """A model decision that reached someone (an answer, a detection, a threat verdict): which
    model version decided, a fingerprint of the input (not the input), the output and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # answer | detection | threat | next | ...
    channel: Mapped[str] = mapped_column(String(40), default="")  # cli | slack | api
    user: Mapped[str] = mapped_column(String(200), default="", index=True)
    model_version: Mapped[str] = mapped_column(String(100), default="", index=True)
    input_fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the input
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QuarantinedRecord(Base):
    """An ingested record that failed its declared schema (netcopilot.pipeline.schema): kept with
    where it came from and why, so nothing is silently dropped (`netcopilot quarantine list`)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # commands | examples | spool
    batch: Mapped[str] = mapped_column(String(40), index=True)  # one ingest run
    source: Mapped[str] = mapped_column(Text, default="")  # the file (or "spool:<file>")
    line: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text, default="")  # the raw record, secrets masked, cut at 4 KB


class IngestBatch(Base):
    """One file taken in by `netcopilot ingest` or `netcopilot history import`: where it came
    from, its fingerprint and what became of its records (the pipeline's lineage)."""

    __tablename__ = "ingest_batches"
    __table_args__ = (UniqueConstraint("kind", "batch", name="uq_ingest_batches_kind_batch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))  # commands | examples | history
    batch: Mapped[str] = mapped_column(String(40))  # sha256 of the file, first 16 hex digits
    source: Mapped[str] = mapped_column(Text, default="")
    read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)


class FeatureRow(Base):
    """The features of one input (a stored command line, a question) under one feature set and
    version (netcopilot.pipeline.features), keyed by a hash of the input: the feature store."""

    __tablename__ = "feature_cache"
    __table_args__ = (UniqueConstraint("feature_set", "version", "key", name="uq_feature_cache_set_version_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feature_set: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(64))  # sha256 of the input text
    value: Mapped[Any | None] = mapped_column(JSON)  # JSON features ...
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)  # ... or a float32 vector
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
