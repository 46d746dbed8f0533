"""Predictive analytics: forecasts, threshold breaches and capacity planning for one metric.

    Forecaster().fit(series).predict_interval(288)      mean, lower, upper for the next 288 steps
    breach(series, 900, "7d")                          when (and how likely) the metric crosses 900
    capacity(series, "1Gbps")                          when the daily peak trend reaches the limit

The forecaster is exponential smoothing in state-space form (statsmodels ``ETSModel``, additive
errors), chosen among a few candidates:

- trend: none, additive damped, or additive (linear);
- season: a daily and/or weekly additive season, offered only when the sampling step divides a
  day (or week) into a whole number of steps and the history holds at least two full seasons.

Selection (``select``), never looking past the training data:

- "backtest" (default): every candidate is fitted once; then, from ~300 origins inside the history,
  its filtered states forecast 1..H steps ahead (H = the longest season, else a day) and the
  candidate with the lowest mean absolute error wins - the simplest one within 2% of the best.
  Origins start after every candidate's heuristic initialization window (statsmodels uses up to
  5 seasons), so a season is only offered when at least one more season of history is left to test
  it (a weekly season therefore needs about 6 weeks). One-step criteria such as AIC miss smooth
  high-frequency seasons (a random walk follows a 5-minute sine almost as well one step ahead).
- "aic": lowest AIC, counting the heuristic initial states as parameters (``m - 1`` seasonal, plus
  level and trend), so a season must pay for itself.
- "validation": refit on the history minus its last season (at most 10%), lowest MAE there.

Robustness: NaNs and gaps are filled by linear interpolation on a regular grid; only the last
``max_history_days`` are used, and if that is still more than ``max_points`` samples they are
averaged into buckets (the forecast is interpolated back to the original step and the spread within
a bucket is added to the interval), so a fit stays within ~2 s. Isolated spikes are set aside before
fitting (Hampel filter), so the point forecast is the typical value rather than being dragged by
bursts. A constant history gives a constant forecast; fewer than 12 points (or failing fits) fall
back to a random walk with drift with a Student-t interval (wide on purpose); fewer than 3 usable
points raise ``InputError``.

Prediction intervals start from the model's analytical forecast variance, then are calibrated per
horizon step on the model's own multi-step errors over its training data (empirical prediction
intervals): the ETS "random walk" variance is far too wide for metrics that revert to a level, and
too symmetric for spiky ones. Breach probabilities come from sample paths of the same model, rescaled
the same way (``Forecaster.sample_paths``): the chance that the series crosses at least once within
the horizon, which accounts for the correlation between steps.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netcopilot.analytics.series import Series
from netcopilot.durations import DAY, FORM, UNIT, WEEK, DurationError, parse_duration
from netcopilot.errors import InputError

_MIN_MODEL_POINTS = 12  # below this: random walk with drift


# --------------------------------------------------------------------------------------------------
# small helpers


_HAMPEL_WINDOW = 15   # samples in the rolling median
_HAMPEL_K = 5.0       # robust standard deviations from the rolling median that make a spike


def _hampel(y: np.ndarray, window: int = _HAMPEL_WINDOW, k: float = _HAMPEL_K) -> np.ndarray:
    """Replace isolated spikes by the rolling median (Hampel filter). The scale is the rolling MAD,
    floored at the series-wide sample-to-sample noise (MAD of the differences / sqrt 2; the rolling
    MAD alone is 0 on monotone stretches), so a series that is mostly one value (zeros between
    bursts) treats every burst as a spike. Reflective padding: a single spike at the end stays a spike."""
    from numpy.lib.stride_tricks import sliding_window_view

    half = window // 2
    med = np.median(sliding_window_view(np.pad(y, half, mode="reflect"), window), axis=1)
    dev = np.abs(y - med)
    mad = 1.4826 * np.median(sliding_window_view(np.pad(dev, half, mode="reflect"), window), axis=1)
    d = np.diff(y)
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2)  # sample-to-sample noise
    floor = max(noise, 0.5 * 1.4826 * float(np.median(dev)), 1e-9 * float(np.max(np.abs(y))), 1e-300)
    spike = dev > k * np.maximum(mad, floor)
    return np.where(spike, med, y)


def _init_window(n: int, m: int) -> int:
    """Samples used by statsmodels' heuristic start for a season of m (min(5, n // m) cycles, at
    least 10 + 2 * (m // 2) samples); 10 without a season."""
    if not m:
        return 10
    return min(n, m * max(min(5, n // m), math.ceil((10 + 2 * (m // 2)) / m)))


def _rolling_origin_errors(res: Any, raw: np.ndarray, origins: np.ndarray, H: int) -> np.ndarray:
    """y[t+h] - forecast of y[t+h] made at origin t, for each origin and h = 1..H (NaN past the data).

    Forecasts come from the fitted ETS model's filtered states at t (level, trend, seasonal) and its
    final parameters - a rolling-origin backtest without refitting. Targets are ``raw`` (spikes in)."""
    n = len(raw)
    states = np.asarray(res.states, dtype=np.float64)
    h = np.arange(1, H + 1)
    mean = np.repeat(states[origins, 0][:, None], H, axis=1)
    if res.has_trend:
        phi = float(res.damping_trend) if res.damped_trend else 1.0
        phih = np.cumsum(phi ** h) if phi != 1.0 else h.astype(np.float64)
        mean = mean + states[origins, 1][:, None] * phih[None, :]
    if res.has_seasonal:
        m = int(res.seasonal_periods)
        sidx = origins[:, None] + h[None, :] - m * ((h[None, :] - 1) // m + 1)
        mean = mean + states[np.clip(sidx, 0, n - 1), -1]
    target = origins[:, None] + h[None, :]
    err = np.full(mean.shape, np.nan)
    inside = target < n
    err[inside] = raw[target[inside]] - mean[inside]
    return err


def _ets_simulate(res: Any, H: int, n_paths: int, rng: np.random.Generator,
                  keep: np.ndarray | None = None) -> np.ndarray:
    """Sample paths (n_paths, H) - or only the steps ``keep`` (0-based, sorted) - of an additive-error
    ETS model from the end of its data, Gaussian
    errors with the residual variance. Same recursion as ``ETSResults.simulate`` (checked equal for
    the same errors), which allocates (H + m) x m x paths for a season of m and is slow for long ones."""
    states = np.asarray(res.states, dtype=np.float64)
    n = len(states)
    sigma = math.sqrt(float(res.mse))
    level = np.full(n_paths, states[-1, 0])
    trend = np.full(n_paths, states[-1, 1]) if res.has_trend else np.zeros(n_paths)
    phi = float(res.damping_trend) if res.damped_trend else 1.0
    alpha = float(res.smoothing_level)
    beta = float(res.smoothing_trend) if res.has_trend else 0.0
    gamma = float(res.smoothing_seasonal) if res.has_seasonal else 0.0
    m = int(res.seasonal_periods) if res.has_seasonal else 0
    seas = np.repeat(states[n - m:, -1][:, None], n_paths, axis=1) if m else None
    keep = np.arange(H) if keep is None else np.asarray(keep)
    slot = np.full(H, -1)
    slot[keep] = np.arange(len(keep))
    out = np.empty((len(keep), n_paths))
    for i in range(H):
        e = rng.standard_normal(n_paths) * sigma
        s_old = seas[i % m] if m else 0.0
        if slot[i] >= 0:
            out[slot[i]] = level + phi * trend + s_old + e
        level = level + phi * trend + alpha * e
        trend = phi * trend + beta * e
        if m:
            seas[i % m] = s_old + gamma * e
    return out.T


def _to_seconds(ts: np.ndarray) -> np.ndarray:
    return np.asarray(ts).astype("datetime64[s]").astype(np.int64)


def _fmt_time(t: np.datetime64 | None) -> str:
    if t is None:
        return "-"
    return str(np.datetime64(t, "m")).replace("T", " ")


def _fmt_short(t: np.datetime64) -> str:
    d = np.datetime64(t, "s").astype(_dt.datetime)
    return f"{d:%b} {d.day} {d:%H:%M}"


def _fmt_duration(seconds: float) -> str:
    s = float(seconds)
    for unit, size in (("day", DAY), ("hour", 3600), ("minute", 60)):
        if s >= size and abs(s / size - round(s / size)) < 1e-9:
            n = int(round(s / size))
            return f"{n} {unit}{'s' if n != 1 else ''}"
    if s >= DAY:
        return f"{s / DAY:.1f} days"
    if s >= 3600:
        return f"{s / 3600:.1f} hours"
    return f"{s / 60:.0f} minutes"


def _fmt_num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return str(x)
    ax = abs(x)
    if ax != 0 and (ax >= 1e6 or ax < 1e-3):
        return f"{x:.3g}"
    if ax >= 100:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"
    return f"{x:.3g}"


def _timedelta(value: Any, what: str = "horizon") -> np.timedelta64:
    """A horizon given as text ("7d"), numpy/datetime timedelta."""
    if isinstance(value, str):
        return parse_horizon(value)
    if isinstance(value, np.timedelta64):
        td = value.astype("timedelta64[s]")
    elif isinstance(value, _dt.timedelta):
        td = np.timedelta64(int(value.total_seconds()), "s")
    else:
        raise InputError(f"{what} must be a duration like '7d', '12h', '2w' or '90m', not {value!r}")
    if td <= np.timedelta64(0, "s"):
        raise InputError(f"{what} must be positive, got {value!r}")
    return td


def _unpack(series_or_values: Any, timestamps: Any = None) -> tuple[np.ndarray | None, np.ndarray, str]:
    """(timestamps or None, float values, name) from a Series or an array."""
    if isinstance(series_or_values, Series):
        ts = np.asarray(series_or_values.timestamps).astype("datetime64[s]")
        vals = np.asarray(series_or_values.values, dtype=np.float64)
        return ts, vals, series_or_values.name
    try:
        vals = np.asarray(series_or_values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot use these values as a numeric series: {exc}") from None
    if timestamps is None:
        return None, vals, ""
    ts = np.asarray(timestamps).astype("datetime64[s]").ravel()
    if len(ts) != len(vals):
        raise InputError(f"{len(ts)} timestamps for {len(vals)} values")
    order = np.argsort(ts, kind="stable")
    return ts[order], vals[order], ""


# --------------------------------------------------------------------------------------------------
# baseline


def seasonal_naive(values: Any, season: int, horizon: int) -> np.ndarray:
    """Repeat the last ``season`` observations ``horizon`` steps ahead (the last value if ``season`` <= 1
    or the history is shorter than one season). NaNs are filled from neighbours first."""
    v = np.asarray(values, dtype=np.float64).ravel()
    horizon = int(horizon)
    if horizon < 0:
        raise InputError("horizon must be >= 0")
    ok = np.isfinite(v)
    if not ok.any():
        raise InputError("seasonal_naive needs at least one finite value")
    if not ok.all():
        idx = np.arange(len(v))
        v = np.interp(idx, idx[ok], v[ok])
    season = int(season)
    if season <= 1 or len(v) < season:
        return np.full(horizon, v[-1])
    last = v[-season:]
    return np.resize(last, horizon) if horizon else np.empty(0)


# --------------------------------------------------------------------------------------------------
# the forecaster


class Forecaster:
    """Exponential-smoothing forecaster with automatic season and trend selection.

    Follows the scikit-learn estimator conventions: hyper-parameters are keyword arguments stored
    unchanged, ``fit`` returns ``self``, learned state ends with ``_``, ``get_params``/``set_params``.

    seasonal: "auto" (daily/weekly when detectable), "none", "daily", "weekly", or an int period in
        samples of the original series.
    trend: "auto" (none, damped or linear, by ``select``), "none", "damped" or "linear".
    select: "backtest", "aic" or "validation" (see module docstring).
    robust: remove isolated spikes before fitting (Hampel filter); the point forecast is then the
        typical value, and the spikes still widen the (empirically calibrated) intervals.
    calibrate: scale the analytical interval per horizon step so that it matches the quantiles of the
        model's own multi-step errors over the training data (see ``predict_interval``).
    max_points: most samples the model sees (longer histories are averaged into buckets).
    max_history_days: only this recent part of the history is used.
    n_paths, random_state: sample paths for ``sample_paths`` (breach probabilities).
    """

    def __init__(self, *, seasonal: str | int = "auto", trend: str = "auto", select: str = "backtest",
                 robust: bool = True, calibrate: bool = True, max_points: int = 4000,
                 max_history_days: float = 56.0, n_paths: int = 1000, random_state: int | None = 0):
        self.seasonal = seasonal
        self.trend = trend
        self.select = select
        self.robust = robust
        self.calibrate = calibrate
        self.max_points = max_points
        self.max_history_days = max_history_days
        self.n_paths = n_paths
        self.random_state = random_state

    # -- scikit-learn style parameter access ---------------------------------------------------
    _PARAMS = ("seasonal", "trend", "select", "robust", "calibrate", "max_points", "max_history_days",
               "n_paths", "random_state")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> "Forecaster":
        for name, value in params.items():
            if name not in self._PARAMS:
                raise InputError(f"Forecaster has no parameter {name!r} (has: {', '.join(self._PARAMS)})")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = Forecaster().get_params()
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k]}
        return "Forecaster(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    # -- fitting -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not (self.seasonal in ("auto", "none", "daily", "weekly", None)
                or (isinstance(self.seasonal, (int, np.integer)) and not isinstance(self.seasonal, bool))):
            raise InputError(f"seasonal must be 'auto', 'none', 'daily', 'weekly' or an int period, "
                             f"not {self.seasonal!r}")
        if self.trend not in ("auto", "none", "damped", "linear", None):
            raise InputError(f"trend must be 'auto', 'none', 'damped' or 'linear', not {self.trend!r}")
        if self.select not in ("backtest", "aic", "validation"):
            raise InputError(f"select must be 'backtest', 'aic' or 'validation', not {self.select!r}")
        if int(self.max_points) < 50:
            raise InputError("max_points must be at least 50")
        if not float(self.max_history_days) > 0:
            raise InputError("max_history_days must be positive")

    def fit(self, series_or_values: Any, timestamps: Any = None) -> "Forecaster":
        """Fit on a ``Series`` or on an array of values (with optional timestamps; without them the
        samples are taken as evenly spaced and no daily/weekly season is looked for)."""
        self._check_params()
        ts, vals, name = _unpack(series_or_values, timestamps)
        vals = np.where(np.isfinite(vals), vals, np.nan)
        ok = np.isfinite(vals)
        if ok.sum() < 3:
            raise InputError(f"need at least 3 non-missing values to forecast{' ' + name if name else ''}, "
                             f"got {int(ok.sum())}")
        self.has_time_ = ts is not None
        self.name_ = name
        self.notes_: list[str] = []
        # trim leading/trailing missing values
        first, last = np.flatnonzero(ok)[[0, -1]]
        vals = vals[first:last + 1]
        if ts is None:
            step_s = 60
            ts = np.datetime64(0, "s") + np.arange(len(vals)) * np.timedelta64(step_s, "s")
        else:
            ts = ts[first:last + 1]
            if len(ts) > 1 and (np.diff(ts) <= np.timedelta64(0, "s")).any():
                # duplicated timestamps: average them
                uniq, inv = np.unique(ts, return_inverse=True)
                sums = np.zeros(len(uniq))
                cnt = np.zeros(len(uniq))
                np.add.at(sums, inv, np.nan_to_num(vals))
                np.add.at(cnt, inv, np.isfinite(vals))
                ts, vals = uniq, np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
            diffs = np.diff(_to_seconds(ts))
            step_s = int(max(1, np.median(diffs))) if len(diffs) else 60
        secs = _to_seconds(ts)
        # recent history only
        cutoff = secs[-1] - float(self.max_history_days) * DAY
        if secs[0] < cutoff:
            keep = secs >= cutoff
            self.notes_.append(f"used the last {float(self.max_history_days):g} days of {len(vals)} points")
            secs, vals = secs[keep], vals[keep]
        # regular grid, linear interpolation of gaps and NaNs
        idx = np.round((secs - secs[-1]) / step_s).astype(np.int64)
        idx -= idx[0]
        grid = np.full(int(idx[-1]) + 1, np.nan)
        good = np.isfinite(vals)
        grid[idx[good]] = vals[good]
        missing = ~np.isfinite(grid)
        if missing.any():
            pos = np.arange(len(grid))
            grid = np.interp(pos, pos[~missing], grid[~missing])
            if missing.mean() > 0.01:
                self.notes_.append(f"interpolated {missing.mean():.0%} missing samples")
        self.step_ = np.timedelta64(step_s, "s")
        self.last_time_ = np.datetime64(int(secs[-1]), "s")
        self.last_value_ = float(grid[-1])
        self.n_obs_ = len(grid)
        # bounded size: average into buckets of k samples (aligned to the end)
        k = max(1, math.ceil(len(grid) / int(self.max_points)))
        if k > 1:  # prefer a bucket that divides a day, so the daily season stays a whole number
            k = next((c for c in range(k, 2 * k + 1) if DAY % (c * step_s) == 0), k)
        within_var = 0.0
        if k > 1:
            usable = (len(grid) // k) * k
            blocks = grid[len(grid) - usable:].reshape(-1, k)
            y = blocks.mean(axis=1)
            within_var = float(np.mean(blocks.var(axis=1, ddof=1)))
            self.notes_.append(f"averaged every {k} samples ({len(grid)} -> {len(y)} points) to fit")
        else:
            y = grid
        self.agg_ = k
        self.within_var_ = within_var
        self.n_fit_ = len(y)
        self._raw = y
        self.spike_share_ = 0.0
        if self.robust and len(y) >= 3 * _HAMPEL_WINDOW:
            clean = _hampel(y)
            self.spike_share_ = float(np.mean(clean != y))
            if self.spike_share_:
                self.notes_.append(f"set aside {100 * self.spike_share_:.2g}% of samples as spikes while fitting")
            y = clean
        self._y = y
        self._calib: dict[int, np.ndarray] = {}
        self._fit_model(y, step_s * k)
        return self

    def _season_candidates(self, n: int, fit_step: int) -> list[int]:
        seasonal = self.seasonal
        if seasonal in ("none", None):
            return []
        if isinstance(seasonal, (int, np.integer)):
            m = int(round(int(seasonal) / self.agg_))
            if m < 2 or n < 2 * m:
                self.notes_.append(f"season of {seasonal} samples needs 2 full seasons of history; ignored")
                return []
            return [m]
        if not self.has_time_:
            return []
        out = []
        wanted = {"auto": (DAY, WEEK), "daily": (DAY,), "weekly": (WEEK,)}[seasonal]
        for period in wanted:
            m_exact = period / fit_step
            m = int(round(m_exact))
            if m < 2 or abs(m_exact - m) > 0.01 * m_exact:
                continue
            if n < 2 * m:
                if seasonal != "auto":
                    self.notes_.append(f"{seasonal} season needs 2 full seasons of history; ignored")
                continue
            out.append(m)
        return out

    def _fit_model(self, y: np.ndarray, fit_step: int) -> None:
        self.candidates_: dict[str, float] = {}
        self._res = None
        self.season_ = 0
        self.aic_ = float("nan")
        scale = float(np.max(np.abs(y))) or 1.0
        if np.ptp(y) <= 1e-12 * scale:
            self.model_ = "constant"
            self.sigma_ = 0.0
            self._level = float(y[-1])
            return
        if len(y) < _MIN_MODEL_POINTS:
            self._fit_drift(y, note=f"only {len(y)} points: random walk with drift, wide interval")
            return
        seasons = self._season_candidates(len(y), fit_step)
        trends = {"auto": ["none", "damped", "linear"], "none": ["none"], None: ["none"],
                  "damped": ["damped"], "linear": ["linear"]}[self.trend]
        if self.select == "backtest" and self.seasonal == "auto":
            # a season is a candidate only if its initial states (estimated from the first few
            # cycles) leave at least one more season of history to test it on
            testable = [m for m in seasons if len(y) - _init_window(len(y), m) >= max(m, 20)]
            for m in set(seasons) - set(testable):
                self.notes_.append(f"season of {m * self.agg_} samples: too little history to test it")
            seasons = testable
        specs = [(tr, m) for m in seasons for tr in trends]
        if not specs or self.seasonal in ("auto", "none", None):
            specs += [(tr, 0) for tr in trends]
        if self.select == "validation" and len(specs) > 1:
            chosen = self._select_by_validation(y, specs)
            specs = [chosen] + [s for s in specs if s != chosen]
        fitted = []
        for spec in specs:
            try:
                res, aic = self._fit_ets(y, *spec)
            except Exception as exc:  # noqa: BLE001 - any numerical failure: try the next candidate
                self.notes_.append(f"{self._spec_name(*spec)} failed: {type(exc).__name__}")
                continue
            fitted.append((aic, spec, res))
            if self.select == "validation":
                break
        backtested = self.select == "backtest" and len(fitted) > 1
        if backtested:
            fitted = self._backtest_scores(fitted, fit_step)
        for score, spec, _ in fitted:
            self.candidates_[self._spec_name(*spec)] = float(score)
        best = min(fitted, key=lambda c: c[0]) if fitted else None
        if best is not None and backtested and np.isfinite(best[0]):
            # parsimony: the simplest candidate within 2% of the best backtest error
            close = [c for c in fitted if c[0] <= best[0] * 1.02 + 1e-12]
            best = min(close, key=lambda c: (c[1][1], ["none", "damped", "linear"].index(c[1][0]), c[0]))
        if best is None:
            self._fit_drift(y, note="exponential smoothing failed: random walk with drift")
            return
        _, (trend, m), res = best
        self._res = res
        self.season_ = m * self.agg_
        self.model_ = self._spec_name(trend, m)
        self.aic_ = float(res.aic)
        self.sigma_ = float(np.sqrt(res.mse))

    @staticmethod
    def _spec_name(trend: str, m: int) -> str:
        t = {"none": "N", "damped": "Ad", "linear": "A"}[trend]
        return f"ETS(A,{t},{'A' if m else 'N'})" + (f" m={m}" if m else "")

    @staticmethod
    def _fit_ets(y: np.ndarray, trend: str, m: int):
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        kwargs: dict[str, Any] = dict(error="add", trend=None if trend == "none" else "add",
                                      damped_trend=trend == "damped")
        if m:
            kwargs.update(seasonal="add", seasonal_periods=m, initialization_method="heuristic")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ETSModel(pd.Series(y), **kwargs)
            res = model.fit(disp=False, maxiter=200)
        if not np.isfinite(res.llf) or not np.isfinite(res.mse):
            raise FloatingPointError("non-finite likelihood")
        k = res.model.k_params + 1  # + sigma
        if m:  # heuristic initial states are estimated from the data too: count them
            k += 1 + int(trend != "none") + (m - 1)
        return res, -2.0 * res.llf + 2.0 * k

    def _backtest_scores(self, fitted: list, fit_step: int) -> list:
        """Replace each candidate's score by its rolling-origin mean absolute error for h = 1..H
        (H = the longest season, else a day or 10% of the history), over the same origins for all."""
        n = self.n_fit_
        m_max = max(spec[1] for _, spec, _ in fitted)
        day = DAY // fit_step if self.has_time_ else n // 10
        H = m_max or max(1, min(n // 10, day))
        # origins after every candidate's initialization window, so no target was used to start it
        burn = max(_init_window(n, spec[1]) for _, spec, _ in fitted)
        if n - burn < 20:
            burn = max(10, n // 2)
        H = int(max(1, min(H, n - burn - 1)))
        origins = np.arange(burn, n - 1, max(1, (n - 1 - burn) // 300))
        out = []
        for aic, spec, res in fitted:
            err = _rolling_origin_errors(res, self._raw, origins, H)
            out.append((float(np.nanmean(np.abs(err))), spec, res))
        self.notes_.append(f"chose by backtest: mean abs error over h=1..{H} from {len(origins)} origins")
        return out

    def _select_by_validation(self, y: np.ndarray, specs: list[tuple[str, int]]) -> tuple[str, int]:
        """Refit each candidate on y minus its tail (one longest season, at most 10%) and keep the
        lowest mean absolute error on that tail."""
        longest = max(m for _, m in specs)
        hold = max(1, min(longest, len(y) // 10) if longest else len(y) // 10)
        train, test = y[:-hold], self._raw[-hold:]
        scores = {}
        for trend, m in specs:
            if m and len(train) < 2 * m:
                continue
            try:
                res, _ = self._fit_ets(train, trend, m)
                scores[(trend, m)] = float(np.mean(np.abs(np.asarray(res.forecast(hold)) - test)))
            except Exception:  # noqa: BLE001
                continue
        self.validation_mae_ = {self._spec_name(*s): v for s, v in scores.items()}
        return min(scores, key=scores.get) if scores else specs[0]

    def _fit_drift(self, y: np.ndarray, note: str) -> None:
        self.notes_.append(note)
        self.model_ = "drift"
        n = len(y)
        d = np.diff(y)
        drift = float(d.mean())
        resid = d - drift
        sigma = float(np.sqrt(np.sum(resid ** 2) / max(1, n - 2)))
        floor = 0.05 * max(float(np.ptp(y)), float(np.abs(y).mean()), 1e-12)
        self._drift = drift
        self._level = float(y[-1])
        self._df = max(1, n - 2)
        self.sigma_ = max(sigma, floor)

    # -- prediction ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise InputError("this Forecaster is not fitted yet: call fit() first")

    def _fit_steps(self, horizon_steps: int) -> tuple[int, np.ndarray | None]:
        """How many model steps cover the horizon, and the positions (in model steps, 1 = the first
        future bucket) of the original future steps 1..h when samples were averaged."""
        k = self.agg_
        if k == 1:
            return horizon_steps, None
        j = np.arange(1, horizon_steps + 1)
        # bucket i (1-based into the future) is centred at (i*k - (k-1)/2) original steps ahead
        pos = (j + (k - 1) / 2) / k
        return int(math.ceil(pos[-1])) + 1, pos

    def _model_distribution(self, H: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and analytical standard deviation of the ETS model for model steps 1..H."""
        n = self.n_fit_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = self._res.get_prediction(start=n, end=n + H - 1)
            mean = np.asarray(pred.predicted_mean, dtype=np.float64)
            var = np.asarray(pred.forecast_variance, dtype=np.float64)
        return mean, np.sqrt(np.maximum(var, 0.0))

    def _standardized_errors(self, H: int) -> np.ndarray:
        """Errors of the model's own h-step forecasts (h = 1..Hc, Hc <= H) from many origins inside
        the training data, divided by the analytical standard deviation at h: shape (origins, Hc),
        NaN where the target lies past the data (see ``_rolling_origin_errors``)."""
        res, n = self._res, self.n_fit_
        m = res.seasonal_periods if res.has_seasonal else 0
        burn = _init_window(n, m) if n - _init_window(n, m) >= 40 else max(m, 10)
        Hc = int(min(H, max(1, (n - burn) // 2)))
        if Hc not in self._calib:
            origins = np.arange(burn, n - 1, max(1, (n - 1 - burn) // 400))
            err = _rolling_origin_errors(res, self._raw, origins, Hc)
            _, sd = self._model_distribution(Hc)
            self._calib[Hc] = err / np.maximum(sd, 1e-12 * max(1.0, float(np.abs(self._raw).max())))[None, :]
        return self._calib[Hc]

    def _calibrated_quantiles(self, H: int, probs: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Per model step 1..H, the standardized error quantiles (lower, upper), smoothed over h and
        held constant past the calibrated range."""
        z = self._standardized_errors(H)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = np.nanquantile(z, probs, axis=0)  # (2, Hc)
        q = np.where(np.isfinite(q), q, np.nan)
        Hc = q.shape[1]
        w = max(1, Hc // 20)
        if w > 1:
            from numpy.lib.stride_tricks import sliding_window_view

            pad = np.pad(q, ((0, 0), (w // 2, w - 1 - w // 2)), mode="edge")
            q = np.nanmean(sliding_window_view(pad, w, axis=1), axis=2)
        lo = np.concatenate([q[0], np.full(max(0, H - Hc), q[0, -1])])[:H]
        hi = np.concatenate([q[1], np.full(max(0, H - Hc), q[1, -1])])[:H]
        return np.minimum(lo, 0.0), np.maximum(hi, 0.0)

    def _to_original_steps(self, values: np.ndarray, pos: np.ndarray | None) -> np.ndarray:
        if pos is None:
            return values
        return np.interp(pos, np.arange(1, len(values) + 1), values)

    def predict(self, horizon_steps: int) -> np.ndarray:
        """Point forecast for the next ``horizon_steps`` samples (at the series' step)."""
        self._check_fitted()
        h = self._check_h(horizon_steps)
        if self.model_ == "constant":
            return np.full(h, self._level)
        if self.model_ == "drift":
            return self._level + self._drift * np.arange(1, h + 1)
        H, pos = self._fit_steps(h)
        return self._to_original_steps(self._model_distribution(H)[0], pos)

    @staticmethod
    def _check_h(horizon_steps: int) -> int:
        try:
            h = int(horizon_steps)
        except (TypeError, ValueError):
            raise InputError(f"horizon_steps must be an integer, not {horizon_steps!r}") from None
        if h < 1:
            raise InputError(f"horizon_steps must be at least 1, got {horizon_steps}")
        return h

    def predict_interval(self, horizon_steps: int, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, lower, upper) of the central ``1 - alpha`` prediction interval.

        ETS models: the analytical forecast standard deviation at each step, multiplied by the
        alpha/2 and 1 - alpha/2 quantiles of the model's standardized multi-step errors on its own
        training data (empirical prediction intervals; asymmetric when the errors are, e.g. spikes).
        With ``calibrate=False`` or too little data: the Gaussian interval. Constant history: the
        spread of the values around it (zero width if none). Random walk with drift: Student-t.
        """
        from scipy import stats

        self._check_fitted()
        h = self._check_h(horizon_steps)
        if not 0 < alpha < 1:
            raise InputError(f"alpha must be between 0 and 1, got {alpha}")
        zq = stats.norm.ppf(1 - alpha / 2)
        mean = self.predict(h)
        if self.model_ == "constant":
            dev = self._raw - self._level
            lo, hi = np.quantile(dev, [alpha / 2, 1 - alpha / 2]) if np.any(dev) else (0.0, 0.0)
            extra = zq * math.sqrt(self.within_var_)
            return mean, mean + min(lo, 0.0) - extra, mean + max(hi, 0.0) + extra
        if self.model_ == "drift":
            j = np.arange(1, h + 1)
            std = self.sigma_ * np.sqrt(j * (1 + j / max(1, self._df + 1)))
            q = stats.t.ppf(1 - alpha / 2, self._df)
            return mean, mean - q * std, mean + q * std
        H, pos = self._fit_steps(h)
        _, sd = self._model_distribution(H)
        if self.calibrate and self.n_fit_ > 3 * _HAMPEL_WINDOW:
            qlo, qhi = self._calibrated_quantiles(H, (alpha / 2, 1 - alpha / 2))
            qlo = np.where(np.isfinite(qlo), qlo, -zq)
            qhi = np.where(np.isfinite(qhi), qhi, zq)
        else:
            qlo, qhi = np.full(H, -zq), np.full(H, zq)
        down = self._to_original_steps(-qlo * sd, pos)
        up = self._to_original_steps(qhi * sd, pos)
        if self.within_var_ > 0:
            extra = (zq ** 2) * self.within_var_
            down, up = np.sqrt(down ** 2 + extra), np.sqrt(up ** 2 + extra)
        # a floor for (near) perfect fits: rounding-level errors should not fall outside
        floor = 1e-6 * (float(np.max(np.abs(self._raw))) + 1e-12)
        return mean, mean - np.maximum(down, floor), mean + np.maximum(up, floor)

    def future_timestamps(self, horizon_steps: int) -> np.ndarray:
        self._check_fitted()
        return self.last_time_ + np.arange(1, self._check_h(horizon_steps) + 1) * self.step_

    def forecast(self, horizon_steps: int, alpha: float = 0.05) -> dict[str, np.ndarray]:
        """{"timestamps", "mean", "lower", "upper"}: what ``plots.plot_series(forecast=...)`` takes."""
        mean, lower, upper = self.predict_interval(horizon_steps, alpha)
        return {"timestamps": self.future_timestamps(horizon_steps), "mean": mean, "lower": lower, "upper": upper}

    def sample_paths(self, horizon_steps: int, n_paths: int | None = None, every: int = 1) -> np.ndarray:
        """Simulated future paths, shape (n_paths, len(steps)) for steps ``every, 2*every, ...`` up
        to ``horizon_steps`` (always included); ``every=1`` gives every step.

        ETS: simulations of the model's state-space recursion, with each step's deviation from the
        mean rescaled (up and down separately) by the calibration of the 95% interval, so paths agree
        with ``predict_interval`` and keep the model's correlation between steps."""
        self._check_fitted()
        h = self._check_h(horizon_steps)
        n = int(n_paths or self.n_paths)
        every = max(1, int(every))
        cols = np.arange(every, h + 1, every)
        if not len(cols) or cols[-1] != h:
            cols = np.append(cols, h)
        rng = np.random.default_rng(self.random_state)
        if self.model_ == "constant":
            dev = self._raw - self._level
            return self._level + (rng.choice(dev, size=(n, len(cols))) if np.any(dev) else np.zeros((n, len(cols))))
        if self.model_ == "drift":
            nobs = self._df + 2
            drift = self._drift + rng.standard_normal((n, 1)) * self.sigma_ / math.sqrt(max(1, nobs - 1))
            steps = self.sigma_ * rng.standard_t(self._df, size=(n, h))
            return (self._level + drift * np.arange(1, h + 1) + np.cumsum(steps, axis=1))[:, cols - 1]
        H, pos = self._fit_steps(h)
        where = cols.astype(np.float64) if pos is None else pos[cols - 1]   # in model steps, 1-based
        lo = np.clip(np.floor(where).astype(int), 1, H) - 1
        hi = np.clip(lo + 1, 0, H - 1)
        w = np.clip(where - (lo + 1), 0, 1)
        need = np.unique(np.concatenate([lo, hi]))
        sims = _ets_simulate(self._res, H, n, rng, keep=need)  # (n, len(need))
        mean, sd = self._model_distribution(H)
        if self.calibrate and self.n_fit_ > 3 * _HAMPEL_WINDOW:
            zq = 1.959963984540054
            qlo, qhi = self._calibrated_quantiles(H, (0.025, 0.975))
            up = np.where(np.isfinite(qhi), qhi / zq, 1.0)[need]
            down = np.where(np.isfinite(qlo), -qlo / zq, 1.0)[need]
            dev = sims - mean[need][None, :]
            sims = mean[need][None, :] + np.where(dev > 0, dev * up[None, :], dev * down[None, :])
        if self.within_var_ > 0:
            sims = sims + rng.standard_normal(sims.shape) * math.sqrt(self.within_var_)
        a, b = np.searchsorted(need, lo), np.searchsorted(need, hi)
        return sims[:, a] * (1 - w) + sims[:, b] * w


# --------------------------------------------------------------------------------------------------
# parsing user input

def parse_horizon(text: str) -> np.timedelta64:
    """"7d", "12h", "2w", "90m" (m = minutes), "30s", "1.5d", "3 days" -> numpy timedelta64[s].

    At most 10 years; months and years are not accepted (ambiguous lengths)."""
    if not isinstance(text, str):
        raise InputError(f"a horizon is text like '7d', '12h', '2w' or '90m', not {text!r}")
    try:
        seconds = parse_duration(text).total_seconds()
    except DurationError as exc:
        if exc.problem == FORM:
            raise InputError(f"cannot read the horizon {text!r}: use a number and a unit, like 7d, 12h, 2w or 90m") from None
        if exc.problem == UNIT:
            raise InputError(f"unknown time unit {exc.unit!r} in {text!r}: use s, m (minutes), h, d or w") from None
        seconds = math.inf  # TOO_LONG: beyond any timedelta, so beyond 10 years too
    if seconds < 1:
        raise InputError(f"the horizon {text!r} must be at least one second")
    if seconds > 10 * 366 * DAY:
        raise InputError(f"the horizon {text!r} is longer than 10 years")
    return np.timedelta64(int(round(seconds)), "s")


_PERCENT_NAME = re.compile(r"percent|pct|util|cpu|%|usage", re.IGNORECASE)
_FRACTION_NAME = re.compile(r"ratio|fraction", re.IGNORECASE)
_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15,
           "ki": 2.0 ** 10, "mi": 2.0 ** 20, "gi": 2.0 ** 30, "ti": 2.0 ** 40}


def _series_kind(series: Series) -> str:
    """'percent', 'fraction' or 'rate', from the name and the range of the values.

    percent: a name with cpu/util/percent/pct/usage/% (and no negative values), or any series whose
    values lie within 0..100 with some above 1; fraction: values within 0..1 and a name with
    ratio/fraction; rate: anything else."""
    v = np.asarray(series.values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v) or v.min() < 0:
        return "rate"
    name = series.name or ""
    if _FRACTION_NAME.search(name) and v.max() <= 1:
        return "fraction"
    if _PERCENT_NAME.search(name) or (1 < v.max() <= 100):
        return "percent"
    return "rate"


def series_in_bytes(series: Series) -> bool:
    """Rates are assumed to be bits per second unless the series name mentions bytes."""
    return "byte" in (series.name or "").lower()


def parse_limit(text: str | float, series: Series) -> float:
    """A capacity limit in the series' own units.

    - a number (int/float) is taken as is, in the series' units;
    - a bare number as text ("900", "0.8", "1.5e9") too, except that a number below 1 for a series
      that looks like a percentage (values within 0..100 with some above 1, or a name with
      cpu/util/percent/pct/usage) is read as a fraction: "0.8" -> 80;
    - "80%": 80 for a percentage series, 0.8 for a fraction series (0..1 and a cpu/util/ratio name);
      an error for anything else (a percentage of what?);
    - a rate: number + SI prefix (k, M, G, T; m/g/t accepted as mega/giga/tera; Ki/Mi/Gi binary)
      + optional unit: "bps", "b/s", "bit/s" = bits, "Bps", "B/s", "B", "bytes/s" = bytes; no unit
      ("10G") = bits. Series values are assumed to be bits/s unless the series name mentions
      "byte", in which case the limit is converted to bytes/s (and bytes to bits the other way).
    """
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        value = float(text)
        if not np.isfinite(value) or value <= 0:
            raise InputError(f"a limit must be a positive number, not {text!r}")
        return value
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"a limit is text like '1Gbps', '500Mbps', '10G', '80%' or '0.8', not {text!r}")
    m = re.fullmatch(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*", text)
    if not m:
        raise InputError(f"cannot read the limit {text!r}: use e.g. 1Gbps, 500Mbps, 10G, 80% or 0.8")
    number, unit = float(m.group(1)), m.group(2)
    if not np.isfinite(number) or number <= 0:
        raise InputError(f"a limit must be positive, got {text!r}")
    kind = _series_kind(series)
    if unit == "":
        if kind == "percent" and number < 1:
            return number * 100.0
        return number
    if unit == "%":
        if kind == "percent":
            return number
        if kind == "fraction":
            return number / 100.0
        raise InputError(f"{text!r} is a percentage but {series.name or 'the series'} does not look like a "
                         f"percentage; give an absolute limit such as 1Gbps or a plain number")
    um = re.fullmatch(r"([kKmMgGtTpP]i?)?\s*(bps|b/s|bits?/s|bits?|b|Bps|B/s|B|bytes?/s|bytes?|byte/sec)?", unit)
    if not um or (um.group(1) is None and um.group(2) is None):
        raise InputError(f"unknown unit {unit!r} in the limit {text!r}: use bps, Kbps, Mbps, Gbps, "
                         f"B/s, MB/s, GB/s, a bare prefix (10G), % or a plain number")
    if kind == "percent" and _PERCENT_NAME.search(series.name or ""):
        raise InputError(f"{text!r} is a rate but {series.name} looks like a percentage; give e.g. 80% or 80")
    prefix = _PREFIX[(um.group(1) or "").lower()]
    u = um.group(2) or "b"
    in_bytes = u in ("Bps", "B/s", "B") or u.startswith("byte")
    value_bits = number * prefix * (8.0 if in_bytes else 1.0)
    return value_bits / 8.0 if series_in_bytes(series) else value_bits


# --------------------------------------------------------------------------------------------------
# threshold breaches


@dataclass
class BreachForecast:
    """When a metric is expected to cross a threshold within a horizon, and how likely it is."""

    series: str
    threshold: float
    direction: str                     # "up" (crossing from below) or "down"
    horizon: np.timedelta64
    last_time: np.datetime64
    last_value: float
    already_breached: bool
    expected_at: np.datetime64 | None  # first time the mean forecast crosses
    earliest: np.datetime64 | None     # first time the optimistic bound of the interval crosses
    latest: np.datetime64 | None       # first time the pessimistic bound crosses (None: not in horizon)
    probability: float                 # P(the series crosses at least once within the horizon)
    level: float                       # the interval's coverage, e.g. 0.8
    model: str
    message: str
    forecast: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def horizon_txt_of(td: np.timedelta64) -> str:
    return _fmt_duration(int(np.timedelta64(td, "s").astype(np.int64)))


def _first_cross(values: np.ndarray, threshold: float, up: bool) -> int | None:
    hit = values >= threshold if up else values <= threshold
    return int(np.argmax(hit)) if hit.any() else None


def breach(series: Series, threshold: float, horizon: str | np.timedelta64 | _dt.timedelta = "7d", *,
           direction: str = "auto", level: float = 0.8, forecaster: Forecaster | None = None,
           n_paths: int = 1000) -> BreachForecast:
    """Forecast whether and when ``series`` crosses ``threshold`` within ``horizon``.

    direction "auto": upward if the threshold is above the last value, downward otherwise.
    A (fitted or unfitted) ``forecaster`` can be passed; by default ``Forecaster()`` is fitted.
    """
    if not isinstance(series, Series):
        raise InputError("breach() needs a Series")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"the threshold must be a number, not {threshold!r}") from None
    if not np.isfinite(threshold):
        raise InputError("the threshold must be a finite number")
    if direction not in ("auto", "up", "down"):
        raise InputError(f"direction must be 'auto', 'up' or 'down', not {direction!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    td = _timedelta(horizon)
    f = forecaster if forecaster is not None else Forecaster(n_paths=n_paths)
    if not hasattr(f, "model_"):
        f.fit(series)
    step = int(f.step_.astype(np.int64))
    h = max(1, int(math.ceil(int(td.astype(np.int64)) / step)))
    if h > 1_000_000:
        raise InputError(f"the horizon {horizon_txt_of(td)} is more than a million samples of this series")
    last_value, last_time = f.last_value_, f.last_time_
    up = threshold > last_value if direction == "auto" else direction == "up"
    mean, lower, upper = f.predict_interval(h, alpha=1 - level)
    fc = {"timestamps": f.future_timestamps(h), "mean": mean, "lower": lower, "upper": upper}
    horizon_txt = _fmt_duration(int(td.astype(np.int64)))
    thr_txt = _fmt_num(threshold)
    base = dict(series=series.name, threshold=threshold, direction="up" if up else "down", horizon=td,
                last_time=last_time, last_value=last_value, level=level, model=f.model_, forecast=fc)
    already = (last_value >= threshold) if up else (last_value <= threshold)
    if already:
        msg = (f"already {'at or above' if up else 'at or below'} {thr_txt}: last value {_fmt_num(last_value)} "
               f"at {_fmt_time(last_time)}")
        return BreachForecast(already_breached=True, expected_at=last_time, earliest=last_time,
                              latest=last_time, probability=1.0, message=msg, **base)
    times = fc["timestamps"]
    i_mean = _first_cross(mean, threshold, up)
    i_early = _first_cross(upper if up else lower, threshold, up)
    i_late = _first_cross(lower if up else upper, threshold, up)
    paths = f.sample_paths(h, n_paths=n_paths, every=max(1, math.ceil(h / 5000)))
    extreme = paths.max(axis=1) if up else paths.min(axis=1)
    prob = float(np.mean(extreme >= threshold if up else extreme <= threshold))
    expected_at = times[i_mean] if i_mean is not None else None
    earliest = times[i_early] if i_early is not None else None
    latest = times[i_late] if i_late is not None else None
    pct = f"{level:.0%}"
    prefix = ""
    if direction == "auto" and not up:
        prefix = f"currently above {thr_txt} ({_fmt_num(last_value)}); "
    if expected_at is not None:
        bracket = (f"{_fmt_short(earliest)} – {_fmt_short(latest)}" if latest is not None
                   else f"{_fmt_short(earliest)} – after {_fmt_short(times[-1])}")
        what = f"expected to cross {thr_txt} at {_fmt_time(expected_at)} ({pct} interval {bracket})"
    else:
        stays = "below" if up else "above"
        what = f"not expected to cross {thr_txt} within {horizon_txt} (forecast stays {stays} it"
        what += f"; the {pct} band reaches it at {_fmt_time(earliest)})" if earliest is not None else ")"
    msg = f"{prefix}{what}; probability of a breach within {horizon_txt}: {prob:.2f}"
    return BreachForecast(already_breached=False, expected_at=expected_at, earliest=earliest, latest=latest,
                          probability=prob, message=msg, **base)


# --------------------------------------------------------------------------------------------------
# capacity planning


@dataclass
class CapacityPlan:
    """The growth of a metric's peaks and when they reach a limit."""

    series: str
    limit: float
    quantile: float                    # peak statistic: this quantile of each bin (0.95 by default)
    bin_seconds: int                   # bin size for the peaks (a day, or an hour for short histories)
    slope_per_day: float               # Theil-Sen slope of the peaks, units per day
    slope_low: float                   # confidence interval of the slope
    slope_high: float
    growth_pct_per_month: float        # slope * 30.44 days relative to the current peak trend level
    current_peak: float                # the peak trend line at the last timestamp
    last_time: np.datetime64
    growing: bool                      # the whole slope interval is above 0
    already_exhausted: bool
    exhaustion_at: np.datetime64 | None
    exhaustion_earliest: np.datetime64 | None
    exhaustion_latest: np.datetime64 | None   # None with exhaustion_at set: beyond max_years
    days_to_exhaustion: float | None
    confidence: float
    message: str
    peak_times: np.ndarray = field(default_factory=lambda: np.empty(0, "datetime64[s]"), repr=False)
    peaks: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)


def _peaks(series: Series, quantile: float) -> tuple[np.ndarray, np.ndarray, int]:
    ts = _to_seconds(series.timestamps)
    v = np.asarray(series.values, dtype=np.float64)
    ok = np.isfinite(v)
    ts, v = ts[ok], v[ok]
    if len(v) < 3:
        raise InputError(f"need at least 3 non-missing values for capacity planning, got {len(v)}")
    span = ts[-1] - ts[0]
    for bin_s in (DAY, 3600):
        if span >= 3 * bin_s:
            break
    else:
        bin_s = 0
    if bin_s == 0:
        return ts.astype(np.float64), v, max(1, int(np.median(np.diff(ts))))
    b = ts // bin_s
    uniq, start = np.unique(b, return_index=True)
    groups = np.split(v, start[1:])
    counts = np.array([len(g) for g in groups])
    full = counts >= 0.5 * np.median(counts)
    peaks = np.array([np.quantile(g, quantile) for g, keep in zip(groups, full) if keep])
    centers = (uniq[full] * bin_s + bin_s / 2).astype(np.float64)
    if len(peaks) < 3:
        raise InputError("need at least 3 days (or 3 hours) of history for capacity planning")
    return centers, peaks, bin_s


def capacity(series: Series, limit: float | str, *, quantile: float = 0.95, confidence: float = 0.95,
             max_years: float = 10.0) -> CapacityPlan:
    """When will the trend of the daily peak (the ``quantile`` of each day, 95th percentile by default,
    as in burstable billing) reach ``limit``?

    The trend is a Theil-Sen line through the daily peaks (hourly when the history is shorter than
    3 days); its slope's confidence interval (scipy ``theilslopes``) gives the exhaustion interval,
    each bound with its own re-fitted intercept. The interval assumes independent daily peaks, so it
    is optimistic when peaks are strongly autocorrelated. ``limit`` can be text (see ``parse_limit``).
    """
    from scipy import stats

    if not isinstance(series, Series):
        raise InputError("capacity() needs a Series")
    if isinstance(limit, str):
        limit = parse_limit(limit, series)
    limit = float(limit)
    if not np.isfinite(limit):
        raise InputError("the limit must be a finite number")
    if not 0 < quantile <= 1 or not 0 < confidence < 1:
        raise InputError("quantile must be in (0, 1] and confidence in (0, 1)")
    x, peaks, bin_s = _peaks(series, quantile)
    last_s = int(_to_seconds(series.timestamps)[-1])
    xd = (x - last_s) / DAY                       # days relative to the last timestamp (<= 0)
    if np.ptp(peaks) == 0:
        slope = lo = hi = 0.0
        icpt = float(peaks[0])
    else:
        slope, _, lo, hi = (float(z) for z in stats.theilslopes(peaks, xd, alpha=confidence))
        icpt = float(np.median(peaks - slope * xd))
    level = icpt                                  # trend value at the last timestamp (xd = 0)
    growth = slope * 30.4375 / abs(level) * 100 if abs(level) > 0 else float("nan")
    last_time = np.datetime64(last_s, "s")
    name = series.name or "the series"
    unit_txt = f"{_fmt_num(slope)}/day ({growth:+.1f}%/month)" if np.isfinite(growth) else f"{_fmt_num(slope)}/day"
    ci_txt = f"{confidence:.0%} interval {_fmt_num(lo)} to {_fmt_num(hi)}/day"
    base = dict(series=series.name, limit=limit, quantile=quantile, bin_seconds=bin_s, slope_per_day=slope,
                slope_low=lo, slope_high=hi, growth_pct_per_month=growth, current_peak=level,
                last_time=last_time, confidence=confidence,
                peak_times=x.astype(np.int64).astype("datetime64[s]"), peaks=peaks)
    peak_word = {DAY: "daily", 3600: "hourly"}.get(bin_s, "")
    q_txt = "max" if quantile == 1 else f"p{quantile * 100:g}"
    if level >= limit:
        msg = (f"already exhausted: the {peak_word} peak ({q_txt}) trend of {name} is {_fmt_num(level)}, at or "
               f"above the limit {_fmt_num(limit)} (trend {unit_txt})")
        return CapacityPlan(growing=slope > 0 and lo > 0, already_exhausted=True, exhaustion_at=last_time,
                            exhaustion_earliest=last_time, exhaustion_latest=last_time, days_to_exhaustion=0.0,
                            message=msg, **base)
    if lo <= 0:
        msg = (f"no growth: {name} is not expected to exhaust {_fmt_num(limit)} "
               f"({peak_word} peak {_fmt_num(level)}, trend {unit_txt}, {ci_txt})")
        return CapacityPlan(growing=False, already_exhausted=False, exhaustion_at=None, exhaustion_earliest=None,
                            exhaustion_latest=None, days_to_exhaustion=None, message=msg, **base)
    max_days = max_years * 365.25

    def cross_days(s: float) -> float:
        b = float(np.median(peaks - s * xd))      # intercept for this slope (Theil-Sen style)
        return max(0.0, (limit - b) / s)

    days = cross_days(slope)
    d_lo, d_hi = sorted((cross_days(hi), cross_days(lo)))
    to_time = lambda d: last_time + np.timedelta64(int(round(d * DAY)), "s") if d <= max_days else None  # noqa: E731
    at, early, late = to_time(days), to_time(d_lo), to_time(d_hi)
    if at is None:
        msg = (f"{name} peaks grow {unit_txt} but reach {_fmt_num(limit)} only after {max_years:g} years "
               f"({ci_txt})")
    else:
        late_txt = str(late)[:10] if late is not None else f"beyond {max_years:g} years"
        msg = (f"{name} {peak_word} peak grows {unit_txt}; at this rate it reaches {_fmt_num(limit)} around "
               f"{str(at)[:10]}, in about {days:.0f} days ({confidence:.0%} interval {str(early)[:10]} – {late_txt}; "
               f"current peak {_fmt_num(level)})")
    return CapacityPlan(growing=True, already_exhausted=False, exhaustion_at=at, exhaustion_earliest=early,
                        exhaustion_latest=late, days_to_exhaustion=days if at is not None else None,
                        message=msg, **base)
