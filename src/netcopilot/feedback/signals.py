"""Turning what people do after an answer into a satisfaction value in -1..1.

- Reactions: a configurable mapping from emoji name to value (`NETCOPILOT_REACTIONS`).
- Replies: VADER's compound score (vaderSentiment), recorded only when the reply clearly carries
  sentiment (|compound| >= `NETCOPILOT_REPLY_SENTIMENT_MIN`); "and port 80?" is not feedback.
- Buttons and the CLI's :good / :bad: +1 / -1.
"""

from __future__ import annotations

import threading
from typing import Any

from netcopilot.errors import SettingError

DEFAULT_REACTIONS = (
    "+1=1,thumbsup=1,white_check_mark=1,heavy_check_mark=1,tada=1,raised_hands=1,100=1,"
    "-1=-1,thumbsdown=-1,x=-1,confused=-1,disappointed=-0.5"
)

_analyzer: Any = None
_lock = threading.Lock()


def parse_reactions(text: str) -> dict[str, float]:
    """'+1=1,x=-1' -> {'+1': 1.0, 'x': -1.0}; skin tones ('+1::skin-tone-2') map to the base name."""
    mapping: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name or number is None or not -1.0 <= number <= 1.0:
            raise SettingError(f"NETCOPILOT_REACTIONS: {item!r} is not name=value with value in -1..1")
        mapping[name.strip(":")] = number
    return mapping


def reaction_value(name: str, mapping: dict[str, float]) -> float | None:
    return mapping.get(name.split("::")[0])


def reply_sentiment(text: str) -> float:
    """VADER compound score of `text`, -1 (negative) .. +1 (positive)."""
    global _analyzer
    with _lock:
        if _analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _analyzer = SentimentIntensityAnalyzer()
        return float(_analyzer.polarity_scores(text[:2000])["compound"])
