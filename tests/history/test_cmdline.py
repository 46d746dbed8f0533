"""The shared command-line reader (`history.cmdline`): lexing, simple commands, the one wrapper
table, and that timing and fixes read wrappers and operators the same way classify does."""

from __future__ import annotations

import pytest

from netcopilot.errors import InputError
from netcopilot.history.cmdline import Wrapper, lex, simple_commands, stages, unwrap
from netcopilot.history.fixes.parse import has_shell_syntax, parse_failure
from netcopilot.history.timing import parse


def _split(line: str) -> list[tuple[list[str], tuple, str]]:
    pieces = lex(line)
    return [([pieces[i].text for i in words], redirects, ended) for words, redirects, ended in simple_commands(pieces)]


def test_quotes_keep_a_word_whole_and_quoted_operators_are_not_split_points() -> None:
    assert _split("ping -c 1 'my host' \"a;b\"") == [(["ping", "-c", "1", "my host", "a;b"], (), "")]


@pytest.mark.parametrize("op", [";", "&&", "||", "|", "|&", "&"])
def test_control_operators_end_a_simple_command_and_are_reported(op: str) -> None:
    assert _split(f"ping -c 1 h {op} echo done") == [(["ping", "-c", "1", "h"], (), op), (["echo", "done"], (), "")]


def test_redirections_are_set_aside_with_their_targets_and_descriptors() -> None:
    assert _split("ping -c 3 h 2>&1 >/dev/null") == [(["ping", "-c", "3", "h"], ((">&", "1"), (">", "/dev/null")), "")]


def test_broken_quoting_is_an_error_unless_lenient() -> None:
    with pytest.raises(InputError):
        lex("curl 'http://x")
    assert [p.text for p in lex("curl 'http://x", lenient=True)] == ["curl", "'http://x"]
    for line in ["", "  ", ";", "|"]:
        with pytest.raises(InputError):
            lex(line, lenient=True)


@pytest.mark.parametrize(("words", "wrappers", "start"), [
    ("sudo -u x ping h", [("sudo", ("-u", "x"))], 3),
    ("sudo --user x ping h", [("sudo", ("--user", "x"))], 3),
    ("env A=1 B=2 curl x", [("env", ("A=1", "B=2"))], 3),
    ("env - ping h", [("env", ("-",))], 2),
    ("A=1 ping h", [], 1),
    ("timeout -s KILL 5 ping h", [("timeout", ("-s", "KILL", "5"))], 4),
    ("nice -n 10 ionice -c 3 tcpdump -i eth0", [("nice", ("-n", "10")), ("ionice", ("-c", "3"))], 6),
    ("sudo -- ping h", [("sudo", ("--",))], 2),
    ("/usr/bin/sudo ping h", [("sudo", ())], 1),
    ("ping h", [], 0),
])
def test_unwrap_strips_each_wrapper_with_its_own_words(words: str, wrappers: list, start: int) -> None:
    found, first = unwrap(words.split())
    assert [(w.name, w.args) for w in found] == wrappers and first == start


def test_a_lone_wrapper_is_the_command_for_classify_and_nothing_to_run_for_timing() -> None:
    assert unwrap(["sudo"])[1] == 0 and unwrap(["sudo"], keep_last=False)[1] == 1
    assert unwrap(["A=1"])[1] == 0 and unwrap(["A=1"], keep_last=False)[1] == 1
    assert unwrap(["timeout", "5", "ping"])[0] == (Wrapper("timeout", ("5",), 0),)


def test_stages_expose_the_stripped_wrappers() -> None:
    (stage,) = stages(lex("sudo -u admin timeout -s KILL 5 ping -c 1 h"))
    assert stage.utility == "ping" and stage.wrappers == ("sudo", "timeout") and stage.root
    assert [(w.name, w.args) for w in stage.wrapped] == [("sudo", ("-u", "admin")), ("timeout", ("-s", "KILL", "5"))]


def test_timing_reads_the_timeout_cap_and_pipelines_from_the_shared_reader() -> None:
    (pipe,) = parse("timeout -s KILL 5 ping h")
    assert pipe[0].family == "ping" and pipe[0].cap == 5.0
    first, second = parse("ping -c 3 h 2>&1 | tee out; sleep 1")
    assert [p.family for p in first] == ["ping", "tee"] and first[0].targets == [("h", 1.0)]
    assert [p.family for p in second] == ["sleep"]
    assert parse("sudo --user admin ping -c 1 h")[0][0].family == "ping"
    assert parse("sudo")[0][0].family == "empty"


def test_timing_keeps_a_repeating_wrapper_as_its_own_family() -> None:
    assert parse("watch -n 1 ss -s")[0][0].family == "watch"
    assert parse("sudo xargs -n 1 ping -c 1")[0][0].family == "xargs"


def test_fixes_read_wrappers_with_the_shared_table() -> None:
    failure = parse_failure("sudo --user admin env A=1 ping -c 4 example.com")
    assert failure.wrappers == ["sudo", "--user", "admin", "env", "A=1"] and failure.utility == "ping"
    assert failure.host == "example.com" and failure.program == "ping" and failure.sudo
    assert parse_failure("timeout -s KILL 5 nc -zv 10.0.0.1 22").host == "10.0.0.1"


@pytest.mark.parametrize(("line", "shell"), [
    ("ping -c 1 h", False), ("", False), ("ss -t | grep 22", True), ("ping h > out", True),
    ("a && b", True), ("echo $(date)", True), ("curl 'http://x", True),
])
def test_has_shell_syntax(line: str, shell: bool) -> None:
    assert has_shell_syntax(line) is shell


@pytest.mark.parametrize("line", [
    "exec -a name mysql -pS3cret", "xargs -a hosts.txt mysql -pS3cret", "sudo -u root mysql -pS3cret",
    "env PGPASSWORD=S3cret psql", "timeout -s KILL 5 mysql -pS3cret",
])
def test_secret_masking_sees_the_program_behind_every_wrapper(line: str) -> None:
    from netcopilot.history.secrets import mask

    assert "S3cret" not in mask(line)[0]
