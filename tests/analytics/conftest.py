"""A real Prometheus scraping a real node_exporter, both on loopback and free ports, once per session.

Debian's packages provide the binaries (`.ci/run` installs them). Nothing here uses the packaged
services or their default ports 9090/9100.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

SCRAPE_SECONDS = 1
STARTUP_TIMEOUT = 25.0  # Prometheus hands discovered targets to the scraper after ~5 s; data follows in ~1-2 s
# Four scrapes of the lo counters: a range query ending at the current whole second then has rates.
LO_SAMPLES = 'count_over_time(node_network_receive_bytes_total{device="lo"}[1m]) >= 4'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_traffic(nbytes: int, seconds: float = 0.0) -> int:
    """Send `nbytes` through a TCP connection on 127.0.0.1 (so the `lo` counters move), spread over
    `seconds` if given. Returns the number of bytes that went through."""
    server = socket.create_server(("127.0.0.1", 0))
    received = [0]

    def drain() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(1 << 20):
                received[0] += len(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    chunk = b"x" * (1 << 20)
    began = time.monotonic()
    sent = 0
    with socket.create_connection(server.getsockname()) as out:
        while sent < nbytes:
            piece = chunk[: min(len(chunk), nbytes - sent)]
            out.sendall(piece)
            sent += len(piece)
            if seconds:  # pace: stay on the line sent/nbytes = elapsed/seconds
                ahead = sent / nbytes * seconds - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
    reader.join(10)
    server.close()
    return received[0]


def instant(base: str, query: str) -> list:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=2) as reply:
        return json.load(reply)["data"]["result"]


def _binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"`{name}` is not installed: run .ci/run (it installs Debian's prometheus and "
                    "prometheus-node-exporter), or apt-get install them", pytrace=False)
    return path


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a Prometheus that scrapes a node_exporter every second and
    already has a few samples (so rates) for the `lo` device. Both processes are stopped at the end of the session."""
    prom_bin, exporter_bin = _binary("prometheus"), _binary("prometheus-node-exporter")
    work = tmp_path_factory.mktemp("prometheus")
    exporter_port, prom_port = free_port(), free_port()
    while prom_port == exporter_port:
        prom_port = free_port()
    (work / "prometheus.yml").write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_SECONDS}s\n"
        f"  scrape_timeout: {SCRAPE_SECONDS}s\n"
        "  evaluation_interval: 15s\n"
        "scrape_configs:\n"
        "  - job_name: node\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n")
    procs: list[tuple[subprocess.Popen, Path]] = []

    def start(cmd: list[str], log: Path) -> None:
        with log.open("wb") as out:
            procs.append((subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT), log))

    base = f"http://127.0.0.1:{prom_port}"
    try:
        # Only the network-device collector (fast); Debian's build excludes `lo` unless told otherwise.
        start([exporter_bin, f"--web.listen-address=127.0.0.1:{exporter_port}",
               "--collector.disable-defaults", "--collector.netdev", "--collector.netdev.device-exclude=",
               "--web.disable-exporter-metrics", "--log.level=warn"], work / "node_exporter.log")
        start([prom_bin, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
               f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1h",
               "--log.level=warn"], work / "prometheus.log")

        deadline = time.monotonic() + STARTUP_TIMEOUT
        stage = "Prometheus to answer"
        while True:
            for proc, log in procs:
                if proc.poll() is not None:
                    pytest.fail(f"{proc.args[0]} exited with {proc.returncode}:\n{_tail(log)}", pytrace=False)
            try:
                if stage == "Prometheus to answer":
                    instant(base, "1")
                    stage = "the node_exporter target to be up"
                if stage == "the node_exporter target to be up" and any(r["value"][1] == "1" for r in instant(base, "up")):
                    stage = "four samples of the lo device"
                if stage == "four samples of the lo device" and instant(base, LO_SAMPLES):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"waited {STARTUP_TIMEOUT:g} s for {stage}; prometheus log:\n"
                            f"{_tail(work / 'prometheus.log')}", pytrace=False)
            loopback_traffic(16 << 10)  # so the lo counters move between scrapes (a little: the baseline stays quiet)
            time.sleep(0.2)
        yield base
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
