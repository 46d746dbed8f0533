"""What the data pipeline costs: validating records on ingest, and what the feature store saves.

    python benchmarks/bench_pipeline.py [--records 20000] [--bad 0.05] [--questions 400]

1. Ingest: `netcopilot ingest commands` of a JSONL file of --records real commands (from
   ../shared/data/command-history, User1..User10; a --bad share made invalid in four ways) against
   the baseline in the same run: the same good rows inserted already parsed (`save_events`), so the
   ratio is what reading, schema validation, secret masking and quarantining add.
2. Feature store: question vectors of --questions stored-question texts (intent phrasings),
   computed by MiniLM and written (cold), then read back (warm), against the encoder alone.
Every record read must be stored or quarantined: the script checks it and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DATA = REPO.parent / "shared" / "data" / "command-history"


def _commands(n: int) -> list[str]:
    out: list[str] = []
    for user in sorted(DATA.iterdir()):
        out += [line.strip() for line in user.read_text(errors="replace").splitlines()[:n // 10 + 1] if line.strip()]
    return out[:n]


def _records(commands: list[str], bad: float, rng: random.Random) -> tuple[list[str], int]:
    lines, n_bad = [], 0
    for i, command in enumerate(commands):
        row: dict = {"command": command, "user": f"user{i % 10}", "duration_ms": rng.uniform(1, 5000),
                     "exit_status": rng.choice([0, 0, 0, 1]), "started_at": 1764000000 + i}
        if rng.random() < bad:
            n_bad += 1
            kind = n_bad % 4
            if kind == 0:
                row["duration_ms"] = -1
            elif kind == 1:
                row["exit_status"] = 999
            elif kind == 2:
                row["duraton"] = row.pop("duration_ms")
            else:
                lines.append("{broken json " + command)
                continue
        lines.append(json.dumps(row))
    return lines, n_bad


def bench_ingest(args: argparse.Namespace, folder: Path) -> bool:
    from datetime import datetime, timezone

    from netcopilot.history.records import CommandEvent, save_events
    from netcopilot.pipeline.ingest import ingest
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    rng = random.Random(7)
    lines, n_bad = _records(_commands(args.records), args.bad, rng)
    path = folder / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    good = [json.loads(line) for line in lines if line.startswith('{"')]
    good = [r for r in good if r.get("duration_ms", 0) >= 0 and r.get("exit_status", 0) <= 255 and "duraton" not in r]

    base_store = Store(f"sqlite:///{folder / 'base.db'}")
    events = [CommandEvent(command=r["command"], user=r["user"], duration_ms=r["duration_ms"],
                           exit_status=r["exit_status"], source="bench",
                           started_at=datetime.fromtimestamp(r["started_at"], timezone.utc)) for r in good]
    t0 = time.perf_counter()
    save_events(base_store, events)
    baseline = time.perf_counter() - t0

    url = f"sqlite:///{folder / 'ingest.db'}"
    settings, store = Settings.load(environ={}, home=folder, database_url=url), Store(url)
    t0 = time.perf_counter()
    report = ingest(settings, store, "commands", path, max_bad=0.5)
    ours = time.perf_counter() - t0
    print(f"ingest of {report.read:,} records ({n_bad:,} made bad): {report.stored:,} stored, {report.quarantined:,} quarantined")
    print(f"  netcopilot ingest       {ours:7.2f} s  {report.read / ours:9,.0f} records/s")
    print(f"  baseline (insert only)  {baseline:7.2f} s  {len(events) / baseline:9,.0f} records/s   ratio {ours / baseline:.1f}x")
    ok = report.read == report.stored + report.quarantined and report.quarantined == n_bad
    print("  every record stored or quarantined:", "yes" if ok else "NO")
    return ok


def bench_features(args: argparse.Namespace, folder: Path) -> None:
    from netcopilot import artifacts
    from netcopilot.embeddings import Encoder
    from netcopilot.nlu.data import load_intents
    from netcopilot.pipeline.feature_store import FeatureStore
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    settings = Settings.load()
    encoder = Encoder(artifacts.encoder_dir(settings.models_dir), threads=settings.threads)
    texts = [t for t, _ in load_intents(settings.intents_dir).train][:args.questions]
    encoder.encode(texts[:8])  # warm the ONNX session
    t0 = time.perf_counter()
    encoder.encode(texts)
    alone = time.perf_counter() - t0
    store = Store(f"sqlite:///{folder / 'features.db'}")
    t0 = time.perf_counter()
    FeatureStore(store).question_vectors(encoder, texts)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    FeatureStore(store).question_vectors(encoder, texts)
    warm = time.perf_counter() - t0
    print(f"question vectors of {len(texts)} texts:")
    print(f"  encoder alone (baseline)     {alone * 1000:8.1f} ms")
    print(f"  feature store, cold          {cold * 1000:8.1f} ms   ({cold / alone:.2f}x the encoder: encode + write)")
    print(f"  feature store, warm          {warm * 1000:8.1f} ms   ({alone / warm:.0f}x faster than encoding)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--bad", type=float, default=0.05)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--no-features", action="store_true", help="Skip the feature-store part (needs trained models).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ok = bench_ingest(args, Path(tmp))
        if not args.no_features:
            bench_features(args, Path(tmp))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
