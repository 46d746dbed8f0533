"""Request and response bodies of the HTTP API. Every field is bounded, unknown fields are
refused (a typo is a 422 naming the field, not a silently ignored option), and the limits here
match what the CLI accepts (e.g. `--k` 1..50)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, model_validator

from netcopilot.threats.nslkdd import COLUMNS, SYMBOLIC

MAX_TEXT = 8000  # the Assistant keeps the first 2000 characters and says so in `notes`
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Command = Annotated[str, StringConstraints(max_length=4096)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskBody(Body):
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)] = Field(
        description="The question, e.g. \"why can't I reach 10.0.0.5 on port 443?\"")
    conversation_id: Optional[int] = Field(None, ge=1, description="Continue this conversation of yours (follow-ups).")
    thread: Optional[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        None, description="Or name a thread of your own; questions with the same thread share context.")
    explain: bool = Field(False, description="Include how the answer was chosen (`explanation`).")


class SuggestBody(Body):
    questions: list[Text] = Field(min_length=1, max_length=200, description="Questions, answered in order; nothing is stored.")
    k: int = Field(5, ge=1, le=50, description="Commands per question.")


class Point(Body):
    timestamp: Optional[datetime] = Field(None, description="ISO-8601 time or Unix seconds; give it for all points or none.")
    value: Optional[Number] = Field(description="The measurement; null for a missing one.")


class DetectBody(Body):
    series: Optional[list[Point]] = Field(None, max_length=100_000, description="Points in time order.")
    values: Optional[list[Optional[Number]]] = Field(None, max_length=100_000,
                                                     description="Or just the values, `step_seconds` apart.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "series"
    step_seconds: int = Field(60, ge=1, le=86_400 * 7,
                              description="Spacing of `values` (their timestamps then count from the Unix epoch).")
    threshold: Optional[float] = Field(None, ge=0.5, le=0.999999, description="Alert score (default 0.997).")

    @model_validator(mode="after")
    def _one_series(self) -> "DetectBody":
        if (self.series is None) == (self.values is None):
            raise ValueError("give exactly one of 'series' (points) or 'values'")
        n = len(self.series if self.series is not None else self.values or [])
        if n < 2:
            raise ValueError(f"at least 2 points are needed, got {n}")
        if self.series is not None:
            stamped = [p.timestamp is not None for p in self.series]
            if any(stamped) and not all(stamped):
                raise ValueError(f"series[{stamped.index(False)}].timestamp is missing; give timestamps for all points or none")
            times = [naive_utc(p.timestamp) for p in self.series if p.timestamp is not None]
            for i in range(1, len(times)):
                if times[i] <= times[i - 1]:
                    raise ValueError(f"series[{i}].timestamp is not after series[{i - 1}].timestamp; send points in time order")
        return self


def naive_utc(when: datetime) -> datetime:
    """Timestamps as the analytics code holds them: naive, in UTC."""
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _kdd_field(name: str) -> tuple[Any, Any]:
    if name in SYMBOLIC:
        return Optional[Annotated[str, StringConstraints(max_length=40)]], None
    return Optional[Annotated[float, Field(ge=0, allow_inf_nan=False)]], None


KddRecord = create_model(
    "KddRecord",
    __base__=Body,
    __doc__="One connection record with NSL-KDD's 41 features (all optional: a missing one is read as missing).",
    **{name: _kdd_field(name) for name in COLUMNS},
)


class ThreatsBody(Body):
    records: list[KddRecord] = Field(min_length=1, max_length=5000)  # type: ignore[valid-type]


class NextBody(Body):
    commands: list[Command] = Field(min_length=1, max_length=10_000, description="One user's commands, oldest first.")
    k: int = Field(3, ge=1, le=50, description="Predictions, best first.")
    per_line: bool = Field(False, description="Also return the predictions after each command.")


class FeedbackBody(Body):
    answer_id: int = Field(ge=1, description="The `answer_id` of an answer given to this key.")
    kind: Literal["good", "bad", "correction"]
    intent: Optional[Annotated[str, StringConstraints(max_length=60)]] = Field(
        None, description='With kind "correction": the intent the question was really about.')
    value: Optional[float] = Field(None, ge=-1.0, le=1.0, description="Satisfaction -1..1 (default +1 good, -1 bad).")
    text: Annotated[str, StringConstraints(max_length=4000)] = ""


class NextLine(BaseModel):
    command: str
    next: list[str]


class NextResponse(BaseModel):
    next: list[str] = Field(description="The predicted next commands after the last one, best first.")
    lines: Optional[list[NextLine]] = None


class FeedbackResponse(BaseModel):
    feedback_id: Optional[int] = Field(description="None when the person opted out: nothing was kept.")
    answer_id: int
    value: float


class Status(BaseModel):
    status: str
    detail: Optional[str] = None
    models: Optional[dict[str, str]] = None
