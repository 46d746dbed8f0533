"""Reading a failed command line: the utility, and the host, port, user and URL it was aimed at.

Values are validated (`netcopilot.recommend.slots`): an IP must parse as one, a host must be a
valid host name, a port 1-65535. A value that fails is kept only in `raw_target` (to explain a
mistake such as `ping https://example.com/`), never placed into a suggestion.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from netcopilot.errors import InputError
from netcopilot.history.cmdline import lex, unwrap
from netcopilot.recommend.slots import InvalidValue, validate

from .model import Raw

_CURL_VALUES = (
    "-o -H -d -X -u -A -e -x -m -w -T -F -b -c -K -E -r -U -y -Y -z -C -D --url --connect-timeout --max-time "
    "--resolve --cacert --capath --cert --key --data --data-raw --data-binary --data-urlencode --header --request "
    "--user --user-agent --referer --proxy --output --write-out --upload-file --form --cookie --cookie-jar --config "
    "--retry --retry-delay --retry-max-time --interface --dns-servers --limit-rate --max-redirs --connect-to "
    "--noproxy --proxy-user --ciphers --tls-max --cert-type --key-type --unix-socket --dump-header"
)
# Options that take a value, per utility: their value is not a positional argument.
VALUE_OPTIONS: dict[str, set[str]] = {
    "ping": set("-c -i -W -w -s -t -I -l -p -Q -M -S -m -F -T -e".split()),
    "traceroute": set("-m -q -w -p -f -i -s -N -t -z -g -M -O".split()),
    "tracepath": set("-l -m -p".split()),
    "mtr": set("-c -i -s -m -f -P -a -B -G -Q -o -Z -M -L".split()),
    "nc": set("-p -s -w -i -x -X -T -O -I -V -M -q -e -c".split()),
    "ssh": set("-b -B -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w".split()),
    "curl": set(_CURL_VALUES.split()),
    "wget": set("-O -o -t -T -U -e -P --header --output-document --timeout --tries --user --password".split()),
    "dig": set("-b -c -f -k -m -p -q -t -x -y".split()),
    "host": set("-c -N -R -t -W -m".split()),
    "telnet": set("-l -e -n -b -X".split()),
    "nmap": set("-p -e -S -D -g -iL -oN -oX -oG -oA --top-ports --source-port --max-retries --host-timeout".split()),
    "arping": set("-c -w -I -s -i -W".split()),
    "whois": set("-h -p".split()),
    "iperf3": set("-c -p -t -b -l -P -i -B -f -O -w -M".split()),
}
ALIASES = {"ping6": "ping", "traceroute6": "traceroute", "ncat": "nc", "netcat": "nc", "iperf": "iperf3"}
DNS_TYPES = {"A", "AAAA", "MX", "NS", "TXT", "CNAME", "SOA", "PTR", "SRV", "CAA", "ANY", "DS", "DNSKEY", "AXFR", "IN", "CH"}
DEFAULT_PORTS = {"ssh": 22, "telnet": 23, "http": 80, "https": 443}


def _valid(kind: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    try:
        return validate(kind, value)
    except InvalidValue:
        return None


def split_command(command: str) -> list[str]:
    """shlex words of the command; a line shlex cannot read (an open quote) is split on spaces."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def has_shell_syntax(command: str) -> bool:
    """True when the line pipes, redirects, chains or substitutes (or cannot be read): not a plain argv."""
    if not command.strip():
        return False
    try:
        pieces = lex(command)
    except InputError:  # broken quoting, or only operators
        return True
    return any(p.op for p in pieces) or bool(re.search(r"[`$]", command))


def _strip_wrappers(argv: list[str]) -> tuple[list[str], list[str]]:
    """(wrapper words, the real command's words): `sudo -u x env A=1 timeout 5 ping h` -> ping h."""
    start = unwrap(argv, keep_last=False)[1]
    return argv[:start], argv[start:]


def _options(utility: str, args: list[str]) -> tuple[dict[str, str], list[str], set[str]]:
    """({option: value}, positionals, flags) for the utility's known value-taking options."""
    takes_value = VALUE_OPTIONS.get(utility, set())
    values: dict[str, str] = {}
    positionals: list[str] = []
    flags: set[str] = set()
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            positionals.extend(args[i + 1:])
            break
        if word.startswith("--") and "=" in word:
            name, _, value = word.partition("=")
            values[name] = value
        elif word in takes_value and i + 1 < len(args):
            if utility == "ssh" and word == "-o":  # -o Port=2222, -o "User admin"
                key, value = (re.split(r"\s*[=\s]\s*", args[i + 1].strip(), maxsplit=1) + [""])[:2]
                values["-o " + key.lower()] = value
            else:
                values.setdefault(word, args[i + 1])
            i += 1
        elif len(word) > 2 and word[:2] in takes_value and not word.startswith("--"):
            values.setdefault(word[:2], word[2:])  # -c3, -p2222
        elif word.startswith("--"):
            flags.add(word)
        elif word.startswith("-") and len(word) > 1:
            flags.update("-" + ch for ch in word[1:])  # -zv -> -z, -v
        else:
            positionals.append(word)
        i += 1
    return values, positionals, flags


@dataclass
class Failure:
    """The failed command as the rules see it (thefuck's `Command`): text, output, exit status and
    the validated values parsed from the line."""

    command: str
    output: str = ""
    exit_status: int | None = None
    argv: list[str] = field(default_factory=list)  # the whole line, wrappers included
    wrappers: list[str] = field(default_factory=list)
    utility: str = ""  # the real command's name (basename, aliases folded: ncat -> nc)
    args: list[str] = field(default_factory=list)  # the real command's arguments
    flags: set[str] = field(default_factory=set)
    options: dict[str, str] = field(default_factory=dict)
    raw_target: str = ""  # the target as typed, unvalidated: only for explanations
    host: str | None = None
    port: int | None = None
    user: str | None = None
    url: str | None = None
    server: str | None = None  # dig @server / host NAME SERVER
    listening: bool = False  # the command listens (nc -l, python -m http.server)

    @property
    def program(self) -> str:
        """The command word as typed (`ncat`, `/usr/sbin/traceroute`), for rebuilding the command."""
        return self.argv[len(self.wrappers)] if len(self.argv) > len(self.wrappers) else ""

    def rebuilt(self, *, replace: dict[str, str] | None = None, insert: tuple[str, ...] = (),
                drop: tuple[str, ...] = (), program: str | None = None, wrappers: list[str] | None = None) -> str:
        """The same command line with changes, every word shell-quoted: `replace` swaps whole
        words, `insert` adds words after the command name, `drop` removes options and their values."""
        replace = replace or {}
        args: list[str] = []
        skip = False
        for word in self.args:
            if skip or word in drop:
                skip = not skip and word in drop
                continue
            args.append(replace.get(word, word))
        head = list(self.wrappers if wrappers is None else wrappers) + [program or self.program]
        return shlex.join(head + list(insert) + args)

    @property
    def sudo(self) -> bool:
        return any(os.path.basename(w) in ("sudo", "doas") for w in self.wrappers)

    def target(self, placeholder: str = "<host>") -> str | Raw:
        """The validated host, or a placeholder the user fills in."""
        return self.host or Raw(placeholder)

    def port_or(self, placeholder: str = "<port>") -> int | Raw:
        return self.port or Raw(placeholder)


def parse_failure(command: str, output: str = "", exit_status: int | None = None) -> Failure:
    argv = split_command(command.strip())
    wrappers, real = _strip_wrappers(argv)
    failure = Failure(command=command.strip(), output=output or "", exit_status=exit_status, argv=argv,
                      wrappers=wrappers)
    if not real:
        return failure
    program = os.path.basename(real[0])
    failure.utility = ALIASES.get(program, program)
    failure.args = real[1:]
    if failure.utility in ("python", "python3") and real[1:3] == ["-m", "http.server"]:
        _parse_http_server(failure, real[3:])
        return failure
    values, positionals, flags = _options(failure.utility, failure.args)
    failure.options, failure.flags = values, flags
    reader = _TARGET_READERS.get(failure.utility, _first_positional)
    reader(failure, values, positionals)
    return failure


def _set_target(failure: Failure, raw: str | None, port: object = None, user: str | None = None) -> None:
    failure.raw_target = raw or ""
    failure.host = _valid("host", raw)
    port_text = _valid("port", port)
    failure.port = int(port_text) if port_text else None
    failure.user = _valid("user", user)


def _first_positional(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    _set_target(failure, positionals[0] if positionals else None)


def _last_positional(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    _set_target(failure, positionals[-1] if positionals else None, values.get("-p"))


def _ssh(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    dest = positionals[0] if positionals else ""
    user, port = values.get("-l") or values.get("-o user"), values.get("-p") or values.get("-o port")
    if dest.startswith("ssh://"):
        parts = urlsplit(dest)
        dest, user, port = parts.hostname or "", parts.username or user, parts.port or port
    elif "@" in dest:
        user, _, dest = dest.rpartition("@")
    _set_target(failure, dest, port or 22, user)


def _url(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    raw = values.get("--url") or next((p for p in positionals if not p.startswith("-")), "")
    text = raw if "://" in raw else f"http://{raw}"
    try:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        parts, port = None, None
    _set_target(failure, parts.hostname if parts else raw, port)
    failure.raw_target = raw
    failure.url = _valid("url", text) if failure.host else None


def _dns(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    names = [p for p in positionals if not p.startswith(("@", "+")) and p.upper() not in DNS_TYPES]
    servers = [p[1:] for p in positionals if p.startswith("@")]
    if failure.utility in ("host", "nslookup") and len(names) > 1:
        servers.append(names[1])
    _set_target(failure, values.get("-x") or (names[0] if names else None))
    failure.server = _valid("host", servers[0]) if servers else None


def _nc(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    failure.listening = "-l" in failure.flags
    if failure.listening:
        port = values.get("-p") or (positionals[-1] if positionals else None)
        _set_target(failure, values.get("-s") or (positionals[0] if len(positionals) > 1 else None), port)
    else:
        _set_target(failure, positionals[0] if positionals else None, positionals[1] if len(positionals) > 1 else None)


def _telnet(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    _set_target(failure, positionals[0] if positionals else None, positionals[1] if len(positionals) > 1 else 23)


def _openssl(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    args = failure.args
    connect = args[args.index("-connect") + 1] if "-connect" in args[:-1] else ""
    host, _, port = connect.rpartition(":")
    _set_target(failure, host.strip("[]") or None, port or None)


def _iperf(failure: Failure, values: dict[str, str], positionals: list[str]) -> None:
    failure.listening = "-s" in failure.flags
    _set_target(failure, values.get("-c"), values.get("-p", 5201))


def _parse_http_server(failure: Failure, args: list[str]) -> None:
    values, positionals, _ = _options("python", args)
    bind = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--bind", "-b")), None)
    positionals = [p for p in positionals if p != bind]
    failure.listening = True
    _set_target(failure, bind, positionals[0] if positionals else 8000)


_TARGET_READERS = {
    "ssh": _ssh, "curl": _url, "wget": _url, "dig": _dns, "host": _dns, "nslookup": _dns, "nc": _nc,
    "telnet": _telnet, "nmap": _last_positional, "openssl": _openssl, "iperf3": _iperf,
}
