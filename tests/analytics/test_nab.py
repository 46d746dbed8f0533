"""NAB scoring, checked against values worked out by hand from NAB's definitions.

The synthetic file has 1000 rows (probationary period: the first 150) and one window over rows
500..599 (width W = 100). S(y) = 2 / (1 + exp(5 y)) - 1; S(-1) = 0.986614.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from netcopilot.analytics import nab
from netcopilot.analytics.baselines import CausalIsolationForest, WindowedGaussian

N = 1000
START = np.datetime64("2014-04-01T00:00:00", "s")
STEP = np.timedelta64(300, "s")
S_MINUS_1 = 2 / (1 + math.exp(-5)) - 1  # 0.986614
FP = nab.PROFILES["standard"]["fp"]
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab"


def S(y: float) -> float:
    return 2 / (1 + math.exp(5 * y)) - 1


def make_series(windows: list[tuple[int, int]], n: int = N, name: str = "cat/x.csv") -> nab.NabSeries:
    ts = START + STEP * np.arange(n)
    return nab.NabSeries(name, ts, np.zeros(n), [(ts[a], ts[b]) for a, b in windows])


def flags_at(rows: list[int], n: int = N) -> np.ndarray:
    f = np.zeros(n, dtype=bool)
    f[rows] = True
    return f


def raw(rows: list[int], profile: str = "standard", windows=((500, 599),)) -> float:
    s = make_series(list(windows))
    return nab.file_raw_score(s, flags_at(rows), profile)


def test_profiles_are_nabs():
    assert nab.PROFILES["standard"] == {"tp": 1.0, "fp": 0.11, "fn": 1.0, "tn": 1.0}
    assert nab.PROFILES["reward_low_FP_rate"]["fp"] == 0.22
    assert nab.PROFILES["reward_low_FN_rate"]["fn"] == 2.0


def test_scaled_sigmoid_reference_points():
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert nab.scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(3.01) == -1.0


def test_probation_length_follows_nab():
    assert nab.probation_length(1000) == 150
    assert nab.probation_length(4032) == 604
    assert nab.probation_length(100_000) == 750  # capped at 0.15 * 5000


@pytest.mark.parametrize("profile", list(nab.PROFILES))
def test_perfect_detector_scores_100_and_null_scores_0(profile):
    series = [make_series([(500, 599)]), make_series([(200, 260), (700, 900)]), make_series([])]
    perfect = [flags_at([w[0] for w in s.window_rows()]) for s in series]
    null = [np.zeros(N, dtype=bool) for _ in series]
    assert nab.score_flags(series, perfect, profile) == pytest.approx(100.0)
    assert nab.score_flags(series, null, profile) == pytest.approx(0.0)
    fn = nab.PROFILES[profile]["fn"]
    assert nab.null_and_perfect(series, profile) == (-3 * fn, 3.0)


def test_detection_at_window_start_earns_full_tp():
    assert raw([500]) == pytest.approx(1.0)


def test_detection_at_window_end_earns_almost_nothing():
    # position -(r - i + 1) / W = -1/100
    expected = S(-0.01) / S_MINUS_1
    assert raw([599]) == pytest.approx(expected)
    assert 0 < raw([599]) < 0.03


def test_detection_mid_window():
    # row 550: position -(599 - 550 + 1) / 100 = -0.5
    assert raw([550]) == pytest.approx(0.84828 / S_MINUS_1, abs=1e-5)


def test_missed_window_costs_fn():
    assert raw([]) == pytest.approx(-1.0)
    assert raw([], "reward_low_FN_rate") == pytest.approx(-2.0)


def test_fp_right_after_window_costs_almost_nothing():
    # NAB: distance past the window in units of (W - 1): row 600 -> 1/99, S ~ -0.025
    penalty = raw([500, 600]) - 1.0
    assert penalty == pytest.approx(FP * S(1 / 99))
    assert -0.01 < penalty < 0


def test_fp_one_window_length_after_costs_nearly_fp():
    penalty = raw([500, 599 + 99]) - 1.0  # position 1.0
    assert penalty == pytest.approx(-FP * 0.98661, abs=1e-5)


def test_fp_far_from_any_window_costs_fp():
    assert raw([500, 950]) - 1.0 == pytest.approx(-FP)  # position 351/99 > 3
    assert raw([300, 500]) - 1.0 == pytest.approx(-FP)  # before the first window
    assert raw([300], windows=()) == pytest.approx(-FP)  # file without windows


def test_fp_weight_relative_to_preceding_window_only():
    windows = ((300, 399), (700, 709))  # widths 100 and 10
    base = raw([300, 700], windows=windows)
    assert base == pytest.approx(2.0)
    # row 450 follows the wide window: 51/99 past it
    assert raw([300, 700, 450], windows=windows) - base == pytest.approx(FP * S(51 / 99))
    # row 720 follows the narrow window: 11/9 past it
    assert raw([300, 700, 720], windows=windows) - base == pytest.approx(FP * S(11 / 9))


def test_probationary_period_is_ignored():
    assert raw([0, 10, 149]) == pytest.approx(-1.0)
    assert raw([149, 500]) == pytest.approx(1.0)
    assert raw([150, 500]) == pytest.approx(1.0 - FP)


def test_only_first_detection_in_window_counts():
    assert raw([500, 510, 550, 599]) == pytest.approx(1.0)
    assert raw([550, 560]) == pytest.approx(raw([550]))


def test_low_fn_profile_penalises_misses_more_and_low_fp_penalises_fps_more():
    series = [make_series([(500, 599), (700, 799)])]
    flags = [flags_at([300, 500])]  # one FP before any window, one window hit at its start, one miss
    standard = nab.raw_scores(series, flags, "standard")[0]
    low_fn = nab.raw_scores(series, flags, "reward_low_FN_rate")[0]
    low_fp = nab.raw_scores(series, flags, "reward_low_FP_rate")[0]
    assert standard == pytest.approx(1 - 1 - 0.11)
    assert low_fn == pytest.approx(1 - 2 - 0.11)
    assert low_fp == pytest.approx(1 - 1 - 0.22)
    assert nab.score_flags(series, flags, "standard") == pytest.approx(100 * (standard + 2) / 4)
    assert nab.score_flags(series, flags, "reward_low_FN_rate") == pytest.approx(100 * (low_fn + 4) / 6)
    assert nab.score_flags(series, flags, "reward_low_FP_rate") < nab.score_flags(series, flags, "standard")


def test_window_wholly_in_probation_is_not_scored():
    s = make_series([(10, 20), (500, 599)])
    assert nab.count_windows([s]) == 1
    assert nab.file_raw_score(s, flags_at([]), "standard") == pytest.approx(-1.0)


def test_sweep_finds_perfect_threshold():
    series = [make_series([(500, 599)]), make_series([(300, 349)])]
    scores = []
    for s, start in zip(series, (500, 300)):
        sc = np.full(N, 0.3)
        sc[start] = 0.9
        sc[start + 5] = 0.95  # a later, stronger score in the window does not matter
        sc[800] = 0.6
        scores.append(sc)
    best, thr = nab.sweep(series, scores, "standard")
    assert best == pytest.approx(100.0)
    assert thr == pytest.approx(0.9)


def test_sweep_of_uninformative_scores_is_null():
    series = [make_series([(500, 599)])]
    best, thr = nab.sweep(series, [np.zeros(N)], "standard")
    assert best == pytest.approx(0.0)
    assert thr == math.inf


def test_sweep_curve_matches_fixed_flag_scoring():
    rng = np.random.default_rng(3)
    series = [make_series([(500, 599)]), make_series([(200, 260), (700, 900)]), make_series([])]
    scores = [np.round(rng.random(N) ** 4, 2) for _ in series]
    for profile in nab.PROFILES:
        curve = nab.sweep_curve(series, scores, profile)
        assert np.all(np.diff(curve.thresholds) < 0)
        for k in range(0, len(curve.thresholds), 7):
            t = curve.thresholds[k]
            direct = sum(nab.raw_scores(series, [sc >= t for sc in scores], profile))
            assert curve.raw[k] == pytest.approx(direct)
        best, thr = nab.sweep(series, scores, profile)
        assert best == pytest.approx(nab.score_flags(series, [sc >= thr for sc in scores], profile))
        assert best == pytest.approx(nab.normalise(curve.raw.max(), series, profile))


def test_nan_scores_never_detect():
    series = [make_series([(500, 599)])]
    sc = np.full(N, np.nan)
    sc[500] = 1.0
    assert nab.sweep(series, [sc], "standard") == (pytest.approx(100.0), 1.0)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        nab.score_flags([make_series([])], [np.zeros(N - 1, dtype=bool)], "standard")


@pytest.mark.skipif(not DATA.is_dir(), reason="NAB data not present")
def test_load_one_real_file():
    name = "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv"
    (s,) = nab.load_nab(DATA, names=[name])
    assert s.name == name and len(s) == 1243
    assert s.timestamps.dtype == np.dtype("datetime64[s]")
    assert s.window_rows() == [(218, 280), (308, 370)]
    assert s.probation == 186


def test_windowed_gaussian_is_causal_and_flags_a_spike():
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 1.0, 800)
    x[600] = 40.0
    det = WindowedGaussian(window=300, step=25)
    full = det.score_samples(x)
    assert np.allclose(det.score_samples(x[:550]), full[:550])
    assert full[0] == 0.0 and np.all((full >= 0) & (full <= 1))
    assert full[600] == 1.0 and det.predict(x)[600]
    # as in NAB, the second point is judged against a one-point window (std 1e-6): flagged too
    assert np.flatnonzero(det.predict(x)).tolist() == [1, 600]


def test_causal_isolation_forest_is_causal():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, 700)
    x[650] = 12.0
    det = CausalIsolationForest(min_train=200, refit_every=200, n_estimators=20)
    full = det.score_samples(x)
    assert np.allclose(det.score_samples(x[:500]), full[:500])
    assert np.all(full[:200] == 0) and np.all((full >= 0) & (full <= 1))
    assert full[650] == full.max()
