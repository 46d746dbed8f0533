"""The Slack app under a burst: N signed slash commands sent at once, then N button clicks.

    python benchmarks/bench_slack.py [--models-dir DIR] [--n 200]

The real Bolt app runs in HTTP mode on loopback, exactly as `netcopilot slack --http` serves it;
the Web API and every `response_url` point at the local stub the tests use. Requests are signed
as Slack signs them (v0 HMAC-SHA256 over timestamp and body).

Measured:
- acknowledgement time of each slash command (Slack gives up after 3 s): p50 / p95 / max and how
  many took longer than 3 s.                      Target: all N acked within 3 s, p95 reported.
- answers delivered to `response_url` (all N expected), and the time until the last one.
- N "Helpful" clicks on those answers, sent at once: feedback rows in the store (all N expected).

Baseline in the same run: the same app with the answer computed inside the listener before the ack
(what a plain Bolt listener with `process_before_response` does). It shows what dominates: the
answers themselves are serialised on one Assistant, so a burst must be queued, not answered inline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

ACK_LIMIT = 3.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def burst(send, n: int) -> list[tuple[int, float]]:
    """Send n requests at the same instant (a barrier releases n threads together)."""
    gate = threading.Barrier(n)

    def one(i: int) -> tuple[int, float]:
        gate.wait()
        status, _, seconds = send(i)
        return status, seconds

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def run(models_dir: Path | None, n: int, inline: bool) -> dict:
    from netcopilot.core.assistant import Assistant
    from netcopilot.frontends.slack_app import SlackFrontend, make_http_server
    from netcopilot.frontends.slack_blocks import ACTIONS
    from netcopilot.nlu.data import load_intents
    from netcopilot.settings import Settings
    from tests.frontends.slack_stub import SECRET, SlackStub, action_body, post, sign, slash_body

    class Inline(SlackFrontend):
        """Baseline: answer before acknowledging."""

        def submit(self, job, *args) -> None:  # noqa: ANN001
            self._guarded(job, *args)

    stub = SlackStub()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.load(
            environ={"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
                     "NETCOPILOT_SLACK_API_URL": stub.api_url},
            home=Path(home), models_dir=models_dir or Settings.load().models_dir,
        )
        assistant = Assistant.load(settings)
        frontend = (Inline if inline else SlackFrontend)(assistant, settings)
        server = make_http_server(frontend, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        questions = [t for t, _ in load_intents(settings.intents_dir).test]
        for q in questions[:10]:  # warm-up, as a running app would be
            post(url, body := slash_body(q, stub.response_url("warm")), "application/x-www-form-urlencoded", sign(body))
        frontend.drain(60)

        def command(i: int) -> tuple[int, str, float]:
            body = slash_body(questions[i % len(questions)], stub.response_url(f"q{i}"), user=f"U{i % 20:04d}")
            return post(url, body, "application/x-www-form-urlencoded", sign(body), timeout=120)

        started = time.perf_counter()
        acks = burst(command, n)
        frontend.drain(300)
        delivered = {i: stub.called(f"/response/q{i}") for i in range(n)}
        all_answered_s = time.perf_counter() - started
        answered = sum(1 for v in delivered.values() if v)

        answer_ids: list[str] = []
        for replies in delivered.values():
            for block in (replies[0].get("blocks") or []) if replies else []:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("action_id") == ACTIONS["helpful"]:
                        answer_ids.append(element["value"])

        def click(i: int) -> tuple[int, str, float]:
            body = action_body(ACTIONS["helpful"], answer_ids[i], stub.response_url(f"c{i}"), user=f"U{i % 20:04d}")
            return post(url, body, "application/x-www-form-urlencoded", sign(body), timeout=120)

        clicks = burst(click, len(answer_ids)) if answer_ids else []
        frontend.drain(300)
        feedback_rows = frontend.store.counts()["feedback"]
        server.shutdown()
        server.server_close()
        frontend.close()
        frontend.store.close()
    stub.close()
    ack_s = [s for _, s in acks]
    return {
        "ok": sum(1 for status, _ in acks if status == 200),
        "ack_p50": statistics.median(ack_s), "ack_p95": percentile(ack_s, 95), "ack_max": max(ack_s),
        "late": sum(1 for s in ack_s if s > ACK_LIMIT),
        "answered": answered, "all_answered_s": all_answered_s,
        "clicks_ok": sum(1 for status, _ in clicks if status == 200), "clicks": len(clicks),
        "click_p95": percentile([s for _, s in clicks], 95) if clicks else float("nan"),
        "feedback_rows": feedback_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--n", type=int, default=200, help="concurrent slash commands (default 200)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the answer-before-ack baseline")
    args = parser.parse_args()

    results = {"netcopilot (ack, then queue)": run(args.models_dir, args.n, inline=False)}
    if not args.no_baseline:
        results["baseline (answer, then ack)"] = run(args.models_dir, args.n, inline=True)
    print(f"{args.n} signed slash commands at once, then a Helpful click on every answer\n")
    header = f"{'':30} {'acked':>7} {'p50 ack':>9} {'p95 ack':>9} {'max ack':>9} {'>3 s':>6} {'answered':>9} {'all in':>8} {'clicks':>8} {'feedback':>9}"
    print(header)
    for name, r in results.items():
        print(f"{name:30} {r['ok']:>7} {r['ack_p50']:>8.3f}s {r['ack_p95']:>8.3f}s {r['ack_max']:>8.3f}s {r['late']:>6} "
              f"{r['answered']:>9} {r['all_answered_s']:>7.1f}s {r['clicks_ok']:>8} {r['feedback_rows']:>9}")
    ours = results["netcopilot (ack, then queue)"]
    passed = ours["ok"] == args.n and ours["late"] == 0 and ours["answered"] == args.n and ours["feedback_rows"] == ours["clicks"] == args.n
    print(f"\ntarget (all {args.n} acked within {ACK_LIMIT:.0f} s, all answered, one feedback row per click): "
          f"{'met' if passed else 'NOT met'}")
    print(f"answer throughput: {args.n / ours['all_answered_s']:.1f} answers/s; the Assistant answers one at a time, "
          "so the queue, not the HTTP layer, sets the pace.")


if __name__ == "__main__":
    main()
