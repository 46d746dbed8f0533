"""Thresholds over a monitor report -> alert lines, and delivery of those lines to a webhook.

The webhook body is JSON with a "text" field (what Slack incoming webhooks and most chat
bridges display) and the structured "alerts", for anything that wants to route them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

from netcopilot.errors import InputError


@dataclass(frozen=True)
class Thresholds:
    max_psi: float = 0.25  # intent or confidence PSI of the current window vs the previous one
    max_training_psi: float | None = None  # intent PSI vs the training phrasings (off: balanced by design)
    min_accuracy: float | None = 0.5  # share of rated answers that helped, current window
    max_low_confidence: float | None = 0.3  # share of answers below clarify_below, current window
    max_p95_ms: float | None = None  # answer latency, current window
    min_sample: int = 30  # answers (or rated answers) a window or segment needs before it is judged


@dataclass(frozen=True)
class Alert:
    name: str
    message: str
    value: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _over(name: str, value: float | None, limit: float | None, text: str) -> list[Alert]:
    return [Alert(name, text.format(value=value, limit=limit), value, limit)] if None not in (value, limit) and value > limit else []


def evaluate(report: dict[str, Any], t: Thresholds) -> list[Alert]:
    drift, current = report["drift"], report["current"]
    alerts = [
        *_over("intent_drift", drift["intent_vs_previous"]["psi"], t.max_psi,
               "intent mix drifted: PSI {value:.3f} vs the previous window (limit {limit})"),
        *_over("confidence_drift", drift["confidence_vs_previous"]["psi"], t.max_psi,
               "confidence drifted: PSI {value:.3f} vs the previous window (limit {limit})"),
        *_over("training_drift", drift["intent_vs_training"]["psi"], t.max_training_psi,
               "intent mix far from the training phrasings: PSI {value:.3f} (limit {limit})"),
    ]
    if current["answers"] >= t.min_sample:
        alerts += _over("low_confidence", current["low_confidence_rate"], t.max_low_confidence,
                        "{value:.0%} of answers in the current window were low-confidence (limit {limit:.0%})")
        alerts += _over("latency_p95", current["latency_p95"], t.max_p95_ms,
                        "answer latency p95 {value:.0f} ms (limit {limit:.0f} ms)")
    if current["rated"] >= t.min_sample and t.min_accuracy is not None and current["accuracy"] < t.min_accuracy:
        alerts.append(Alert("accuracy", f"only {current['accuracy']:.0%} of rated answers helped in the current window "
                                        f"(limit {t.min_accuracy:.0%}, n={current['rated']})",
                            current["accuracy"], t.min_accuracy))
    for flag in report["flags"]:
        alerts.append(Alert("segment", f"segment behind: {flag['message']}", flag["accuracy"], flag["rest_accuracy"]))
    return alerts


def check_webhook(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"--webhook {url!r}: expected an http:// or https:// URL")
    return url


def post(url: str, alerts: list[Alert], summary: str, timeout: float = 10.0) -> int:
    """POST the alerts as JSON; returns the HTTP status. An unreachable or failing webhook is an
    error the cron job must see, not a silent drop."""
    body = {"text": summary + "".join(f"\n- {a.message}" for a in alerts), "alerts": [a.to_dict() for a in alerts]}
    request = urllib.request.Request(check_webhook(url), data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "netcopilot-monitor"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            return response.status
    except urllib.error.HTTPError as exc:
        raise InputError(f"--webhook {url}: the server answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise InputError(f"--webhook {url}: cannot deliver the alerts ({getattr(exc, 'reason', exc)})") from None
