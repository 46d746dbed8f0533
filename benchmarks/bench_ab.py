"""The A/B recommendation (netcopilot.monitoring.ab.compare) on simulated experiments with a known
true effect, against the naive rule "the variant with the higher helpful rate wins".

    python benchmarks/bench_ab.py [--sims 2000] [--baseline 0.6] [--effect 0.05] [--seed 0]

Each simulated experiment draws, per arm, the planned number of rated answers (the sample size
`compare` asks for to detect --effect at alpha 0.05 with 80% power) as Bernoulli outcomes, and
asks both rules whether to promote the candidate. Scenarios: no true effect (a promotion is a
false positive), the planned effect (a promotion is a true positive: the power), the effect with
half the planned sample (our rule must say "need more data"), and a candidate that is worse.
Expected: our false-positive rate <= ~5% (about 2.5%: only improvements are promoted), power
near 80%; the naive rule promotes half of the useless candidates.

What dominates the cost: the exact P(candidate better) in `compare`, a sum of ~k log-gamma terms
(k = the candidate's helpful answers); the z-test and the sample size are a few float operations.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from netcopilot.monitoring import ab, stats  # noqa: E402


def simulate(rng: np.random.Generator, sims: int, p_control: float, p_candidate: float, n: int,
             effect: float, follow: bool = True) -> dict[str, float]:
    """Promotion rates of both rules. The planned size uses the true baseline, `compare` the observed
    one, so it may ask for a few more answers: with `follow` they are collected (and the test read
    once, at that size); without, the experiment stops at `n` whatever `compare` says."""
    ours = {ab.PROMOTE: 0, ab.KEEP: 0, ab.MORE: 0}
    naive = 0
    for _ in range(sims):
        size, k1, k2 = 0, 0, 0
        for _look in range(4):  # as an operator would: collect to the size `compare` asks for, then read it
            extra = n - size
            k1, k2, size = k1 + int(rng.binomial(extra, p_control)), k2 + int(rng.binomial(extra, p_candidate)), n
            decision = ab.compare(ab.Arm("production", size, size, k1, None), ab.Arm("candidate", size, size, k2, None), effect)
            if decision["recommendation"] != ab.MORE or not follow:
                break
            n = decision["needed_per_variant"]
        ours[decision["recommendation"]] += 1
        naive += k2 > k1
    return {"promote": ours[ab.PROMOTE] / sims, "keep": ours[ab.KEEP] / sims, "more": ours[ab.MORE] / sims,
            "naive_promote": naive / sims}


def interval(rate: float, sims: int) -> str:
    low, high = stats.wilson(round(rate * sims), sims)
    return f"{rate:6.1%} [{low:5.1%}-{high:5.1%}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sims", type=int, default=2000, help="simulated experiments per scenario")
    parser.add_argument("--baseline", type=float, default=0.6, help="helpful-answer rate of production")
    parser.add_argument("--effect", type=float, default=0.05, help="true (and planned) improvement of the candidate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = stats.sample_size(args.baseline, args.effect)
    print(f"production helpful rate {args.baseline:.0%}; planned effect {args.effect:+.0%} -> {n} rated answers per "
          f"variant; {args.sims} simulated experiments per scenario (95% Wilson intervals)\n")
    print(f"{'scenario':38} {'ours: promote':>24} {'keep':>7} {'more data':>10} {'naive: promote':>26}")
    started = time.perf_counter()
    scenarios = [("no effect (promote = false positive)", 0.0, n, True),
                 (f"true effect {args.effect:+.0%} (promote = power)", args.effect, n, True),
                 (f"true effect {args.effect:+.0%}, stopped at half", args.effect, n // 2, False),
                 (f"candidate worse {-args.effect:+.0%} (promote = harm)", -args.effect, n, True)]
    for label, true_effect, size, follow in scenarios:
        r = simulate(rng, args.sims, args.baseline, args.baseline + true_effect, size, args.effect, follow)
        print(f"{label:38} {interval(r['promote'], args.sims):>24} {r['keep']:7.1%} {r['more']:10.1%} "
              f"{interval(r['naive_promote'], args.sims):>26}")
    seconds = time.perf_counter() - started
    print(f"\n{seconds:.1f} s for {4 * args.sims} experiments ({seconds / (4 * args.sims) * 1000:.2f} ms each, most "
          "of it the exact posterior P(candidate better))")


if __name__ == "__main__":
    main()
