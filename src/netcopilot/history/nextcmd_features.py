"""What the next-command ranker knows about one user's past: candidates and their features.

`CommandStats` is updated once per command (bounded work: a fixed number of contexts, windows and
match lengths) and, before each prediction, proposes candidates (what followed the current contexts,
what ran lately, what a repeating block predicts) and describes each by a fixed vector of features,
all scaled to about [0, 1] so one learned weight vector suits every user. Why these features:
process-accounting histories are long scripted runs whose order is slightly shuffled, so besides
n-gram frequencies (each order apart, and all orders interpolated into one probability) the ranker
gets gapped (skip) contexts, recency windows, "what followed this the last time" and the longest
earlier match of the recent sequence (which finds periodic blocks).
Optional context (directory, hour, last exit status) and the team's n-grams (other users' streams,
`TeamCounts`) add features that are zero when absent.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque

MAX_ORDER = 6
SKIP_GAPS = (2, 3)
WINDOWS = (10, 50, 200)
MATCH_LENGTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
FOLLOW_MEMORY = 20
BAG_SIZES = (2, 3)
TEAM_ORDER = 3
BLEND_NORM = sum(2.0 ** n for n in range(1, MAX_ORDER + 1))
WB_FLOOR = 1e-6

FEATURES: tuple[str, ...] = (
    *(f"p{n}" for n in range(1, MAX_ORDER + 1)),
    *(f"pc{n}" for n in range(1, MAX_ORDER + 1)),
    "blend", "wb", "log_wb",
    *(f"skip{g}" for g in SKIP_GAPS),
    *(f"bag{n}" for n in BAG_SIZES),
    "follow_recent1", "follow_recent2",
    "last_cont1", "last_cont2", "last_cont3",
    "recency", "log_age",
    *(f"win{w}" for w in WINDOWS),
    "unigram", "log_unigram",
    "same_as_last", "same_run",
    "match_len", "match_votes",
    "p_cwd", "p_hour", "p_after_failure",
    *(f"team_p{n}" for n in range(1, TEAM_ORDER + 1)), "team_unigram",
)


def _share(counter: Counter | None, cmd: str, total: int) -> float:
    return counter[cmd] / total if counter and total else 0.0


def _witten_bell(cmd: str, base: float, ctx_counts: list[tuple[Counter | None, int]]) -> float:
    """P(cmd) interpolated from order 0 (`base`) up through each seen context (Witten-Bell: a context
    followed by many different commands trusts its own counts less). The per-order shares leave the
    ranker to weigh orders with one fixed weight each; this probability weighs them by how much each
    context has been seen, so a long context met once does not outvote a short one met hundreds of
    times (it lifted leave-one-user-out top-3 on the dev users, see nextcmd_team.md)."""
    prob = base
    for counts, total in ctx_counts:
        if not total:
            break  # a longer context cannot have been seen either
        trust = total / (total + len(counts))
        prob = trust * counts[cmd] / total + (1.0 - trust) * prob
    return prob


class TeamCounts:
    """n-gram counts over other users' streams: a backoff for contexts this user has not met yet."""

    def __init__(self) -> None:
        self.ngram: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.unigram: Counter = Counter()

    def add_stream(self, commands: list[str]) -> "TeamCounts":
        for i, cmd in enumerate(commands):
            for n in range(1, min(TEAM_ORDER, i) + 1):
                self.ngram[tuple(commands[i - n:i])][cmd] += 1
            self.unigram[cmd] += 1
        return self

    def followers(self, hist: list[str]) -> list[tuple[Counter | None, int]]:
        """Per order 1..TEAM_ORDER: the team's counts after the last n commands, and their total."""
        out = []
        for n in range(1, TEAM_ORDER + 1):
            counts = self.ngram.get(tuple(hist[-n:])) if len(hist) >= n else None
            out.append((counts, sum(counts.values()) if counts else 0))
        return out


class CommandStats:
    """Online statistics of one command stream (plus optional context per command)."""

    def __init__(self, team: TeamCounts | None = None) -> None:
        self.team = team
        self.history: list[str] = []
        self.ngram: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.ngram_total: Counter = Counter()
        self.skip: dict[tuple[int, str], Counter] = defaultdict(Counter)
        self.bag: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        self.follow: dict[tuple[str, ...], deque] = {}
        self.last_follow: dict[tuple[str, ...], str] = {}
        self.unigram: Counter = Counter()
        self.last_pos: dict[str, int] = {}
        self.windows = {w: (deque(maxlen=w), Counter()) for w in WINDOWS}
        self.match_pos: dict[int, dict[tuple[str, ...], int]] = {n: {} for n in MATCH_LENGTHS}
        self.run = 0
        self.by_cwd: dict[str, Counter] = defaultdict(Counter)
        self.by_hour: dict[int, Counter] = defaultdict(Counter)
        self.after_failure: dict[str, Counter] = defaultdict(Counter)
        self.cwd: str | None = None
        self.hour: int | None = None
        self.failed: bool = False

    def __len__(self) -> int:
        return len(self.history)

    def update(self, cmd: str, cwd: str | None = None, hour: int | None = None, failed: bool | None = None) -> None:
        """Learn that `cmd` followed the history so far; then make it part of the history."""
        hist = self.history
        i = len(hist)
        for n in range(1, min(MAX_ORDER, i) + 1):
            ctx = tuple(hist[i - n:])
            self.ngram[ctx][cmd] += 1
            self.ngram_total[ctx] += 1
            self.last_follow[ctx] = cmd
            if n <= 2:
                self.follow.setdefault(ctx, deque(maxlen=FOLLOW_MEMORY)).append(cmd)
        for g in SKIP_GAPS:
            if i >= g:
                self.skip[(g, hist[i - g])][cmd] += 1
        for n in BAG_SIZES:
            if i >= n:
                self.bag[tuple(sorted(hist[i - n:]))][cmd] += 1
        for n in MATCH_LENGTHS:
            if i >= n:
                self.match_pos[n][tuple(hist[i - n:])] = i
        if cwd is not None:
            self.by_cwd[cwd][cmd] += 1
        if hour is not None:
            self.by_hour[hour][cmd] += 1
        if self.failed and i:
            self.after_failure[hist[-1]][cmd] += 1
        self.run = self.run + 1 if i and hist[-1] == cmd else 1
        self.unigram[cmd] += 1
        self.last_pos[cmd] = i
        for window, counts in self.windows.values():
            if len(window) == window.maxlen:
                counts[window[0]] -= 1
            window.append(cmd)
            counts[cmd] += 1
        hist.append(cmd)
        self.cwd, self.hour, self.failed = cwd, hour, bool(failed)

    def _matches(self) -> dict[str, tuple[int, int]]:
        """Per predicted command: (longest earlier match of the recent sequence, number of lengths voting)."""
        hist, i = self.history, len(self.history)
        out: dict[str, tuple[int, int]] = {}
        for n in MATCH_LENGTHS:
            if i < n:
                break
            pos = self.match_pos[n].get(tuple(hist[i - n:]))
            if pos is None:
                break  # a longer suffix cannot have matched either
            cmd = hist[pos]
            longest, votes = out.get(cmd, (0, 0))
            out[cmd] = (max(longest, n), votes + 1)
        return out

    def candidates(self, limit: int = 5) -> tuple[list[str], dict[str, tuple[int, int]]]:
        """Commands worth ranking now: followers of each context, recent ones, match predictions."""
        hist, i = self.history, len(self.history)
        seen: dict[str, None] = {}
        for n in range(min(MAX_ORDER, i), 0, -1):
            counts = self.ngram.get(tuple(hist[i - n:]))
            if counts:
                seen.update(dict.fromkeys(c for c, _ in counts.most_common(limit)))
        for g in SKIP_GAPS:
            if i >= g:
                counts = self.skip.get((g, hist[i - g]))
                if counts:
                    seen.update(dict.fromkeys(c for c, _ in counts.most_common(limit)))
        matches = self._matches()
        seen.update(dict.fromkeys(matches))
        seen.update(dict.fromkeys(reversed(self.windows[WINDOWS[0]][0])))
        seen.update(dict.fromkeys(c for c, _ in self.unigram.most_common(limit)))
        if self.team is not None:
            for counts, _ in self.team.followers(hist):
                if counts:
                    seen.update(dict.fromkeys(c for c, _ in counts.most_common(limit)))
        return list(seen), matches

    def features(self, cands: list[str], matches: dict[str, tuple[int, int]]) -> list[list[float]]:
        """One row of `FEATURES` per candidate, computed from the state before the next command."""
        hist, i = self.history, len(self.history)
        ctxs = [tuple(hist[i - n:]) if i >= n else None for n in range(1, MAX_ORDER + 1)]
        ctx_counts = [(self.ngram.get(ctx), self.ngram_total.get(ctx, 0)) if ctx else (None, 0) for ctx in ctxs]
        skips = [(self.skip.get((g, hist[i - g])) if i >= g else None) for g in SKIP_GAPS]
        skip_tot = [sum(c.values()) if c else 0 for c in skips]
        bags = [(self.bag.get(tuple(sorted(hist[i - n:]))) if i >= n else None) for n in BAG_SIZES]
        bag_tot = [sum(c.values()) if c else 0 for c in bags]
        confs = [tot / (tot + 1.0) for _, tot in ctx_counts]
        follows = [Counter(self.follow.get(tuple(hist[i - n:]), ())) if i >= n else Counter() for n in (1, 2)]
        follow_tot = [sum(c.values()) for c in follows]
        last_cont = [self.last_follow.get(tuple(hist[i - n:])) if i >= n else None for n in (1, 2, 3)]
        wins = [(w, self.windows[w][1]) for w in WINDOWS]
        grand = i or 1
        vocab = len(self.unigram) + 1  # + 1: room for a command never run yet
        log_grand = math.log1p(grand)
        last = hist[-1] if hist else None
        run_feat = math.log1p(self.run) / math.log1p(50.0)
        cwd_c = self.by_cwd.get(self.cwd) if self.cwd is not None else None
        hour_c = self.by_hour.get(self.hour) if self.hour is not None else None
        fail_c = self.after_failure.get(last) if self.failed and last is not None else None
        cwd_t, hour_t, fail_t = (sum(c.values()) if c else 0 for c in (cwd_c, hour_c, fail_c))
        team = self.team.followers(hist) if self.team is not None else []
        team_grand = sum(self.team.unigram.values()) if self.team is not None else 0
        rows = []
        for cmd in cands:
            row = [_share(counts, cmd, tot) for counts, tot in ctx_counts]
            pcs = [p * c for p, c in zip(row, confs)]
            row += pcs
            row.append(sum(pc * 2.0 ** n for n, pc in enumerate(pcs, 1)) / BLEND_NORM)
            uni = self.unigram[cmd]
            wb = _witten_bell(cmd, (uni + 0.5) / (i + 0.5 * vocab), ctx_counts)
            row += [wb, 1.0 + math.log(max(wb, WB_FLOOR)) / -math.log(WB_FLOOR)]
            row += [_share(c, cmd, t) for c, t in zip(skips, skip_tot)]
            row += [_share(c, cmd, t) for c, t in zip(bags, bag_tot)]
            row += [_share(c, cmd, t) for c, t in zip(follows, follow_tot)]
            row += [1.0 if cmd == c else 0.0 for c in last_cont]
            age = i - self.last_pos[cmd] if cmd in self.last_pos else grand
            row += [1.0 / age if age else 0.0, math.log1p(age) / log_grand]
            row += [counts[cmd] / w for w, counts in wins]
            row += [uni / grand, math.log1p(uni) / log_grand]
            same = 1.0 if cmd == last else 0.0
            row += [same, same * run_feat]
            longest, votes = matches.get(cmd, (0, 0))
            row += [math.log1p(longest) / math.log1p(MATCH_LENGTHS[-1]), votes / len(MATCH_LENGTHS)]
            row += [_share(cwd_c, cmd, cwd_t), _share(hour_c, cmd, hour_t), _share(fail_c, cmd, fail_t)]
            row += [_share(c, cmd, t) for c, t in team] or [0.0] * TEAM_ORDER
            row.append(_share(self.team.unigram, cmd, team_grand) if self.team is not None else 0.0)
            rows.append(row)
        return rows
