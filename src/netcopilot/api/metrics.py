"""Prometheus metrics of one app, in a registry of its own (several apps in one process, as in
the tests, never share or double-register counters).

    netcopilot_requests_total{endpoint, status}          every request, rejected ones included
    netcopilot_request_seconds{endpoint, model_version}  latency histogram
    netcopilot_prediction_confidence{endpoint}           intent confidence (ask, suggest), the
                                                         winning class probability (threats)
    netcopilot_feedback_total{kind}                      good / bad feedback received

`endpoint` is the route's path (`/v1/ask`), or `other` for paths the app does not serve, so a
scanner cannot grow the label set.
"""

from __future__ import annotations

import time
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("netcopilot_requests", "HTTP requests by endpoint and status code.",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("netcopilot_request_seconds", "Request latency by endpoint and model version.",
                                 ["endpoint", "model_version"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.confidence = Histogram("netcopilot_prediction_confidence", "Confidence of the predictions returned.",
                                    ["endpoint"], buckets=CONFIDENCE_BUCKETS, registry=self.registry)
        self.feedback = Counter("netcopilot_feedback", "Feedback received, by kind.", ["kind"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, including those refused by the middlewares inside it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, endpoints: set[str], model_version: Callable[[], str]):
        self.app = app
        self.metrics = metrics
        self.endpoints = endpoints
        self.model_version = model_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        endpoint = scope["path"] if scope["path"] in self.endpoints else "other"
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint, self.model_version()).observe(time.perf_counter() - started)
