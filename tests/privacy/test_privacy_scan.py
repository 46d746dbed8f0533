"""After a Slack session and an API session with pseudonymisation on, a scan of every table in the
PostgreSQL store finds none of the IPs, host names or e-mail addresses people typed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import inspect, text

from netcopilot.api import ApiOptions, create_app
from netcopilot.api.auth import KeyStore
from netcopilot.core.assistant import Assistant
from netcopilot.frontends.slack_app import SlackFrontend, make_http_server
from netcopilot.privacy import open_store
from netcopilot.settings import Settings
from tests.frontends.slack_stub import BOT_USER, SECRET, SlackStub, action_body, event_body, post, sign, slash_body

RAW = ("10.20.30.40", "192.168.77.12", "2001:db8:5::9", "web01", "db-core-7.corp.example.net", "netops@example.org",
       "jdoe@example.com", "00:1a:2b:3c:4d:5e")
SLACK_TEXTS = ("why can't web01 reach 10.20.30.40 on port 443? mail netops@example.org",
               "is 192.168.77.12 dropping packets to db-core-7.corp.example.net? can you check")
API_TEXTS = ("ssh to 2001:db8:5::9 fails with permission denied, ask jdoe@example.com",
             "arp shows 00:1a:2b:3c:4d:5e on two ports for web01")


def _slack_session(assistant: Assistant, settings: Settings, stub: SlackStub) -> None:
    frontend = SlackFrontend(assistant, settings)
    server = make_http_server(frontend, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        body = slash_body(SLACK_TEXTS[0], stub.response_url("p0"))  # answered privately
        assert post(url, body, "application/x-www-form-urlencoded", sign(body))[0] == 200
        thread = "1700000100.000001"  # a mention, answered in its thread
        event = {"type": "app_mention", "user": "U1001", "text": f"<@{BOT_USER}> {SLACK_TEXTS[1]}", "ts": thread,
                 "channel": "C2001", "event_ts": thread}
        body = event_body(event, "Ev-privacy-1")
        assert post(url, body, "application/json", sign(body))[0] == 200
        assert frontend.drain(120)
        reply = {"type": "message", "user": "U1001", "text": "thanks, web01 answers now from db-core-7.corp.example.net",
                 "ts": "1700000100.000200", "thread_ts": thread, "channel": "C2001", "channel_type": "channel"}
        body = event_body(reply, "Ev-privacy-2")
        assert post(url, body, "application/json", sign(body))[0] == 200
        answer_id = frontend.store.latest_answer_in_thread("C2001", thread)
        helpful = action_body("nc_helpful", str(answer_id), stub.response_url("b1"))
        assert post(url, helpful, "application/x-www-form-urlencoded", sign(helpful))[0] == 200
        assert frontend.drain(120)
    finally:
        server.shutdown()
        server.server_close()
        frontend.close()


def _api_session(assistant: Assistant, settings: Settings) -> None:
    key, _ = KeyStore(assistant.store).create("privacy-scan")
    server = uvicorn.Server(uvicorn.Config(create_app(settings, lambda _: assistant, ApiOptions()), host="127.0.0.1",
                                           port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"}) as http:
            while http.get("/readyz").status_code != 200:
                time.sleep(0.1)
            for question in API_TEXTS:
                answer = http.post("/v1/ask", json={"text": question}).json()
                feedback = {"answer_id": answer["answer_id"], "kind": "bad", "text": "still broken on web01, jdoe@example.com"}
                assert http.post("/v1/feedback", json=feedback).status_code == 201
    finally:
        server.should_exit = True
        thread.join(30)


def _scan(assistant: Assistant) -> tuple[str, int]:
    engine = assistant.store.engine
    rows = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            rows += [json.dumps(list(r), default=str) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(rows), len(rows)


def test_no_raw_address_host_or_email_is_stored(postgres_url: str, tmp_path: Path, shared_assistant) -> None:
    stub = SlackStub()
    settings = Settings.load(
        environ={"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "NETCOPILOT_SLACK_API_URL": stub.api_url},
        home=tmp_path, models_dir=shared_assistant.settings.models_dir, database_url=postgres_url, pseudonymize="auto")
    a = shared_assistant
    slack_assistant = Assistant(settings, a.encoder, a.intents, a.ranker, a.knowledge, a.runbook_index,
                                open_store(settings, "slack"), a.versions)
    api_assistant = Assistant(settings, a.encoder, a.intents, a.ranker, a.knowledge, a.runbook_index,
                              open_store(settings, "api"), a.versions)
    try:
        _slack_session(slack_assistant, settings, stub)
        _api_session(api_assistant, settings)
        counts = slack_assistant.store.counts()
        assert counts["answers"] == 4 and counts["feedback"] >= 3 and counts["messages"] >= 8
        dump, n = _scan(slack_assistant)
        assert n > 20
        for value in RAW:
            assert value.lower() not in dump.lower(), f"{value} stored raw"
        assert "ip_" in dump and "host_" in dump and "email_" in dump
    finally:
        slack_assistant.store.close()
        api_assistant.store.close()
        stub.close()
