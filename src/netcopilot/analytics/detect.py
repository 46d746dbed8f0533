"""Streaming anomaly detection: an ensemble of complementary causal detectors.

Every point's score uses only the points before it and itself, so scoring a file and scoring a
live feed one point at a time give the same numbers (`AnomalyDetector.stream()` is the live
form; `score_samples` runs the same state machine over an array).

Members, each a robust z-score of the newest point against a different expectation:

- `point`:    the median and spread of the recent window (spikes, dips).
- `seasonal`: the median of the same time of day over the previous days, with the spread of
              recent seasonal residuals (a broken daily pattern; a regular daily jump is not
              an anomaly). Used once two seasons have been seen.
- `level`:    the mean of the last 5 points against the recent window (sudden level shifts).
- `drift`:    the mean of the last 60 points against it (slow, sustained shifts).
- `rarity`:   how rarely values this close have been seen in the long history (new regimes).
- `joint`:    for several columns of one source (`MultiStream`), the Mahalanobis distance of the
              vector of their residuals from its recent covariance (a broken relation between
              columns, such as received traffic rising while sent traffic stays flat).

Each member's z-score becomes a tail probability against that member's own history of
z-scores (self-calibrating: a noisy series is not an alarm all day). A point within `min_z`
(3.5) robust standard deviations of what a member expects is never anomalous to that member,
however quiet the series has been: 3.5 is Iglewicz and Hoaglin's cut for the modified z-score. The ensemble takes the
smallest probability with a Bonferroni correction; the score is 1 - p (0..1). An alert is
raised when the score passes `threshold` and the point is the strongest of the last `refractory`
points, so one incident is one alert rather than a stream of them.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from netcopilot.nlu.intents import EstimatorContract

DAY = 86400


class SortedWindow:
    """The last `size` values, kept sorted too: O(log n) rank queries, O(n) memmove updates."""

    __slots__ = ("size", "order", "sorted")

    def __init__(self, size: int):
        self.size = size
        self.order: deque[float] = deque()
        self.sorted: list[float] = []

    def __len__(self) -> int:
        return len(self.order)

    def add(self, x: float) -> None:
        self.order.append(x)
        insort(self.sorted, x)
        if len(self.order) > self.size:
            old = self.order.popleft()
            del self.sorted[bisect_left(self.sorted, old)]

    def quantile(self, q: float) -> float:
        s = self.sorted
        return s[min(len(s) - 1, int(q * len(s)))]

    def median(self) -> float:
        s = self.sorted
        n = len(s)
        return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])

    def fraction_at_least(self, x: float) -> float:
        s = self.sorted
        return (len(s) - bisect_left(s, x)) / len(s) if s else 1.0

    def count_between(self, lo: float, hi: float) -> int:
        return bisect_right(self.sorted, hi) - bisect_left(self.sorted, lo)


MEMBERS = ("point", "seasonal", "level", "drift", "rarity")


@dataclass
class _State:
    """Everything the detector remembers between points (bounded memory)."""

    recent: SortedWindow
    shortq: deque
    longq: deque
    long_sum: float
    history: SortedWindow
    residuals: SortedWindow
    zs: dict[str, SortedWindow]  # each member's past z-scores (its calibration)
    phases: dict[int, deque]
    n: int
    recent_scores: deque
    spread_floor: float


class AnomalyDetector(EstimatorContract):
    """Causal ensemble anomaly detector with the scikit-learn estimator contract.

    `fit` only checks the hyper-parameters (the detector learns online, from the series it is
    scoring); `score_samples(values, timestamps)` gives 0..1 scores, `predict` the alerts as
    a boolean mask.
    """

    def __init__(self, *, window: int = 300, short: int = 5, history: int = 3000, seasons: int = 5,
                 calibration: int = 2000, min_points: int = 60, min_calibration: int = 200, threshold: float = 0.997,
                 drift: int = 60, refractory: int = 300, damping: float = 0.5, min_z: float = 3.5, min_seasons: int = 2, season: int | None = None):
        self.window = window
        self.short = short
        self.history = history
        self.seasons = seasons
        self.calibration = calibration
        self.min_points = min_points
        self.min_calibration = min_calibration
        self.threshold = threshold
        self.refractory = refractory
        self.drift = drift
        self.damping = damping
        self.min_z = min_z
        self.min_seasons = min_seasons
        self.season = season

    def fit(self, X: Any = None, y: Any = None) -> "AnomalyDetector":
        if not 0 < self.threshold < 1:
            raise ValueError("threshold must be in (0, 1)")
        if self.short >= self.window or self.window < 10:
            raise ValueError("need 10 <= window and short < window")
        self.members_ = MEMBERS
        return self

    # --- the streaming state machine -------------------------------------------------------------

    def _new_state(self) -> _State:
        return _State(
            recent=SortedWindow(self.window), shortq=deque(maxlen=self.short), longq=deque(maxlen=self.drift), long_sum=0.0, history=SortedWindow(self.history),
            residuals=SortedWindow(self.window), zs=defaultdict(lambda: SortedWindow(self.calibration)),
            phases={}, n=0, recent_scores=deque(maxlen=self.refractory), spread_floor=0.0,
        )

    def _period(self, step: float) -> int | None:
        if self.season is not None:
            return self.season or None
        if step <= 0:
            return None
        period = DAY / step
        return int(round(period)) if 12 <= period <= 2000 and abs(period - round(period)) < 0.01 else None

    @staticmethod
    def _spread(window: SortedWindow, floor: float) -> float:
        iqr = window.quantile(0.75) - window.quantile(0.25)
        return max(iqr / 1.349, floor, 1e-12)

    def stream(self, step_seconds: float) -> "Stream":
        """A live scorer: feed it one point at a time with `Stream.update(t, x)`."""
        if not hasattr(self, "members_"):
            self.fit()
        return Stream(self, self._period(step_seconds))

    def multi_stream(self, step_seconds: float, columns: int) -> MultiStream:
        """A live scorer for several columns of one source, with the cross-column member."""
        if not hasattr(self, "members_"):
            self.fit()
        return MultiStream(self, self._period(step_seconds), columns)

    def score_matrix(self, X: Any, timestamps: Any = None) -> dict[str, np.ndarray]:
        """The columns of X scored together: "score" and "anomaly" of shape (n, columns), and
        each member's z-scores (the same shape; `joint` included) for explanations."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        stream = self.multi_stream(_step_seconds(timestamps, len(X)), X.shape[1])
        out = {name: np.zeros(X.shape) for name in ("score", *MEMBERS, "joint")}
        out["anomaly"] = np.zeros(X.shape, dtype=bool)
        for i, row in enumerate(X.tolist()):
            for j, (score, alert) in enumerate(stream.update(row)):
                out["score"][i, j], out["anomaly"][i, j] = score, alert
                for m, z in stream.streams[j].last_z.items():
                    out[m][i, j] = z
        return out

    def score_samples(self, values: Iterable[float], timestamps: Any = None) -> np.ndarray:
        return self._run(values, timestamps)[0]

    def predict(self, values: Iterable[float], timestamps: Any = None) -> np.ndarray:
        return self._run(values, timestamps)[1]

    def detail(self, values: Iterable[float], timestamps: Any = None) -> dict[str, np.ndarray]:
        """Scores, alerts and each member's z-score (for explanations and plots)."""
        scores, alerts, members = self._run(values, timestamps, keep_members=True)
        return {"score": scores, "anomaly": alerts, **members}

    def _run(self, values: Iterable[float], timestamps: Any, keep_members: bool = False) -> tuple:
        x = np.asarray(values, dtype=float)
        step = _step_seconds(timestamps, len(x))
        stream = self.stream(step)
        scores = np.zeros(len(x))
        alerts = np.zeros(len(x), dtype=bool)
        members = {m: np.zeros(len(x)) for m in MEMBERS} if keep_members else None
        update = stream.update
        for i, v in enumerate(x.tolist()):
            scores[i], alerts[i] = update(v)
            if members is not None:
                for m, z in stream.last_z.items():
                    members[m][i] = z
        return (scores, alerts, members) if keep_members else (scores, alerts)


class Stream:
    """One series being scored live."""

    def __init__(self, detector: AnomalyDetector, period: int | None):
        self.d = detector
        self.period = period
        self.s = detector._new_state()
        self.last_z: dict[str, float] = {}

    def update(self, x: float) -> tuple[float, bool]:
        """Score the next point: (score 0..1, alert)."""
        p = self.observe(x)
        return (0.0, False) if p is None else self.emit(p)

    def observe(self, x: float, extra: dict[str, float] | None = None) -> float | None:
        """Take in the next point; its tail probability (Bonferroni over the members), or None
        for a missing value. `extra` adds z-scores of members computed outside (across columns)."""
        d, s = self.d, self.s
        self.resid = 0.0
        if x != x:  # NaN: a missing sample is neither scored nor remembered
            self.last_z = {}
            return None
        zs: dict[str, float] = {}
        if len(s.recent) >= d.min_points // 2:
            floor = s.spread_floor
            med = s.recent.median()
            spread = d._spread(s.recent, floor)
            self.resid = (x - med) / spread
            zs["point"] = abs(self.resid)
            short_mean = (sum(s.shortq) + x) / (len(s.shortq) + 1)
            zs["level"] = abs(short_mean - med) / spread * math.sqrt(min(len(s.shortq) + 1, d.short)) / 2
            if len(s.longq) >= 10:
                long_mean = (s.long_sum + x) / (len(s.longq) + 1)
                zs["drift"] = abs(long_mean - med) / spread * math.sqrt(len(s.longq) + 1) / 2
            # rarity: values within a quarter spread of x, among the long history
            width = 0.25 * max(d._spread(s.history, floor), floor)
            near = s.history.count_between(x - width, x + width)
            zs["rarity"] = -math.log((near + 1) / (len(s.history) + 1))
        if self.period:
            phase = s.n % self.period
            past = s.phases.get(phase)
            if past is not None and len(past) >= self.d.min_seasons:
                expected = sorted(past)[len(past) // 2]
                resid = x - expected
                if len(s.residuals) >= d.min_points // 2:
                    zs["seasonal"] = abs(resid) / max(s.residuals.quantile(0.5) * 1.4826, s.spread_floor, 1e-12)
                s.residuals.add(abs(resid))
            if past is None:
                past = s.phases[phase] = deque(maxlen=d.seasons)
            past.append(x)
        # when the daily pattern explains the series, judge points against it, not the window
        if "seasonal" in zs and "point" in zs and zs["seasonal"] * 2 < zs["point"] and s.n > 2 * (self.period or 0):
            zs["point"] = zs["seasonal"]
            zs["level"] = min(zs["level"], zs["seasonal"])
        p_min = 1.0
        if extra:
            zs.update(extra)
        for m, z in zs.items():
            cal = s.zs[m]
            if len(cal) >= d.min_calibration and (z >= d.min_z or m == "rarity"):
                p_min = min(p_min, _tail_probability(cal, z))
            cal.add(z)
        self.last_z = zs
        s.recent.add(x)
        s.shortq.append(x)
        if len(s.longq) == s.longq.maxlen:
            s.long_sum -= s.longq[0]
        s.longq.append(x)
        s.long_sum += x
        s.history.add(x)
        s.n += 1
        if s.n == d.min_points:
            s.spread_floor = 1e-3 * max(abs(s.recent.median()), s.recent.quantile(0.99) - s.recent.quantile(0.01), 1e-9)
        return min(1.0, p_min * max(len(zs), 1)) if s.n > d.min_points else 1.0

    def emit(self, p: float) -> tuple[float, bool]:
        """The score and alert of the point just observed, from its tail probability."""
        d, s = self.d, self.s
        raw = 1.0 - p
        # one incident, one peak: a point no more surprising than one just before it is not
        # news. Compared as -log p, which keeps telling extreme points apart where 1 - p is 1.0.
        surprise = -math.log(max(p, 1e-300))
        strongest = all(surprise > prev for prev in s.recent_scores)
        s.recent_scores.append(surprise)
        score = raw if strongest else raw * d.damping
        return score, bool(score >= d.threshold)


TAIL = 0.02  # beyond the top 2% of past z-scores, extrapolate with an exponential tail


def _tail_probability(cal: SortedWindow, z: float) -> float:
    """P(Z >= z) from this member's past z-scores: the empirical rank inside the body, an
    exponential tail fitted to the top TAIL fraction beyond it (so extreme points are told
    apart instead of all getting 1/(n+1))."""
    n = len(cal)
    s = cal.sorted
    k = max(3, int(TAIL * n))
    edge = s[n - k]
    if z <= edge:
        return (cal.fraction_at_least(z) * n + 1) / (n + 1)
    excess = sum(s[n - k:]) / k - edge
    return (k / (n + 1)) * math.exp(-(z - edge) / max(excess, 1e-9))


class MultiStream:
    """Several columns of one source scored together: each column by its own Stream, plus a
    `joint` member, the Mahalanobis distance of the vector of the columns' robust residuals from
    their recent covariance. It finds points where each column looks ordinary on its own but
    their relation breaks (received traffic up while sent traffic stays flat)."""

    REFIT = 25  # recompute the inverse covariance every this many points

    def __init__(self, detector: AnomalyDetector, period: int | None, columns: int):
        self.streams = [Stream(detector, period) for _ in range(columns)]
        self.d = detector
        self.past: deque[np.ndarray] = deque(maxlen=detector.window)
        self.inverse: np.ndarray | None = None
        self.since_fit = 0

    def update(self, xs: list[float]) -> list[tuple[float, bool]]:
        joint = self._joint(xs)
        out = []
        for j, (stream, x) in enumerate(zip(self.streams, xs)):
            # each column carries its share of the distance: the one that broke the pattern
            p = stream.observe(x, {"joint": joint[j]} if joint is not None and x == x else None)
            out.append((0.0, False) if p is None else stream.emit(p))
        return out

    def _joint(self, xs: list[float]) -> list[float] | None:
        if len(self.streams) < 2 or any(x != x for x in xs):
            return None
        # residuals against each column's recent median, as the columns' streams will see them
        resid = []
        for stream, x in zip(self.streams, xs):
            window = stream.s.recent
            if len(window) < self.d.min_points // 2:
                return None
            resid.append((x - window.median()) / self.d._spread(window, stream.s.spread_floor))
        r = np.asarray(resid)
        shares = None
        if self.inverse is not None:
            contribution = np.maximum(r * (self.inverse @ r), 0.0)
            total = float(contribution.sum())
            shares = (np.sqrt(total) * contribution / total).tolist() if total > 0 else [0.0] * len(r)
        self.past.append(r)
        self.since_fit += 1
        if len(self.past) >= self.d.min_points and (self.inverse is None or self.since_fit >= self.REFIT):
            data = np.asarray(self.past)
            cov = np.cov(data, rowvar=False)
            shrink = 1e-3 * np.trace(cov) / len(cov) * np.eye(len(cov))  # keep it invertible
            self.inverse = np.linalg.inv(cov + shrink + 1e-9 * np.eye(len(cov)))
            self.since_fit = 0
        return shares


def _step_seconds(timestamps: Any, n: int) -> float:
    if timestamps is None or n < 2:
        return 300.0
    t = np.asarray(timestamps)
    if np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[s]").astype(np.int64)
    diffs = np.diff(t.astype(float))
    diffs = diffs[diffs > 0]
    return float(np.median(diffs)) if len(diffs) else 300.0


def alerts_from(timestamps: np.ndarray, scores: np.ndarray, flags: np.ndarray, name: str,
                gap: int = 10) -> list[dict[str, Any]]:
    """Group alert points closer than `gap` samples into incidents with start, end, peak."""
    out: list[dict[str, Any]] = []
    idx = np.flatnonzero(flags)
    if not len(idx):
        return out
    groups: list[list[int]] = [[int(idx[0])]]
    for i in idx[1:]:
        if i - groups[-1][-1] <= gap:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    for g in groups:
        start, end = g[0], g[-1]
        peak = max(g, key=lambda i: scores[i])
        out.append({"start": str(timestamps[start]), "end": str(timestamps[end]), "peak_score": round(float(scores[peak]), 4),
                    "peak_index": peak, "message": ""})
    return out
