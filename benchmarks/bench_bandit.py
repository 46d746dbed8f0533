"""Rankings that learn: the feedback bandit and the learned step order, in simulation.

    python benchmarks/bench_bandit.py [--rounds 20000] [--seeds 3] [--png benchmarks/out/bandit_regret.png]

Bandit. `--intents` contexts x `--arms` candidate commands; the ranker's order is the same for
every context (scores 0.30, 0.25, ...) and its first command is never the best: each context has
its own best arm (reward 0.8, the others 0.2-0.6). Two feedback models, both with Bernoulli rewards:
- top-1: one command is shown, its reward is observed (regret = best mean - chosen mean);
- position bias: the whole list is shown, the reader examines position p with probability
  1/(1+p) and runs an examined command with probability its mean (a position-based click model);
  regret = expected runs of the best list - of the shown list.
Policies in the same run: ours (recommend/bandit.py ThompsonBandit), the fixed ranking (always the
ranker's order), epsilon-greedy (eps 0.1, position-corrected means) and random. Reported:
cumulative regret at T/8, T/4, T/2 and T (mean +- sd over seeds), regret(T)/regret(T/2) (2 for
linear growth) and the exponent a of a fit regret ~ t^a over t in [T/16, T].

Step order. `--intents` troubleshooting intents with 6 diagnostic steps each; one step finds the
cause (probabilities drawn per intent). Logged episodes follow the runbook's order half the time
and a random order otherwise, and stop at the step that finds the cause. Reported: expected steps
to resolution of the learned order (recommend/sequences.py StepOrderModel) vs the runbook order,
a random order and the oracle (most likely cause first), for several amounts of logged episodes.

What dominates the cost: the bandit's Python per-candidate work, a d x d matrix-vector product
per candidate in `select` and a Sherman-Morrison update per shown arm (d = 13 features), printed
below as microseconds per round; the step-order fit is a few sweeps over the logged transitions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from netcopilot.recommend.bandit import Candidate, Context, ThompsonBandit  # noqa: E402
from netcopilot.recommend.sequences import Episode, StepOrderModel, expected_steps  # noqa: E402

PRIOR_SCORES = (0.30, 0.25, 0.20, 0.12, 0.08, 0.05, 0.04, 0.03)
EPSILON = 0.1


def examine(position: int) -> float:
    return 1.0 / (1.0 + position)


class World:
    """Contexts x arms with Bernoulli rewards; the ranker's top arm is never the best."""

    def __init__(self, intents: int, arms: int, rng: np.random.Generator):
        self.means = rng.uniform(0.2, 0.6, (intents, arms))
        for c in range(intents):
            self.means[c, 1 + c % (arms - 1)] = 0.8
        self.kappa = np.array([examine(p) for p in range(arms)])

    def regret(self, c: int, order: list[int], slate: bool) -> float:
        if not slate:
            return float(self.means[c].max() - self.means[c, order[0]])
        best = np.sort(self.means[c])[::-1]
        return float(self.kappa @ best - self.kappa @ self.means[c, order])


class Ours:
    name = "bandit (ours)"

    def __init__(self, arms: int, seed: int):
        self.bandit = ThompsonBandit(seed=seed)
        self.ranked = [Candidate(f"a{j}", PRIOR_SCORES[j]) for j in range(arms)]
        self.select_s = self.update_s = 0.0

    def order(self, c: int, rng: np.random.Generator) -> list[int]:
        started = time.perf_counter()
        shown = self.bandit.select(Context(f"intent{c}"), self.ranked)
        self.select_s += time.perf_counter() - started
        return [int(x.arm[1:]) for x in shown]

    def learn(self, c: int, order: list[int], clicks: list[float], slate: bool) -> None:
        started = time.perf_counter()
        for p, (j, click) in enumerate(zip(order, clicks)):
            self.bandit.update(Context(f"intent{c}"), f"a{j}", click, PRIOR_SCORES[j], examine=examine(p) if slate else 1.0)
        self.update_s += time.perf_counter() - started


class Fixed:
    name = "fixed ranking"

    def __init__(self, arms: int, seed: int):
        self.arms = arms

    def order(self, c: int, rng: np.random.Generator) -> list[int]:
        return list(range(self.arms))

    def learn(self, c: int, order: list[int], clicks: list[float], slate: bool) -> None:
        pass


class Random(Fixed):
    name = "random"

    def order(self, c: int, rng: np.random.Generator) -> list[int]:
        return list(rng.permutation(self.arms))


class EpsilonGreedy(Fixed):
    """Greedy on position-corrected click rates (clicks / examination probability), random with
    probability EPSILON; ties keep the ranker's order."""

    name = f"epsilon-greedy ({EPSILON})"

    def __init__(self, arms: int, seed: int):
        super().__init__(arms, seed)
        self.clicks: dict[int, np.ndarray] = {}
        self.exams: dict[int, np.ndarray] = {}

    def order(self, c: int, rng: np.random.Generator) -> list[int]:
        if rng.random() < EPSILON:
            return list(rng.permutation(self.arms))
        rate = self.clicks.get(c, np.zeros(self.arms)) / np.maximum(self.exams.get(c, np.zeros(self.arms)), 1e-9)
        return sorted(range(self.arms), key=lambda j: (-rate[j], j))

    def learn(self, c: int, order: list[int], clicks: list[float], slate: bool) -> None:
        got, seen = self.clicks.setdefault(c, np.zeros(self.arms)), self.exams.setdefault(c, np.zeros(self.arms))
        for p, (j, click) in enumerate(zip(order, clicks)):
            got[j] += click
            seen[j] += examine(p) if slate else 1.0


POLICIES: tuple[Callable, ...] = (Ours, Fixed, EpsilonGreedy, Random)


def run(policy, world: World, rounds: int, slate: bool, rng: np.random.Generator, bar) -> np.ndarray:
    regret = np.empty(rounds)
    contexts = rng.integers(0, world.means.shape[0], rounds)
    for t, c in enumerate(contexts):
        order = policy.order(int(c), rng)
        if not slate:
            order = order[:1]
        probs = world.means[c, order] * (world.kappa[: len(order)] if slate else 1.0)
        clicks = (rng.random(len(order)) < probs).astype(float).tolist()
        policy.learn(int(c), order, clicks, slate)
        regret[t] = world.regret(int(c), order, slate)
        if t % 1000 == 999:
            bar.update(1000)
    return np.cumsum(regret)


def exponent(curve: np.ndarray) -> float:
    """a in regret ~ t^a, least squares in log-log over t in [T/16, T]."""
    t = np.unique(np.geomspace(len(curve) // 16, len(curve), 40).astype(int))
    return float(np.polyfit(np.log(t), np.log(np.maximum(curve[t - 1], 1e-9)), 1)[0])


def bandit_benchmark(args: argparse.Namespace) -> dict[str, dict[str, np.ndarray]]:
    from tqdm import tqdm

    curves: dict[str, dict[str, list[np.ndarray]]] = {}
    timing = {"select": 0.0, "update": 0.0, "rounds": 0}
    total = 2 * len(POLICIES) * args.seeds * args.rounds
    with tqdm(total=total, desc="simulating", unit="round", file=sys.stderr, disable=args.quiet) as bar:
        for variant, slate in (("top-1", False), ("position bias", True)):
            for seed in range(args.seeds):
                world = World(args.intents, args.arms, np.random.default_rng(1000 + seed))
                for make in POLICIES:
                    policy = make(args.arms, seed)
                    curve = run(policy, world, args.rounds, slate, np.random.default_rng(seed), bar)
                    curves.setdefault(variant, {}).setdefault(policy.name, []).append(curve)
                    if isinstance(policy, Ours):
                        timing["select"] += policy.select_s
                        timing["update"] += policy.update_s
                        timing["rounds"] += args.rounds
    T = args.rounds
    checkpoints = [T // 8, T // 4, T // 2, T]
    for variant, by_policy in curves.items():
        print(f"\n== bandit, {variant}: {args.intents} intents x {args.arms} commands, T={T}, {args.seeds} seeds ==")
        print(f"{'policy':24s}" + "".join(f"{'R(' + str(t) + ')':>18s}" for t in checkpoints) + f"{'R(T)/R(T/2)':>13s}{'exponent a':>12s}")
        for name, runs in by_policy.items():
            at = np.array([[r[t - 1] for t in checkpoints] for r in runs])
            cells = "".join(f"{m:11.1f} +-{s:5.1f}" for m, s in zip(at.mean(0), at.std(0)))
            ratio = np.mean([r[T - 1] / max(r[T // 2 - 1], 1e-9) for r in runs])
            print(f"{name:24s}{cells}{ratio:13.2f}{np.mean([exponent(r) for r in runs]):12.2f}")
    rounds = max(timing["rounds"], 1)
    print(f"\ncost (ours): select {1e6 * timing['select'] / rounds:.0f} us/round, update {1e6 * timing['update'] / rounds:.0f} us/round "
          f"(Python per-candidate d x d products; d = 13)")
    return {v: {n: np.mean(r, axis=0) for n, r in by_policy.items()} for v, by_policy in curves.items()}


def plot(curves: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.2))
    for ax, (variant, by_policy) in zip(np.atleast_1d(axes), curves.items()):
        for name, curve in by_policy.items():
            ax.plot(np.arange(1, len(curve) + 1), curve, label=name)
        ax.set_title(f"cumulative regret, {variant}")
        ax.set_xlabel("round")
        ax.set_ylabel("regret")
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"plot written to {path}")


def step_order_benchmark(args: argparse.Namespace) -> None:
    steps = [f"step{j}" for j in range(6)]
    print(f"\n== step order: {args.intents} intents x {len(steps)} steps, expected steps to resolution "
          f"(mean over intents and {args.seeds} seeds) ==")
    print(f"{'episodes/intent':>16s}{'learned':>10s}{'runbook':>10s}{'random':>10s}{'oracle':>10s}{'fit ms':>10s}")
    for n in (25, 100, 400):
        rows = []
        fit_s = 0.0
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            causes = {f"intent{c}": dict(zip(steps, rng.dirichlet(np.ones(len(steps))))) for c in range(args.intents)}
            episodes = []
            for intent, p in causes.items():
                for _ in range(n):
                    order = steps if rng.random() < 0.5 else list(rng.permutation(steps))
                    cause = rng.choice(steps, p=[p[s] for s in steps])
                    episodes.append(Episode.of(intent, order[: order.index(cause) + 1]))
            started = time.perf_counter()
            model = StepOrderModel().fit(episodes)
            fit_s += time.perf_counter() - started
            for intent, p in causes.items():
                rows.append((expected_steps(model.order_steps(intent, steps), p), expected_steps(steps, p),
                             (len(steps) + 1) / 2, expected_steps(sorted(steps, key=lambda s: -p[s]), p)))
        mean = np.mean(rows, axis=0)
        print(f"{n:16d}" + "".join(f"{v:10.2f}" for v in mean) + f"{1000 * fit_s / args.seeds:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--intents", type=int, default=8)
    parser.add_argument("--arms", type=int, default=6, choices=range(2, len(PRIOR_SCORES) + 1))
    parser.add_argument("--png", type=Path, default=REPO / "benchmarks" / "out" / "bandit_regret.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args()
    if args.rounds < 16:
        parser.error("--rounds must be at least 16")
    curves = bandit_benchmark(args)
    plot(curves, args.png)
    step_order_benchmark(args)


if __name__ == "__main__":
    main()
