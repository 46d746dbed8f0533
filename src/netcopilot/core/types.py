"""The request every front end builds and the structured answer every front end renders."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Request:
    text: str
    user: str = "cli:local"  # stable external id: "cli:<login>", "slack:<team>:<user>"
    channel: str = "cli"  # cli | slack | api
    conversation_id: int | None = None  # continue this conversation (follow-ups)
    thread: str | None = None  # or find the conversation by an external reference
    record: bool = True  # store the exchange (False for batch tools such as `suggest`)
    analyse: bool = True  # run anomaly/capacity analytics over metrics the message names


@dataclass
class Match:
    kind: str  # runbook | session
    id: str
    title: str
    similarity: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answer:
    query: str
    intent: str
    confidence: float
    alternatives: list[tuple[str, float]]
    entities: list[dict[str, Any]]
    commands: list[dict[str, Any]]
    matches: list[Match]
    causes: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    clarify: str | None = None  # a question back to the user instead of a guess
    reply: str | None = None  # plain text for smalltalk, history and notices
    notes: list[str] = field(default_factory=list)  # things the user should know (input trimmed...)
    notice: str | None = None  # the one-time data-use notice, at a person's first contact
    followup: bool = False
    carried: list[dict[str, Any]] = field(default_factory=list)  # entities reused from context
    history: list[dict[str, Any]] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)  # what `:why` shows
    feedback: dict[str, Any] | None = None  # this message was also feedback on the previous answer
    analysis: dict[str, Any] | None = None  # anomaly / capacity findings over metrics, with a plot
    model_versions: dict[str, str] = field(default_factory=dict)
    answer_id: int | None = None
    conversation_id: int | None = None
    latency_ms: float = 0.0

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        """A JSON-ready dict. Shallow: lists and dicts are shared with the Answer, not copied."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["matches"] = [vars(m) for m in self.matches]
        data["intent"] = {"name": self.intent, "confidence": round(self.confidence, 4)}
        data["alternatives"] = [{"name": n, "confidence": round(c, 4)} for n, c in self.alternatives]
        if not explain:
            data.pop("explanation")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Answer":
        """The inverse of `to_dict` (for answers read back from the store)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["intent"] = data["intent"]["name"]
        values["confidence"] = float(data["intent"]["confidence"])
        values["alternatives"] = [(a["name"], float(a["confidence"])) for a in data.get("alternatives", [])]
        values["matches"] = [Match(**m) for m in data.get("matches", [])]
        return cls(**values)

    def suggest_record(self, k: int) -> dict[str, Any]:
        """The `netcopilot suggest --jsonl` contract."""
        return {
            "query": self.query,
            "intent": {"name": self.intent, "confidence": round(self.confidence, 4)},
            "entities": [{k2: e[k2] for k2 in ("label", "text", "start", "end")} for e in self.entities],
            "commands": [
                {k2: c[k2] for k2 in ("command", "utility", "score", "risk", "why")} for c in self.commands[:k]
            ],
        }
