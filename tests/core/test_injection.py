"""No suggested command ever carries an unquoted shell metacharacter from user text.

Each rendered command is compared with its own template: outside single-quoted strings, the
command may contain no more shell metacharacters than the template's literal text (ours) has.
Placeholders such as <host> are ours too and are removed before counting."""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcopilot.core.types import Request

META = set(";&|$`()<>\n\\*?!#~{}[]\"'")
PLACEHOLDER = re.compile(r"<[a-z_]+>")
SINGLE_QUOTED = re.compile(r"'[^']*'")


def unquoted_meta(command: str) -> Counter:
    return Counter(c for c in SINGLE_QUOTED.sub("", PLACEHOLDER.sub("", command)) if c in META)


def template_meta(template: str) -> Counter:
    literal = re.sub(r"(?<!%)\{[a-z_]+\}", "", template).replace("[[", "").replace("]]", "")
    return Counter(c for c in SINGLE_QUOTED.sub("", literal) if c in META)


PIECES = [
    "ping", "is", "port", "open", "on", "dns", "slow", "reach", "curl", "ssh", "to", "via", "interface", " ",
    "10.0.0.5", "8.8.8.8", "2001:db8::1", "web01", "db-prod.corp.example", "443", "https", "eth0", "Gi0/1",
    "5 times", "30s", "vlan 10", "aa:bb:cc:dd:ee:ff", "10.1.0.0/16", "https://x.example/a?b=1",
    "; rm -rf /", "$(reboot)", "`id`", "| sh", "&&", "> /etc/passwd", "'", '"', "\\", "\n", "$HOME", "*",
    "web01;reboot", "10.0.0.5$(id)", "eth0`id`", "x.example'$(id)'", "-oProxyCommand=sh", "{a,b}", "~root",
]


def test_template_quoting_rule(shared_assistant) -> None:
    """A placeholder inside quotes would defeat shlex.quote: the catalog must never do that."""
    for spec in shared_assistant.knowledge.catalog:
        for quoted in re.findall(r"'[^']*'|\"[^\"]*\"", spec.template):
            assert not re.search(r"(?<!%)\{[a-z_]+\}", quoted), spec.id


@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=12), min_size=1, max_size=14).map(" ".join))
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_user_metacharacter_reaches_a_command(shared_assistant, text: str) -> None:
    templates = {spec.id: spec.template for spec in shared_assistant.knowledge.catalog}
    answer = shared_assistant.answer(Request(text=text, record=False))
    for cmd in answer.commands:
        extra = unquoted_meta(cmd["command"]) - template_meta(templates[cmd["id"]])
        assert not extra, f"{cmd['command']!r} from {text!r} has unquoted {dict(extra)}"
