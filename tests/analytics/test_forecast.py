"""Forecasting, threshold breaches, capacity planning and plots, on synthetic series with known truth."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from netcopilot.analytics.forecast import (BreachForecast, CapacityPlan, Forecaster, breach, capacity,
                                           parse_horizon, parse_limit, seasonal_naive)
from netcopilot.analytics.plots import plot_many, plot_series
from netcopilot.analytics.series import Series
from netcopilot.errors import InputError

STEP = 900           # 15-minute samples keep the fits fast
PER_DAY = 86400 // STEP
START = np.datetime64("2026-03-01T00:00:00", "s")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make(values, name: str = "metric", step: int = STEP) -> Series:
    values = np.asarray(values, dtype=np.float64)
    return Series(name, START + np.arange(len(values)) * np.timedelta64(step, "s"), values)


def seasonal_truth(t_days: np.ndarray) -> np.ndarray:
    return 50 + 2.0 * t_days + 10 * np.sin(2 * np.pi * t_days)


@pytest.fixture(scope="module")
def seasonal() -> tuple[Series, Forecaster, np.ndarray]:
    rng = np.random.default_rng(7)
    days = np.arange(14 * PER_DAY) / PER_DAY
    s = make(seasonal_truth(days) + rng.normal(0, 1.0, len(days)), name="router1:if_util")
    return s, Forecaster().fit(s), rng.normal(0, 1.0, PER_DAY)


def test_forecast_follows_trend_and_season(seasonal) -> None:
    s, f, future_noise = seasonal
    assert f.season_ == PER_DAY and f.model_.startswith("ETS(A,") and ",A)" in f.model_
    future_days = (len(s) + np.arange(PER_DAY)) / PER_DAY
    truth = seasonal_truth(future_days)
    mean, lower, upper = f.predict_interval(PER_DAY, alpha=0.05)
    assert mean.shape == lower.shape == upper.shape == (PER_DAY,)
    assert np.all(lower <= mean) and np.all(mean <= upper)
    assert np.mean(np.abs(mean - truth)) < 1.5                 # noise sd is 1
    assert np.corrcoef(mean, truth)[0, 1] > 0.95               # follows the daily shape
    assert mean[-8:].mean() - mean[:8].mean() == pytest.approx(truth[-8:].mean() - truth[:8].mean(), abs=1.5)
    observed = truth + future_noise
    assert np.mean((observed >= lower) & (observed <= upper)) > 0.85
    np.testing.assert_allclose(f.predict(PER_DAY), mean)
    fc = f.forecast(4)
    assert fc["timestamps"][0] == s.timestamps[-1] + np.timedelta64(STEP, "s")
    assert set(fc) == {"timestamps", "mean", "lower", "upper"}


def test_estimator_contract() -> None:
    f = Forecaster(trend="none", seasonal="daily")
    params = f.get_params()
    assert params["trend"] == "none" and params["seasonal"] == "daily" and "select" in params
    assert f.set_params(trend="damped") is f and f.trend == "damped"
    with pytest.raises(InputError):
        f.set_params(nonsense=1)
    assert not [a for a in vars(f) if a.endswith("_")]       # nothing learned before fit
    with pytest.raises(InputError, match="not fitted"):
        f.predict(3)
    values = 10 + np.sin(np.arange(200) / 5)
    assert f.fit(values) is f                                   # plain arrays work too
    assert f.model_.startswith("ETS") and f.step_ == np.timedelta64(60, "s") and f.n_obs_ == 200
    from sklearn.base import clone

    g = clone(f)
    assert g.get_params() == f.get_params() and not hasattr(g, "model_")
    with pytest.raises(InputError, match="trend"):
        Forecaster(trend="sideways").fit(values)


def test_tiny_constant_and_missing_inputs() -> None:
    f = Forecaster().fit(make([1.0, 2.0, 3.0]))
    mean, lower, upper = f.predict_interval(5)
    assert f.model_ == "drift" and mean[0] == pytest.approx(4.0)
    assert np.all(np.diff(upper - lower) > 0) and (upper - lower)[0] > 0.5   # wide, and widening
    with pytest.raises(InputError, match="at least 3"):
        Forecaster().fit(make([1.0, np.nan, np.nan, 2.0]))
    with pytest.raises(InputError):
        Forecaster().fit(make([np.nan] * 50))
    f = Forecaster().fit(make(np.full(500, 7.0)))
    assert f.model_ == "constant"
    np.testing.assert_allclose(f.predict_interval(10), np.full((3, 10), 7.0))
    rng = np.random.default_rng(3)
    values = 20 + 5 * np.sin(2 * np.pi * np.arange(4 * PER_DAY) / PER_DAY) + rng.normal(0, 0.5, 4 * PER_DAY)
    values[rng.random(len(values)) < 0.2] = np.nan             # 20% missing
    values[100:130] = np.nan                                    # and a gap
    mean, lower, upper = Forecaster().fit(make(values)).predict_interval(PER_DAY)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(lower)) and np.all(upper > lower)
    with pytest.raises(InputError):
        Forecaster().fit(make(values)).predict(0)


def test_long_series_is_aggregated_and_fast() -> None:
    rng = np.random.default_rng(5)
    n = 60 * 24 * 60                                            # 60 days of 1-minute samples
    values = 100 + 20 * np.sin(2 * np.pi * np.arange(n) / 1440) + rng.normal(0, 3, n)
    began = time.perf_counter()
    f = Forecaster().fit(make(values, step=60))
    assert time.perf_counter() - began < 8.0                    # ~1 s on a quiet machine
    assert f.agg_ > 1 and f.n_fit_ <= f.max_points
    assert f.season_ in (1440, 7 * 1440)                        # daily, or weekly (which holds the daily shape)
    mean, lower, upper = f.predict_interval(1440)
    assert len(mean) == 1440 and np.all(upper > lower)
    truth = 100 + 20 * np.sin(2 * np.pi * (n + np.arange(1440)) / 1440)
    assert np.mean(np.abs(mean - truth)) < 3


def test_breach_on_a_ramp() -> None:
    rng = np.random.default_rng(11)
    days = np.arange(10 * PER_DAY) / PER_DAY
    s = make(500 + 10 * days + rng.normal(0, 5, len(days)), name="wan:rx_mbps")
    b = breach(s, 650, "7d")
    assert isinstance(b, BreachForecast) and b.direction == "up" and not b.already_breached
    truth = START + np.timedelta64(15 * 86400, "s")            # 500 + 10/day reaches 650 on day 15
    assert abs((b.expected_at - truth) / np.timedelta64(1, "h")) < 24
    assert b.earliest <= truth and (b.latest is None or truth <= b.latest)
    assert b.probability > 0.8
    assert b.message.startswith("expected to cross 650 at ") and "probability of a breach within 7 days" in b.message
    assert len(b.forecast["mean"]) == 7 * PER_DAY


def test_no_breach_on_a_flat_series_and_already_breached() -> None:
    rng = np.random.default_rng(12)
    s = make(500 + rng.normal(0, 5, 10 * PER_DAY))
    b = breach(s, 650, "7d")
    assert b.expected_at is None and b.probability < 0.05
    assert b.message.startswith("not expected to cross 650 within 7 days")
    down = breach(s, 300, np.timedelta64(2, "D"))             # below the last value: downward
    assert down.direction == "down" and down.expected_at is None and "currently above 300" in down.message
    already = breach(s, 400, "1d", direction="up")
    assert already.already_breached and already.probability == 1.0 and already.message.startswith("already")
    with pytest.raises(InputError):
        breach(s, 650, "soon")


def growing(days: int = 30, noise: float = 2.0) -> Series:
    rng = np.random.default_rng(21)
    t = np.arange(days * PER_DAY) / PER_DAY
    return make(40 + 1.0 * t + 20 * np.sin(2 * np.pi * t) + rng.normal(0, noise, len(t)), name="core1:cpu_util")


def test_capacity_time_to_exhaustion_is_bracketed() -> None:
    s = growing()
    plan = capacity(s, "110")
    assert isinstance(plan, CapacityPlan) and plan.limit == 110 and plan.growing
    assert plan.slope_per_day == pytest.approx(1.0, abs=0.15)
    # truth: the daily 95th percentile of the process (fresh noise) reaches 110
    t = np.arange(200 * PER_DAY) / PER_DAY
    noise = np.random.default_rng(99).normal(0, 2.0, len(t))
    p95 = np.quantile((40 + t + 20 * np.sin(2 * np.pi * t) + noise).reshape(-1, PER_DAY), 0.95, axis=1)
    truth_day = np.argmax(p95 >= 110) + 0.5 - 30                # days after the end of the history
    assert plan.days_to_exhaustion == pytest.approx(truth_day, abs=2)
    last = s.timestamps[-1]
    truth_time = last + np.timedelta64(int(truth_day * 86400), "s")
    slack = np.timedelta64(86400, "s")
    assert plan.exhaustion_earliest - slack <= truth_time <= plan.exhaustion_latest + slack
    assert "reaches 110" in plan.message and "%/month" in plan.message
    assert capacity(s, "90%").already_exhausted            # the peak is about 90 already


def test_capacity_without_growth_and_already_exhausted() -> None:
    rng = np.random.default_rng(22)
    flat = make(60 + rng.normal(0, 3, 20 * PER_DAY), name="core1:cpu_util")
    plan = capacity(flat, 90)
    assert not plan.growing and plan.exhaustion_at is None
    assert plan.message.startswith("no growth")
    over = capacity(flat, 50)
    assert over.already_exhausted and over.message.startswith("already exhausted")
    with pytest.raises(InputError):
        capacity(make([1.0, 2.0]), 5)


def test_parse_limit() -> None:
    bits = make([1e8, 2e8, 3e8], name="edge:if_in_bits")
    byts = make([1e7, 2e7, 3e7], name="edge:if_in_bytes")
    pct = make([10.0, 55.0, 70.0], name="core1:cpu_util")
    assert parse_limit("1Gbps", bits) == 1e9
    assert parse_limit("500Mbps", bits) == 5e8
    assert parse_limit("10G", bits) == 1e10                    # bare prefix: bits
    assert parse_limit("1Gbps", byts) == 1.25e8                # the series is in bytes/s
    assert parse_limit("100MB/s", bits) == 8e8
    assert parse_limit("1.5e9", bits) == 1.5e9
    assert parse_limit("80%", pct) == 80
    assert parse_limit("0.8", pct) == 80                       # a fraction of 100%
    assert parse_limit("85", pct) == 85
    assert parse_limit(0.5, make([0.1, 0.3], name="disk_ratio")) == 0.5
    assert parse_limit("50%", make([0.1, 0.3], name="disk_ratio")) == 0.5
    for bad in ["", "fast", "-5", "0", "10 furlongs", "1Gbps/s/s"]:
        with pytest.raises(InputError):
            parse_limit(bad, bits)
    with pytest.raises(InputError, match="percentage"):
        parse_limit("80%", bits)
    with pytest.raises(InputError, match="percentage"):
        parse_limit("1Gbps", pct)


def test_parse_horizon() -> None:
    assert parse_horizon("7d") == np.timedelta64(7 * 86400, "s")
    assert parse_horizon("12h") == np.timedelta64(12 * 3600, "s")
    assert parse_horizon("2w") == np.timedelta64(14 * 86400, "s")
    assert parse_horizon("90m") == np.timedelta64(90 * 60, "s")
    assert parse_horizon(" 1.5 days ") == np.timedelta64(36 * 3600, "s")
    for bad in ["7", "7M", "tomorrow", "0d", "-1d", "100000w", "7 parsecs", 7]:
        with pytest.raises(InputError):
            parse_horizon(bad)


def test_seasonal_naive() -> None:
    np.testing.assert_array_equal(seasonal_naive([1, 2, 3, 4, 5, 6], 3, 5), [4, 5, 6, 4, 5])
    np.testing.assert_array_equal(seasonal_naive([1, 2, np.nan], 1, 2), [2, 2])   # NaN filled
    np.testing.assert_array_equal(seasonal_naive([1, 2], 5, 2), [2, 2])           # too short: naive


def test_plots_write_png(tmp_path: Path, seasonal) -> None:
    s, f, _ = seasonal
    n = len(s)
    anomalies = np.zeros(n, dtype=bool)
    anomalies[[50, 400, 900]] = True
    scores = np.abs(np.diff(s.values, prepend=s.values[0]))
    fc = f.forecast(PER_DAY, alpha=0.2)
    out = plot_series(tmp_path / "one.png", s, scores=scores, anomalies=anomalies,
                      alerts=[{"start": "2026-03-03T00:00:00", "end": "2026-03-03T06:00:00"},
                              {"start": s.timestamps[600], "end": s.timestamps[640]}],
                      forecast=fc, threshold=85.0, breach_at=fc["timestamps"][40], title="util")
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 10_000
    many = plot_many(tmp_path / "sub" / "many.png", [{"series": s, "forecast": fc},
                                                     {"series": make(np.arange(100.0)), "scores": np.ones(100),
                                                      "threshold": 50}])
    assert many.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(InputError):
        plot_series(tmp_path / "bad.png", s, anomalies=np.zeros(3, dtype=bool))
    with pytest.raises(InputError):
        plot_many(tmp_path / "bad.png", [{"series": s, "colour": "red"}])
