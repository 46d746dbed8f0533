"""Durations typed by people: "90d", "12h", "2w", "90m", "1.5 days".

One grammar for every command that takes an age, a look-back or a horizon (retention and
`--every`, `--since`, forecast horizons): a non-negative number, optional spaces, a unit. Each
command still words its own error message, so `DurationError` says what was wrong (`problem`)
rather than how to say it. "M" is refused outright: people mean months by it, and a month has no
fixed length.
"""

from __future__ import annotations

import re
from datetime import timedelta

from netcopilot.errors import InputError

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
UNITS: dict[str, int] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": MINUTE, "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": DAY, "day": DAY, "days": DAY,
    "w": WEEK, "wk": WEEK, "wks": WEEK, "week": WEEK, "weeks": WEEK,
}
_FORM = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]+)\s*")

FORM, UNIT, TOO_LONG = "form", "unit", "too long"


class DurationError(InputError):
    """A duration that cannot be read: `problem` is FORM (not a number and a unit), UNIT (a unit
    this command does not take; `unit` names it) or TOO_LONG (more than a timedelta holds)."""

    def __init__(self, text: object, problem: str, unit: str = ""):
        super().__init__(f"cannot read the duration {text!r} ({problem})")
        self.text, self.problem, self.unit = text, problem, unit


def parse_duration(text: object, smallest: int = 1) -> timedelta:
    """The duration `text` gives, which may be zero (callers decide what is too short).
    Units shorter than `smallest` seconds are refused: a retention period in minutes is far more
    likely a mistyped month than a wish to delete nearly everything."""
    found = _FORM.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise DurationError(text, FORM)
    number, unit = found.groups()
    size = None if unit == "M" else UNITS.get(unit.lower())
    if size is None or size < smallest:
        raise DurationError(text, UNIT, unit)
    try:
        return timedelta(seconds=float(number) * size)
    except OverflowError:  # beyond what a timedelta holds (about 2.7 million years)
        raise DurationError(text, TOO_LONG) from None


def positive_duration(text: object, smallest: int = 1) -> timedelta | None:
    """The duration if it can be read and is more than zero, else None: for commands whose
    message for every bad value is the same one line."""
    try:
        duration = parse_duration(text, smallest)
    except DurationError:
        return None
    return duration or None
