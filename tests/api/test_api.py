"""The HTTP API as clients see it: the real app served by uvicorn on a loopback port, driven with
httpx. Every rejection (401, 403, 413, 422, 429, 404) is checked to leave the store as it was."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from netcopilot import audit
from netcopilot.api import ApiOptions, create_app
from netcopilot.api.auth import KeyStore
from netcopilot.api.limits import RateLimiter
from netcopilot.errors import InputError
from netcopilot.frontends import api_cli
from netcopilot.store.db import Store
from tests.conftest import make_settings

MAX_BODY = 64 * 1024
BURST = 50
ENDPOINTS = ("/v1/ask", "/v1/suggest", "/v1/detect", "/v1/threats", "/v1/next", "/v1/feedback",
             "/healthz", "/readyz", "/metrics")
NEPTUNE = {"protocol_type": "tcp", "service": "private", "flag": "S0", "count": 200, "srv_count": 10,
           "serror_rate": 1.0, "srv_serror_rate": 1.0, "same_srv_rate": 0.05, "dst_host_count": 255,
           "dst_host_srv_count": 10, "dst_host_serror_rate": 1.0, "dst_host_srv_serror_rate": 1.0}
WEB = {"protocol_type": "tcp", "service": "http", "flag": "SF", "src_bytes": 230, "dst_bytes": 4500, "logged_in": 1,
       "count": 5, "srv_count": 5, "same_srv_rate": 1.0, "dst_host_count": 30, "dst_host_srv_count": 255,
       "dst_host_same_srv_rate": 1.0}


class Server:
    """The app on a free loopback port in a background thread, with keys of several scopes."""

    def __init__(self, home: Path, models_dir: Path, shared_assistant):
        from netcopilot.core.assistant import Assistant

        self.settings = make_settings(home, models_dir)
        a = shared_assistant

        def factory(settings):  # the shared models, with this server's own store
            return Assistant(settings, a.encoder, a.intents, a.ranker, a.knowledge, a.runbook_index,
                             Store(settings.database_url), a.versions)

        self.store = Store(self.settings.database_url)
        self.keys = KeyStore(self.store)
        self.full, _ = self.keys.create("full")
        self.other, _ = self.keys.create("other")
        self.ask_only, _ = self.keys.create("ask-only", ("ask",))
        self.hasty, _ = self.keys.create("hasty")  # for the rate limit alone
        revoked, _ = self.keys.create("revoked")
        self.keys.revoke("revoked")
        self.revoked = revoked
        app = create_app(self.settings, factory, ApiOptions(rate=2.0, burst=BURST, max_body_bytes=MAX_BODY))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=120)
        deadline = time.monotonic() + 300
        while self.http.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, self.http.get("/readyz").text
            time.sleep(0.1)

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def post(self, path: str, body: object, key: str | None = None, **kwargs) -> httpx.Response:
        headers = self.auth(key if key is not None else self.full)
        return self.http.post(path, json=body, headers=headers, **kwargs)

    def snapshot(self) -> dict[str, int]:
        """Row counts of every table a request could write to."""
        return self.store.counts()

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(30)
        self.store.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, shared_assistant) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("api"), models_dir, shared_assistant)
    yield server
    server.close()


@pytest.fixture
def unchanged(api: Server) -> Iterator[None]:
    """The test's requests must all be refused: nothing stored changes."""
    before = api.snapshot()
    yield
    assert api.snapshot() == before


# --- happy paths ---------------------------------------------------------------------------------

def test_openapi_lists_every_endpoint_with_bearer_auth(api: Server) -> None:
    spec = api.http.get("/openapi.json").json()
    assert set(ENDPOINTS) <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/ask"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "429" in spec["paths"]["/v1/ask"]["post"]["responses"]
    assert api.http.get("/docs").status_code == 200


def test_health_and_readiness(api: Server) -> None:
    assert api.http.get("/healthz").json()["status"] == "ok"
    ready = api.http.get("/readyz").json()
    assert ready["status"] == "ready" and ready["models"]["models"]


def test_ask_answers_records_and_follows_up(api: Server) -> None:
    before = api.snapshot()
    r = api.post("/v1/ask", {"text": "why can't I reach 10.0.0.5 on port 443?"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["intent"]["name"] == "port_check"
    assert any("10.0.0.5" in c["command"] and "443" in c["command"] for c in answer["commands"])
    assert answer["answer_id"] and answer["conversation_id"] and "explanation" not in answer
    assert api.snapshot()["answers"] == before["answers"] + 1

    again = api.post("/v1/ask", {"text": "and on port 22?", "conversation_id": answer["conversation_id"], "explain": True})
    assert again.status_code == 200, again.text
    assert again.json()["conversation_id"] == answer["conversation_id"] and "explanation" in again.json()

    after = api.snapshot()
    assert after["answers"] == before["answers"] + 2
    stranger = api.post("/v1/ask", {"text": "and 8443?", "conversation_id": answer["conversation_id"]}, key=api.other)
    assert stranger.status_code == 404
    assert api.snapshot() == after  # not even a user row for the stranger


def test_suggest_answers_in_order_and_stores_nothing(api: Server, unchanged: None) -> None:
    r = api.post("/v1/suggest", {"questions": ["dns is slow on 10.1.2.3", "is 443 open on web01?"], "k": 2})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["query"] for x in results] == ["dns is slow on 10.1.2.3", "is 443 open on web01?"]
    assert results[0]["intent"]["name"] == "dns" and len(results[0]["commands"]) == 2


def test_detect_finds_a_spike_in_values_and_in_timed_points(api: Server) -> None:
    values = [100 + (i % 7) for i in range(400)]
    values[300] = 1000
    r = api.post("/v1/detect", {"values": values, "name": "uplink"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["points"]) == 400 and body["series"] == "uplink"
    assert [i for i, p in enumerate(body["points"]) if p["anomaly"]] == [300]
    points = [{"timestamp": 1_767_225_600 + 60 * i, "value": v} for i, v in enumerate(values)]
    points[10]["value"] = None  # a missing measurement
    timed = api.post("/v1/detect", {"series": points}).json()
    assert timed["points"][300]["anomaly"] and timed["points"][0]["timestamp"] == "2026-01-01T00:00:00"
    verdicts = audit.query(api.store, kind="detection", limit=2)
    assert [v["output"]["alerts"] for v in verdicts] == [1, 1] and verdicts[1]["output"]["series"] == "uplink"
    assert verdicts[0]["channel"] == "api" and len(verdicts[0]["input_sha256"]) == 64


def test_threats_scores_records_and_explains_attacks(api: Server) -> None:
    r = api.post("/v1/threats", {"records": [NEPTUNE, WEB]})
    assert r.status_code == 200, r.text
    report = r.json()
    assert [x["category"] for x in report["records"]] == ["dos", "normal"]
    assert report["top"][0]["index"] == 0 and report["top"][0]["why"]
    (verdict,) = audit.query(api.store, kind="threat", limit=1)
    assert verdict["output"]["by_category"] == {"dos": 1, "normal": 1} and verdict["explanation"]["top"][0]["why"]


def test_next_predicts_after_the_last_command_and_per_line(api: Server) -> None:
    commands = ["cd /srv", "ls", "git pull", "cd /srv", "ls"]
    r = api.post("/v1/next", {"commands": commands, "k": 2, "per_line": True})
    assert r.status_code == 200, r.text
    assert r.json()["next"][0] == "git pull"
    assert [line["command"] for line in r.json()["lines"]] == commands
    assert api.post("/v1/next", {"commands": commands}).json()["lines"] is None


def test_feedback_is_stored_for_own_answers_only(api: Server) -> None:
    answer_id = api.post("/v1/ask", {"text": "dig returns SERVFAIL for corp.example"}).json()["answer_id"]
    before = api.snapshot()
    r = api.post("/v1/feedback", {"answer_id": answer_id, "kind": "good", "text": "that was it"})
    assert r.status_code == 201, r.text
    assert r.json() == {"feedback_id": r.json()["feedback_id"], "answer_id": answer_id, "value": 1.0}
    after = api.snapshot()
    assert after["feedback"] == before["feedback"] + 1
    for key, missing in ((api.other, answer_id), (api.full, 99_999)):
        refused = api.post("/v1/feedback", {"answer_id": missing, "kind": "bad"}, key=key)
        assert refused.status_code == 404, refused.text
    assert api.snapshot() == after


def test_metrics_count_requests_latency_confidence_and_feedback(api: Server) -> None:
    answer_id = api.post("/v1/ask", {"text": "is 443 open on web01?"}).json()["answer_id"]
    api.post("/v1/feedback", {"answer_id": answer_id, "kind": "bad"})
    api.http.post("/v1/ask", json={"text": "x"})  # 401
    text = api.http.get("/metrics").text
    version = api.http.get("/readyz").json()["models"]["models"]
    assert 'netcopilot_requests_total{endpoint="/v1/ask",status="200"}' in text
    assert 'netcopilot_requests_total{endpoint="/v1/ask",status="401"}' in text
    assert f'netcopilot_request_seconds_count{{endpoint="/v1/ask",model_version="{version}"}}' in text
    assert 'netcopilot_prediction_confidence_count{endpoint="/v1/ask"}' in text
    assert 'netcopilot_feedback_total{kind="bad"}' in text
    api.http.get("/no/such/path")
    assert 'endpoint="other",status="404"' in api.http.get("/metrics").text


# --- rejections ----------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer nc_not-a-real-key"}, {"Authorization": "Basic dXNlcjpwdw=="},
    {"Authorization": "Bearer"}, {"Authorization": "Bearer nc_short"},
])
def test_requests_without_a_valid_key_get_401(api: Server, unchanged: None, headers: dict[str, str]) -> None:
    r = api.http.post("/v1/ask", json={"text": "is 443 open on web01?"}, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_revoked_key_and_unauthenticated_garbage_get_401(api: Server, unchanged: None) -> None:
    r = api.post("/v1/ask", {"text": "is 443 open on web01?"}, key=api.revoked)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    # auth comes before parsing: a malformed body without a key is a 401, not a 422
    garbage = api.http.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 401


def test_missing_scope_gets_403(api: Server, unchanged: None) -> None:
    for path, body in (("/v1/suggest", {"questions": ["x"]}), ("/v1/feedback", {"answer_id": 1, "kind": "good"}),
                       ("/v1/threats", {"records": [WEB]})):
        r = api.post(path, body, key=api.ask_only)
        assert r.status_code == 403, r.text
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_oversized_bodies_get_413_by_length_and_when_chunked(api: Server, unchanged: None) -> None:
    big = json.dumps({"text": "a" * (MAX_BODY + 10)}).encode()
    r = api.http.post("/v1/ask", content=big, headers={**api.auth(api.full), "content-type": "application/json"})
    assert r.status_code == 413 and str(MAX_BODY) in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server has to count
        yield b'{"text": "'
        for _ in range(MAX_BODY // 4096 + 2):
            yield b"a" * 4096
        yield b'"}'

    chunked = api.http.post("/v1/ask", content=chunks(), headers={**api.auth(api.full), "content-type": "application/json"})
    assert chunked.status_code == 413
    assert api.http.get("/healthz").status_code == 200


@pytest.mark.parametrize("path, body, where", [
    ("/v1/ask", b"{not json", "body"),
    ("/v1/ask", {"text": 42}, "text"),
    ("/v1/ask", {}, "text"),
    ("/v1/ask", {"text": ""}, "text"),
    ("/v1/ask", {"text": "hi", "temperature": 2}, "temperature"),
    ("/v1/suggest", {"questions": "dns is slow", "k": 2}, "questions"),
    ("/v1/suggest", {"questions": ["x"], "k": 0}, "k"),
    ("/v1/detect", {"values": [1, 2], "series": [{"value": 1}, {"value": 2}]}, "exactly one"),
    ("/v1/detect", {"values": [1]}, "at least 2"),
    ("/v1/detect", {"values": [1, "abc"]}, "values"),
    ("/v1/detect", {"series": [{"timestamp": 120, "value": 1}, {"timestamp": 60, "value": 2}]}, "time order"),
    ("/v1/threats", {"records": [{"src_bytes": -5}]}, "src_bytes"),
    ("/v1/threats", {"records": [{"bogus": 1}]}, "bogus"),
    ("/v1/next", {"commands": []}, "commands"),
    ("/v1/feedback", {"answer_id": 1, "kind": "meh"}, "kind"),
    ("/v1/feedback", {"answer_id": 1, "kind": "good", "value": 3}, "value"),
])
def test_malformed_bodies_get_422_naming_the_problem(api: Server, unchanged: None, path: str, body: object,
                                                     where: str) -> None:
    headers = {**api.auth(api.full), "content-type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = api.http.post(path, content=content, headers=headers)
    assert r.status_code == 422, r.text
    assert where in json.dumps(r.json()["detail"])


def test_a_key_over_its_rate_gets_429_with_retry_after(api: Server, unchanged: None) -> None:
    key = api.hasty
    statuses = []
    for _ in range(BURST * 3):  # the bucket refills at 2/s: far fewer than this arrive meanwhile
        r = api.post("/v1/next", {"commands": ["ls"]}, key=key)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            break
    assert statuses[-1] == 429 and statuses[:BURST] == [200] * BURST
    assert api.post("/v1/next", {"commands": ["ls"]}).status_code == 200  # other keys are not affected


def test_token_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(1) == pytest.approx(0.5) and limiter.take(2) == 0.0
    now[0] = 0.5
    assert limiter.take(1) == 0.0 and limiter.take(1) > 0
    assert RateLimiter.retry_after(0.2) == "1" and RateLimiter(0, 1).take(1) == 0.0


# --- keys and the CLI -----------------------------------------------------------------------------

def _cli() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    api_cli.register(app)
    return app


def test_apikey_cli_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCOPILOT_HOME", str(tmp_path))
    runner = CliRunner()
    created = runner.invoke(_cli(), ["apikey", "create", "--name", "ci", "--scopes", "ask,next"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("nc_") and len(key) > 40
    listed = runner.invoke(_cli(), ["apikey", "list"])
    assert "ci" in listed.stdout and "ask,next" in listed.stdout and key not in listed.stdout
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("netcopilot.db*"))  # the database and its WAL
    assert key.encode() not in raw and key[:11].encode() in raw
    store = Store(f"sqlite:///{tmp_path / 'netcopilot.db'}")
    keys = KeyStore(store)
    assert keys.verify(key).scopes == ("ask", "next")
    assert runner.invoke(_cli(), ["apikey", "revoke", "ci"]).exit_code == 0
    assert keys.verify(key) is None and keys.list()[0].revoked
    store.close()

    bad = runner.invoke(_cli(), ["apikey", "create", "--name", "x", "--scopes", "ask,root"])
    assert isinstance(bad.exception, InputError) and "root" in str(bad.exception)
    dup = runner.invoke(_cli(), ["apikey", "create", "--name", "ci"])
    assert isinstance(dup.exception, InputError) and "already exists" in str(dup.exception)
    assert isinstance(runner.invoke(_cli(), ["apikey", "revoke", "nobody"]).exception, InputError)


def test_serve_refuses_to_start_without_a_key(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCOPILOT_HOME", str(tmp_path))
    monkeypatch.setenv("NETCOPILOT_MODELS_DIR", str(models_dir))
    result = CliRunner().invoke(_cli(), ["serve", "--port", "1"])
    assert isinstance(result.exception, InputError)
    assert "apikey create" in str(result.exception) and "--no-auth" in str(result.exception)


def test_key_table_on_postgresql(postgres_url: str) -> None:
    store = Store(postgres_url)
    keys = KeyStore(store)
    key, info = keys.create("pg-client", ("ask", "admin"))
    assert keys.verify(key).name == "pg-client" and info.allows("threats")
    assert keys.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    with pytest.raises(InputError, match="already exists"):
        keys.create("pg-client")
    keys.revoke("pg-client")
    assert keys.verify(key) is None and keys.active_count() == 0
    store.close()
