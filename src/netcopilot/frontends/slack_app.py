"""The Slack front end: a slack-bolt app over the same Assistant as the CLI.

Every listener acknowledges at once and hands the work to a small answer queue, so Slack always
gets its ack within 3 seconds, even under a burst of commands (no request thread ever waits for
the Assistant). Requests arrive through Socket Mode or, in HTTP mode, at
`POST /slack/events` on a threaded WSGI server; the Web API base URL comes from
`NETCOPILOT_SLACK_API_URL` (tests point it at a local stub).

Listeners: `/netcopilot` (ephemeral; `share` posts in the channel), `app_mention` (answers in the
thread), DMs and thread replies (`message`), `reaction_added`, the answer buttons (Helpful / Not
helpful / Show why / More) and `app_home_opened`.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from netcopilot.core.types import Answer, Request
from netcopilot.errors import NetcopilotError, SettingError
from netcopilot.frontends.slack_blocks import ACTIONS, answer_blocks, home_view, why_blocks
from netcopilot.settings import Settings

log = logging.getLogger("netcopilot.slack")


class _SameToken(logging.Filter):
    """Bolt always reads SLACK_BOT_TOKEN and warns that our client (built from that same token)
    takes precedence; that warning only confuses whoever runs the app."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


log.addFilter(_SameToken())
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
SHARE_WORDS = {"share", "public", "--share", "-s"}
USAGE = ("Ask me a network question, e.g. `/netcopilot why can't I reach 10.0.0.5 on 443?` "
         "(answered privately; start with `share` to post it in the channel; `optout` to have nothing of yours kept).")
COMMAND = "/netcopilot"
# Event types this app listens to; deploy/slack-manifest.yaml subscribes to exactly these.
EVENTS = ("app_mention", "message", "reaction_added", "app_home_opened")
PRIVACY_WORDS = {"optout", "optin"}
OPTED_OUT = ("You have opted out: your earlier conversations and feedback with me were deleted, and I keep nothing "
             "of yours from now on. I still answer you. `/netcopilot optin` undoes this.")
OPTED_IN = "You have opted in again: I keep your questions and feedback to improve my answers (see the data-use notice)."
GONE = "I could not find that answer any more; ask me again."
UNKNOWN_BUTTON = "Sorry, I don't know that button. Ask me again and use the buttons under the new answer."


class SlackFrontend:
    """The Bolt app and the queue that answers on its behalf."""

    def __init__(self, assistant: Any, settings: Settings, workers: int = 2, client: Any = None):
        from slack_bolt import App, BoltResponse
        from slack_sdk import WebClient

        self.assistant = assistant
        self.store = assistant.store
        self.settings = settings
        self._jobs = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netcopilot-answer")
        self._pending: set[Future] = set()
        self._pending_lock = threading.Lock()
        client = client or WebClient(token=settings.slack_bot_token, base_url=_api_base(settings.slack_api_url))
        # Listeners only acknowledge and enqueue (microseconds), so Bolt may finish them before
        # replying to Slack: the work is queued by the time Slack gets its 200.
        self.app = App(
            signing_secret=settings.slack_signing_secret or "",
            client=client,
            name="netcopilot",
            logger=log,
            process_before_response=True,
        )
        app = self.app

        @app.middleware
        def once_per_event(body: dict, next: Callable[[], None]) -> Any:  # noqa: A002 - Bolt's name
            """Slack redelivers events it thinks were missed; each event id is handled once."""
            event_id = body.get("event_id") if isinstance(body, dict) else None
            if event_id and not self.store.claim_event(str(event_id)):
                return BoltResponse(status=200, body="")
            next()

        app.command(COMMAND)(self._on_command)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(lambda: None)
        app.event("app_home_opened")(self._on_home)
        app.action(ACTIONS["helpful"])(self._button_listener(self._rate, 1.0, "helpful"))
        app.action(ACTIONS["not_helpful"])(self._button_listener(self._rate, -1.0, "not_helpful"))
        app.action(ACTIONS["why"])(self._button_listener(self._show, "why"))
        app.action(ACTIONS["more"])(self._button_listener(self._show, "more"))
        app.action(re.compile(".*"))(self._on_unknown_action)
        app.error(self._on_error)

    # --- the answer queue -------------------------------------------------------------------

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        future = self._jobs.submit(self._guarded, job, *args)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    @staticmethod
    def _guarded(job: Callable[..., None], *args: Any) -> None:
        try:
            job(*args)
        except Exception:  # noqa: BLE001 - one failed answer must not stop the queue
            log.exception("answering failed")

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every queued answer is sent (tests and shutdown)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._pending_lock:
                if not self._pending:
                    return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._jobs.shutdown(wait=True)

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def user_key(team: str | None, user: str | None) -> str:
        return f"slack:{team or '-'}:{user or 'unknown'}"

    def _post_answer(self, client: Any, channel: str, answer: Answer, thread_ts: str | None) -> None:
        blocks, text = answer_blocks(answer)
        result = client.chat_postMessage(channel=channel, blocks=blocks, text=text, thread_ts=thread_ts)
        if answer.answer_id is not None and result.get("ts"):
            self.store.record_posted(answer.answer_id, channel, result["ts"], thread_ts)

    def _ask(self, text: str, user: str, thread: str | None) -> Answer:
        return self.assistant.answer(Request(text=text, user=user, channel="slack", thread=thread))

    # --- listeners --------------------------------------------------------------------------

    def _on_command(self, ack: Callable, command: dict, respond: Callable, client: Any) -> None:
        text = (command.get("text") or "").strip()
        words = text.split(maxsplit=1)
        share = bool(words) and words[0].lower() in SHARE_WORDS
        if share:
            text = words[1] if len(words) > 1 else ""
        if not text:
            ack(text=USAGE)
            return
        user = self.user_key(command.get("team_id"), command.get("user_id"))
        if text.lower() in PRIVACY_WORDS:
            ack(text=self._privacy_choice(user, text.lower()))
            return
        ack()
        self.submit(self._answer_command, text, user, share, command.get("channel_id"), respond, client)

    def _privacy_choice(self, user: str, word: str) -> str:
        from netcopilot.privacy.people import set_opt_out

        set_opt_out(self.store, user, word == "optout")
        return OPTED_OUT if word == "optout" else OPTED_IN

    def _answer_command(self, text: str, user: str, share: bool, channel: str | None, respond: Callable, client: Any) -> None:
        answer = self._ask(text, user, None)
        if share and channel:
            self._post_answer(client, channel, answer, None)
        else:
            blocks, fallback = answer_blocks(answer)
            respond(blocks=blocks, text=fallback, response_type="ephemeral")

    def _on_mention(self, event: dict, body: dict, client: Any) -> None:
        if event.get("bot_id"):
            return
        channel = event.get("channel")
        thread_ts = event.get("thread_ts") or event.get("ts")
        if not channel or not thread_ts:
            return
        text = MENTION.sub("", event.get("text") or "").strip()
        user = self.user_key(body.get("team_id"), event.get("user"))
        self.submit(self._answer_in_thread, text, user, channel, thread_ts, client)

    def _answer_in_thread(self, text: str, user: str, channel: str, thread_ts: str, client: Any) -> None:
        if not text:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=USAGE)
            return
        answer = self._ask(text, user, f"{channel}/{thread_ts}")
        self._post_answer(client, channel, answer, thread_ts)

    def _on_message(self, event: dict, body: dict, client: Any) -> None:
        if event.get("bot_id") or event.get("subtype"):  # our own posts, edits, joins...
            return
        channel = event.get("channel")
        text = (event.get("text") or "").strip()
        user = self.user_key(body.get("team_id"), event.get("user"))
        if not channel or not event.get("user"):
            return
        if event.get("channel_type") == "im":
            thread_ts = event.get("thread_ts")
            # One rolling conversation per DM, or per thread inside the DM.
            self.submit(self._answer_dm, text, user, channel, thread_ts)
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or MENTION.search(text):
            return  # channel chatter, or a mention (app_mention answers it)
        if self.store.latest_answer_in_thread(channel, thread_ts) is None:
            return  # not a thread we answered in
        self.submit(self._thread_reply, text, user, channel, thread_ts, client)

    def _answer_dm(self, text: str, user: str, channel: str, thread_ts: str | None) -> None:
        if not text:
            return
        answer = self._ask(text, user, f"{channel}/{thread_ts or 'dm'}")
        self._post_answer(self.app.client, channel, answer, thread_ts)

    def _thread_reply(self, text: str, user: str, channel: str, thread_ts: str, client: Any) -> None:
        """A reply in the thread of one of our answers: its sentiment is feedback; a question is
        also answered, with the thread's context."""
        thread = f"{channel}/{thread_ts}"
        if "?" in text:
            answer = self._ask(text, user, thread)
            self._post_answer(client, channel, answer, thread_ts)
        else:
            self.assistant.note_reply(Request(text=text, user=user, channel="slack", thread=thread))

    def _on_reaction(self, event: dict, body: dict) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return
        answer_id = self.store.answer_for_message(item["channel"], item["ts"])
        if answer_id is None:
            return  # a reaction on someone else's message
        self.assistant.reaction(answer_id, self.user_key(body.get("team_id"), event.get("user")), event.get("reaction") or "")

    def _on_home(self, event: dict, body: dict, client: Any) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        user_id = self.assistant.user_id(self.user_key(body.get("team_id"), event["user"]))
        recent = self.store.recent_questions(user_id, limit=10)
        client.views_publish(user_id=event["user"], view=home_view(recent, self.store.user_satisfaction(user_id)))

    # --- buttons ----------------------------------------------------------------------------

    def _button(self, ack: Callable, body: dict, action: dict, respond: Callable) -> tuple[int, str] | None:
        ack()
        try:
            answer_id = int(action.get("value", ""))
        except (TypeError, ValueError):
            respond(text=UNKNOWN_BUTTON, response_type="ephemeral", replace_original=False)
            return None
        team = (body.get("team") or {}).get("id") or body.get("team_id")
        return answer_id, self.user_key(team, (body.get("user") or {}).get("id"))

    def _button_listener(self, job: Callable[..., None], *extra: Any) -> Callable[..., None]:
        """A Bolt action listener: ack, read the answer id and user, queue `job(answer_id, user,
        *extra, respond)`."""

        def listener(ack: Callable, body: dict, action: dict, respond: Callable) -> None:
            picked = self._button(ack, body, action, respond)
            if picked:
                self.submit(job, picked[0], picked[1], *extra, respond)

        return listener

    def _rate(self, answer_id: int, user: str, value: float, source: str, respond: Callable) -> None:
        try:
            self.assistant.feedback(answer_id, user, "button", value, source=source)
        except NetcopilotError:
            respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        if value > 0:
            conversation = self.store.conversation_of_answer(answer_id)
            if conversation is not None:
                self.assistant.mark_solved(conversation)
        text = "Thanks! I'll remember this as solved." if value > 0 else "Thanks for telling me. Reply in the thread with more detail and I'll try again."
        respond(text=text, response_type="ephemeral", replace_original=False)

    def _show(self, answer_id: int, user: str, what: str, respond: Callable) -> None:
        """Show why (how the answer was chosen) or more (the whole answer, untruncated)."""
        payload = self.store.answer_payload(answer_id)
        if payload is None:
            respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        if what == "why":
            blocks, text = why_blocks(payload), "How this answer was chosen"
        else:
            answer = Answer.from_dict(payload)
            answer.answer_id = None  # the full version carries no second set of buttons
            blocks, text = answer_blocks(answer, compact=False)
        respond(blocks=blocks, text=text, response_type="ephemeral", replace_original=False)

    def _on_unknown_action(self, ack: Callable, respond: Callable) -> None:
        ack()
        respond(text=UNKNOWN_BUTTON, response_type="ephemeral", replace_original=False)

    @staticmethod
    def _on_error(error: Exception, body: dict) -> None:
        log.error("Slack request failed: %s", error)


def _api_base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


# --- serving ------------------------------------------------------------------------------------


def make_http_server(frontend: SlackFrontend, host: str, port: int) -> Any:
    """A threaded WSGI server serving Bolt at POST /slack/events (and 404 elsewhere)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from slack_bolt.adapter.wsgi import SlackRequestHandler

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 256

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)

    class CarefulHandler(SlackRequestHandler):
        """Bolt parses the body before it checks anything; a body that does not parse gets a 401
        (unsigned) or a 400 (signed but broken) instead of a traceback."""

        def dispatch(self, request: Any) -> Any:
            from slack_bolt import BoltResponse
            from slack_bolt.request import BoltRequest

            body = request.get_body()
            headers = request.get_headers()
            try:
                bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
            except ValueError as e:  # json.JSONDecodeError included
                if not _signed(frontend.settings.slack_signing_secret or "", body, headers):
                    return BoltResponse(status=401, body="invalid request signature")
                log.warning("unparseable Slack request: %s", e)
                return BoltResponse(status=400, body="malformed request body")
            return self.app.dispatch(bolt_request)

    handler = CarefulHandler(frontend.app, path="/slack/events")
    return make_server(host, port, _limit_body(handler), server_class=ThreadingWSGIServer, handler_class=QuietHandler)


def _signed(secret: str, body: str, headers: dict) -> bool:
    from slack_sdk.signature import SignatureVerifier

    def first(name: str) -> str:
        value = headers.get(name) or [""]
        return value[0] if isinstance(value, (list, tuple)) else str(value)

    return SignatureVerifier(secret).is_valid(body, first("x-slack-request-timestamp"), first("x-slack-signature"))


MAX_BODY = 1 << 20  # Slack payloads are far smaller; anything bigger is refused before parsing


MAX_DISCARD = 16 << 20  # read (and drop) up to this much so the client sees the 413, not a reset


def _discard(stream: Any, length: int) -> None:
    while stream is not None and length > 0:
        chunk = stream.read(min(length, 1 << 16))
        if not chunk:
            return
        length -= len(chunk)


def _limit_body(app: Callable) -> Callable:
    def wrapped(environ: dict, start_response: Callable) -> Any:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            _discard(environ.get("wsgi.input"), min(max(length, 0), MAX_DISCARD))
            start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
            return [b"request body too large"]
        return app(environ, start_response)

    return wrapped


def check_credentials(settings: Settings, http: bool) -> None:
    needed = ["slack_bot_token", "slack_signing_secret"] if http else ["slack_bot_token", "slack_app_token"]
    names = {"slack_bot_token": "SLACK_BOT_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET",
             "slack_app_token": "SLACK_APP_TOKEN"}
    missing = [names[n] for n in needed if not getattr(settings, n)]
    if missing:
        mode = "HTTP mode" if http else "Socket Mode"
        raise SettingError(f"{mode} needs {' and '.join(missing)} in the environment (see deploy/slack-manifest.yaml and the README)")


def run(settings: Settings, assistant_factory: Callable[[], Any], http: bool, host: str, port: int,
        on_ready: Callable[[str], None] | None = None) -> None:
    check_credentials(settings, http)
    frontend = SlackFrontend(assistant_factory(), settings)
    if http:
        server = make_http_server(frontend, host, port)
        if on_ready:
            on_ready(f"listening on http://{host}:{server.server_port}/slack/events")
        try:
            server.serve_forever()
        finally:
            server.server_close()
            frontend.close()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        if on_ready:
            on_ready("connecting to Slack in Socket Mode")
        SocketModeHandler(frontend.app, settings.slack_app_token).start()
