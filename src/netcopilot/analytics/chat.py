"""The chat's way into the analytics: "anything unusual on the uplink this week?" and "when will
this link saturate?" become a detection or a capacity plan over the metrics the message names
(a CSV path, a folder, a prometheus:// source) or, failing that, `NETCOPILOT_METRICS`."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from netcopilot.errors import NetcopilotError

log = logging.getLogger("netcopilot.analytics")
SOURCE = re.compile(r"(prometheus://\S+|(?:~|\.{1,2})?/?[\w.\-/~]+\.csv\b|(?:~|\.{1,2})?/[\w.\-/~]+)")
LIMIT = re.compile(r"\b(\d+(?:\.\d+)?\s*(?:[kmgt]i?)?(?:bps|bit/s|b/s|bits?)|\d+(?:\.\d+)?\s*%)", re.I)
MAX_SERIES = 6


def find_source(text: str, default: str | None) -> str | None:
    for match in SOURCE.finditer(text):
        token = match.group(1).rstrip("?.,;:!)\"'")
        if token.startswith("prometheus://"):
            return token
        path = Path(token).expanduser()
        if path.exists():
            return str(path)
    return default


def analyse(intent: str, text: str, default_source: str | None, plots_dir: Path) -> dict[str, Any] | None:
    """Findings for an anomaly or capacity question, with a PNG; None when no metrics are known."""
    from netcopilot.analytics import service

    source = find_source(text, default_source)
    if source is None:
        return {"kind": intent, "source": None, "summary": [], "png": None,
                "error": "Tell me where the metrics are: name a CSV file or folder, or a prometheus://host:9090?query=... "
                         "source, or set NETCOPILOT_METRICS."}
    plots_dir.mkdir(parents=True, exist_ok=True)
    png = plots_dir / f"{intent}-{time.strftime('%Y%m%d-%H%M%S')}.png"
    try:
        series = service.load_sources(source)[:MAX_SERIES]
        if intent == "capacity":
            limit = LIMIT.search(text)
            if limit is None:
                results = [service.forecast_series(s, np.timedelta64(7, "D"), None) for s in series]
                summary = ["No limit given (say e.g. '1Gbps' or '80%'); here is the 7-day forecast instead."]
            else:
                results = [service.capacity_series(s, limit.group(1).replace(" ", "")) for s in series]
                summary = []
            summary += [f"{r.series.name}: {r.message}" for r in results]
            service.plot_results(png, results)
        else:
            detections = service.detect_all(series, service.AnomalyDetector().fit())
            summary = []
            for d in detections:
                if d.alerts:
                    summary.append(f"{d.series.name}: {len(d.alerts)} anomal{'y' if len(d.alerts) == 1 else 'ies'}")
                    summary += [f"  {a['start']}: {a['message'].split(': ', 1)[-1]} (score {a['peak_score']:.3f})" for a in d.alerts[-5:]]
                else:
                    summary.append(f"{d.series.name}: nothing unusual in {len(d.series):,} points")
            service.plot_detections(png, detections)
    except NetcopilotError as exc:
        return {"kind": intent, "source": source, "summary": [], "png": None, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a failed analysis must not cost the user the answer
        log.exception("analysis of %s failed", source)
        return {"kind": intent, "source": source, "summary": [], "png": None,
                "error": f"the analysis failed ({type(exc).__name__}: {exc})"}
    return {"kind": intent, "source": source, "summary": summary, "png": str(png), "error": None}

