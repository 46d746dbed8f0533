"""Anomaly detection on the Numenta Anomaly Benchmark (NAB), scored by NAB's own rules.

    python benchmarks/bench_nab.py [--data DIR] [--only NAME[,NAME]] [--json FILE] [--per-file]
                                   [--no-profile]

For every detector, in one run, over the 28 NAB series in ../shared/data/nab:
- NAB standard / reward_low_FP_rate / reward_low_FN_rate scores with the threshold swept as
  NAB's optimizer does (best corpus threshold per profile),
- the as-deployed score: the detector's own `predict` flags, no sweep (all three profiles),
- detection speed: points per second of `score_samples` per series (single thread, streaming
  the series in one call), median over series and total; and where the time goes (cProfile of
  the longest series, functions by own time).

Detectors: `windowed_gaussian` (NAB's windowedGaussian), `isolation_forest` (a causal,
periodically refitted IsolationForest), `netcopilot` (netcopilot.analytics.detect.AnomalyDetector;
skipped with a note when it cannot be imported).

Published anchors are on the whole NAB corpus (58 series); these 28 are a subset, so they only
give an order of magnitude. Targets: standard >= 65 (sweep), as-deployed standard >= 55,
>= 20,000 points/s per series.
"""

from __future__ import annotations

import os

# Single-threaded numeric libraries, set before numpy loads, for per-core speed numbers.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from netcopilot.analytics import nab  # noqa: E402
from netcopilot.analytics.baselines import CausalIsolationForest, WindowedGaussian  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/nab"
PROFILE_SHORT = {"standard": "standard", "reward_low_FP_rate": "lowFP", "reward_low_FN_rate": "lowFN"}
ANCHORS = {"windowed Gaussian": 39.6, "Numenta HTM": 70.5, "ARTime": 74.9}  # NAB scoreboard, standard
TARGETS = {"standard_sweep": 65.0, "standard_deployed": 55.0, "points_per_s": 20_000.0}


def detector_factories() -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    factories: dict[str, Callable[[], Any]] = {
        "windowed_gaussian": WindowedGaussian,
        "isolation_forest": CausalIsolationForest,
    }
    skipped: dict[str, str] = {}
    try:
        from netcopilot.analytics.detect import AnomalyDetector

        factories["netcopilot"] = AnomalyDetector
    except Exception as exc:  # not written yet, or broken: bench the baselines anyway
        skipped["netcopilot"] = f"cannot import netcopilot.analytics.detect.AnomalyDetector: {type(exc).__name__}: {exc}"
    return factories, skipped


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _owner(file: str, func: str) -> str:
    """Who owns a profiled function: a site-packages package, a repo file, or C code."""
    if file == "~":  # C functions: name the library from the method/function text when possible
        return "C builtins"
    parts = Path(file).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    return Path(file).name


def where_time_goes(factory: Callable[[], Any], s: nab.NabSeries, top: int = 4) -> dict:
    """cProfile one score_samples call: own time by owner (package / file) and top functions."""
    det = factory()
    prof = cProfile.Profile()
    prof.enable()
    det.score_samples(s.values, s.timestamps)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) or 1e-12
    by_owner: dict[str, float] = {}
    for (file, _line, func), v in stats.items():
        by_owner[_owner(file, func)] = by_owner.get(_owner(file, func), 0.0) + v[2]
    owners = [
        {"owner": k, "own_s": v, "share": v / total}
        for k, v in sorted(by_owner.items(), key=lambda kv: kv[1], reverse=True)[:top]
    ]
    functions = []
    for (file, line, func), (_cc, ncalls, tottime, _cum, _callers) in sorted(
        stats.items(), key=lambda kv: kv[1][2], reverse=True
    )[:top]:
        where = f"{Path(file).name}:{line}({func})" if line else func
        functions.append({"function": where, "calls": ncalls, "own_s": tottime, "share": tottime / total})
    return {"series": s.name, "profiled_s": total, "by_owner": owners, "functions": functions}


def run_detector(name: str, factory: Callable[[], Any], series: list[nab.NabSeries], profile: bool) -> dict:
    # Warm-up (imports, caches) outside the timed runs.
    first = series[0]
    factory().score_samples(first.values[:500], first.timestamps[:500])

    scores, flags, seconds, predict_seconds = [], [], [], []
    for s in series:
        det = factory()
        t0 = time.perf_counter()
        sc = np.asarray(det.score_samples(s.values, s.timestamps), dtype=np.float64)
        seconds.append(time.perf_counter() - t0)
        if sc.shape != (len(s),):
            raise ValueError(f"{name}: score_samples gave shape {sc.shape} for {len(s)} points of {s.name}")
        scores.append(sc)
        det = factory()
        t0 = time.perf_counter()
        fl = np.asarray(det.predict(s.values, s.timestamps), dtype=bool)
        predict_seconds.append(time.perf_counter() - t0)
        if fl.shape != (len(s),):
            raise ValueError(f"{name}: predict gave shape {fl.shape} for {len(s)} points of {s.name}")
        flags.append(fl)

    result: dict[str, Any] = {"sweep": {}, "deployed": {}}
    for prof in nab.PROFILES:
        r = nab.evaluate_scores(series, scores, prof)
        result["sweep"][prof] = {
            "score": r.score,
            "raw": r.raw,
            "threshold": _finite(r.threshold),
            "per_file_raw": r.per_file,
        }
        d = nab.evaluate_flags(series, flags, prof)
        result["deployed"][prof] = {"score": d.score, "raw": d.raw, "per_file_raw": d.per_file}
    std_thr = result["sweep"]["standard"]["threshold"]
    best_flags = [sc >= (std_thr if std_thr is not None else math.inf) for sc in scores]
    result["sweep"]["standard"]["counts"] = nab.detection_counts(series, best_flags)
    result["deployed"]["counts"] = nab.detection_counts(series, flags)

    n_points = [len(s) for s in series]
    pps = [n / max(t, 1e-12) for n, t in zip(n_points, seconds)]
    result["speed"] = {
        "median_points_per_s": statistics.median(pps),
        "total_points_per_s": sum(n_points) / max(sum(seconds), 1e-12),
        "score_samples_s": sum(seconds),
        "predict_s": sum(predict_seconds),
        "per_file_points_per_s": {s.name: p for s, p in zip(series, pps)},
    }
    if profile:
        result["where_time_goes"] = where_time_goes(factory, max(series, key=len))
    return result


def fmt(x: float | None, width: int = 7, digits: int = 1) -> str:
    return f"{x:{width}.{digits}f}" if x is not None and math.isfinite(x) else f"{'-':>{width}}"


def print_report(report: dict, series: list[nab.NabSeries], per_file: bool) -> None:
    dets = report["detectors"]
    print(f"\nNAB: {report['n_series']} series, {report['n_points']} points, {report['n_windows']} windows "
          f"({report['data']})")
    head = (f"{'detector':<18} | {'sweep: standard':>15} {'lowFP':>7} {'lowFN':>7} {'thr(std)':>9} "
            f"| {'deployed: std':>13} {'lowFP':>7} {'lowFN':>7} | {'pts/s med':>10} {'total':>9}")
    print(head)
    print("-" * len(head))
    for name, r in dets.items():
        if "error" in r:
            print(f"{name:<18} | FAILED: {r['error']}")
            continue
        sw, dp, sp = r["sweep"], r["deployed"], r["speed"]
        thr = sw["standard"]["threshold"]
        print(f"{name:<18} | {fmt(sw['standard']['score'], 15)} {fmt(sw['reward_low_FP_rate']['score'])} "
              f"{fmt(sw['reward_low_FN_rate']['score'])} {fmt(thr, 9, 4) if thr is not None else '     none'} "
              f"| {fmt(dp['standard']['score'], 13)} {fmt(dp['reward_low_FP_rate']['score'])} "
              f"{fmt(dp['reward_low_FN_rate']['score'])} | {sp['median_points_per_s']:10,.0f} "
              f"{sp['total_points_per_s']:9,.0f}")
    for name, why in report["skipped"].items():
        print(f"{name:<18} | skipped: {why}")

    print("\nDetections (outside the probationary period): windows hit / windows, false-positive points")
    for name, r in dets.items():
        if "error" in r:
            continue
        c1, c2 = r["sweep"]["standard"]["counts"], r["deployed"]["counts"]
        print(f"  {name:<18} sweep(standard): {c1['windows_hit']}/{c1['windows']} windows, {c1['false_positives']} FP"
              f"   deployed: {c2['windows_hit']}/{c2['windows']} windows, {c2['false_positives']} FP")

    print("\nSpeed (score_samples, one call per series, single thread) and where the time goes:")
    for name, r in dets.items():
        if "error" in r:
            continue
        sp = r["speed"]
        print(f"  {name:<18} {sp['score_samples_s']:.2f} s for all series (predict: {sp['predict_s']:.2f} s)")
        prof = r.get("where_time_goes")
        if prof:
            print(f"      cProfile of {prof['series']} ({prof['profiled_s']:.2f} s own time, profiler overhead "
                  "included); by owner: " + ", ".join(f"{o['owner']} {o['share']:.0%}" for o in prof["by_owner"]))
            for row in prof["functions"]:
                print(f"      {row['share']:5.0%}  {row['own_s']:.3f} s  {row['calls']:>7} calls  {row['function']}")

    print("\nPublished anchors (NAB standard profile, whole 58-series corpus; ours is a 28-series subset): "
          + ", ".join(f"{k} {v}" for k, v in ANCHORS.items()))
    print(f"Targets: standard (sweep) >= {TARGETS['standard_sweep']:.0f}, as-deployed standard >= "
          f"{TARGETS['standard_deployed']:.0f}, >= {TARGETS['points_per_s']:,.0f} points/s per series (median)")
    for name, r in dets.items():
        if "error" in r:
            continue
        checks = [
            ("sweep", r["sweep"]["standard"]["score"] >= TARGETS["standard_sweep"]),
            ("deployed", r["deployed"]["standard"]["score"] >= TARGETS["standard_deployed"]),
            ("speed", r["speed"]["median_points_per_s"] >= TARGETS["points_per_s"]),
        ]
        print(f"  {name:<18} " + "  ".join(f"{k}: {'PASS' if ok else 'fail'}" for k, ok in checks))

    if per_file:
        names = [n for n, r in dets.items() if "error" not in r]
        print("\nPer-file raw scores, standard profile (null = -windows, perfect = +windows); "
              "S = at the swept corpus threshold, D = as deployed")
        hdr = f"{'series':<58} {'n':>5} {'win':>3} " + " ".join(f"{n[:12] + ' S':>14} {'D':>6}" for n in names)
        print(hdr)
        for s in series:
            nwin = len(s.geometry().scored_windows)
            cells = " ".join(
                f"{dets[n]['sweep']['standard']['per_file_raw'][s.name]:14.2f} "
                f"{dets[n]['deployed']['standard']['per_file_raw'][s.name]:6.2f}"
                for n in names
            )
            print(f"{s.name:<58} {len(s):>5} {nwin:>3} {cells}")
    print(f"\nBench wall time: {report['elapsed_s']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB root (with data/ and labels/)")
    ap.add_argument("--only", default=None, help="comma-separated detector names to run")
    ap.add_argument("--json", type=Path, default=None, help="write every number to this JSON file")
    ap.add_argument("--per-file", action="store_true", help="print per-series raw scores")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile of the longest series")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    series = nab.load_nab(args.data)
    factories, skipped = detector_factories()
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in factories and w not in skipped]
        if unknown:
            ap.error(f"unknown detector(s) {unknown}; known: {sorted(set(factories) | set(skipped))}")
        factories = {k: v for k, v in factories.items() if k in wanted}
        skipped = {k: v for k, v in skipped.items() if k in wanted}
    for name, why in skipped.items():
        print(f"note: skipping {name}: {why}", flush=True)

    report: dict[str, Any] = {
        "data": str(args.data),
        "n_series": len(series),
        "n_points": int(sum(len(s) for s in series)),
        "n_windows": nab.count_windows(series),
        "profiles": nab.PROFILES,
        "anchors": ANCHORS,
        "targets": TARGETS,
        "detectors": {},
        "skipped": skipped,
    }
    for name, factory in factories.items():
        print(f"running {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            report["detectors"][name] = run_detector(name, factory, series, profile=not args.no_profile)
        except Exception as exc:
            traceback.print_exc()
            report["detectors"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        report["detectors"][name]["wall_s"] = time.perf_counter() - t0
    report["elapsed_s"] = time.perf_counter() - start

    print_report(report, series, args.per_file)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=float))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
