"""Declared schemas for the records netcopilot ingests, one pydantic model per kind.

A record that does not fit is not dropped: `check` returns a `Rejection` naming the line, the first
field at fault and why, and the caller quarantines it (netcopilot.pipeline.quarantine). Unknown
fields are rejected too, so a misspelt column (`duraton_ms`) cannot vanish into a default.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

MAX_COMMAND = 4096
MAX_EXAMPLE = 2000
WEEK_MS = 7 * 86400 * 1000.0


EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # C0/C1 and bidi overrides


def _printable(value: str, name: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"{name} holds control characters")
    return value


def _not_bool(value: Any) -> Any:
    """JSON true/false are not numbers here (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    return value


class CommandIn(BaseModel):
    """One command someone ran (what `command_history` stores)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    command: str = Field(min_length=1, max_length=MAX_COMMAND)
    user: str = Field("", max_length=200)
    host: str = Field("", max_length=255)
    session: str = Field("", max_length=100)
    cwd: str = Field("", max_length=4096)
    started_at: datetime | None = None  # ISO 8601 or seconds since the epoch; no zone means UTC
    duration_ms: float | None = Field(None, ge=0, le=WEEK_MS)
    exit_status: int | None = Field(None, ge=0, le=255)

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        return _printable(value, "the command")

    @field_validator("duration_ms", "exit_status", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        value = _not_bool(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("started_at", mode="before")
    @classmethod
    def _epoch_seconds(cls, value: Any) -> Any:
        """Numbers are seconds since the epoch (pydantic would read large ones as milliseconds)."""
        value = _not_bool(value)
        if isinstance(value, str) and value.replace(".", "", 1).isdigit():
            value = float(value)
        if isinstance(value, (int, float)):
            if not math.isfinite(value) or not 0 <= value < 1e11:
                raise ValueError("expected ISO 8601 or seconds since the epoch")
            return datetime.fromtimestamp(value, timezone.utc)
        return value

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """In UTC (a naive time is taken as UTC), and plausible: after 1990, at most a day ahead."""
        if value is None:
            return None
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        if not EARLIEST <= value <= datetime.now(timezone.utc) + timedelta(days=1):
            raise ValueError(f"{value.isoformat()} is before 1990 or in the future")
        return value


class ExampleIn(BaseModel):
    """A labelled phrasing for the intent model: a question and the intent it asks for."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=3, max_length=MAX_EXAMPLE)
    intent: str = Field(min_length=1, max_length=100)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if value.startswith("#"):  # phrasing files treat such a line as a comment: it would never be learned
            raise ValueError("a phrasing may not start with '#'")
        return _printable(value, "the text")

    @field_validator("intent")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("intents")
        if known is not None and value not in known:
            raise ValueError(f"unknown intent {value!r} (see `ls intents/train`)")
        return value


SCHEMAS: dict[str, type[BaseModel]] = {"commands": CommandIn, "examples": ExampleIn}


@dataclass(frozen=True)
class Rejection:
    line: int | None
    field: str
    reason: str
    raw: str
    row: dict[str, Any] | None = None  # the record as read, when it could be read

    def where(self, source: str) -> str:
        at = f"{source}:{self.line}" if self.line is not None else source
        return f"{at}: field '{self.field}': {self.reason}" if self.field else f"{at}: {self.reason}"


def _first_error(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error.get("loc", ()))
    reason = error.get("msg", "invalid").removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        reason = "unknown field (the schema has: " + ", ".join(model.model_fields) + ")"
    return field, reason


def check(kind: str, rows: Iterable[tuple[int | None, Any, str]], context: dict[str, Any] | None = None
          ) -> Iterator[BaseModel | Rejection]:
    """Each (line, parsed row or an error string, raw text) as a validated model or a Rejection,
    in input order. A row that a reader could not parse arrives as a string: the reason."""
    model = SCHEMAS[kind]
    for line, row, raw in rows:
        if isinstance(row, str):
            yield Rejection(line, "", row, raw)
            continue
        if not isinstance(row, dict):
            yield Rejection(line, "", f"expected an object with the fields {', '.join(model.model_fields)}", raw)
            continue
        try:
            yield model.model_validate({k: v for k, v in row.items() if v not in ("", None)}, context=context)
        except ValidationError as exc:
            field, reason = _first_error(exc, model)
            yield Rejection(line, field, reason, raw, row)
