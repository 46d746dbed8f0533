"""Next-command prediction on the real command histories in ../shared/data/command-history.

    python benchmarks/bench_next.py [--data DIR] [--commands 5000] [--skip 100]

For each user's first `--commands` commands, every model learns online (the prediction after
command i uses only commands 1..i) and is scored on command i+1, after the first `--skip`.
Baselines in the same run: repeat-last, most-frequent, bigram, and trigram with backoff to the
bigram and the unigram. Targets: top-1 at least 3 points above the trigram, top-3 >= 0.90.
What dominates the cost: the per-command update and scoring in Python (a few microseconds).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


class Baseline:
    """n-gram with backoff (order 0 = most frequent, 'last' = repeat the last command)."""

    def __init__(self, order: int | str):
        self.order = order
        self.tables = defaultdict(Counter)
        self.hist: list[str] = []

    def update(self, cmd: str) -> None:
        if isinstance(self.order, int):
            for n in range(0, self.order + 1):
                if len(self.hist) >= n:
                    self.tables[tuple(self.hist[len(self.hist) - n:])][cmd] += 1
        self.hist.append(cmd)

    def predict(self, k: int) -> list[str]:
        if self.order == "last":
            return self.hist[-1:]
        out: list[str] = []
        for n in range(self.order, -1, -1):
            if len(self.hist) < n:
                continue
            for cmd, _ in self.tables.get(tuple(self.hist[len(self.hist) - n:]), Counter()).most_common(k):
                if cmd not in out:
                    out.append(cmd)
            if len(out) >= k:
                break
        return out[:k]


def main() -> None:
    from netcopilot.history.nextcmd import NextCommandModel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "command-history")
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--skip", type=int, default=100)
    args = parser.parse_args()
    users = sorted(p for p in args.data.glob("User*") if p.is_file())
    if not users:
        raise SystemExit(f"no User* files in {args.data}")
    makers = {"netcopilot": NextCommandModel, "repeat-last": lambda: Baseline("last"),
              "most-frequent": lambda: Baseline(0), "bigram": lambda: Baseline(1), "trigram+backoff": lambda: Baseline(2)}
    hits = {name: [0, 0] for name in makers}
    seconds = {name: 0.0 for name in makers}
    total = 0
    for path in users:
        commands = [line.strip() for line in path.open(errors="replace")][: args.commands]
        models = {name: make() for name, make in makers.items()}
        for i, cmd in enumerate(commands[:-1]):
            nxt = commands[i + 1]
            for name, model in models.items():
                t0 = time.perf_counter()
                model.update(cmd)
                predicted = model.predict(3) if i >= args.skip else []
                seconds[name] += time.perf_counter() - t0
                if i >= args.skip:
                    hits[name][0] += predicted[:1] == [nxt]
                    hits[name][1] += nxt in predicted
            total += i >= args.skip
    print(f"{len(users)} users, first {args.commands} commands each, scored after command {args.skip}: {total:,} predictions\n")
    print(f"{'model':18} {'top-1':>7} {'top-3':>7} {'us/command':>11}")
    for name in makers:
        print(f"{name:18} {hits[name][0] / total:7.4f} {hits[name][1] / total:7.4f} {seconds[name] / (total or 1) * 1e6:11.1f}")
    ours, tri = hits["netcopilot"], hits["trigram+backoff"]
    print(f"\ntop-1 vs trigram: {100 * (ours[0] - tri[0]) / total:+.1f} points (target +3); top-3 {ours[1] / total:.4f} (target 0.90)")


if __name__ == "__main__":
    main()
