"""The Prometheus source against a real Prometheus + node_exporter (see conftest.py), plus error
handling against tiny local HTTP servers and the source-spec parser."""

from __future__ import annotations

import http.server
import inspect
import json
import socket
import threading
import time
from typing import Iterator

import numpy as np
import pytest

from netcopilot.analytics.prometheus import (MAX_POINTS, SourceError, format_source, is_prometheus_source,
                                             parse_source, query_range)
from netcopilot.analytics.series import Series
from netcopilot.errors import InputError, NetcopilotError

from .conftest import free_port, loopback_traffic

NOW = 1_700_000_000


# --- a real server ----------------------------------------------------------------------------------


def test_query_range_returns_the_lo_device(prometheus: str) -> None:
    end = time.time()
    series = query_range(prometheus, "rate(node_network_receive_bytes_total[3s])", end - 60, end, "1s")
    assert series and all(isinstance(s, Series) for s in series)
    lo = [s for s in series if s.name == "rate(node_network_receive_bytes_total[3s]) device=lo"]
    assert len(lo) == 1, [s.name for s in series]
    s = lo[0]
    assert s.timestamps.dtype == np.dtype("datetime64[s]") and s.values.dtype == np.float64
    t = s.timestamps.astype(np.int64)
    assert len(t) >= 1 and np.all(np.diff(t) == 1)  # the 1 s grid, sorted and unique
    assert end - 60 - 1 <= t[0] and t[-1] <= end + 1
    finite = s.values[np.isfinite(s.values)]
    assert len(finite) and np.all(finite >= 0) and finite.max() > 0  # scrapes alone move lo's counters
    assert s.source.startswith(prometheus + "/api/v1/query_range?")


def test_a_plain_selector_is_named_after_the_metric(prometheus: str) -> None:
    end = time.time()
    series = query_range(prometheus + "/", 'node_network_receive_bytes_total{device="lo"}', end - 30, end, 1)
    assert [s.name for s in series] == ["node_network_receive_bytes_total device=lo"]
    v = series[0].values[np.isfinite(series[0].values)]
    assert len(v) and np.all(np.diff(v) >= 0)  # a counter


def test_a_source_spec_drives_a_live_query(prometheus: str) -> None:
    host = prometheus.removeprefix("http://")
    spec = f'prometheus://{host}?query=sum by (device) (rate(node_network_transmit_bytes_total{{device="lo"}}[3s]))&since=1m&step=1s'
    assert is_prometheus_source(spec)
    url, query, start, end, step = parse_source(spec)
    assert url == prometheus and step == 1.0 and end - start == np.timedelta64(60, "s")
    series = query_range(url, query, start, end, step)
    assert [s.name for s in series] == [f"{query} device=lo"]


def test_nothing_matching_is_an_empty_list(prometheus: str) -> None:
    end = time.time()
    assert query_range(prometheus, "no_such_metric_anywhere", end - 30, end, "5s") == []


def test_bad_promql_surfaces_the_servers_message(prometheus: str) -> None:
    end = time.time()
    with pytest.raises(SourceError) as err:
        query_range(prometheus, "rate(node_network_receive_bytes_total[3s]", end - 30, end, 1)
    message = str(err.value)
    assert prometheus in message and "bad_data" in message and "parse error" in message
    assert "\n" not in message and isinstance(err.value, NetcopilotError)


def test_too_many_points_is_refused_before_asking(prometheus: str) -> None:
    with pytest.raises(InputError, match="at most 11,000 points"):
        query_range(prometheus, "up", NOW - 86400, NOW, 1)


# --- servers that are not (working) Prometheus servers ------------------------------------------------


def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NetcopilotError) as err:
        query_range(url, "up", NOW - 60, NOW, 15)
    message = str(err.value)
    assert message.startswith(f"Prometheus at {url}: connection refused") and "\n" not in message


class _Canned(http.server.BaseHTTPRequestHandler):
    status = 200
    body = b""
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canned() -> Iterator:
    """A local HTTP server answering every GET with the status and body the test sets."""
    handler = type("Handler", (_Canned,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def reply(body: object, status: int = 200) -> str:
        handler.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.status = status
        return f"http://127.0.0.1:{server.server_address[1]}"

    reply.seen = handler.seen
    yield reply
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("body, status, expected", [
    (b"<html><body>It works!</body></html>", 200, "the reply is not JSON (starts with '<html><body>It works!"),
    (b'{"status": "success", "data": ', 200, "the reply is not JSON"),
    ([1, 2, 3], 200, "the reply is JSON but not a Prometheus API response"),
    ({"status": "success", "data": {"resultType": "vector", "result": []}}, 200, "expected a matrix result"),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"values": [["x", "1"]]}]}}, 200,
     "malformed result"),
    (b"oops\nsecond line", 502, "HTTP 502"),
    ({"status": "error", "errorType": "timeout", "error": "query timed out\nin query execution"}, 503,
     "query failed (timeout): query timed out in query execution (HTTP 503)"),
    ({"status": "error", "errorType": "execution", "error": "many-to-many matching not allowed"}, 200,
     "query failed (execution): many-to-many matching not allowed"),
])
def test_broken_replies_are_one_clean_line(canned, body, status, expected) -> None:
    url = canned(body, status)
    with pytest.raises(SourceError) as err:
        query_range(url, "up", NOW - 60, NOW, 15)
    message = str(err.value)
    assert message.startswith(f"Prometheus at {url}: ") and expected in message and "\n" not in message


def test_a_silent_server_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody ever answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(SourceError, match=r"no reply within 0\.3 s"):
            query_range(url, "up", NOW - 60, NOW, 15, timeout=0.3)
        assert time.monotonic() - began < 3


def test_results_land_on_the_step_grid_with_gaps_nan_and_readable_names(canned) -> None:
    t0 = NOW
    result = [
        {"metric": {"__name__": "ifHCInOctets", "job": "snmp", "instance": "r1", "ifName": "Gi0/1"},
         "values": [[t0, "1"], [t0 + 10, "2"], [t0 + 40, "NaN"], [t0 + 50, "+Inf"]]},
        {"metric": {"__name__": "ifHCInOctets", "job": "snmp", "instance": "r1", "ifName": "Gi0/2 uplink"},
         "values": [[t0 + 20, "3.5"]]},
    ]
    url = canned({"status": "success", "warnings": ["results truncated"],
                  "data": {"resultType": "matrix", "result": result}})
    a, b = query_range(url, "ifHCInOctets", t0, t0 + 60, "10s")
    assert a.name == "ifHCInOctets ifName=Gi0/1" and b.name == 'ifHCInOctets ifName="Gi0/2 uplink"'
    assert a.timestamps.astype(np.int64).tolist() == [t0 + 10 * k for k in range(6)]
    np.testing.assert_array_equal(a.values, [1, 2, np.nan, np.nan, np.nan, np.nan])
    assert any("2 step(s) without a sample" in n for n in a.notes)
    assert any("1 infinite value(s)" in n for n in a.notes) and "results truncated" in a.notes
    assert b.timestamps.astype(np.int64).tolist() == [t0 + 20] and b.values.tolist() == [3.5]
    sent = canned.seen[0]
    assert sent.startswith("/api/v1/query_range?") and f"start={t0}" in sent and "step=10" in sent


# --- source specs ------------------------------------------------------------------------------------


def test_parse_source_defaults() -> None:
    url, query, start, end, step = parse_source("prometheus://prom.example?query=up", now=NOW)
    assert url == "http://prom.example:9090" and query == "up"
    assert end == np.datetime64(NOW, "s") and end - start == np.timedelta64(6 * 3600, "s")
    assert step == 2.0 and 6 * 3600 / step <= MAX_POINTS  # the smallest nice step within the limit
    assert parse_source("prometheus://h:1?query=up&since=30d", now=NOW)[4] == 300.0
    assert parse_source("prometheus://h:1?query=up&since=5m", now=NOW)[4] == 1.0


def test_parse_source_keeps_promql_literal_and_decodes_api_urls_like_the_server() -> None:
    promql = 'sum(rate(x{a=~"b|c"}[5m])) + sum(y) / 2'
    got = parse_source(f"prometheus+https://p:443/prom/?query={promql}&step=1m&start=2023-11-14T20:00:00Z"
                       "&end=now-1h", now=NOW)
    assert got == ("https://p:443/prom", promql, np.datetime64("2023-11-14T20:00:00"),
                   np.datetime64(NOW - 3600, "s"), 60.0)
    api = "http://127.0.0.1:9090/api/v1/query_range?query=sum(up)+%2B+1&start=1699990000&end=1700000000&step=15"
    assert parse_source(api) == ("http://127.0.0.1:9090", "sum(up) + 1", np.datetime64(1699990000, "s"),
                                 np.datetime64(1700000000, "s"), 15.0)


@pytest.mark.parametrize("query", ["up", 'rate(node_network_receive_bytes_total{device="lo"}[5m])',
                                   'a + b & c # 100% "odd"', "topk(3, sum by (instance) (x)) > 1e3"])
@pytest.mark.parametrize("base", ["http://127.0.0.1:9090", "https://prom.example:8443/sub/path", "http://[::1]:9090"])
def test_format_and_parse_round_trip(base: str, query: str) -> None:
    spec = format_source(base, query, NOW - 3600, NOW, "30s")
    assert is_prometheus_source(spec) and " " not in spec
    assert parse_source(spec) == (base, query, np.datetime64(NOW - 3600, "s"), np.datetime64(NOW, "s"), 30.0)


@pytest.mark.parametrize("spec, complaint", [
    ("", "empty"),
    ("up", "not a Prometheus source"),
    ("ftp://h/api/v1/query_range?query=up", "not a Prometheus source"),
    ("http://h:9090/graph?query=up", "path must end in /api/v1/query_range"),
    ("prometheus://?query=up", "names no host"),
    ("prometheus://h:99999?query=up", "bad port"),
    ("prometheus://h:9090", "has no query"),
    ("prometheus://h:9090?query=", "has no query"),
    ("prometheus://h:9090?query=up&since=1h&start=now-2h", "not both"),
    ("prometheus://h:9090?query=up&query=down", "given twice"),
    ("prometheus://h:9090?query=up&lookback=5m", "unknown parameter 'lookback'"),
    ("prometheus://h:9090?query=up&step=fast", "bad Prometheus step"),
    ("prometheus://h:9090?query=up&step=500ms", "at least 1s"),
    ("prometheus://h:9090?query=up&since=0s", "must be positive"),
    ("prometheus://h:9090?query=up&since=7d&step=1s", "step must be at least 60s"),
    ("prometheus://h:9090?query=up&start=yesterday", "bad Prometheus start time"),
    ("prometheus://h:9090?query=up&start=now&end=now-1h", "end must be after the start"),
    ("prometheus://h:9090?query=up&end=nan", "bad Prometheus end time"),
])
def test_parse_source_rejects_nonsense(spec: str, complaint: str) -> None:
    with pytest.raises(InputError) as err:
        parse_source(spec, now=NOW)
    assert complaint in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text, expected", [
    ("prometheus://127.0.0.1:9090?query=up", True),
    ("Prometheus+HTTPS://p?query=up", True),
    ("http://p:9090/api/v1/query_range?query=up", True),
    ("https://p/prefix/api/v1/query_range/", True),
    ("http://p:9090/api/v1/query?query=up", False),
    ("http://p:9090/", False),
    ("data/metrics.csv", False),
    ("prometheus", False),
    ("", False),
    (None, False),
])
def test_is_prometheus_source(text, expected) -> None:
    assert is_prometheus_source(text) is expected


def test_importing_the_module_stays_cheap() -> None:
    import subprocess
    import sys

    code = ("import sys, netcopilot.analytics.prometheus as p; "
            "heavy = {'pandas', 'statsmodels', 'sklearn', 'torch', 'urllib.request', 'http.client'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- anomaly detection on what Prometheus scraped (last: the earlier tests count as quiet baseline) ---

BASELINE_POINTS = 14
BURST_BYTES = 300 << 20
# The detector's defaults want minutes of warm-up (and calibration) at this 1 s step; a short test
# uses a short warm-up. Only the knobs the constructor has are passed; the alert threshold is its own.
SHORT_WARMUP = {"min_points": 8, "min_calibration": 6, "window": 30, "refractory": 10}


def test_a_loopback_burst_is_flagged_by_the_detector(prometheus: str) -> None:
    detect = pytest.importorskip("netcopilot.analytics.detect")
    query = 'irate(node_network_receive_bytes_total{device="lo"}[3s])'

    def fetch() -> Series:
        end = time.time()
        (series,) = query_range(prometheus, query, end - 120, end, 1)
        return series

    deadline = time.monotonic() + 25
    while np.isfinite(fetch().values).sum() < BASELINE_POINTS:  # a quiet baseline first
        assert time.monotonic() < deadline, "Prometheus did not collect a baseline in time"
        time.sleep(0.5)
    burst_from = np.datetime64(int(time.time()), "s")
    assert loopback_traffic(BURST_BYTES, seconds=2.0) == BURST_BYTES
    burst_to = np.datetime64(int(time.time()) + 1, "s")
    while (s := fetch()).timestamps[-1] < burst_to + np.timedelta64(1, "s"):  # scrapes after the burst
        assert time.monotonic() < deadline + 10, "Prometheus stopped scraping"
        time.sleep(0.3)
    ok = np.isfinite(s.values)
    t, v = s.timestamps[ok], s.values[ok]
    in_burst = (t >= burst_from) & (t <= burst_to + np.timedelta64(1, "s"))
    assert in_burst.any() and v[in_burst].max() > 20 * np.median(v[~in_burst]), (t, v)

    accepted = inspect.signature(detect.AnomalyDetector).parameters
    detector = detect.AnomalyDetector(**{k: x for k, x in SHORT_WARMUP.items() if k in accepted})
    scores = detector.score_samples(v, t)
    flags = detector.predict(v, t)
    assert scores.shape == v.shape and np.all((0 <= scores) & (scores <= 1))
    assert flags[in_burst].any(), (t, v, scores)
    assert not flags[t < burst_from].any(), (t, v, scores)
