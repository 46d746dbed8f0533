"""Rendering an Answer as Slack Block Kit. Layout only, no logic.

Slack's limits are kept by construction: at most 50 blocks, section text up to 3,000 characters,
header 150, button text 75, context up to 10 elements. What does not fit is cut with an ellipsis
and a "More" button that posts the rest in the thread; nothing is ever dropped by an API error.
Text from users and commands is escaped for mrkdwn (`&`, `<`, `>`), since commands contain
`<host>` placeholders and `</dev/null` redirections.
"""

from __future__ import annotations

from typing import Any

from netcopilot.core.types import Answer

MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
FALLBACK_TEXT = 3000
RISK_BADGE = {"safe": ":large_green_circle: safe", "caution": ":large_yellow_circle: caution",
              "dangerous": ":red_circle: dangerous"}
HIDE_COMMANDS_FOR = {"smalltalk", "history"}
ACTIONS = {"helpful": "nc_helpful", "not_helpful": "nc_not_helpful", "why": "nc_why", "more": "nc_more"}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, SECTION_TEXT)}}


def _code(command: str, limit: int) -> str:
    # Backticks inside a code block would end it early.
    return "```" + fit(escape(command).replace("```", "'''"), limit) + "```"


def command_block(i: int, cmd: dict[str, Any]) -> dict[str, Any]:
    badge = RISK_BADGE.get(cmd["risk"], cmd["risk"])
    why = escape(cmd["why"])
    head = f"*{i}.* {badge}{'  · needs root' if cmd.get('root') else ''}\n"
    code = _code(cmd["command"], 1200)
    return _section(head + code + "\n" + fit(why, SECTION_TEXT - len(head) - len(code) - 2))


def _bullets(title: str, items: list[str]) -> dict[str, Any]:
    return _section(f"*{title}*\n" + "\n".join(f"• {escape(item)}" for item in items))


def session_link(match: Any) -> str:
    ref = str(match.detail.get("external_ref") or "")
    title = escape(fit(match.title, 120))
    if match.detail.get("channel") == "slack" and "/" in ref:
        channel, ts = ref.split("/", 1)
        return f"<https://slack.com/archives/{channel}/p{ts.replace('.', '')}|{title}>"
    return f"{title} (conversation #{match.id})"


def answer_blocks(answer: Answer, max_commands: int = 5, compact: bool = True) -> tuple[list[dict[str, Any]], str]:
    """Blocks and the fallback text for an answer. `compact` keeps the first message short and
    offers "More"; the full rendering (compact=False) is what the More button posts."""
    blocks: list[dict[str, Any]] = []
    intent = answer.intent.replace("_", " ")
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": fit(f"{intent} · {answer.confidence:.0%}", HEADER_TEXT)}})
    if answer.entities or answer.carried:
        elements = [{"type": "mrkdwn", "text": f"`{e['label']}` {escape(fit(e['text'], 80))}"} for e in answer.entities]
        elements += [{"type": "mrkdwn", "text": f"`{e['label']}` {escape(fit(e['text'], 80))} _(from before)_"} for e in answer.carried]
        blocks.append({"type": "context", "elements": elements[:10]})
    for note in answer.notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f":information_source: {escape(note)}"}]})
    if answer.notice:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f":lock: {escape(answer.notice)}"}]})
    if answer.feedback:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Thanks, noted as feedback on my previous answer."}]})
    if answer.clarify:
        blocks.append(_section(f":thinking_face: {escape(answer.clarify)}"))
    if answer.reply:
        blocks.append(_section(escape(answer.reply)))
    if answer.analysis:
        a = answer.analysis
        title = "*" + {"anomaly": "Anomalies", "capacity": "Capacity", "topology": "Topology", "security": "Threats"}.get(a["kind"], "Analysis") + "*"
        body = "\n".join(escape(line) for line in ([a["error"]] if a.get("error") else []) + a.get("summary", []))
        blocks.append(_section(f"{title} in `{escape(a['source'])}`\n{body}" if a.get("source") else f"{title}\n{body}"))
    if answer.history:
        lines = [f"• {escape(fit(h['text'], 150))} — _{h['intent']}_{' :white_check_mark:' if h['solved'] else ''}" for h in answer.history]
        blocks.append(_section("*Your recent questions*\n" + "\n".join(lines)))

    truncated = False
    show = not answer.clarify and answer.intent not in HIDE_COMMANDS_FOR
    if show and answer.commands:
        blocks.append(_section("*Commands to run next*"))
        shown = answer.commands[:max_commands] if compact else answer.commands
        truncated = len(shown) < len(answer.commands)
        for i, cmd in enumerate(shown, 1):
            blocks.append(command_block(i, cmd))
    if show and answer.causes:
        blocks.append(_bullets("Likely causes", answer.causes))
    if show and answer.fixes:
        blocks.append(_bullets("Fixes", answer.fixes))
    if answer.matches and answer.intent not in HIDE_COMMANDS_FOR:
        lines = []
        for m in answer.matches:
            label = session_link(m) if m.kind == "session" else f"runbook: {escape(m.title)}"
            lines.append(f"{m.similarity:.2f}  {label}")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": fit("*Similar:* " + "\n".join(lines), SECTION_TEXT)}]})

    if len(blocks) > MAX_BLOCKS - 2:
        blocks = blocks[: MAX_BLOCKS - 2]
        truncated = True
    if answer.answer_id is not None:
        value = str(answer.answer_id)
        buttons = [
            {"type": "button", "action_id": ACTIONS["helpful"], "text": {"type": "plain_text", "text": ":+1: Helpful", "emoji": True}, "style": "primary", "value": value},
            {"type": "button", "action_id": ACTIONS["not_helpful"], "text": {"type": "plain_text", "text": ":-1: Not helpful", "emoji": True}, "style": "danger", "value": value},
            {"type": "button", "action_id": ACTIONS["why"], "text": {"type": "plain_text", "text": "Show why"}, "value": value},
        ]
        if truncated:
            buttons.append({"type": "button", "action_id": ACTIONS["more"], "text": {"type": "plain_text", "text": "More"}, "value": value})
        blocks.append({"type": "actions", "block_id": f"nc_feedback_{value}", "elements": buttons})
    return blocks, fallback_text(answer)


def fallback_text(answer: Answer) -> str:
    """Plain text for notifications and clients without Block Kit."""
    if answer.clarify:
        return fit(answer.clarify, FALLBACK_TEXT)
    if answer.reply:
        return fit(answer.reply, FALLBACK_TEXT)
    first = answer.commands[0]["command"] if answer.commands else ""
    return fit(f"{answer.intent.replace('_', ' ')}: {first}", FALLBACK_TEXT)


def why_blocks(answer_payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The ":why" explanation from a stored answer payload."""
    ex = answer_payload.get("explanation") or {}
    intent = answer_payload.get("intent", {})
    lines = [f"*Intent:* {intent.get('name')} ({float(intent.get('confidence', 0)):.0%})"]
    for name, top in (ex.get("members") or {}).items():
        guesses = ", ".join(f"{n} {p:.2f}" for n, p in top)
        lines.append(f"• {name} (weight {ex.get('weights', {}).get(name, 0):.1f}): {guesses}")
    commands = answer_payload.get("commands", [])
    for cmd, row in zip(commands, ex.get("commands", [])):
        top = sorted(row["features"].items(), key=lambda kv: -abs(kv[1]))[:4]
        lines.append(f"• `{escape(fit(cmd['command'], 60))}`: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    return [_section("\n".join(lines))]


def home_view(recent: list[dict[str, Any]], satisfaction: dict[str, Any]) -> dict[str, Any]:
    mean = satisfaction.get("mean")
    mood = "no feedback yet" if mean is None else f"{mean:+.2f} average over {satisfaction['feedback']} reactions, buttons and replies"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "netcopilot"}},
        _section(f"You asked *{satisfaction.get('questions', 0)}* questions. Your satisfaction: {mood}."),
        {"type": "divider"},
        _section("*Your recent questions*\n" + ("\n".join(
            f"• {escape(fit(r['text'], 140))} — _{r['intent']}_{' :white_check_mark:' if r['solved'] else ''}" for r in recent[:10]
        ) or "_none yet_")),
        {"type": "divider"},
        _section("*Tips*\n• `/netcopilot why can't I reach 10.0.0.5 on 443?` answers privately; add `share` to post it in the channel.\n"
                 "• Mention me in an incident thread and I answer there; follow-ups in the thread keep the context.\n"
                 "• React with :+1: or :-1:, or reply \"that fixed it\": I learn which answers helped."),
    ]
    return {"type": "home", "blocks": blocks[:100]}
