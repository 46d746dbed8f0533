"""The HTTP API: a FastAPI app over the same Assistant as the CLI and Slack.

    request ─ MetricsMiddleware ─ BodyLimitMiddleware (413) ─ AuthMiddleware (401/403/429)
            ─ FastAPI: pydantic bodies (422) ─ endpoint ─ Assistant / analytics / threat model

The Assistant answers one message at a time (it holds a lock), so its calls go through a
one-slot limiter in a worker thread: the event loop stays free for /healthz, /metrics and
refusals while a question is being answered, and at most `max_queue` requests wait for the slot
(then 503 with Retry-After). Models load in a background thread at startup: /healthz answers at
once, /readyz says 503 until the models are loaded and the store answers.

`/metrics` needs no key by default (Prometheus scrapers rarely carry one, and it holds only
counts and latencies); `ApiOptions(metrics_auth=True)` (`serve --metrics-auth`) requires the
admin scope.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import anyio
from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from sqlalchemy import select, text

from netcopilot import __version__
from netcopilot.api import services
from netcopilot.api.auth import AuthMiddleware, KeyInfo, KeyStore
from netcopilot.api.limits import BodyLimitMiddleware, RateLimiter
from netcopilot.api.metrics import Metrics, MetricsMiddleware
from netcopilot.api.schemas import (
    AskBody,
    DetectBody,
    FeedbackBody,
    FeedbackResponse,
    NextBody,
    NextResponse,
    Status,
    SuggestBody,
    ThreatsBody,
)
from netcopilot.core.types import Request
from netcopilot.errors import InputError, NetcopilotError
from netcopilot.settings import Settings
from netcopilot.store.db import Store
from netcopilot.store.models import Conversation, User

log = logging.getLogger("netcopilot.api")

SCOPE_OF = {"/v1/ask": "ask", "/v1/suggest": "suggest", "/v1/detect": "detect", "/v1/threats": "threats",
            "/v1/next": "next", "/v1/feedback": "feedback"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an invalid or revoked one (with `WWW-Authenticate: Bearer`)."},
    403: {"description": "The key lacks this endpoint's scope."},
    413: {"description": "The body is larger than the server's limit."},
    429: {"description": "The key is over its rate limit; see `Retry-After`."},
    503: {"description": "Models still loading, or too many requests waiting; see `Retry-After`."},
}


@dataclass(frozen=True)
class ApiOptions:
    auth: bool = True  # False only for local development (`serve --no-auth`)
    rate: float = 10.0  # requests per second per key, on average; 0 = unlimited
    burst: int = 20  # requests a key may send at once
    max_body_bytes: int = 1 << 20
    metrics_auth: bool = False
    max_queue: int = 64  # requests waiting for (or being answered by) the Assistant before 503


class Runtime:
    """The loaded models (filled in by a background thread) and the one slot for the Assistant."""

    def __init__(self, settings: Settings, factory: Callable[[Settings], Any], max_queue: int):
        self.settings = settings
        self.factory = factory
        self.max_queue = max_queue
        self.assistant: Any = None
        self.threat_model: Any = None
        self.error: str | None = None
        self.waiting = 0
        self.slot: anyio.CapacityLimiter | None = None

    def load(self) -> None:
        from pathlib import Path

        from netcopilot.threats.service import load_model

        try:
            threat_model = load_model(Path(self.settings.models_dir))
            self.assistant = self.factory(self.settings)
            self.threat_model = threat_model
        except Exception as exc:  # noqa: BLE001 - reported by /readyz, logged with its traceback
            self.error = str(exc) if isinstance(exc, NetcopilotError) else f"{type(exc).__name__}: {exc}"
            log.exception("loading the models failed")

    def model_version(self) -> str:
        return str(self.assistant.versions.get("models", "")) if self.assistant is not None else "loading"

    def ready(self) -> Any:
        if self.assistant is None:
            raise HTTPException(503, self.error or "the models are still loading", headers={"Retry-After": "2"})
        return self.assistant

    async def on_assistant(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn` in the Assistant's one worker slot; refuse when the queue is full."""
        self.ready()
        if self.waiting >= self.max_queue:
            raise HTTPException(503, f"busy: {self.waiting} requests are waiting; retry shortly", headers={"Retry-After": "1"})
        self.waiting += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.slot)
        finally:
            self.waiting -= 1


def _json(data: Any) -> Response:
    """JSON as the CLI prints it (`default=str` for paths and times in analysis results)."""
    return Response(json.dumps(data, default=str), media_type="application/json")


def _check_owner(store: Store, conversation_id: int | None, key: KeyInfo, what: str) -> None:
    """Keys see only their own conversations and answers; others' look like missing ones.
    (A read only: a refused request must not even create the key's user row.)"""
    owner = None
    if conversation_id:
        with store.session() as s:
            owner = s.scalar(select(User.external_id).join(Conversation, Conversation.user_id == User.id)
                             .where(Conversation.id == conversation_id))
    if owner != key.user:
        raise HTTPException(404, f"{what} not found among this API key's conversations")


def _ask(assistant: Any, key: KeyInfo, body: AskBody) -> Any:
    if body.conversation_id is not None:
        _check_owner(assistant.store, body.conversation_id, key, f"conversation {body.conversation_id}")
    thread = f"{key.user}/{body.thread}" if body.thread else None  # one key cannot join another's thread
    return assistant.answer(Request(text=body.text, user=key.user, channel="api",
                                    conversation_id=body.conversation_id, thread=thread))


def _suggest(assistant: Any, body: SuggestBody) -> list[tuple[float, dict[str, Any]]]:
    out = []
    for question in body.questions:
        answer = assistant.answer(Request(text=question, channel="api", record=False, analyse=False))
        out.append((answer.confidence, answer.suggest_record(body.k)))
    return out


DEFAULT_VALUES = {"good": 1.0, "bad": -1.0, "correction": -0.5}


def _feedback(assistant: Any, key: KeyInfo, body: FeedbackBody, value: float) -> int | None:
    """None when the key's user opted out (nothing is kept). A correction names the right intent;
    `netcopilot retrain` learns from it."""
    _check_owner(assistant.store, assistant.store.conversation_of_answer(body.answer_id), key, f"answer {body.answer_id}")
    if body.kind == "correction":
        if body.intent not in assistant.intents.classes:
            raise InputError(f"intent {body.intent!r} is not one of: {', '.join(sorted(assistant.intents.classes))}")
        return assistant.feedback(body.answer_id, key.user, "correction", value, body.text, source=body.intent)
    return assistant.feedback(body.answer_id, key.user, body.kind, value, body.text, source="api")


def _load_assistant(settings: Settings) -> Any:
    from netcopilot.core.assistant import Assistant
    from netcopilot.privacy import open_store

    return Assistant.load(settings, store=open_store(settings, "api"))


def _ping(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def create_app(settings: Settings, assistant_factory: Callable[[Settings], Any] | None = None,
               options: ApiOptions = ApiOptions()) -> FastAPI:
    """The app; models load when it starts. `assistant_factory` defaults to `Assistant.load` over
    the store as the API opens it (pseudonymising unless NETCOPILOT_PSEUDONYMIZE=off)."""
    if assistant_factory is None:
        assistant_factory = _load_assistant
    runtime = Runtime(settings, assistant_factory, options.max_queue)
    keys = KeyStore(Store(settings.database_url)) if options.auth else None
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.slot = anyio.CapacityLimiter(1)
        threading.Thread(target=runtime.load, name="netcopilot-load", daemon=True).start()
        yield
        if runtime.assistant is not None:
            runtime.assistant.store.close()
        if keys is not None:
            keys.store.close()

    app = FastAPI(title="netcopilot", version=__version__, lifespan=lifespan,
                  description="A networking copilot over HTTP. Send `Authorization: Bearer KEY` "
                              "(a key from `netcopilot apikey create`) to the /v1 endpoints.")
    app.state.runtime = runtime
    bearer = HTTPBearer(auto_error=False, description="An API key from `netcopilot apikey create`.")

    def current_key(request: HttpRequest, _: Any = Security(bearer)) -> KeyInfo:
        """The key AuthMiddleware accepted (the Security parameter documents the scheme)."""
        return request.state.api_key

    @app.exception_handler(NetcopilotError)
    async def _domain_error(_: HttpRequest, exc: NetcopilotError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.post("/v1/ask", tags=["assistant"], responses=ERRORS, summary="Answer one question")
    async def ask(body: AskBody, key: KeyInfo = Depends(current_key)) -> Response:
        """The structured answer the CLI's `ask --json` prints: intent, entities, commands (each
        shell-quoted, with its risk), causes, fixes, similar runbooks and sessions, and its
        `answer_id` (for /v1/feedback) and `conversation_id` (for follow-ups)."""
        answer = await runtime.on_assistant(_ask, runtime.assistant, key, body)
        metrics.confidence.labels("/v1/ask").observe(answer.confidence)
        return _json(answer.to_dict(explain=body.explain))

    @app.post("/v1/suggest", tags=["assistant"], responses=ERRORS, summary="Suggest commands for several questions")
    async def suggest(body: SuggestBody, _: KeyInfo = Depends(current_key)) -> Response:
        """One record per question, in order, as `netcopilot suggest --jsonl` writes them. Nothing is stored."""
        results = await runtime.on_assistant(_suggest, runtime.assistant, body)
        for confidence, _record in results:
            metrics.confidence.labels("/v1/suggest").observe(confidence)
        return _json({"results": [record for _conf, record in results]})

    @app.post("/v1/detect", tags=["analytics"], responses=ERRORS, summary="Find anomalies in a time series")
    async def detect(body: DetectBody, key: KeyInfo = Depends(current_key)) -> Response:
        """Every point's anomaly score and the alerts, as `netcopilot detect --json` (causal: each
        point is judged only on the points before it)."""
        result = await anyio.to_thread.run_sync(services.detect, body)
        alerts = result.get("alerts", [])
        await _audit(key, "detection", body, {"series": body.name, "points": len(result.get("points", [])),
                                              "alerts": len(alerts)}, "detector-defaults",
                     {"alerts": alerts[:10]})
        return _json(result)

    @app.post("/v1/threats", tags=["analytics"], responses=ERRORS, summary="Score connection records")
    async def threats(body: ThreatsBody, key: KeyInfo = Depends(current_key)) -> Response:
        """Each NSL-KDD record's category and attack score from the threat model, and the most
        suspicious ones explained."""
        runtime.ready()
        report, confidence = await anyio.to_thread.run_sync(services.threats, body, runtime.threat_model)
        for c in confidence.tolist():
            metrics.confidence.labels("/v1/threats").observe(c)
        await _audit(key, "threat", body, {"records": len(report["records"]), "by_category": report["by_category"]},
                     str(report.get("model", "")), {"top": report["top"]})
        return _json(report)

    async def _audit(key: KeyInfo, kind: str, body: Any, output: dict[str, Any], model: str,
                     explanation: dict[str, Any]) -> None:
        """Record a verdict that reached a client (audit.py): a hash of the request, not the request."""
        from netcopilot import audit

        if runtime.assistant is not None:
            await anyio.to_thread.run_sync(lambda: audit.record(
                runtime.assistant.store, kind, body.model_dump(mode="json"), output, model_version=model, channel="api",
                user=key.user, explanation=explanation))

    @app.post("/v1/next", tags=["analytics"], responses=ERRORS, response_model=NextResponse,
              summary="Predict the next shell command")
    async def next_command(body: NextBody, _: KeyInfo = Depends(current_key)) -> Any:
        """Learning online from the commands given (oldest first): the predictions after the last
        one, and with `per_line` after each one."""
        return await anyio.to_thread.run_sync(services.next_commands, body)

    @app.post("/v1/feedback", tags=["assistant"], status_code=201, response_model=FeedbackResponse,
              responses={**ERRORS, 404: {"description": "No such answer among this key's answers."}},
              summary="Rate an answer")
    async def feedback(body: FeedbackBody, key: KeyInfo = Depends(current_key)) -> Any:
        value = body.value if body.value is not None else DEFAULT_VALUES[body.kind]
        feedback_id = await runtime.on_assistant(_feedback, runtime.assistant, key, body, value)
        metrics.feedback.labels(body.kind).inc()
        return FeedbackResponse(feedback_id=feedback_id, answer_id=body.answer_id, value=value)

    @app.get("/healthz", tags=["operations"], response_model=Status, summary="The process is alive")
    async def healthz() -> Status:
        return Status(status="ok")

    @app.get("/readyz", tags=["operations"], response_model=Status, responses={503: {"model": Status}},
             summary="Models loaded and the store reachable")
    async def readyz() -> Any:
        if runtime.assistant is None:
            return JSONResponse(Status(status="error" if runtime.error else "loading", detail=runtime.error).model_dump(),
                                status_code=503)
        try:
            await anyio.to_thread.run_sync(_ping, runtime.assistant.store)
        except Exception as exc:  # noqa: BLE001 - any store failure means not ready
            return JSONResponse(Status(status="error", detail=f"store unreachable: {exc}").model_dump(), status_code=503)
        return Status(status="ready", models=runtime.assistant.versions)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             dependencies=[Security(bearer)] if options.metrics_auth else [])
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    scopes = dict(SCOPE_OF, **({"/metrics": "admin"} if options.metrics_auth else {}))
    app.add_middleware(AuthMiddleware, keys=keys, scopes=scopes, limiter=RateLimiter(options.rate, options.burst))
    app.add_middleware(BodyLimitMiddleware, max_bytes=options.max_body_bytes)
    endpoints = {route.path for route in app.routes if hasattr(route, "path")}
    app.add_middleware(MetricsMiddleware, metrics=metrics, endpoints=endpoints, model_version=runtime.model_version)
    return app


OPTIONS_ENV = "NETCOPILOT_SERVE_OPTIONS"  # how `netcopilot serve` hands its options to uvicorn's workers


def app_from_environment() -> FastAPI:
    """uvicorn's factory (`netcopilot.api.app:app_from_environment`): settings from the
    environment as everywhere, server options as JSON in NETCOPILOT_SERVE_OPTIONS (written by
    `netcopilot serve`; every worker process reads the same)."""
    import os

    raw = os.environ.get(OPTIONS_ENV, "{}")
    try:
        options = ApiOptions(**json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise NetcopilotError(f"{OPTIONS_ENV}={raw!r} is not valid: {exc}") from None
    return create_app(Settings.load(), options=options)
