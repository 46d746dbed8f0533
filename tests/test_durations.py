"""One duration grammar behind --older-than/--every, --since and forecast horizons; each command
keeps its own units and its own one-line message."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from netcopilot.analytics.forecast import parse_horizon
from netcopilot.durations import FORM, HOUR, TOO_LONG, UNIT, DurationError, parse_duration
from netcopilot.errors import InputError
from netcopilot.feedback.report import parse_since, since_datetime
from netcopilot.privacy.retention import parse_age


@pytest.mark.parametrize("text, expected", [
    ("90d", timedelta(days=90)), ("12w", timedelta(weeks=12)), ("48h", timedelta(hours=48)),
    (" 30 D ", timedelta(days=30)), ("1.5d", timedelta(hours=36)), (".5h", timedelta(minutes=30)),
    ("3 days", timedelta(days=3)), ("2 weeks", timedelta(weeks=2)), ("90m", timedelta(minutes=90)),
    ("30s", timedelta(seconds=30)), ("0d", timedelta(0)),
])
def test_the_grammar(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, problem, unit", [
    ("7", FORM, ""), ("-1d", FORM, ""), ("tomorrow", FORM, ""), ("1e3d", FORM, ""), (7, FORM, ""), (None, FORM, ""),
    ("7M", UNIT, "M"), ("7 parsecs", UNIT, "parsecs"), ("99999999999999w", TOO_LONG, ""),
])
def test_what_is_wrong_is_named(text: object, problem: str, unit: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert (caught.value.problem, caught.value.unit) == (problem, unit)


def test_units_finer_than_allowed_are_refused() -> None:
    assert parse_duration("6m") == timedelta(minutes=6)
    with pytest.raises(DurationError) as caught:
        parse_duration("6m", smallest=HOUR)
    assert caught.value.problem == UNIT


@pytest.mark.parametrize("text", ["90d", "12w", "48h", "1.5d", " 30 d "])
def test_retention_and_since_read_the_same_values(text: str) -> None:
    assert parse_age(text) == parse_since(text) == parse_duration(text)


@pytest.mark.parametrize("text", ["soon", "0d", "6m", "90", "-3d", "7M", "", "99999999999999w"])
def test_age_and_since_keep_their_one_line_messages(text: str) -> None:
    with pytest.raises(InputError) as age:
        parse_age(text, "--every")
    assert str(age.value) == f"--every {text!r}: give a positive number with h, d or w, e.g. 90d"
    with pytest.raises(InputError) as since:
        parse_since(text)
    assert str(since.value) == f"--since {text!r}: expected a number and h, d or w, e.g. 30d"


def test_since_datetime_is_none_without_since() -> None:
    assert since_datetime(None) is None
    assert since_datetime("1d") < since_datetime("1h")


@pytest.mark.parametrize("text, message", [
    ("tomorrow", "cannot read the horizon 'tomorrow': use a number and a unit, like 7d, 12h, 2w or 90m"),
    ("7M", "unknown time unit 'M' in '7M': use s, m (minutes), h, d or w"),
    ("0d", "the horizon '0d' must be at least one second"),
    ("100000w", "the horizon '100000w' is longer than 10 years"),
    ("99999999999999w", "the horizon '99999999999999w' is longer than 10 years"),
    (7, "a horizon is text like '7d', '12h', '2w' or '90m', not 7"),
])
def test_horizon_messages(text: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_horizon(text)
    assert str(caught.value) == message


def test_horizon_is_whole_seconds() -> None:
    assert parse_horizon("90m") == np.timedelta64(5400, "s")
    assert parse_horizon("1.5 days") == np.timedelta64(36 * 3600, "s")
