"""The answers monitoring looks at: one row per answer with its question, who asked, where, and
the mean of its feedback. One query; segments are labelled here, at read time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from netcopilot.monitoring import segments
from netcopilot.store.db import Store
from netcopilot.store.models import Answer, Conversation, Message, User


@dataclass(frozen=True)
class AnswerRow:
    answer_id: int
    created_at: datetime
    intent: str
    confidence: float
    clarified: bool
    latency_ms: float
    satisfaction: float | None  # mean feedback value, -1..1; None without feedback
    model_versions: dict[str, Any]
    question: str = ""
    segment: dict[str, str] = field(default_factory=dict)

    @property
    def positive(self) -> bool | None:
        """The answer helped (mean feedback > 0); None when nobody said."""
        return None if self.satisfaction is None else self.satisfaction > 0


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def load_rows(store: Store, since: datetime | None = None) -> list[AnswerRow]:
    """Answers created at or after `since`, oldest first."""
    query = (
        select(Answer.id, Answer.created_at, Answer.intent, Answer.confidence, Answer.clarified, Answer.latency_ms,
               Answer.satisfaction, Answer.model_versions, Message.text, Conversation.channel, User.external_id)
        .join(Message, Message.id == Answer.message_id)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(User, User.id == Conversation.user_id)
        .order_by(Answer.created_at, Answer.id)
    )
    if since is not None:
        query = query.where(Answer.created_at >= since)
    with store.session() as s:
        return [
            AnswerRow(aid, _aware(when), intent, float(conf), bool(clar), float(lat or 0.0), sat,
                      dict(versions or {}), text or "", segments.labels(external_id, channel, text or ""))
            for aid, when, intent, conf, clar, lat, sat, versions, text, channel, external_id in s.execute(query)
        ]


def week_of(when: datetime) -> str:
    """The Monday starting the week, as an ISO date (the same weeks as `report satisfaction`)."""
    return (when - timedelta(days=when.weekday())).date().isoformat()
