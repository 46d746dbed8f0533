"""Declared schemas for the records netcopilot ingests, one pydantic model per kind.

A record that does not fit is not dropped: `check` returns a `Rejection` naming the line, the first
field at fault and why, and the caller quarantines it (netcopilot.pipeline.quarantine). Unknown
fields are rejected too, so a misspelt column (`duraton_ms`) cannot vanish into a default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

MAX_COMMAND = 4096
MAX_EXAMPLE = 2000
WEEK_MS = 7 * 86400 * 1000.0


def _printable(value: str, name: str) -> str:
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise ValueError(f"{name} holds control characters")
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

    @field_validator("duration_ms")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number of milliseconds")
        return value

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class ExampleIn(BaseModel):
    """A labelled phrasing for the intent model: a question and the intent it asks for."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=3, max_length=MAX_EXAMPLE)
    intent: str = Field(min_length=1, max_length=100)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
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

    def where(self, source: str) -> str:
        at = f"{source}:{self.line}" if self.line is not None else source
        return f"{at}: field '{self.field}': {self.reason}" if self.field else f"{at}: {self.reason}"


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error.get("loc", ()))
    reason = error.get("msg", "invalid").removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        reason = "unknown field (the schema has: " + ", ".join(_fields_of(exc.title)) + ")"
    return field, reason


def _fields_of(title: str) -> list[str]:
    model = next((m for m in SCHEMAS.values() if m.__name__ == title), None)
    return list(model.model_fields) if model else []


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
            field, reason = _first_error(exc)
            yield Rejection(line, field, reason, raw)
