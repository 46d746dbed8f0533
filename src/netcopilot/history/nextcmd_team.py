"""The team prior of `netcopilot next`: other users' n-gram counts, built, pruned, saved and loaded.

Early in a history most misses are commands this user has not run yet but colleagues have, so the
ranker gets `TeamCounts` as a backoff. The shipped file (`nextcmd_team.json.gz`, card in
`nextcmd_team.md`) holds counts only, never the command streams, and is pruned so it stays small:
an (context, next command) pair seen once is dropped (one-off noise that would not generalise) and
each context keeps only its `top` most frequent followers (the ranker proposes at most 5 anyway).
Build and prune go through one function so the benchmark's leave-one-user-out files and the shipped
file are made the same way; the order of the saved counts is canonical, so a file read back ranks
ties exactly as the in-memory counts it was saved from.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Iterable

from netcopilot.errors import DataFormatError
from netcopilot.history.nextcmd_features import TEAM_ORDER, TeamCounts

TEAM_FILE = "nextcmd_team.json.gz"
FORMAT = "netcopilot-next-team/1"
MIN_COUNT = 2
TOP_FOLLOWERS = 20

__all__ = ["TEAM_FILE", "build_team", "load_shipped_team", "load_team", "save_team"]


def _ranked(counts: Counter, min_count: int, top: int | None) -> dict[str, int]:
    """Counts kept after pruning, most frequent first, ties by name (the canonical order)."""
    kept = sorted(((c, n) for c, n in counts.items() if n >= min_count), key=lambda cn: (-cn[1], cn[0]))
    return dict(kept[:top])


def build_team(streams: Iterable[list[str]], min_count: int = MIN_COUNT, top: int = TOP_FOLLOWERS) -> TeamCounts:
    """Team counts over `streams` (one list of commands per user), pruned and in canonical order."""
    raw = TeamCounts()
    for commands in streams:
        raw.add_stream(commands)
    return _from_payload(_payload(raw, min_count, top))


def _payload(team: TeamCounts, min_count: int = 1, top: int | None = None) -> dict:
    ngrams = []
    for ctx in sorted(team.ngram):
        followers = _ranked(team.ngram[ctx], min_count, top)
        if followers:
            ngrams.append([list(ctx), followers])
    return {"format": FORMAT, "order": TEAM_ORDER, "unigram": _ranked(team.unigram, min_count, None),
            "ngram": ngrams}


def _counts(followers: dict) -> dict[str, int]:
    if not all(isinstance(c, str) and type(n) is int and n > 0 for c, n in followers.items()):
        raise ValueError("counts must map command names to positive integers")
    return followers


def _from_payload(payload: dict) -> TeamCounts:
    team = TeamCounts()
    team.unigram.update(_counts(payload["unigram"]))
    for ctx, followers in payload["ngram"]:
        if not (isinstance(ctx, list) and 0 < len(ctx) <= TEAM_ORDER and all(isinstance(c, str) for c in ctx)):
            raise ValueError(f"context {ctx!r} is not a list of 1-{TEAM_ORDER} command names")
        team.ngram[tuple(ctx)].update(_counts(followers))
    return team


def save_team(team: TeamCounts, path: Path) -> None:
    """Write `team` as gzip JSON (already-pruned counts are written as they are)."""
    data = json.dumps(_payload(team), separators=(",", ":"), sort_keys=False).encode()
    path.write_bytes(gzip.compress(data, mtime=0))


def _parse(raw: bytes, where: object) -> TeamCounts:
    try:
        payload = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as exc:
        raise DataFormatError(where, f"not a gzip JSON team file ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataFormatError(where, f"expected a team file of format {FORMAT}", field="format")
    if payload.get("order") != TEAM_ORDER:
        raise DataFormatError(where, f"n-gram order {payload.get('order')!r}, this version uses {TEAM_ORDER}",
                              field="order")
    try:
        return _from_payload(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataFormatError(where, f"malformed counts ({exc})", field="ngram") from None


def load_team(path: Path) -> TeamCounts:
    """Team counts from a file written by `save_team`; a bad file is a `DataFormatError` naming it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataFormatError(path, f"cannot read team file ({exc.strerror})") from None
    return _parse(raw, path)


def load_shipped_team() -> TeamCounts:
    """The team prior shipped with netcopilot (see nextcmd_team.md for what it was built from)."""
    source = resources.files("netcopilot.history").joinpath(TEAM_FILE)
    return _parse(source.read_bytes(), TEAM_FILE)
