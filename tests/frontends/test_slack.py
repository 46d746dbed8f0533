"""The real Bolt app in HTTP mode on loopback, driven the way Slack drives it: signed requests in,
Web API calls out to a local stub that records them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from netcopilot.core.types import Answer, Match
from netcopilot.frontends.slack_app import SlackFrontend, make_http_server
from netcopilot.frontends.slack_blocks import HEADER_TEXT, MAX_BLOCKS, SECTION_TEXT, answer_blocks
from netcopilot.settings import Settings
from tests.frontends.slack_stub import (
    BOT_USER,
    SECRET,
    SlackStub,
    action_body,
    event_body,
    post,
    sign,
    slash_body,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
def stub():
    s = SlackStub()
    yield s
    s.close()


class Running:
    def __init__(self, frontend: SlackFrontend, server, stub: SlackStub):
        self.frontend, self.server, self.stub = frontend, server, stub
        self.url = f"http://127.0.0.1:{server.server_port}/slack/events"
        self.store = frontend.store

    def send(self, body: str, content_type: str, **sign_args) -> tuple[int, str, float]:
        headers = sign(body, **{k: v for k, v in sign_args.items() if k in ("timestamp", "secret")})
        headers.update(sign_args.get("extra", {}))
        return post(self.url, body, content_type, headers)

    def settle(self) -> None:
        assert self.frontend.drain(60)


@pytest.fixture
def slack(assistant, stub: SlackStub, tmp_path: Path):
    settings = Settings.load(
        environ={"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "NETCOPILOT_SLACK_API_URL": stub.api_url},
        home=tmp_path, models_dir=assistant.settings.models_dir, database_url=assistant.settings.database_url,
    )
    frontend = SlackFrontend(assistant, settings)
    server = make_http_server(frontend, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Running(frontend, server, stub)
    server.shutdown()
    server.server_close()
    frontend.close()


def blocks_text(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def mention(slack: Running, text: str, ts: str, event_id: str, thread_ts: str | None = None, channel: str = "C2001") -> dict:
    event = {"type": "app_mention", "user": "U1001", "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel,
             "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    status, _, _ = slack.send(event_body(event, event_id), JSON)
    assert status == 200
    slack.settle()
    return slack.stub.called("chat.postMessage")[-1]


def test_slash_command_is_acked_then_answered_privately(slack: Running) -> None:
    status, body, seconds = slack.send(slash_body("why can't I reach 10.0.0.5 on port 443?", slack.stub.response_url("r1")), FORM)
    assert status == 200 and seconds < 3
    (reply,) = slack.stub.wait_for("/response/r1")
    assert reply["response_type"] == "ephemeral"
    assert "10.0.0.5" in blocks_text(reply["blocks"]) and reply["text"]
    assert slack.store.counts()["answers"] == 1


def test_share_posts_in_the_channel(slack: Running) -> None:
    slack.send(slash_body("share dns is slow on 10.1.2.3", slack.stub.response_url("r2")), FORM)
    slack.settle()
    (posted,) = slack.stub.called("chat.postMessage")
    assert posted["channel"] == "C1001" and "10.1.2.3" in blocks_text(posted["blocks"])
    assert slack.store.counts()["posted_messages"] == 1


def test_empty_command_gets_usage_in_the_ack(slack: Running) -> None:
    status, body, _ = slack.send(slash_body("  ", slack.stub.response_url("r3")), FORM)
    assert status == 200 and "/netcopilot" in body


def test_forged_and_stale_requests_are_rejected(slack: Running) -> None:
    body = slash_body("is 443 open on web01?", slack.stub.response_url("r4"))
    assert slack.send(body, FORM, secret="not-the-secret")[0] == 401
    assert slack.send(body, FORM, timestamp=int(time.time()) - 6 * 60)[0] == 401
    assert post(slack.url, body, FORM)[0] == 401  # unsigned
    time.sleep(0.2)
    assert slack.stub.called("/response/r4") == [] and slack.store.counts()["answers"] == 0


def test_mention_answers_in_the_thread_and_keeps_context(slack: Running) -> None:
    first = mention(slack, "is port 443 open on web01.corp.example?", "1700000100.000001", "Ev100")
    assert first["thread_ts"] == "1700000100.000001" and first["channel"] == "C2001"
    second = mention(slack, "and port 80?", "1700000101.000001", "Ev101", thread_ts="1700000100.000001")
    text = blocks_text(second["blocks"])
    assert "web01.corp.example" in text and "80" in text and "from before" in text


def test_retried_event_is_answered_once(slack: Running) -> None:
    event = {"type": "app_mention", "user": "U1001", "text": f"<@{BOT_USER}> dns is slow", "ts": "1700000200.000001",
             "channel": "C2001", "event_ts": "1700000200.000001"}
    body = event_body(event, "Ev200")
    assert slack.send(body, JSON)[0] == 200
    assert slack.send(body, JSON, extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})[0] == 200
    slack.settle()
    time.sleep(0.3)
    slack.settle()
    assert len(slack.stub.called("chat.postMessage")) == 1


def test_direct_message_is_answered(slack: Running) -> None:
    event = {"type": "message", "channel_type": "im", "user": "U1001", "text": "traceroute to 1.1.1.1 stops at hop 4",
             "ts": "1700000300.000001", "channel": "D3001", "event_ts": "1700000300.000001"}
    assert slack.send(event_body(event, "Ev300"), JSON)[0] == 200
    slack.settle()
    (posted,) = slack.stub.called("chat.postMessage")
    assert posted["channel"] == "D3001" and "1.1.1.1" in blocks_text(posted["blocks"])


def test_the_bot_ignores_its_own_messages(slack: Running) -> None:
    event = {"type": "message", "channel_type": "im", "user": BOT_USER, "bot_id": "BBOT0001", "text": "ping 10.0.0.1",
             "ts": "1700000400.000001", "channel": "D3001"}
    slack.send(event_body(event, "Ev400"), JSON)
    slack.settle()
    assert slack.stub.called("chat.postMessage") == []


def test_reaction_on_an_answer_is_feedback_on_that_answer(slack: Running) -> None:
    mention(slack, "ssh to bastion-1 says permission denied (publickey)", "1700000500.000001", "Ev500")
    answer_id = slack.store.latest_answer_in_thread("C2001", "1700000500.000001")
    with slack.store.session() as s:
        from netcopilot.store.models import PostedMessage

        bot_ts = s.query(PostedMessage).filter_by(answer_id=answer_id).one().ts  # the ts the stub gave our post
    # :+1: on our answer counts; :tada: on someone else's message and :eyes: (not in the mapping) do not
    for n, (name, on_ts) in enumerate([("+1", bot_ts), ("tada", "9999.0001"), ("eyes", bot_ts)]):
        event = {"type": "reaction_added", "user": "U1002", "reaction": name, "item_user": BOT_USER,
                 "item": {"type": "message", "channel": "C2001", "ts": on_ts}, "event_ts": f"17000005{n}.1"}
        assert slack.send(event_body(event, f"Ev50{n + 1}"), JSON)[0] == 200
    time.sleep(0.3)
    with slack.store.session() as s:
        from netcopilot.store.models import Feedback

        rows = s.query(Feedback).all()
    assert [(r.answer_id, r.kind, r.value, r.source) for r in rows] == [(answer_id, "reaction", 1.0, "+1")]
    assert rows[0].intent and rows[0].model_version


def test_buttons(slack: Running) -> None:
    slack.send(slash_body("why can't I reach 10.0.0.5 on port 443?", slack.stub.response_url("a0")), FORM)
    (reply,) = slack.stub.wait_for("/response/a0")
    buttons = [b for b in reply["blocks"] if b["type"] == "actions"][0]["elements"]
    answer_id = buttons[0]["value"]
    assert [b["action_id"] for b in buttons[:3]] == ["nc_helpful", "nc_not_helpful", "nc_why"]

    for action, name in (("nc_helpful", "a1"), ("nc_not_helpful", "a2"), ("nc_why", "a3"), ("nc_more", "a4"),
                         ("nc_launch_missiles", "a5"), ("nc_helpful", "a6"), ("nc_why", "a7")):
        value = {"a6": "not-a-number", "a7": "999999"}.get(name, answer_id)
        status, _, seconds = slack.send(action_body(action, value, slack.stub.response_url(name)), FORM)
        assert status == 200 and seconds < 3
    slack.settle()
    time.sleep(0.2)
    texts = {name: slack.stub.wait_for(f"/response/{name}")[0] for name in ("a1", "a2", "a3", "a4", "a5", "a6", "a7")}
    assert "could not find that answer" in texts["a7"]["text"]
    assert "solved" in texts["a1"]["text"] and "Thanks" in texts["a2"]["text"]
    assert "Intent" in blocks_text(texts["a3"]["blocks"]) and "Commands to run next" in blocks_text(texts["a4"]["blocks"])
    assert "don't know that button" in texts["a5"]["text"] and "don't know that button" in texts["a6"]["text"]
    with slack.store.session() as s:
        from netcopilot.store.models import Answer as AnswerRow, Conversation, Feedback

        values = sorted(f.value for f in s.query(Feedback).all())
        answer = s.get(AnswerRow, int(answer_id))
        assert values == [-1.0, 1.0] and answer.satisfaction == 0.0
        assert s.get(Conversation, answer.conversation_id).solved


def test_thread_replies_are_scored_with_vader(slack: Running) -> None:
    mention(slack, "vpn tunnel to berlin is up but no traffic", "1700000600.000001", "Ev600")
    answer_id = slack.store.latest_answer_in_thread("C2001", "1700000600.000001")
    for n, text in enumerate(["thanks, that fixed it! great help", "no, still broken. this was useless"]):
        event = {"type": "message", "channel_type": "channel", "user": "U1001", "text": text, "ts": f"170000061{n}.1",
                 "thread_ts": "1700000600.000001", "channel": "C2001"}
        assert slack.send(event_body(event, f"Ev60{n + 1}"), JSON)[0] == 200
    slack.settle()
    with slack.store.session() as s:
        from netcopilot.store.models import Answer as AnswerRow, Feedback

        rows = s.query(Feedback).order_by(Feedback.id).all()
        assert [r.kind for r in rows] == ["reply", "reply"] and all(r.answer_id == answer_id for r in rows)
        assert rows[0].score > 0.3 and rows[1].score < -0.3 and rows[0].value == rows[0].score
        assert s.get(AnswerRow, answer_id).satisfaction == pytest.approx((rows[0].score + rows[1].score) / 2)
    assert len(slack.stub.called("chat.postMessage")) == 1  # feedback is not answered


def test_app_home_is_published(slack: Running) -> None:
    slack.send(slash_body("is 443 open on web01?", slack.stub.response_url("h0")), FORM)
    slack.settle()
    event = {"type": "app_home_opened", "user": "U1001", "channel": "D3001", "tab": "home", "event_ts": "1700000700.1"}
    assert slack.send(event_body(event, "Ev700"), JSON)[0] == 200
    (published,) = slack.stub.wait_for("views.publish")
    assert published["user_id"] == "U1001"
    view = published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    assert view["type"] == "home" and "is 443 open on web01?" in blocks_text(view["blocks"])


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", JSON),
        (json.dumps({"type": "event_callback", "event_id": "Ev800"}), JSON),  # no event
        (event_body({"type": "app_mention"}, "Ev801"), JSON),  # no channel, no ts, no text
        (event_body({"type": "reaction_added", "reaction": "+1"}, "Ev802"), JSON),  # no item
        (event_body({"type": "something_new", "x": 1}, "Ev803"), JSON),
        ("payload=%7Bbroken", FORM),
        ("command=%2Fnetcopilot", FORM),  # no text, user or response_url
    ],
)
def test_malformed_requests_get_a_clean_answer_and_lose_nothing(slack: Running, body: str, content_type: str) -> None:
    slack.send(slash_body("dns is slow on 10.1.2.3", slack.stub.response_url("keep")), FORM)
    slack.settle()
    before = slack.store.counts()
    status, _, _ = slack.send(body, content_type)
    assert status in (200, 400, 404)
    slack.settle()
    # the app still works and nothing stored was lost
    slack.send(slash_body("is 22 open on bastion-1?", slack.stub.response_url("after")), FORM)
    slack.stub.wait_for("/response/after")
    after = slack.store.counts()
    assert after["answers"] == before["answers"] + 1 and after["feedback"] >= before["feedback"]


def test_oversized_requests(slack: Running) -> None:
    status, _, _ = slack.send(slash_body("ping 10.0.0.1 " * 3000, slack.stub.response_url("big")), FORM)
    assert status == 200
    (reply,) = slack.stub.wait_for("/response/big")
    assert "first 2000 characters" in blocks_text(reply["blocks"])
    huge = "x" * (2 << 20)
    assert post(slack.url, huge, FORM, sign(huge))[0] == 413


def test_blocks_stay_within_slack_limits() -> None:
    long = "ping -c 4 " + "a" * 5000
    answer = Answer(
        query="q" * 10000, intent="connectivity", confidence=0.9, alternatives=[], answer_id=7,
        entities=[{"label": "IPV4", "text": "10.0.0.1", "start": 0, "end": 8}] * 30,
        commands=[{"command": long, "utility": "ping", "score": 0.5, "risk": "caution", "why": "w" * 5000, "root": True}] * 80,
        matches=[Match("session", "1", "t" * 500, 0.9, {"channel": "slack", "external_ref": "C1/1700.1"})] * 20,
        causes=["c" * 4000] * 10, fixes=["f" * 4000] * 10, notes=["n" * 4000] * 3, reply="r" * 9000,
    )
    for compact in (True, False):
        blocks, text = answer_blocks(answer, compact=compact)
        assert len(blocks) <= MAX_BLOCKS and len(text) <= 3000
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SECTION_TEXT
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= HEADER_TEXT
            if block["type"] == "context":
                assert len(block["elements"]) <= 10
        assert any(e.get("action_id") == "nc_more" for b in blocks if b["type"] == "actions" for e in b["elements"])
    escaped = answer_blocks(Answer(query="", intent="tls", confidence=1, alternatives=[], entities=[], matches=[],
                                   commands=[{"command": "openssl s_client -connect <host>:443 </dev/null", "utility": "openssl",
                                              "score": 1, "risk": "safe", "why": "a & b"}]))[0]
    assert "&lt;host&gt;" in blocks_text(escaped) and "a &amp; b" in blocks_text(escaped)


def test_the_manifest_matches_the_app() -> None:
    from netcopilot.frontends.slack_app import COMMAND, EVENTS
    from netcopilot.yamlio import load_yaml

    manifest = load_yaml((Path(__file__).resolve().parents[2] / "deploy" / "slack-manifest.yaml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {e.split(".")[0] for e in events} == set(EVENTS)
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["features"]["app_home"]["home_tab_enabled"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "app_mentions:read", "chat:write", "im:history", "reactions:read", "channels:history"} <= scopes


def test_netcopilot_slack_http_serves_the_cli_way(assistant, stub: SlackStub, tmp_path: Path) -> None:
    """`netcopilot slack --http --port 0` as a user starts it; without credentials it says which."""
    import os
    import re
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETCOPILOT_", "SLACK_"))}
    env.update(NETCOPILOT_HOME=str(tmp_path), NETCOPILOT_MODELS_DIR=str(assistant.settings.models_dir))
    missing = subprocess.run([sys.executable, "-m", "netcopilot", "slack", "--http"], env=env, capture_output=True, timeout=60)
    err = missing.stderr.decode().strip()
    assert missing.returncode == 2 and "SLACK_SIGNING_SECRET" in err and len(err.splitlines()) == 1

    env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, NETCOPILOT_SLACK_API_URL=stub.api_url)
    proc = subprocess.Popen([sys.executable, "-m", "netcopilot", "slack", "--http", "--host", "127.0.0.1", "--port", "0"],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        lines = [proc.stderr.readline().decode()]
        while not (found := re.search(r"(http://127\.0\.0\.1:\d+/slack/events)", lines[-1])) and lines[-1] and len(lines) < 20:
            lines.append(proc.stderr.readline().decode())
        assert found, "".join(lines)
        assert "Traceback" not in "".join(lines) and "will be unused" not in "".join(lines)
        body = slash_body("is 443 open on 10.0.0.5?", stub.response_url("cli"))
        assert post(found.group(1), body, FORM, sign(body))[0] == 200
        (reply,) = stub.wait_for("/response/cli")
        assert "10.0.0.5" in blocks_text(reply["blocks"])
    finally:
        proc.terminate()
        proc.wait(30)
