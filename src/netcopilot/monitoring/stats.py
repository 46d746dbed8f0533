"""The few statistics monitoring and A/B reports share: Wilson intervals, the two-proportion
z-test, a Beta-Binomial posterior and the per-arm sample size for a target effect.

Plain `math` and numpy, so the reports need nothing beyond what the core already imports.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()


def z_for(confidence: float) -> float:
    """Two-sided critical value: 1.96 for 0.95."""
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; honest at small n and near 0 or 1, where the
    textbook p +- z*se interval leaves [0, 1] or collapses to a point."""
    if n == 0:
        return 0.0, 1.0
    z = z_for(confidence)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) for H0: p1 == p2, with the pooled standard error. z > 0 when group 2
    is higher."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / se
    return z, 2 * (1 - _NORMAL.cdf(abs(z)))


def diff_interval(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """p2 - p1 and its Wald interval (unpooled standard error)."""
    if n1 == 0 or n2 == 0:
        return 0.0, -1.0, 1.0
    p1, p2 = k1 / n1, k2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    half = z_for(confidence) * se
    return p2 - p1, p2 - p1 - half, p2 - p1 + half


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def prob_better(k1: int, n1: int, k2: int, n2: int) -> float:
    """P(p2 > p1) under independent Beta(1 + k, 1 + n - k) posteriors (uniform priors), exactly:
    the closed-form sum over the candidate's successes (Evan Miller's formula), O(k2) terms, so
    it is deterministic and costs well under a millisecond for thousands of answers."""
    a1, b1, a2, b2 = 1 + k1, 1 + n1 - k1, 1 + k2, 1 + n2 - k2
    base = _log_beta(a1, b1)
    total = math.fsum(
        math.exp(_log_beta(a1 + i, b1 + b2) - math.log(b2 + i) - _log_beta(1 + i, b2) - base) for i in range(a2)
    )
    return min(1.0, max(0.0, total))


def sample_size(baseline: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Answers with feedback needed per arm to detect `baseline` -> `baseline + effect` with a
    two-sided test at `alpha` and the given power (the classic two-proportion formula)."""
    p1 = min(max(baseline, 0.01), 0.99)
    p2 = min(max(p1 + effect, 0.01), 0.99)
    if p1 == p2:
        raise ValueError("effect must move the rate")
    za, zb = z_for(1 - alpha), _NORMAL.inv_cdf(power)
    mean = (p1 + p2) / 2
    root = za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / (p2 - p1) ** 2)


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None
