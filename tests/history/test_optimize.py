"""optimize.advise: limits, timeouts, -n when DNS is broken, typos, and what worked before."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from netcopilot.history.classify import CommandClassifier
from netcopilot.history.optimize import advise
from netcopilot.history.records import CommandEvent
from netcopilot.recommend.catalog import load_catalog

CATALOG = Path(__file__).resolve().parents[2] / "knowledge_base" / "commands"


@pytest.fixture(scope="module")
def classifier() -> CommandClassifier:
    return CommandClassifier(load_catalog(CATALOG))


def kinds(line: str, classifier: CommandClassifier, **kw) -> dict[str, str]:
    return {a.kind: a.suggested for a in advise(line, classifier=classifier, **kw)}


@pytest.mark.parametrize("line, kind, suggested", [
    ("ping 8.8.8.8", "missing-limit", "ping -c 4 8.8.8.8"),
    ("ping -c 4 8.8.8.8", "timeout", "ping -W 2 -c 4 8.8.8.8"),
    ("sudo traceroute 8.8.8.8", "timeout", "sudo traceroute -w 2 8.8.8.8"),
    ("traceroute 8.8.8.8", "no-dns", "traceroute -n 8.8.8.8"),
    ("nc -zv db 5432", "timeout", "nc -w 3 -zv db 5432"),
    ("dig example.com", "timeout", "dig +time=2 +tries=1 example.com"),
    ("curl -sI https://example.com", "timeout", "curl --connect-timeout 5 --max-time 20 -sI https://example.com"),
    ("tcpdump -i eth0", "missing-limit", "tcpdump -c 100 -i eth0"),
    ("mtr 8.8.8.8", "better-flag", "mtr --report -c 10 8.8.8.8"),
    ("pign -c 2 gw", "typo", "ping -c 2 gw"),
    ("tracerout -n 8.8.8.8", "typo", "traceroute -n 8.8.8.8"),
    ("curl --max-tim 5 https://x", "wrong-flag", "curl --max-time 5 https://x"),
    ("curl --insecur https://x", "wrong-flag", "curl --insecure https://x"),
    ("dig +shrt example.com", "wrong-flag", "dig +short example.com"),
])
def test_rules(classifier: CommandClassifier, line: str, kind: str, suggested: str) -> None:
    assert kinds(line, classifier).get(kind) == suggested


@pytest.mark.parametrize("line", [
    "ping -c 4 -W 1 8.8.8.8", "timeout 10 ping 8.8.8.8", "nc -lv 9000", "dig +time=1 +tries=1 example.com",
    "curl -m 5 https://x", "wget --spid -T 5 https://x",  # wget takes unambiguous prefixes
    "dig +noall +answer +nostats example.com +time=2", "fping 10.0.0.1", "traceroute -n -w 1 8.8.8.8",
    "ssh -o ConnectTimeout=3 host", "tcpdump -nn -r cap.pcap", "ss -tlnp",
])
def test_no_advice_for_lines_that_are_already_good(classifier: CommandClassifier, line: str) -> None:
    assert advise(line, classifier=classifier) == []


def test_typo_fixes_carry_into_later_suggestions(classifier: CommandClassifier) -> None:
    out = advise("curl --max-tim 5 https://x", classifier=classifier)
    assert [a.kind for a in out] == ["wrong-flag"]  # the corrected --max-time is a timeout already
    assert kinds("pign -c 2 gw", classifier)["timeout"] == "ping -W 2 -c 2 gw"


def test_no_dns_only_when_dns_is_broken(classifier: CommandClassifier) -> None:
    assert "no-dns" not in kinds("ss -tlp", classifier)
    broken = kinds("ss -tlp", classifier, context={"dns_broken": True})
    assert broken["no-dns"] == "ss -n -tlp"
    assert "no-dns" not in kinds("netstat -tlnp", classifier, context={"dns_broken": True})


def test_suggestions_are_shell_quoted(classifier: CommandClassifier) -> None:
    line = "tcpdump -i eth0 'tcp port 80 and host 10.0.0.1'"
    suggested = kinds(line, classifier)["missing-limit"]
    assert shlex.split(suggested) == ["tcpdump", "-c", "100", "-i", "eth0", "tcp port 80 and host 10.0.0.1"]


def test_what_worked_before(classifier: CommandClassifier) -> None:
    history = [CommandEvent("ping -c 5 -W 1 10.0.0.1", exit_status=0), CommandEvent("ls", exit_status=0),
               CommandEvent("ping -c 5 -W 1 10.0.0.2", exit_status=0), CommandEvent("ping -c 1 10.0.0.3", exit_status=1)]
    out = kinds("ping 10.0.0.1", classifier, history=history)
    assert out["worked-before"] == "ping -c 5 -W 1 10.0.0.1"
    assert "worked-before" not in kinds("ping -c 5 -W 1 10.0.0.1", classifier, history=history)
    assert "worked-before" not in kinds("ping 10.0.0.1", classifier, history=history[2:3] + [
        CommandEvent("ping -c 9 10.0.0.7", exit_status=1)])  # one success with another target is not a habit


def test_failed_then_fixed_variant(classifier: CommandClassifier) -> None:
    history = [CommandEvent("curl https://api.internal", exit_status=6, session="s1"),
               CommandEvent("cat /etc/resolv.conf", exit_status=0, session="s1"),
               CommandEvent("curl --resolve api.internal:443:10.0.0.8 https://api.internal", exit_status=0, session="s1")]
    out = advise("curl https://api.internal", history=history, classifier=classifier)
    fixed = [a for a in out if a.kind == "fixed-before"]
    assert fixed and fixed[0].suggested == "curl --resolve api.internal:443:10.0.0.8 https://api.internal"
    other_session = [history[0], CommandEvent(history[2].command, exit_status=0, session="s2")]
    assert not [a for a in advise("curl https://api.internal", history=other_session) if a.kind == "fixed-before"]


def test_deterministic(classifier: CommandClassifier) -> None:
    line = "sudo tcpdump -i eth0"
    assert advise(line, {"dns_broken": True}, classifier=classifier) == advise(line, {"dns_broken": True}, classifier=classifier)
