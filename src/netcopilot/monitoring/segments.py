"""Segment labels of an answer (team, platform, language, channel), computed at report time from
the stored rows, so no schema change is needed and old rows get labels too."""

from __future__ import annotations

import re

DIMENSIONS = ("team", "platform", "language", "channel")

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ENGLISH = frozenset(
    "the a an is are was to of in on for and or not no my our why how what can can't cannot does doesn't do "
    "i we you it this that with from be it's isn't won't at by".split()
)
# Frequent function words of the languages a European team is likely to write in instead.
_OTHER = frozenset(
    "der die das und ist nicht ich wir mit auf ein eine kann warum wie "  # de
    "le la les et est pas je nous avec sur un une peut pourquoi comment ne "  # fr
    "el los las y es no yo con por una puede por qué cómo "  # es
    "o os e não eu com um uma pode porque como "  # pt
    "il lo gli è non io con per perché come "  # it
    "de het een en is niet ik wij met op kan waarom hoe".split()  # nl
)


def team(external_id: str) -> str:
    """The Slack team of "slack:T01:U02"; "cli" or "api" (the front end) otherwise."""
    parts = (external_id or "").split(":")
    if parts[0] == "slack" and len(parts) >= 3:
        return f"slack:{parts[1]}"
    return parts[0] or "unknown"


def language(text: str) -> str:
    """"en" or "other": a cheap guess (share of non-ASCII letters, then English vs. other
    function words). Short technical questions without function words count as English."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(not c.isascii() for c in letters) / len(letters) > 0.15:
        return "other"
    words = [w.lower() for w in _WORD.findall(text)]
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER and w not in _ENGLISH for w in words)
    return "other" if other > english else "en"


def platform(text: str) -> str:
    from netcopilot.recommend.ranker import detect_platform

    return detect_platform(text) or "unspecified"


def labels(external_id: str, channel: str, question: str) -> dict[str, str]:
    return {"team": team(external_id), "platform": platform(question), "language": language(question),
            "channel": channel or "unknown"}
