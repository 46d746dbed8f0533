"""Every sentence the assistant says on its own, in one place."""

from __future__ import annotations

import random
import re

EMPTY = "Ask me about a network problem, for example: why can't I reach 10.0.0.5 on port 443?"
TRIMMED = "Your message was long; I read its first {limit} characters."
BINARY = "Your message contained control or binary characters; I ignored them."
NOT_ENGLISH = "I only understand English so far; I did my best with the parts I could read."
UNSAFE_TEXT = (
    "Parts of your message look like shell syntax ({what}); I never copy those into commands. "
    "Only validated values (addresses, names, ports) are used, and they are quoted."
)
CLARIFY = "I'm not sure what you are after ({options}). {question}"
FOLLOWUP = "Continuing from your previous question ({carried})."
LOW_SIMILARITY = "No runbook matches this closely; the commands above are general diagnostics."
RISK_NOTE = {
    "caution": "changes state or sends traffic others may notice: read it before running",
    "dangerous": "can cut connectivity or lose configuration: run only if you know why",
}
NOTHING_RUNS = "netcopilot never runs commands itself: copy the ones you choose."
MODELS_MISSING_HINT = "Run `netcopilot train` once (or `make chat`, which does it for you)."

GREETING = re.compile(r"^\W*(hi|hello|hey|hiya|yo|howdy|good (morning|afternoon|evening)|sup|hallo|heya)\b", re.I)
THANKS = re.compile(r"\b(thanks?|thank you|thx|ty|cheers|great|awesome|perfect|nice|worked|fixed it|you rock|legend)\b", re.I)
BYE = re.compile(r"\b(bye|goodbye|see you|later|cya|good night)\b", re.I)
WHO = re.compile(r"\b(who|what) (are|r) (you|u)\b|\bwho (made|built|wrote|trained|created) (you|this)\b|\byour name\b", re.I)


def smalltalk_reply(text: str) -> str:
    if WHO.search(text):
        return (
            "I'm netcopilot, a networking assistant built by this team. I read your question, "
            "pick out hosts, ports and interfaces, suggest the exact commands to run and recall "
            "runbooks and past sessions. I never run anything myself."
        )
    if THANKS.search(text):
        return "Glad it helped! Type :good so I remember this session as solved and can recall it next time."
    if BYE.search(text):
        return "Bye! Your conversation is saved; ask `netcopilot ask 'show my history'` to find it again."
    if GREETING.search(text):
        return random.choice(
            [
                "Hi! What's misbehaving on the network? Give me a host, port or interface if you have one.",
                "Hello! Describe the problem, e.g. 'dns is slow on 10.1.2.3' or 'is 443 open on web01'.",
            ]
        )
    return "I'm here for network questions: reachability, DNS, latency, ports, routing, TLS, Wi-Fi, VPNs and more."


def history_empty() -> str:
    return "You have no earlier questions stored yet."
