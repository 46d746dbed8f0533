"""Reference anomaly detectors to compare the product detector against on NAB.

Both follow the same contract as ``netcopilot.analytics.detect.AnomalyDetector``:
``score_samples(values, timestamps)`` returns one causal anomaly score in 0..1 per point
(the score of point i depends on points 0..i only) and ``predict(values, timestamps)``
returns boolean flags at the detector's fixed, as-deployed threshold.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc


def _fill_missing(values: np.ndarray) -> np.ndarray:
    """Carry the last seen value over NaNs (leading NaNs become the first real value, or 0)."""
    x = np.asarray(values, dtype=np.float64).copy()
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    if bad.all():
        return np.zeros_like(x)
    idx = np.where(bad, 0, np.arange(len(x)))
    np.maximum.accumulate(idx, out=idx)
    x = x[idx]
    first = np.flatnonzero(~bad)[0]
    x[:first] = x[first]
    return x


class WindowedGaussian:
    """NAB's "windowedGaussian" detector (nab/detectors/gaussian/windowedGaussian_detector.py).

    The mean and (population) standard deviation are taken over the previous points: every
    point while fewer than ``window`` have been seen, afterwards over the last ``window``
    points, refreshed once every ``step`` points. The score of a value is one minus its
    two-sided Gaussian tail probability, ``1 - Q(|x - mean| / std)`` (so 0.5 at the mean,
    towards 1 far from it); the very first point scores 0. NAB uses window 6400, step 100,
    and its optimised threshold is 1.0, i.e. only values whose score rounds to 1 in double
    precision (|z| above about 8.3) are flagged.
    """

    def __init__(self, window: int = 6400, step: int = 100, threshold: float = 1.0) -> None:
        self.window = window
        self.step = step
        self.threshold = threshold

    def score_samples(self, values: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        x = _fill_missing(values)
        n = len(x)
        mean = np.zeros(n)
        std = np.ones(n)
        if n == 0:
            return np.zeros(0)
        # Expanding phase: point i (1 <= i <= window) sees x[0:i]. Shifting by x[0] keeps the
        # running sums exact for flat series and small for offset ones.
        grow = min(n, self.window + 1)
        shifted = x[: grow - 1] - x[0]
        count = np.arange(1, grow, dtype=np.float64)
        mu = np.cumsum(shifted) / count
        var = np.maximum(np.cumsum(shifted * shifted) / count - mu * mu, 0.0)
        mean[1:grow] = mu + x[0]
        std[1:grow] = np.sqrt(var)
        # Sliding phase: point i > window sees the window as of the last refresh, which
        # happened after the point with index u = window - 1 + step * k.
        if n > self.window:
            i = np.arange(self.window, n)
            k = (i - self.window) // self.step
            for kk in np.unique(k):
                u = self.window - 1 + self.step * int(kk)
                chunk = x[u - self.window + 1 : u + 1]
                sel = k == kk
                mean[i[sel]] = chunk.mean()
                std[i[sel]] = chunk.std()
        std[std == 0.0] = 1e-6
        z = np.abs(x - mean) / std
        score = 1.0 - 0.5 * erfc(z / math.sqrt(2.0))
        score[0] = 0.0
        return score

    def predict(self, values: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        return self.score_samples(values, timestamps) >= self.threshold


class CausalIsolationForest:
    """An IsolationForest that only ever scores a point with a model fitted on earlier points.

    Features of point i (all from points <= i): the value, its first difference, its
    deviation from the mean of the previous ``context`` points, and the standard deviation of
    the last ``context`` points. The model is (re)fitted on the features of at most
    ``max_train`` most recent points every ``refit_every`` points, first once ``min_train``
    points are available; earlier points score 0. The score is the Isolation Forest anomaly
    score of Liu et al. (``-score_samples``), which lies in (0, 1] and is about 0.5 for
    ordinary points.
    """

    def __init__(
        self,
        context: int = 12,
        min_train: int = 256,
        refit_every: int = 512,
        max_train: int = 4096,
        n_estimators: int = 50,
        threshold: float = 0.75,
        random_state: int = 0,
    ) -> None:
        self.context = context
        self.min_train = min_train
        self.refit_every = refit_every
        self.max_train = max_train
        self.n_estimators = n_estimators
        self.threshold = threshold
        self.random_state = random_state

    def features(self, values: np.ndarray) -> np.ndarray:
        x = _fill_missing(values)
        n = len(x)
        c = self.context
        diff = np.diff(x, prepend=x[:1])
        csum = np.concatenate(([0.0], np.cumsum(x)))
        csq = np.concatenate(([0.0], np.cumsum((x - x[0] if n else x) ** 2)))
        i = np.arange(n)
        lo = np.maximum(i - c, 0)
        # mean of the previous c points (excluding the current one); the first point uses itself
        prev_n = i - lo
        prev_mean = np.where(prev_n > 0, (csum[i] - csum[lo]) / np.maximum(prev_n, 1), x)
        # std of the last c points including the current one
        lo2 = np.maximum(i + 1 - c, 0)
        m = (i + 1 - lo2).astype(np.float64)
        s1 = csum[i + 1] - csum[lo2] - m * (x[0] if n else 0.0)
        s2 = csq[i + 1] - csq[lo2]
        roll_std = np.sqrt(np.maximum(s2 / m - (s1 / m) ** 2, 0.0))
        return np.column_stack([x, diff, x - prev_mean, roll_std])

    def score_samples(self, values: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        from sklearn.ensemble import IsolationForest

        feats = self.features(values)
        n = len(feats)
        out = np.zeros(n)
        start = self.min_train
        while start < n:
            stop = min(n, start + self.refit_every)
            train = feats[max(0, start - self.max_train) : start]
            model = IsolationForest(
                n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=1
            ).fit(train)
            out[start:stop] = -model.score_samples(feats[start:stop])
            start = stop
        return out

    def predict(self, values: np.ndarray, timestamps: np.ndarray | None = None) -> np.ndarray:
        return self.score_samples(values, timestamps) >= self.threshold
