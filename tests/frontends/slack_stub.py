"""A local stand-in for Slack: a Web API server that records calls, and request signing.

Only Slack's own servers cannot run here. This stub answers the Web API methods the app uses
(`auth.test`, `chat.postMessage`, `chat.postEphemeral`, `views.publish`) and accepts posts to
`response_url`s, recording everything for the tests to inspect."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

SECRET = "test-signing-secret-0123456789abcdef"
BOT_USER = "UBOT0001"


class SlackStub:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    payload = json.loads(raw or "{}")
                else:
                    payload = {k: v[0] for k, v in parse_qs(raw).items()}
                path = self.path
                with stub._lock:
                    stub.calls.append((path, payload))
                if path.startswith("/response/"):
                    body = b"ok"
                    ctype = "text/plain"
                else:
                    body = json.dumps(stub.reply(path.rsplit("/", 1)[-1], payload)).encode()
                    ctype = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def reply(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT0001", "team_id": "T0001", "user": "netcopilot"}
        if method == "chat.postMessage":
            ts = f"1700000{next(self._ts):03d}.000100"
            return {"ok": True, "channel": payload.get("channel"), "ts": ts, "message": {"ts": ts, "text": payload.get("text")}}
        if method == "views.publish":
            return {"ok": True, "view": payload.get("view")}
        return {"ok": True}

    def called(self, method_or_path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for path, p in self.calls if path.endswith("/" + method_or_path) or path.startswith(method_or_path)]

    def wait_for(self, method_or_path: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.called(method_or_path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} call(s) to {method_or_path}, got {len(self.called(method_or_path))}: {self.calls[-3:]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Headers exactly as Slack sends them: v0 HMAC-SHA256 over 'v0:{timestamp}:{body}'."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def post(url: str, body: str, content_type: str, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, str, float]:
    """POST and return (status, body, seconds)."""
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": content_type, **(headers or {})})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), time.perf_counter() - started


def slash_body(text: str, response_url: str, user: str = "U1001", channel: str = "C1001") -> str:
    return urlencode({"token": "legacy", "team_id": "T0001", "team_domain": "netops", "channel_id": channel,
                      "channel_name": "netops", "user_id": user, "user_name": "alice", "command": "/netcopilot",
                      "text": text, "api_app_id": "A0001", "response_url": response_url, "trigger_id": "1.2.3"})


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({"token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": event})


def action_body(action_id: str, value: str, response_url: str, user: str = "U1001") -> str:
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": user}, "api_app_id": "A0001",
               "trigger_id": "1.2.3", "response_url": response_url, "container": {"type": "message"},
               "channel": {"id": "C1001"},
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                            "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)})
