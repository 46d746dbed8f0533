"""Scoring by the Numenta Anomaly Benchmark (NAB) rules, re-implemented with numpy.

The numbers follow NAB 1.x (``nab/sweeper.py``, ``nab/optimizer.py``, ``nab/runner.py``,
``nab/util.py`` and ``config/profiles.json`` of numenta/NAB):

* Every labelled anomaly window is worth ``tp`` if the detector fires on its first point and
  less the later it fires: a detection at row ``i`` of a window ``[l, r]`` of width
  ``W = r - l + 1`` earns ``tp * S(-(r - i + 1) / W) / S(-1)``, with the scaled sigmoid
  ``S(y) = 2 / (1 + exp(5 y)) - 1``. Only the best (i.e. the earliest) detection in a window
  counts; a window without any detection costs ``-fn``.
* A detection outside every window is a false positive weighted ``fp * S(y)``, where
  ``y = (i - r_prev) / (W_prev - 1)`` is its distance past the end of the preceding window
  in units of that window's width (``S`` is -1 for ``y > 3``); with no preceding window the
  weight is ``-fp``. So a detection just after a window costs almost nothing and one far
  after it costs ``fp``.
* Rows in the probationary period, the first ``min(floor(0.15 n), 750)`` rows of a file,
  are not scored at all (neither detections nor, for windows lying wholly inside it, misses).
* The corpus score is the sum over files; it is normalised as
  ``100 * (raw - null) / (perfect - null)`` with ``null`` the detector that never fires
  (``-fn`` per window) and ``perfect`` the one that fires on every window's first row
  (``tp`` per window).
* With continuous anomaly scores, the threshold is optimised as NAB's optimizer does: every
  distinct score value is a candidate (a row is a detection when ``score >= threshold``),
  plus "above everything" (no detection); the candidate with the highest corpus raw score
  wins, ties going to the highest threshold.

The sweep over all candidate thresholds is vectorised: rows of the whole corpus are sorted
once by score, false-positive weights are summed with a cumulative sum, and each window's
contribution is the running maximum of its true-positive weights.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

PROBATION_PERCENT = 0.15
# NAB caps the probationary period at probationPercent * 5000 rows.
PROBATION_CAP_ROWS = 5000

PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0, "tn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0, "tn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0, "tn": 1.0},
}

NO_DETECTION_THRESHOLD = math.inf  # the sweep's "flag nothing" candidate (NAB writes 1.1)


def scaled_sigmoid(position: np.ndarray | float) -> np.ndarray:
    """NAB's S(y) = 2 / (1 + exp(5 y)) - 1, forced to -1 for y > 3 (far after a window).

    y = -1 is a window's left edge (0.9866), 0 its right edge (0), y > 0 lies after it."""
    y = np.asarray(position, dtype=np.float64)
    with np.errstate(over="ignore"):
        s = 2.0 / (1.0 + np.exp(5.0 * y)) - 1.0
    return np.where(y > 3.0, -1.0, s)


_MAX_TP = float(scaled_sigmoid(-1.0))


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that NAB does not score: min(floor(p n), p * 5000)."""
    return int(min(math.floor(percent * n_rows), percent * PROBATION_CAP_ROWS))


@dataclass(frozen=True)
class _Geometry:
    """Per-row scoring facts of one file, independent of the profile and of the detector."""

    unweighted: np.ndarray  # S(position) for every row
    window: np.ndarray  # index of the window a row lies in, -1 outside windows
    scorable: np.ndarray  # False in the probationary period
    scored_windows: np.ndarray  # indices of windows with at least one scorable row


@dataclass
class NabSeries:
    """One NAB data file: ``name`` is ``category/file.csv``; windows are inclusive time ranges."""

    name: str
    timestamps: np.ndarray  # datetime64[s], sorted
    values: np.ndarray  # float64
    windows: list[tuple[np.datetime64, np.datetime64]] = field(default_factory=list)
    _geometry: _Geometry | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.values)

    def window_rows(self) -> list[tuple[int, int]]:
        """Each window as inclusive row indices (first row >= start, last row <= end); windows
        without any row are dropped."""
        ts = np.asarray(self.timestamps).astype("datetime64[s]")
        rows = []
        for start, end in self.windows:
            left = int(np.searchsorted(ts, np.datetime64(start, "s"), side="left"))
            right = int(np.searchsorted(ts, np.datetime64(end, "s"), side="right")) - 1
            if right >= left:
                rows.append((left, right))
        return sorted(rows)

    @property
    def probation(self) -> int:
        return probation_length(len(self))

    def geometry(self) -> _Geometry:
        if self._geometry is None:
            self._geometry = _build_geometry(len(self), self.window_rows())
        return self._geometry


def _build_geometry(n: int, windows: list[tuple[int, int]]) -> _Geometry:
    rows = np.arange(n)
    window = np.full(n, -1, dtype=np.int64)
    # Outside windows: distance past the preceding window, scaled by its width - 1.
    position = np.full(n, np.inf)  # no preceding window -> S = -1
    if windows:
        lefts = np.array([w[0] for w in windows])
        rights = np.array([w[1] for w in windows])
        widths = rights - lefts + 1
        prev = np.searchsorted(rights, rows, side="left") - 1  # last window ending before row
        has_prev = prev >= 0
        p = prev[has_prev]
        denom = (widths[p] - 1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            position[has_prev] = np.where(denom > 0, (rows[has_prev] - rights[p]) / denom, np.inf)
    unweighted = scaled_sigmoid(position)
    # Inside windows: -(r - i + 1) / W, from -1 at the left edge to -1/W at the right edge.
    for k, (left, right) in enumerate(windows):
        i = rows[left : right + 1]
        window[left : right + 1] = k
        unweighted[left : right + 1] = scaled_sigmoid(-(right - i + 1) / float(right - left + 1))
    scorable = rows >= probation_length(n)
    scored = np.unique(window[scorable & (window >= 0)])
    return _Geometry(unweighted, window, scorable, scored)


def row_weights(series: NabSeries, profile: str) -> np.ndarray:
    """The NAB score each row would contribute if detected (TP weight inside windows,
    FP weight outside), before taking only the first detection per window."""
    cost = PROFILES[profile]
    g = series.geometry()
    return np.where(g.window >= 0, g.unweighted * cost["tp"] / _MAX_TP, g.unweighted * cost["fp"])


# ----------------------------------------------------------------------------- loading


def _parse_time(text: str) -> np.datetime64:
    return np.datetime64(text.strip().replace(" ", "T")[:19], "s")


def load_nab(root: Path | str, names: Sequence[str] | None = None) -> list[NabSeries]:
    """Read ``root/data/<category>/<file>.csv`` and ``root/labels/combined_windows.json``.

    Every file named in the labels (or in ``names``) is loaded, sorted by name."""
    root = Path(root)
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    wanted = sorted(names if names is not None else labels)
    out = []
    for name in wanted:
        with open(root / "data" / name, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            stamps, values = [], []
            for row in reader:
                if not row:
                    continue
                stamps.append(row[0].replace(" ", "T")[:19])
                values.append(float(row[1]) if row[1] else np.nan)
        windows = [(_parse_time(a), _parse_time(b)) for a, b in labels.get(name, [])]
        out.append(
            NabSeries(
                name=name,
                timestamps=np.array(stamps, dtype="datetime64[s]"),
                values=np.array(values, dtype=np.float64),
                windows=windows,
            )
        )
    return out


# ----------------------------------------------------------------------------- scoring


def count_windows(series: Sequence[NabSeries]) -> int:
    """Windows that can be scored (with at least one row after the probationary period)."""
    return int(sum(len(s.geometry().scored_windows) for s in series))


def null_and_perfect(series: Sequence[NabSeries], profile: str) -> tuple[float, float]:
    """Raw corpus scores of the detector that never fires and of the one that fires exactly
    on the first row of every window."""
    cost = PROFILES[profile]
    n = count_windows(series)
    return -cost["fn"] * n, cost["tp"] * n


def normalise(raw: float, series: Sequence[NabSeries], profile: str) -> float:
    """NAB's final score: 100 * (raw - null) / (perfect - null); NaN without windows."""
    null, perfect = null_and_perfect(series, profile)
    if perfect == null:
        return math.nan
    return 100.0 * (raw - null) / (perfect - null)


def file_raw_score(series: NabSeries, flags: np.ndarray, profile: str) -> float:
    """Raw NAB score of one file for boolean detections ``flags`` (one per row)."""
    flags = np.asarray(flags, dtype=bool)
    if flags.shape != (len(series),):
        raise ValueError(f"{series.name}: {flags.shape[0] if flags.ndim else 0} flags for {len(series)} rows")
    g = series.geometry()
    w = row_weights(series, profile)
    fired = flags & g.scorable
    fp = float(w[fired & (g.window < 0)].sum())
    n_windows = int(g.window.max()) + 1 if len(g.window) else 0
    best = np.full(max(n_windows, 1), -PROFILES[profile]["fn"])
    inside = fired & (g.window >= 0)
    np.maximum.at(best, g.window[inside], w[inside])
    return fp + float(best[g.scored_windows].sum())


def raw_scores(series: Sequence[NabSeries], flags: Sequence[np.ndarray], profile: str) -> list[float]:
    """Per-file raw scores for boolean detections."""
    _check_lengths(series, flags)
    return [file_raw_score(s, f, profile) for s, f in zip(series, flags)]


def score_flags(series: Sequence[NabSeries], flags: Sequence[np.ndarray], profile: str) -> float:
    """Normalised (0 = null, 100 = perfect) corpus score of fixed detections, no sweep."""
    return normalise(sum(raw_scores(series, flags, profile)), series, profile)


@dataclass(frozen=True)
class SweepCurve:
    """Corpus raw score for every candidate threshold, highest threshold first
    (the first candidate, ``inf``, detects nothing)."""

    thresholds: np.ndarray
    raw: np.ndarray

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.raw))  # first maximum = highest threshold, as NAB

    @property
    def best_threshold(self) -> float:
        return float(self.thresholds[self.best_index])

    @property
    def best_raw(self) -> float:
        return float(self.raw[self.best_index])


def sweep_curve(series: Sequence[NabSeries], scores: Sequence[np.ndarray], profile: str) -> SweepCurve:
    """Raw corpus score at every distinct anomaly-score threshold (detection = score >= t)."""
    _check_lengths(series, scores)
    cost = PROFILES[profile]
    fn = cost["fn"]
    all_s, all_w, all_win = [], [], []
    offset = 0
    n_scored = 0
    for s, sc in zip(series, scores):
        g = s.geometry()
        keep = g.scorable
        sc = np.asarray(sc, dtype=np.float64)[keep]
        all_s.append(np.where(np.isnan(sc), -np.inf, sc))
        all_w.append(row_weights(s, profile)[keep])
        win = g.window[keep]
        all_win.append(np.where(win >= 0, win + offset, -1))
        offset += int(g.window.max()) + 1 if len(g.window) else 0
        n_scored += len(g.scored_windows)
    base = -fn * n_scored
    if not all_s or sum(len(a) for a in all_s) == 0:
        return SweepCurve(np.array([NO_DETECTION_THRESHOLD]), np.array([base]))
    s = np.concatenate(all_s)
    w = np.concatenate(all_w)
    win = np.concatenate(all_win)

    order = np.argsort(-s, kind="stable")  # highest score first
    s, w, win = s[order], w[order], win[order]
    delta = np.where(win < 0, w, 0.0)  # every false positive adds its weight

    # Inside windows the score changes only when a window's best TP weight improves.
    pos = np.flatnonzero(win >= 0)
    if len(pos):
        gw = win[pos]
        by_window = np.lexsort((pos, gw))  # group by window, keep sweep order inside a group
        pos, gw, val = pos[by_window], gw[by_window], w[pos][by_window]
        span = 2.0 * (cost["tp"] + fn + 1.0)  # larger than any weight range: groups never mix
        lift = gw * span
        running = np.maximum.accumulate(val + lift) - lift
        running = np.maximum(running, -fn)
        first = np.ones(len(pos), dtype=bool)
        first[1:] = gw[1:] != gw[:-1]
        previous = np.where(first, -fn, np.roll(running, 1))
        np.add.at(delta, pos, running - previous)

    total = base + np.cumsum(delta)
    last_of_run = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    thresholds = np.concatenate(([NO_DETECTION_THRESHOLD], s[last_of_run]))
    raw = np.concatenate(([base], total[last_of_run]))
    return SweepCurve(thresholds, raw)


def sweep(series: Sequence[NabSeries], scores: Sequence[np.ndarray], profile: str) -> tuple[float, float]:
    """NAB threshold optimisation: (best normalised corpus score, its threshold)."""
    curve = sweep_curve(series, scores, profile)
    return normalise(curve.best_raw, series, profile), curve.best_threshold


@dataclass
class ProfileResult:
    """One detector on one profile: normalised score, raw corpus score, threshold, per file."""

    score: float
    raw: float
    threshold: float | None
    per_file: dict[str, float]


def evaluate_scores(
    series: Sequence[NabSeries], scores: Sequence[np.ndarray], profile: str
) -> ProfileResult:
    """Sweep the threshold, then report per-file raw scores at the best one."""
    curve = sweep_curve(series, scores, profile)
    thr = curve.best_threshold
    flags = [np.asarray(sc, dtype=np.float64) >= thr for sc in scores]
    per_file = dict(zip((s.name for s in series), raw_scores(series, flags, profile)))
    return ProfileResult(normalise(curve.best_raw, series, profile), curve.best_raw, thr, per_file)


def evaluate_flags(
    series: Sequence[NabSeries], flags: Sequence[np.ndarray], profile: str
) -> ProfileResult:
    """Score fixed detections (as deployed), with per-file raw scores."""
    per = raw_scores(series, flags, profile)
    raw = float(sum(per))
    return ProfileResult(normalise(raw, series, profile), raw, None, dict(zip((s.name for s in series), per)))


def _check_lengths(series: Sequence[NabSeries], arrays: Sequence[np.ndarray]) -> None:
    if len(series) != len(arrays):
        raise ValueError(f"{len(arrays)} arrays for {len(series)} series")
    for s, a in zip(series, arrays):
        if len(a) != len(s):
            raise ValueError(f"{s.name}: {len(a)} values for {len(s)} rows")


def detection_counts(series: Sequence[NabSeries], flags: Sequence[np.ndarray]) -> dict[str, int]:
    """How fixed detections fare, outside the probationary period: windows hit / scored, and
    detections outside windows (false positives)."""
    _check_lengths(series, flags)
    hit = fp = windows = 0
    for s, f in zip(series, flags):
        g = s.geometry()
        fired = np.asarray(f, dtype=bool) & g.scorable
        hit += len(np.intersect1d(np.unique(g.window[fired & (g.window >= 0)]), g.scored_windows))
        fp += int((fired & (g.window < 0)).sum())
        windows += len(g.scored_windows)
    return {"windows_hit": hit, "windows": windows, "false_positives": fp}
