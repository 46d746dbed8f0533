"""What a person can ask of the store: opt out (nothing of theirs is kept from then on), see the
data-use notice once, and get a copy of everything stored about them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from netcopilot.store.db import Store
from netcopilot.store.models import Answer, Conversation, FeatureRow, Feedback, Message, User, utcnow


def _user(s: Any, external_id: str, create: bool = True) -> User | None:
    user = s.scalar(select(User).where(User.external_id == external_id))
    if user is None and create:
        user = User(external_id=external_id, display_name=external_id)
        s.add(user)
    return user


def set_opt_out(store: Store, external_id: str, out: bool = True) -> None:
    """Opting out also deletes what was already kept of that person's conversations."""
    with store.session() as s, s.begin():
        user = _user(s, external_id)
        user.opted_out_at = utcnow() if out else None
        if out and user.id is not None:  # the database cascades to messages, answers and their feedback
            _forget_features(s, user.id)
            s.execute(delete(Feedback).where(Feedback.user_id == user.id))
            s.execute(delete(Conversation).where(Conversation.user_id == user.id))


def _forget_features(session: Session, user_id: int) -> None:
    """The feature store's rows computed from this person's questions (keyed by a hash of the text;
    another person asking the same words just has theirs computed again)."""
    from netcopilot.pipeline.feature_store import CHUNK, key_of

    texts = session.scalars(select(Message.text).join(Conversation, Conversation.id == Message.conversation_id)
                            .where(Conversation.user_id == user_id, Message.role == "user"))
    keys = list({key_of(t) for t in texts if t})
    for i in range(0, len(keys), CHUNK):
        session.execute(delete(FeatureRow).where(FeatureRow.key.in_(keys[i:i + CHUNK])))


def first_contact(store: Store, person: User) -> bool:
    """True exactly once per person: the moment to show the data-use notice. `person` is their row
    as just fetched (`Store.user`, which also carries `opted_out_at`): once the notice was shown
    this costs no query, and before that one conditional UPDATE, which only one of two racing
    answers wins."""
    if person.notice_at is not None:
        return False
    with store.session() as s, s.begin():
        claimed = s.execute(update(User).where(User.id == person.id, User.notice_at.is_(None)).values(notice_at=utcnow()))
        return claimed.rowcount == 1


def export_user(store: Store, external_id: str) -> dict[str, Any]:
    """Everything stored about one person, as it is stored (pseudonyms stay pseudonyms)."""
    with store.session() as s:
        user = _user(s, external_id, create=False)
        if user is None:
            return {"user": external_id, "found": False, "conversations": [], "feedback": []}
        conversations = []
        for conv in s.scalars(select(Conversation).where(Conversation.user_id == user.id).order_by(Conversation.id)):
            messages = s.scalars(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id))
            answers = s.scalars(select(Answer).where(Answer.conversation_id == conv.id).order_by(Answer.id))
            conversations.append({
                "id": conv.id, "channel": conv.channel, "started_at": conv.started_at.isoformat(), "solved": conv.solved,
                "messages": [{"role": m.role, "text": m.text, "at": m.created_at.isoformat()} for m in messages],
                "answers": [{"intent": a.intent, "confidence": a.confidence, "at": a.created_at.isoformat(),
                             "commands": [c["command"] for c in (a.payload or {}).get("commands", [])]} for a in answers],
            })
        feedback = [{"answer": f.answer_id, "kind": f.kind, "value": f.value, "text": f.text, "at": f.created_at.isoformat()}
                    for f in s.scalars(select(Feedback).where(Feedback.user_id == user.id).order_by(Feedback.id))]
        return {"user": external_id, "found": True, "created_at": user.created_at.isoformat(),
                "notice_at": user.notice_at.isoformat() if user.notice_at else None,
                "opted_out_at": user.opted_out_at.isoformat() if user.opted_out_at else None,
                "conversations": conversations, "feedback": feedback}
