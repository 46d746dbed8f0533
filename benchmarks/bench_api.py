"""Load on the HTTP API: POST /v1/ask at increasing concurrency, against the real server.

    .venv/bin/netcopilot train --if-missing        # the default models, once
    python benchmarks/bench_api.py [--models-dir DIR] [--seconds 10] [--levels 1,2,4,8,32,96] [--workers 1,2]

The server is what `netcopilot serve` runs (uvicorn with `netcopilot.api.app:app_from_environment`,
auth on, rate limiting off, the default queue of 64) in a subprocess on a loopback port, with a
fresh SQLite store; a key is created first. An async httpx client keeps C requests in flight
(closed loop: each client sends its next question when the answer arrives) for `--seconds` per
level, cycling through the held-out phrasings of intents/. Per level: throughput (answers/s),
p50/p99 latency and errors (any status but 200, or a transport error). The report names the
highest level with zero errors.

Baselines in the same run:
- the same Assistant in this process, no HTTP: answers/s and p50/p99, recording each exchange
  as the server does; and where one answer's time goes (spaCy pipeline, MiniLM encoder, the
  rest of the ranking and retrieval, the store write);
- GET /healthz (no auth, no model) before the questions: what the HTTP stack alone sustains
  (with this Python client on the same 2 cores, so partly a limit of the client).

Errors are counted by status: 503 means the server's queue for the Assistant (64) was full.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
from collections import Counter
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SERIAL = itertools.count()  # every question sent to a server is new to it (see `unique`)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(latencies: list[float], errors: Counter, seconds: float) -> dict:
    return {"n": len(latencies), "rate": len(latencies) / seconds, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "errors": sum(errors.values()), "error_kinds": dict(errors)}


def questions(settings) -> list[str]:  # noqa: ANN001
    from netcopilot.nlu.data import load_intents

    return [text for text, _ in load_intents(settings.intents_dir).test]


def unique(texts: list[str], n: int) -> str:
    """The n-th question, made unique: the encoder caches vectors of texts it has seen, and a
    benchmark cycling through a few hundred phrasings would otherwise measure cache hits."""
    return f"{texts[n % len(texts)]} #{n}"


def in_process(settings, texts: list[str], seconds: float) -> tuple[dict, dict]:  # noqa: ANN001
    """The Assistant without HTTP: the rate, and the time of each stage of one answer."""
    from netcopilot.core.assistant import Assistant
    from netcopilot.core.types import Request

    assistant = Assistant.load(settings)
    for n in range(5):  # warm-up
        assistant.answer(Request(text=unique(texts, -1 - n), user="bench:warm", channel="api"))
    latencies: list[float] = []
    stages = {"spacy": [], "encoder": [], "answer_not_recorded": [], "answer_recorded": []}
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        assistant.answer(Request(text=unique(texts, i), user="bench:inproc", channel="api"))
        latencies.append(time.perf_counter() - t0)
        i += 1
    for n in range(100):  # each stage gets a text of its own, so no encoder cache hit
        for name, call in (("spacy", lambda t: assistant.intents.nlp(t)),
                           ("encoder", lambda t: assistant.encoder.encode_one(t)),
                           ("answer_not_recorded", lambda t: assistant.answer(Request(text=t, record=False))),
                           ("answer_recorded", lambda t: assistant.answer(Request(text=t, user="bench:stages", channel="api")))):
            text = unique(texts, 1_000_000 + 4 * n + list(stages).index(name))
            t0 = time.perf_counter()
            call(text)
            stages[name].append(time.perf_counter() - t0)
    assistant.store.close()
    return summary(latencies, Counter(), seconds), {k: statistics.median(v) * 1000 for k, v in stages.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "netcopilot.api.app:app_from_environment", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning", "--no-access-log"], env=env, cwd=REPO)
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(url: str, workers: int, timeout: float = 600) -> None:
    """Ready when /readyz says so `workers` times in a row (each worker loads its own models)."""
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        streak = 0
        while streak < 4 * workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"the server at {url} was not ready within {timeout:.0f}s")
            try:
                streak = streak + 1 if (await client.get("/readyz")).status_code == 200 else 0
            except httpx.TransportError:
                streak = 0
            await asyncio.sleep(0.25 if streak == 0 else 0.02)


async def closed_loop(url: str, key: str, texts: list[str], concurrency: int, seconds: float,
                      method: str = "POST", path: str = "/v1/ask") -> dict:
    import httpx

    latencies: list[float] = []
    errors: Counter = Counter()  # status code (or transport error) -> count
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        end = time.perf_counter() + seconds

        async def user() -> None:
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                try:
                    if method == "GET":
                        r = await client.get(path)
                    else:
                        r = await client.post(path, json={"text": unique(texts, next(SERIAL))})
                    outcome = str(r.status_code)
                except httpx.TransportError as exc:
                    outcome = type(exc).__name__
                if outcome == "200":
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[outcome] += 1

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summary(latencies, errors, elapsed)


def run_server(args, env: dict[str, str], key: str, texts: list[str], workers: int) -> dict:  # noqa: ANN001
    proc, url = start_server(env, workers)
    try:
        asyncio.run(wait_ready(url, workers))
        asyncio.run(closed_loop(url, key, texts, 2, 3))  # warm-up
        health = asyncio.run(closed_loop(url, key, texts, args.health_concurrency, args.seconds, "GET", "/healthz"))
        print(f"  workers={workers} GET /healthz at concurrency {args.health_concurrency}: {health['rate']:.0f} req/s  "
              f"p50 {health['p50_ms']:.1f} ms  p99 {health['p99_ms']:.1f} ms  errors {health['errors']}", flush=True)
        levels = {}
        for c in args.levels:
            levels[c] = asyncio.run(closed_loop(url, key, texts, c, args.seconds))
            row = levels[c]
            print(f"  workers={workers} concurrency={c:>3}: {row['rate']:6.1f} answers/s  p50 {row['p50_ms']:7.1f} ms  "
                  f"p99 {row['p99_ms']:7.1f} ms  errors {row['errors']} {row['error_kinds'] or ''}", flush=True)
        return {"levels": levels, "healthz": health}
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=10.0, help="Duration of each level.")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 8, 32, 96])
    parser.add_argument("--health-concurrency", type=int, default=8, help="Clients for the GET /healthz baseline.")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--json", type=Path, default=None, help="Also write the results to this JSON file.")
    args = parser.parse_args()

    from netcopilot.api.app import OPTIONS_ENV
    from netcopilot.api.auth import KeyStore
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    models_dir = args.models_dir or Settings.load().models_dir
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.load(environ={}, home=Path(home), models_dir=models_dir)
        texts = questions(settings)
        print(f"{len(texts)} held-out questions; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
        base, stages = in_process(settings, texts, args.seconds)
        print(f"baseline, in process (no HTTP): {base['rate']:.1f} answers/s  p50 {base['p50_ms']:.1f} ms  "
              f"p99 {base['p99_ms']:.1f} ms", flush=True)
        rest = stages["answer_not_recorded"] - stages["spacy"] - stages["encoder"]
        print(f"one answer (medians): spaCy pipeline {stages['spacy']:.1f} ms, MiniLM encoder {stages['encoder']:.1f} ms, "
              f"ranking/retrieval/rest {rest:.1f} ms, store write {stages['answer_recorded'] - stages['answer_not_recorded']:.1f} ms "
              f"(answer {stages['answer_recorded']:.1f} ms recorded)", flush=True)

        key, _ = KeyStore(Store(settings.database_url)).create("bench")
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETCOPILOT_")}
        env.update({"NETCOPILOT_HOME": home, "NETCOPILOT_MODELS_DIR": str(models_dir),
                    OPTIONS_ENV: json.dumps({"rate": 0})})
        results = {"baseline": base, "stages_ms": stages, "servers": {}}
        for workers in args.workers:
            results["servers"][workers] = run_server(args, env, key, texts, workers)

    for workers, res in results["servers"].items():
        clean = [c for c, row in res["levels"].items() if row["errors"] == 0]
        best = max(clean, key=lambda c: res["levels"][c]["rate"]) if clean else None
        top = max(clean) if clean else None
        if best is None:
            print(f"workers={workers}: errors at every level")
            continue
        row = res["levels"][best]
        print(f"workers={workers}: highest level without errors: concurrency {top}; best throughput without errors "
              f"{row['rate']:.1f} answers/s at concurrency {best} (p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms), "
              f"{row['rate'] / base['rate']:.0%} of the in-process rate")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
