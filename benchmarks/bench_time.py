"""Execution-time prediction measured on commands really run on this machine.

    python benchmarks/bench_time.py [--repeat 1] [--png pred_vs_actual.png]

Starts, on loopback: an HTTP server that answers /delay/S after S seconds, a UDP socket that never
answers (a DNS black hole), a closed UDP port (DNS refused at once) and a TCP listener that never
speaks (nc -w and ssh wait for it). Runs a LEARNING set of commands (ping, sleep, timeout, curl, wget,
dig, host, nslookup, nc, ssh, traceroute, ip/ss) and a HELD-OUT set with different parameter values
(counts, intervals, +time/+tries/+retry, -w, ConnectTimeout, --max-time, several URLs in one curl)
against the same targets, recording wall times. Reports the median absolute percentage error (MdAPE)
per family and overall of (a) DurationModel fitted on the learning runs, (b) the per-family median of
the learning set, (c) the prior only (DurationModel with no history). Target: (a) <= 10% overall.
"""

from __future__ import annotations

import argparse
import json
import shlex
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from netcopilot.history.timing import DurationModel, main_part  # noqa: E402


class DelayHandler(BaseHTTPRequestHandler):
    """GET /delay/S answers after S seconds."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        try:
            time.sleep(min(5.0, float(self.path.split("?")[0].rsplit("/", 1)[-1] or 0)))
        except ValueError:
            pass
        try:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:  # the client gave up (curl --max-time)
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def local_targets() -> Iterator[dict[str, int]]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), DelayHandler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read: queries vanish
    hole.bind(("127.0.0.1", 0))
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound then closed: ICMP port unreachable
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()  # accepts (kernel backlog) but never speaks
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        yield {"http": http.server_port, "hole": hole.getsockname()[1], "closed": closed_port,
               "silent": silent.getsockname()[1]}
    finally:
        http.shutdown()
        hole.close()
        silent.close()


def command_sets(p: dict[str, int]) -> tuple[list[str], list[str]]:
    url = f"http://127.0.0.1:{p['http']}/delay"
    hole, closed, silent = p["hole"], p["closed"], p["silent"]
    ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    learn = [
        *(f"ping -c {c} -i {i} 127.0.0.1" for c, i in [(1, 1), (2, 0.2), (3, 0.1), (5, 0.05), (4, 0.3), (10, 0.02)]),
        *(f"sleep {s}" for s in (0.1, 0.3, 0.6)),
        "timeout 0.3 ping -i 0.1 127.0.0.1",
        *(f"curl -s {url}/{d}" for d in (0, 0.1, 0.3, 0.6)),
        f"wget -q -O /dev/null {url}/0.2",
        f"dig +time=1 +tries=1 @127.0.0.1 -p {hole} example.com",
        f"dig +time=1 +tries=2 @127.0.0.1 -p {hole} example.com",
        f"dig +time=1 +tries=1 @127.0.0.1 -p {closed} example.com",
        f"dig +time=2 +tries=2 @127.0.0.1 -p {closed} example.org",
        f"host -W 1 -R 0 -p {hole} example.com 127.0.0.1",
        f"nslookup -timeout=1 -retry=1 -port={hole} example.com 127.0.0.1",
        f"nc -w 1 127.0.0.1 {silent}",
        f"nc -z -w 1 127.0.0.1 {silent}",
        f"{ssh} -o ConnectTimeout=1 -p {silent} 127.0.0.1 true",
        "traceroute -n 127.0.0.1", "traceroute -m 5 -q 1 127.0.0.1",
        "ip addr", "ss -tln",
    ]
    held = [
        *(f"ping -c {c} -i {i} 127.0.0.1" for c, i in [(3, 0.25), (6, 0.1), (8, 0.05), (2, 0.4), (20, 0.01), (4, 0.15)]),
        *(f"sleep {s}" for s in (0.2, 0.45, 0.8)),
        "timeout 0.5 ping -i 0.05 127.0.0.1", "timeout 0.4 sleep 5",
        f"curl -s -m 0.2 {url}/0.6", f"curl -s {url}/0.1 {url}/0.3", f"curl -s -o /dev/null --max-time 2 {url}/0.3",
        f"curl -s '{url}/0.6?try=2'", f"curl -s -m 0.4 {url}/0.1",
        f"wget -q -O /dev/null -T 3 {url}/0.2",
        f"dig +time=2 +tries=1 @127.0.0.1 -p {hole} example.com",
        f"dig +time=1 +retry=2 @127.0.0.1 -p {hole} example.net",
        f"dig +time=1 +tries=1 @127.0.0.1 -p {hole} a.example b.example",
        f"dig +time=3 +tries=3 @127.0.0.1 -p {closed} example.com",
        f"dig @127.0.0.1 -p {closed} example.net",
        f"host -W 1 -R 2 -p {hole} example.com 127.0.0.1",
        f"nslookup -timeout=1 -retry=2 -port={hole} example.org 127.0.0.1",
        f"nc -w 2 127.0.0.1 {silent}",
        f"nc -z -w 3 127.0.0.1 {silent}",
        f"{ssh} -o ConnectTimeout=2 -p {silent} 127.0.0.1 true",
        "traceroute -n -q 2 -m 10 127.0.0.1", "traceroute -w 1 127.0.0.1",
        "ip route", "ss -uan",
    ]
    return learn, held


def run_timed(command: str) -> float:
    start = time.perf_counter()
    subprocess.run(shlex.split(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)
    return time.perf_counter() - start


def run_all(commands: list[str], label: str, progress) -> list[tuple[str, float]]:  # noqa: ANN001
    task = progress.add_task(label, total=len(commands))
    out = []
    for command in commands:
        out.append((command, run_timed(command)))
        progress.advance(task)
    return out


def mdape(pred: np.ndarray, actual: np.ndarray) -> float:
    return float(np.median(np.abs(pred - actual) / actual) * 100) if len(actual) else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="Runs of each learning command (default 1).")
    ap.add_argument("--png", type=Path, help="Also plot predicted vs actual on the held-out set.")
    ap.add_argument("--runs", type=Path, help="Save the measured runs to this JSON file, or score them again "
                    "without running anything when it exists.")
    args = ap.parse_args()
    from rich.console import Console
    from rich.progress import Progress

    wall = time.perf_counter()
    if args.runs and args.runs.exists():
        saved = json.loads(args.runs.read_text())
        learn, held = [tuple(r) for r in saved["learn"]], [tuple(r) for r in saved["held"]]
        print(f"scoring the runs saved in {args.runs}")
    else:
        with local_targets() as ports, Progress(console=Console(stderr=True), transient=True) as progress:
            learn_cmds, held_cmds = command_sets(ports)
            learn = run_all(learn_cmds * args.repeat, "learning runs", progress)
            held = run_all(held_cmds, "held-out runs", progress)
        if args.runs:
            args.runs.write_text(json.dumps({"learn": learn, "held": held}, indent=1))
    actual = np.array([s for _, s in held])
    commands = [c for c, _ in held]
    families = [main_part(c).family for c in commands]

    model = DurationModel().fit(learn)
    ours = model.predict(commands)
    prior = DurationModel().predict(commands)
    by_family: dict[str, list[float]] = {}
    for command, seconds in learn:
        by_family.setdefault(main_part(command).family, []).append(seconds)
    overall = float(np.median([s for _, s in learn]))
    median_base = np.array([float(np.median(by_family.get(f, [overall]))) for f in families])
    intervals = model.predict_intervals(commands)
    covered = np.mean([p.low <= a <= p.high for p, a in zip(intervals, actual)])

    print(f"{len(learn)} learning runs, {len(held)} held-out runs (different parameter values), "
          f"{time.perf_counter() - wall:.0f} s wall\n")
    print(f"{'family':<12}{'n':>3}  {'ours':>8}  {'fam.median':>10}  {'prior only':>10}   MdAPE %")
    for fam in sorted(set(families)):
        idx = np.array([f == fam for f in families])
        print(f"{fam:<12}{idx.sum():>3}  {mdape(ours[idx], actual[idx]):>8.1f}  {mdape(median_base[idx], actual[idx]):>10.1f}"
              f"  {mdape(prior[idx], actual[idx]):>10.1f}")
    print(f"{'OVERALL':<12}{len(actual):>3}  {mdape(ours, actual):>8.1f}  {mdape(median_base, actual):>10.1f}"
          f"  {mdape(prior, actual):>10.1f}")
    print(f"\nours: 80%-interval coverage of the held-out runs {covered:.0%} (low <= actual <= high)")
    ape = np.abs(ours - actual) / actual
    print("largest errors (ours):")
    for i in np.argsort(-ape)[:5]:
        print(f"  {ape[i] * 100:5.1f}%  actual {actual[i] * 1000:7.1f} ms  predicted {ours[i] * 1000:7.1f} ms  {commands[i]}")
    short = actual < 0.05
    print(f"what dominates the error: commands under 50 ms ({short.sum()} of them; process start, dig's library"
          f" load, scheduling on a shared machine) have MdAPE {mdape(ours[short], actual[short]):.1f}% "
          f"(median |error| {np.median(np.abs(ours - actual)[short]) * 1000:.1f} ms); the rest "
          f"{mdape(ours[~short], actual[~short]):.1f}% (median |error| {np.median(np.abs(ours - actual)[~short]) * 1000:.1f} ms).")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 6))
        for label, values in (("ours", ours), ("family median", median_base), ("prior only", prior)):
            ax.scatter(actual, values, label=label, s=18)
        lim = [0.003, max(actual.max(), ours.max()) * 1.5]
        ax.plot(lim, lim, "k--", lw=0.8)
        ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim, xlabel="actual seconds", ylabel="predicted seconds",
               title="netcopilot predict-time, held-out commands")
        ax.legend()
        fig.savefig(args.png, dpi=110, bbox_inches="tight")
        print(f"plot written to {args.png}")


if __name__ == "__main__":
    main()
