"""Forecast accuracy and interval calibration on the NAB series, against a seasonal-naive baseline.

    python benchmarks/bench_forecast.py [--data DIR] [--select aic|validation] [--json FILE] [--limit N]

For every CSV (columns timestamp,value) under the data folder: hold back the tail - one day of
samples, or 10% of the series if that is shorter - fit ``Forecaster`` on the rest, forecast the tail
and score it. The baseline, in the same run, is seasonal naive with a daily season (the last day
repeated) when the training part holds at least one day, else the last value.

- sMAPE (%): mean of 2|F-A| / (|A|+|F|), a term is 0 when both are 0.
- MAPE (%): mean of |F-A| / |A| over the points where A != 0 (the share of zeros is reported).
- coverage: share of the held-back points inside the 95% prediction interval (target ~0.95).
- wins: a series is won by the method with the lower sMAPE (ties: equal within 1e-9).

Model choice never looks at the held-back tail: ``--select backtest`` (the Forecaster's default)
scores candidates by rolling-origin errors inside the training part, ``aic`` by AIC, ``validation``
by refitting on the training part minus its last day. The cost is dominated by the ETS fits (up to
six candidates, 0.05-0.4 s each here); forecasting and interval calibration take milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

DEFAULT_DATA = REPO.parent / "shared" / "data" / "nab" / "data"


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    den = np.abs(actual) + np.abs(forecast)
    num = 2 * np.abs(forecast - actual)
    terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(100 * terms.mean())


def mape(actual: np.ndarray, forecast: np.ndarray) -> tuple[float, float]:
    """(MAPE over non-zero actuals, share of zero actuals)."""
    nz = actual != 0
    if not nz.any():
        return float("nan"), 1.0
    return float(100 * np.mean(np.abs(forecast[nz] - actual[nz]) / np.abs(actual[nz]))), float(1 - nz.mean())


def load(path: Path):
    import pandas as pd

    from netcopilot.analytics.series import Series

    df = pd.read_csv(path)
    ts = pd.to_datetime(df["timestamp"]).to_numpy().astype("datetime64[s]")
    return Series(name=path.stem, timestamps=ts, values=df["value"].to_numpy(dtype=np.float64), source=str(path))


def run_one(path: Path, select: str) -> dict:
    from netcopilot.analytics.forecast import Forecaster, seasonal_naive
    from netcopilot.analytics.series import Series

    s = load(path)
    step = int(s.step.astype(np.int64))
    per_day = max(1, 86400 // step)
    h = min(per_day, max(1, len(s) // 10))
    train = Series(s.name, s.timestamps[:-h], s.values[:-h])
    actual = s.values[-h:]
    t0 = time.perf_counter()
    f = Forecaster(select=select).fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mean, lower, upper = f.predict_interval(h, alpha=0.05)
    predict_s = time.perf_counter() - t0
    season = per_day if len(train) >= per_day else 1
    base = seasonal_naive(train.values, season, h)
    ok = np.isfinite(actual)
    a, m, b = actual[ok], mean[ok], base[ok]
    ours_mape, zeros = mape(a, m)
    return {
        "series": path.stem, "group": path.parent.name, "n_train": len(train), "horizon": h,
        "model": f.model_, "fit_s": round(fit_s, 3), "predict_s": round(predict_s, 4),
        "smape": smape(a, m), "smape_naive": smape(a, b),
        "mape": ours_mape, "mape_naive": mape(a, b)[0], "zero_share": zeros,
        "mae": float(np.mean(np.abs(a - m))), "mae_naive": float(np.mean(np.abs(a - b))),
        "coverage95": float(np.mean((a >= lower[ok]) & (a <= upper[ok]))),
        "notes": f.notes_,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--select", choices=("backtest", "aic", "validation"), default="backtest")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0, help="only the first N series (quick runs)")
    args = ap.parse_args(argv)
    files = sorted(args.data.rglob("*.csv"))
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"no CSV files under {args.data}", file=sys.stderr)
        return 2
    rows = []
    t_all = time.perf_counter()
    for path in files:
        rows.append(run_one(path, args.select))
    wall = time.perf_counter() - t_all

    print(f"{'series':44s} {'model':22s} {'sMAPE':>7s} {'naive':>7s} {'MAPE':>8s} {'naive':>8s} "
          f"{'cov95':>6s} {'fit s':>6s}")
    for r in rows:
        mark = "<" if r["smape"] < r["smape_naive"] - 1e-9 else (">" if r["smape"] > r["smape_naive"] + 1e-9 else "=")
        label = r["group"][:12] + "/" + r["series"]
        print(f"{label:44.44s} {r['model']:22s} {r['smape']:7.2f}{mark}{r['smape_naive']:7.2f} "
              f"{r['mape']:8.2f} {r['mape_naive']:8.2f} {r['coverage95']:6.2f} {r['fit_s']:6.2f}")
    wins = sum(r["smape"] < r["smape_naive"] - 1e-9 for r in rows)
    losses = sum(r["smape"] > r["smape_naive"] + 1e-9 for r in rows)
    ties = len(rows) - wins - losses
    mae_wins = sum(r["mae"] < r["mae_naive"] - 1e-12 for r in rows)
    fin = lambda key: [r[key] for r in rows if np.isfinite(r[key])]  # noqa: E731
    summary = {
        "series": len(rows), "select": args.select,
        "smape_mean": float(np.mean(fin("smape"))), "smape_naive_mean": float(np.mean(fin("smape_naive"))),
        "smape_median": float(np.median(fin("smape"))), "smape_naive_median": float(np.median(fin("smape_naive"))),
        "mape_median": float(np.median(fin("mape"))), "mape_naive_median": float(np.median(fin("mape_naive"))),
        "wins": wins, "ties": ties, "losses": losses, "mae_wins": mae_wins,
        "coverage95_mean": float(np.mean(fin("coverage95"))),
        "coverage95_median": float(np.median(fin("coverage95"))),
        "fit_s_total": float(sum(r["fit_s"] for r in rows)), "fit_s_max": float(max(r["fit_s"] for r in rows)),
        "predict_s_total": float(sum(r["predict_s"] for r in rows)), "wall_s": wall,
    }
    print()
    print(f"sMAPE mean {summary['smape_mean']:.2f} vs seasonal-naive {summary['smape_naive_mean']:.2f}; "
          f"median {summary['smape_median']:.2f} vs {summary['smape_naive_median']:.2f}")
    print(f"MAPE median {summary['mape_median']:.2f} vs {summary['mape_naive_median']:.2f}")
    print(f"wins (sMAPE) {wins} / ties {ties} / losses {losses} of {len(rows)}; wins by MAE {mae_wins}")
    print(f"95% interval coverage: mean {summary['coverage95_mean']:.2f}, median {summary['coverage95_median']:.2f}")
    print(f"time: fit {summary['fit_s_total']:.1f} s total (max {summary['fit_s_max']:.2f} s per series), "
          f"predict {summary['predict_s_total']:.2f} s, wall {wall:.1f} s - the fits dominate")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "series": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
