"""A live metrics source: range queries against a Prometheus server's HTTP API.

    query_range(base_url, query, start, end, step)  -> list[Series]   (GET /api/v1/query_range)
    parse_source(text)  -> (base_url, query, start, end, step)         (a source spec, below)
    format_source(base_url, query, start, end, step) -> str            (the inverse of parse_source)
    is_prometheus_source(text) -> bool                                  (cheap, never raises)

Source specs (what a user types on the command line)
----------------------------------------------------
Two spellings, with the same parameters:

    prometheus://HOST[:PORT][/PREFIX]?query=PROMQL[&since=DUR | &start=T][&end=T][&step=DUR]
    prometheus+https://HOST[:PORT][/PREFIX]?...          the same over HTTPS
    http[s]://HOST:PORT[/PREFIX]/api/v1/query_range?query=...&start=...&end=...&step=...

e.g.  prometheus://127.0.0.1:9090?query=rate(node_network_receive_bytes_total[5m])&since=1h&step=15s

- PORT defaults to 9090; PREFIX is for a server behind a path (``--web.route-prefix``).
- In a ``prometheus://`` spec PromQL is written as is: only ``%XX`` escapes are decoded, so ``+``
  stays a plus and ``{device="lo"}`` needs no quoting beyond the shell's. Escape a literal ``&``
  as ``%26``. An ``http(s)://`` URL is decoded exactly as the server would decode it (``+`` = space),
  so a URL copied from curl or a browser means what it meant there.
- ``query`` is required. Other parameters, all optional:
    since   window length ending at ``end``, default 6h (not together with ``start``)
    start   window start;  end  window end, default now
    step    resolution; default: the smallest of 1s 2s 5s 10s 15s 30s 1m 2m 5m 10m 15m 30m 1h ...
            giving at most 11,000 points (Prometheus's own limit), never below 1s
- Durations: Prometheus style (``90s``, ``5m``, ``1h30m``, ``2d``, ``1w``; units ms s m h d w y) or a
  bare number of seconds. Times: unix seconds (``1700000000``), ISO 8601 / RFC 3339
  (``2024-05-01T12:00:00Z``; no offset = UTC), ``now`` or ``now-DUR``.

parse_source returns start and end as numpy ``datetime64[s]`` and step as float seconds; relative
times are resolved when it is called. Unknown parameters or bad values raise InputError.

Results
-------
Each result series becomes one Series on the regular grid start + k*step (gaps inside a series, where
Prometheus had no sample, become NaN; so do "NaN", stale and infinite values, with a note). Its name
is the metric name, or the query when the expression drops it, followed by the labels as
``key=value`` sorted by key; ``job`` and ``instance`` are left out when all series share them:
``rate(node_network_receive_bytes_total[5m]) device=lo``. ``source`` is the full request URL.

Anything that goes wrong talking to the server (refused, timeout, HTTP error, an error status from
Prometheus, a reply that is not the expected JSON) raises SourceError, one line naming the URL.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from netcopilot.errors import InputError, NetcopilotError

if TYPE_CHECKING:  # imported where used, so importing this module costs numpy and nothing more
    from netcopilot.analytics.series import Series

__all__ = ["SourceError", "query_range", "parse_source", "format_source", "is_prometheus_source",
           "MAX_POINTS", "DEFAULT_SINCE", "DEFAULT_PORT"]

MAX_POINTS = 11_000          # Prometheus refuses query_range when (end - start) / step exceeds this
DEFAULT_SINCE = 6 * 3600.0   # seconds
DEFAULT_PORT = 9090
API_PATH = "/api/v1/query_range"
_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "y": 365 * 86400.0}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_PARAMS = ("query", "since", "start", "end", "step")
_SCHEMES = {"prometheus": "http", "prometheus+http": "http", "prometheus+https": "https"}


class SourceError(NetcopilotError):
    """A metrics source could not be read (server unreachable, error reply, malformed reply)."""


# --------------------------------------------------------------------------------------------------
# Querying


def query_range(base_url: str, query: str, start: Any, end: Any, step: str | float,
                timeout: float = 10.0) -> list[Series]:
    """Run ``query`` over [start, end] every ``step`` on the Prometheus at ``base_url``.

    base_url: ``http(s)://host:port[/prefix]`` (a trailing ``/api/v1/query_range`` is tolerated).
    start, end: datetime (naive = UTC), numpy datetime64, unix seconds, or a string as in a source spec.
    step: seconds (>= 1) or a duration string such as ``"15s"``.
    Returns one Series per result series, ordered by labels (an empty list when nothing matched).
    """
    base = _normalise_base(base_url)
    if not isinstance(query, str) or not query.strip():
        raise InputError("Prometheus query is empty")
    now = time.time()
    t0, t1 = _to_unix(start, now, "start"), _to_unix(end, now, "end")
    step_s = _duration(step, "step")
    _check_window(t0, t1, step_s)
    # Whole seconds: Series timestamps are datetime64[s], and step >= 1 s keeps them unique.
    t0, t1 = math.floor(t0), math.floor(t1)

    params = {"query": query, "start": _num(t0), "end": _num(t1), "step": _num(step_s)}
    from urllib.parse import urlencode

    url = f"{base}{API_PATH}?{urlencode(params)}"
    data = _get_json(url, base, timeout)
    if data.get("status") != "success":
        raise SourceError(f"Prometheus at {base}: {_error_text(data)}")
    body = data.get("data")
    if not isinstance(body, dict) or body.get("resultType") != "matrix" or not isinstance(body.get("result"), list):
        kind = body.get("resultType") if isinstance(body, dict) else None
        raise SourceError(f"Prometheus at {base}: expected a matrix result from query_range, got "
                          f"{kind or 'something else'}")
    warnings = [_one_line(str(w)) for w in data.get("warnings") or []]
    try:
        return _to_series(body["result"], query, t0, step_s, url, warnings)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise SourceError(f"Prometheus at {base}: malformed result ({_one_line(str(exc)) or type(exc).__name__})") from None


def _to_series(result: list, query: str, t0: float, step: float, url: str, warnings: list[str]) -> list:
    from netcopilot.analytics.series import Series

    labelsets = [{str(k): str(v) for k, v in (item.get("metric") or {}).items()} for item in result]
    hide = {key for key in ("job", "instance") if len({ls.get(key) for ls in labelsets}) == 1}
    out = []
    for item, labels in sorted(zip(result, labelsets), key=lambda pair: sorted(pair[1].items())):
        pairs = item.get("values") or []
        ts = np.array([float(p[0]) for p in pairs], dtype=np.float64)
        raw = np.array([_value(p[1]) for p in pairs], dtype=np.float64)
        notes = list(warnings)
        if len(ts) == 0:
            times, values = np.array([], dtype="datetime64[s]"), raw
        else:
            k = np.rint((ts - t0) / step).astype(np.int64)
            k, first = np.unique(k, return_index=True)   # sorted, one sample per step
            raw = raw[first]
            values = np.full(int(k[-1] - k[0]) + 1, np.nan)
            values[k - k[0]] = raw
            grid = k[0] + np.arange(len(values), dtype=np.int64)
            times = np.floor(t0 + grid * step).astype(np.int64).astype("datetime64[s]")
            if (gaps := len(values) - len(k)):
                notes.append(f"{gaps} step(s) without a sample set to NaN")
        if (infinite := int(np.isinf(values).sum())):
            values[np.isinf(values)] = np.nan
            notes.append(f"{infinite} infinite value(s) set to NaN")
        base = labels.pop("__name__", None) or " ".join(query.split())
        shown = [f"{key}={_label_value(val)}" for key, val in sorted(labels.items()) if key not in hide]
        out.append(Series(name=" ".join([base, *shown]), timestamps=times, values=values, source=url, notes=notes))
    return out


def _value(text: Any) -> float:
    # Prometheus sends sample values as strings: "1.5", "NaN", "+Inf", "-Inf".
    return float(text)


def _label_value(value: str) -> str:
    return value if value and re.fullmatch(r"[\w.:/@+-]+", value) else '"' + value.replace('"', '\\"') + '"'


def _get_json(url: str, base: str, timeout: float) -> dict:
    import http.client
    import json
    import socket
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "netcopilot"})
    handlers = []
    if _is_loopback(base):  # a proxy from the environment must not swallow a local server
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read()
        except Exception:  # noqa: BLE001 - the status line is enough then
            body = b""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("status") == "error":
            raise SourceError(f"Prometheus at {base}: {_error_text(data)} (HTTP {exc.code})") from None
        raise SourceError(f"Prometheus at {base}: HTTP {exc.code} {_one_line(str(exc.reason))}".rstrip()) from None
    except urllib.error.URLError as exc:
        raise SourceError(f"Prometheus at {base}: {_reason(exc.reason, timeout)}") from None
    except (TimeoutError, socket.timeout):
        raise SourceError(f"Prometheus at {base}: no reply within {timeout:g} s") from None
    except OSError as exc:  # connection reset mid-read, and the like
        raise SourceError(f"Prometheus at {base}: {_reason(exc, timeout)}") from None
    except http.client.HTTPException as exc:  # not HTTP at all, or a reply cut short
        raise SourceError(f"Prometheus at {base}: broken HTTP reply ({type(exc).__name__}"
                          f"{': ' + _one_line(str(exc))[:60] if str(exc) else ''})") from None
    try:
        data = json.loads(raw)
    except ValueError:
        snippet = _one_line(raw[:60].decode("utf-8", "replace"))
        raise SourceError(f"Prometheus at {base}: the reply is not JSON (starts with {snippet!r}); "
                          "is this a Prometheus server?") from None
    if not isinstance(data, dict) or "status" not in data:
        raise SourceError(f"Prometheus at {base}: the reply is JSON but not a Prometheus API response")
    return data


def _reason(reason: Any, timeout: float) -> str:
    import socket

    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server running, and is this the right port?)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no reply within {timeout:g} s"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({_one_line(str(reason.strerror or reason))})"
    if isinstance(reason, OSError) and reason.strerror:
        return _one_line(reason.strerror[:1].lower() + reason.strerror[1:])
    return _one_line(str(reason)) or "cannot connect"


def _error_text(data: dict) -> str:
    kind, message = data.get("errorType"), _one_line(str(data.get("error") or "")) or "unknown error"
    return f"query failed ({kind}): {message}" if kind else f"query failed: {message}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_loopback(base: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(base).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _normalise_base(base_url: str) -> str:
    from urllib.parse import urlsplit

    base = str(base_url).strip().rstrip("/")
    if base.endswith(API_PATH):
        base = base[: -len(API_PATH)]
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InputError(f"not a Prometheus base URL: {base_url!r} (expected http://host:port)")
    try:
        parts.port
    except ValueError:
        raise InputError(f"not a Prometheus base URL: {base_url!r} (bad port)") from None
    return base


# --------------------------------------------------------------------------------------------------
# Source specs


def is_prometheus_source(text: object) -> bool:
    """True when ``text`` looks like a Prometheus source spec (prometheus:// or an API URL)."""
    if not isinstance(text, str):
        return False
    t = text.strip().lower()
    if t.split("://", 1)[0] in _SCHEMES and "://" in t:
        return True
    return t.startswith(("http://", "https://")) and t.split("?", 1)[0].rstrip("/").endswith(API_PATH)


def parse_source(text: str, now: float | None = None) -> tuple[str, str, np.datetime64, np.datetime64, float]:
    """Parse a source spec (see the module docstring) into (base_url, query, start, end, step)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty Prometheus source")
    spec = text.strip()
    scheme, sep, rest = spec.partition("://")
    scheme = scheme.lower()
    if not sep or (scheme not in _SCHEMES and scheme not in ("http", "https")):
        raise InputError(f"not a Prometheus source: {spec!r} (expected prometheus://host:port?query=...)")
    location, _, qs = rest.partition("?")
    literal = scheme in _SCHEMES
    if literal:
        base = f"{_SCHEMES[scheme]}://{location.rstrip('/')}"
    else:
        path_at = location.find("/")
        path = location[path_at:].rstrip("/") if path_at >= 0 else ""
        if not path.endswith(API_PATH):
            raise InputError(f"not a Prometheus API URL: {spec!r} (the path must end in {API_PATH})")
        base = f"{scheme}://{location[:path_at]}{path[: -len(API_PATH)]}"
    from urllib.parse import unquote, unquote_plus, urlsplit

    parts = urlsplit(base)
    if not parts.hostname:
        raise InputError(f"Prometheus source {spec!r} names no host")
    try:
        port = parts.port
    except ValueError:
        raise InputError(f"Prometheus source {spec!r} has a bad port") from None
    if literal and port is None:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        base = f"{parts.scheme}://{host}:{DEFAULT_PORT}{parts.path}"

    params: dict[str, str] = {}
    for piece in qs.split("&") if qs else []:
        if not piece:
            continue
        key, eq, value = piece.partition("=")
        key = unquote(key).strip().lower()
        if key not in _PARAMS:
            raise InputError(f"unknown parameter {key!r} in Prometheus source (use {', '.join(_PARAMS)})")
        if key in params:
            raise InputError(f"parameter {key!r} given twice in Prometheus source")
        params[key] = (unquote(value) if literal else unquote_plus(value)).strip()
    query = params.get("query", "")
    if not query:
        raise InputError(f"Prometheus source {spec!r} has no query (add ?query=PROMQL)")
    if "since" in params and "start" in params:
        raise InputError("Prometheus source: give 'since' or 'start', not both")

    now = time.time() if now is None else float(now)
    end = _to_unix(params["end"], now, "end") if "end" in params else now
    if "start" in params:
        start = _to_unix(params["start"], now, "start")
    else:
        since = _duration(params["since"], "since") if "since" in params else DEFAULT_SINCE
        if since <= 0:
            raise InputError("Prometheus source: 'since' must be positive")
        start = end - since
    start, end = math.floor(start), math.floor(end)
    step = _duration(params["step"], "step") if "step" in params else default_step(end - start)
    _check_window(start, end, step)
    return base, query, np.datetime64(int(start), "s"), np.datetime64(int(end), "s"), step


def format_source(base_url: str, query: str, start: Any = None, end: Any = None,
                  step: str | float | None = None) -> str:
    """A ``prometheus://`` spec that parse_source reads back as the same parameters."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(_normalise_base(base_url))
    scheme = "prometheus" if parts.scheme == "http" else "prometheus+https"
    spec = f"{scheme}://{parts.netloc}{parts.path}?query={quote(query, safe=_SAFE_IN_QUERY)}"
    now = time.time()
    if start is not None:
        spec += f"&start={_num(math.floor(_to_unix(start, now, 'start')))}"
    if end is not None:
        spec += f"&end={_num(math.floor(_to_unix(end, now, 'end')))}"
    if step is not None:
        spec += f"&step={_num(_duration(step, 'step'))}"
    return spec


# Characters left readable in a formatted query: everything PromQL uses except & % # and space.
_SAFE_IN_QUERY = "()[]{}=!~\"',:+-*/^<>@._$|;?"


def default_step(span: float) -> float:
    """The smallest 'nice' step (>= 1 s) that keeps ``span`` seconds within MAX_POINTS points."""
    need = max(span, 0.0) / MAX_POINTS
    for step in _NICE_STEPS:
        if step >= need:
            return float(step)
    return float(math.ceil(need / 86400) * 86400)


def _check_window(start: float, end: float, step: float) -> None:
    if not math.isfinite(step) or step < 1:
        raise InputError(f"Prometheus step must be at least 1s (got {_num(step)}s)")
    if not end > start:
        raise InputError("Prometheus time window is empty: the end must be after the start")
    if (end - start) / step > MAX_POINTS:
        raise InputError(f"Prometheus allows at most {MAX_POINTS:,} points per series: with this window the "
                         f"step must be at least {_num(default_step(end - start))}s")


def _duration(text: Any, what: str) -> float:
    t = str(text).strip().lower()
    try:
        value = float(t)
    except ValueError:
        pieces = _DURATION_RE.findall(t)
        if not pieces or "".join(n + u for n, u in pieces) != t:
            raise InputError(f"bad Prometheus {what} {text!r} (use a duration such as 15s, 5m, 1h30m)") from None
        value = sum(float(n) * _UNITS[u] for n, u in pieces)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"bad Prometheus {what} {text!r} (must be a positive duration)")
    return value


def _to_unix(value: Any, now: float, what: str) -> float:
    """Seconds since the epoch from a datetime, datetime64, number or string (naive = UTC)."""
    if isinstance(value, bool):
        raise InputError(f"bad Prometheus {what} time {value!r}")
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InputError(f"bad Prometheus {what} time (NaT)")
        return value.astype("datetime64[ms]").astype(np.int64) / 1000.0
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(float(value)):
            raise InputError(f"bad Prometheus {what} time {value!r}")
        return float(value)
    if isinstance(value, str):
        t = value.strip()
        low = t.lower()
        if low == "now":
            return now
        if low.startswith("now-"):
            return now - _duration(low[4:], what)
        try:
            number = float(t)
        except ValueError:
            pass
        else:
            return _to_unix(number, now, what)
        try:
            parsed = datetime.fromisoformat(t[:-1] + "+00:00" if t[-1:] in "zZ" and t else t)
        except ValueError:
            raise InputError(f"bad Prometheus {what} time {value!r} "
                             "(use unix seconds, ISO 8601 such as 2024-05-01T12:00:00Z, now or now-1h)") from None
        return _to_unix(parsed, now, what)
    raise InputError(f"bad Prometheus {what} time {value!r}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))

