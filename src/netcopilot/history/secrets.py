"""Masking secrets in command lines before they are stored.

Commands are kept (patterns stay learnable: `mysql -u root -p<secret> prod` still says "mysql as
root"), only the secret value is replaced by `MARKER`. Three kinds of rules:

* global rules, anywhere in the line: known token shapes (Slack, GitHub, AWS, JWT, PEM keys),
  `user:pass@` in URLs, auth headers, `--password`/`--token`-style options, `FOO_TOKEN=...`
  assignments and `key=...`/JSON fields, and network-device config lines (`snmp-server community`);
* tool rules, only inside a simple command whose program is that tool, because short options mean
  different things to different programs: `-p` is a password to `sshpass` but a port to `ssh`,
  `-c` is a community to `snmpwalk` but a count to `ping`;
* quoted strings that contain a command (`watch 'mysql -pX ...'`, `bash -c '...'`) are checked too.

Every match yields a span; overlapping spans are merged and replaced right to left, so the count
returned is the number of distinct secrets masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from netcopilot.history.cmdline import WRAPPERS

MARKER = "<secret>"

# A value attached to its option or after `=` (may start with '-'); a separate argument (may not).
# An earlier MARKER matches too (and is then left alone), so a rule meets the same value again.
_QUOTED = r"'[^']*'|\"(?:\\.|[^\"\\])*\""
_VALUE = rf"(?:{MARKER}|{_QUOTED}|(?![$<])(?:\\.|[^\s'\"\\;&|<>()`])+)"
_ARG = rf"(?:{MARKER}|{_QUOTED}|(?![$<-])(?:\\.|[^\s'\"\\;&|<>()`])+)"
_SECRET_GROUPS = ("s", "s2", "s3")


@dataclass(frozen=True)
class Rule:
    """A pattern whose group `s` (or `s2`, `s3`) is the secret; `accept` can veto a match. A rule
    with `needs` only runs on lines containing one of those (lower-case) words: most command
    lines contain none, and substring tests are far cheaper than running every pattern."""

    name: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None
    first_only: bool = False
    needs: tuple[str, ...] = ()


def _rule(name: str, regex: str, flags: int = 0, **kw: object) -> Rule:
    return Rule(name, re.compile(regex, flags), **kw)  # type: ignore[arg-type]


def _opt(flags: str, attached: bool = True, separate: bool = True) -> str:
    """A short option (`-p`) whose value is secret: `-pVALUE` and/or `-p VALUE`."""
    forms = ([rf"(?P<s>{_VALUE})"] if attached else []) + ([rf"(?:=|\s+)(?P<s2>{_ARG})"] if separate else [])
    return rf"(?<!\S)(?:{flags})(?:{'|'.join(forms)})"


def _user_pass(flags: str, sep: str) -> str:
    """`-u user<sep>password`, quoted or not: the password is secret (a bare `-u user` is not)."""
    return (rf"(?<!\S)(?:{flags})(?:=|\s+)?(?:'[^'{sep}]*{sep}(?P<s>[^']*)'|\"[^\"{sep}]*{sep}(?P<s2>[^\"]*)\"|"
            rf"[^\s{sep}'\"]*{sep}(?P<s3>[^\s'\"]+))")


_SECRET_NAME = re.compile(
    r"(?i)(?:password|passwd|passphrase|secret|token|api_?key|apikey|access_?key|private_?key|auth_?key|"
    r"credentials?)$|(?:^|[_.-])(?:pass|pwd|pw|psk|community)$"
)
_NOT_SECRET_NAMES = {"pwd", "oldpwd"}


def _secret_name(match: re.Match[str]) -> bool:
    name = match.group("name").lstrip("-")
    return name.lower() not in _NOT_SECRET_NAMES and bool(_SECRET_NAME.search(name))


_KEYWORDS = ("pass", "pw", "token", "secret", "key", "community", "credential", "psk")
_LONG_KEYWORDS = (r"password|passwd|passphrase|pass|pwd|pw|token|secret|api-?key|apikey|access-key|secret-key|"
                  r"auth-key|community|credentials?|authpassword|privpassword")

GLOBAL_RULES: tuple[Rule, ...] = (
    _rule("pem-private-key", r"(?P<s>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
                             r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z))", re.S, needs=("private key",)),
    _rule("slack-token", r"\b(?P<s>xox[abposr]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})", needs=("xox", "xapp-")),
    _rule("slack-webhook", r"hooks\.slack\.com/services/(?P<s>[A-Za-z0-9/]{20,})", needs=("hooks.slack",)),
    _rule("github-token", r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})", needs=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _rule("gitlab-token", r"\b(?P<s>glpat-[A-Za-z0-9_-]{20,})", needs=("glpat-",)),
    _rule("aws-access-key", r"\b(?P<s>(?:AKIA|ASIA)[A-Z0-9]{16})\b", needs=("akia", "asia")),
    _rule("google-api-key", r"\b(?P<s>AIza[0-9A-Za-z_-]{35})", needs=("aiza",)),
    _rule("openai-key", r"\b(?P<s>sk-(?:proj-)?[A-Za-z0-9_-]{20,})", needs=("sk-",)),
    _rule("jwt", r"\b(?P<s>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})", needs=("eyj",)),
    _rule("url-credentials", r"\b[a-z][a-z0-9+.-]*://[^\s/@:'\"]*:(?P<s>[^\s/@'\"]+)@", re.I, needs=("@",)),
    _rule("auth-header", r"\b(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest|negotiate|apikey)\s+)?"
                         r"(?P<s>[^\s'\"]+)", re.I, needs=("authorization",)),
    _rule("key-header", r"\b(?:x-)?(?:api-?key|auth-token|access-token|private-token|amz-security-token|vault-token)"
                        r"\s*:\s*(?P<s>[^\s'\"]+)", re.I, needs=("key", "token")),
    _rule("secret-option", rf"(?<![\w-])(?:--(?!no-|ask-)(?:[a-z0-9]+[-_])*(?:{_LONG_KEYWORDS})|"
                           rf"-(?:password|passwd|token|secret|api-?key|apikey))"
                           rf"(?:=(?P<s>{_VALUE})|\s+(?P<s2>{_ARG}))", re.I, needs=_KEYWORDS),
    _rule("secret-assignment", rf"(?<![\w.$/-])(?P<name>[A-Za-z_][\w.-]*)=(?P<s>{_VALUE})", accept=_secret_name, needs=_KEYWORDS),
    _rule("json-secret", r"[\"'](?P<name>[\w.-]+)[\"']\s*:\s*\"(?P<s>(?:\\.|[^\"\\])+)\"", accept=_secret_name, needs=_KEYWORDS),
    _rule("key-blob", r"(?i)(?<![\w.$])-{0,2}[\w.-]*key[\"']?\s*[=:]\s*[\"']?(?P<s>[A-Za-z0-9+/_-]{16,}={0,2})", needs=("key",)),
    # network-device configuration typed or pasted into a shell
    _rule("device-user-secret", r"\busername\s+\S+\s+(?:privilege\s+\d+\s+)?(?:password|secret)\s+(?:\d\s+)?"
                                rf"(?P<s>{_ARG})", needs=("username",)),
    _rule("device-enable-secret", rf"\benable\s+(?:password|secret)\s+(?:\d\s+)?(?P<s>{_ARG})", needs=("enable",)),
    _rule("device-snmp-community", rf"\bsnmp-server\s+community\s+(?P<s>{_ARG})", needs=("snmp-server",)),
    _rule("device-key", rf"\b(?:key-string|isakmp\s+key|pre-shared-key(?:\s+address\s+\S+)?(?:\s+key)?)\s+(?:\d\s+)?"
                        rf"(?P<s>{_ARG})", needs=("key",)),
)

_MYSQL = ("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlpump", "mysqlsh",
          "mariadb", "mariadb-dump", "mariadb-admin")
_SNMP = ("snmpwalk", "snmpbulkwalk", "snmpget", "snmpgetnext", "snmpbulkget", "snmpset", "snmptable", "snmpdelta",
         "snmpdf", "snmpstatus", "snmptrap", "snmpinform", "snmpusm", "snmpvacm", "snmptest", "snmpnetstat")
_LDAP = ("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami", "ldapcompare", "ldapmodrdn", "ldapexop")
_MONGO = ("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop")
_LOGIN = rf"^(?=\s*(?:registry\s+)?login\b).*?(?<!\S)(?:-p|--password)(?:=|\s+)(?P<s>{_ARG})"


def _tools(names: tuple[str, ...], *rules: Rule) -> dict[str, tuple[Rule, ...]]:
    return {name: rules for name in names}


TOOL_RULES: dict[str, tuple[Rule, ...]] = {
    # mysql: `-pSECRET` only; `-p dbname` prompts and names a database, `-P 3306` is the port
    **_tools(_MYSQL, _rule("mysql-p", _opt("-p", separate=False))),
    **_tools(("mycli",), _rule("mycli-p", _opt("-p"))),
    **_tools(("sshpass",), _rule("sshpass-p", _opt("-p"), first_only=True)),  # later -p belongs to ssh
    **_tools(("ipmitool",), _rule("ipmitool-P", _opt("-P"))),
    **_tools(_SNMP, _rule("snmp-community-auth-priv", _opt("-c|-A|-X"))),
    **_tools(("redis-cli",), _rule("redis-a", _opt("-a"))),
    **_tools(_MONGO, _rule("mongo-p", _opt("-p"))),
    **_tools(_LDAP, _rule("ldap-w", _opt("-w"))),
    **_tools(("ldappasswd",), _rule("ldappasswd-ws", _opt("-w|-s"))),
    **_tools(("sqlcmd", "bcp"), _rule("sqlcmd-P", _opt("-P"))),
    **_tools(("curl",), _rule("curl-user", _user_pass("-u|-U|--user|--proxy-user", ":"))),
    **_tools(("smbclient", "rpcclient", "smbcacls", "smbmap", "smbget"), _rule("smb-user", _user_pass("-U|--user", "%"))),
    **_tools(("openssl",), _rule("openssl-pass", r"(?<!\S)-pass(?:in|out)?\s+['\"]?pass:(?P<s>[^\s'\"]+)"),
             _rule("openssl-k", _opt("-k|-K", attached=False))),
    **_tools(("htpasswd",), _rule("htpasswd-b", rf"(?<!\S)-[a-zA-Z]*b[a-zA-Z]*\s+(?:-\S+\s+)*\S+\s+\S+\s+(?P<s>{_ARG})")),
    **_tools(("wpa_passphrase",), _rule("wpa-passphrase", rf"^\s*(?:{_QUOTED}|\S+)\s+(?P<s>{_ARG})")),
    **_tools(("nmcli",), _rule("nmcli-secret", r"(?<!\S)(?:password|[\w-]+\.psk|[\w-]+\.password|[\w-]+\.wep-key\d|"
                                               rf"vpn\.secrets)\s+(?P<s>{_ARG})")),
    **_tools(("aws",), _rule("aws-configure-set", rf"(?<!\S)set\s+\S*(?:secret|token|password)\S*\s+(?P<s>{_ARG})")),
    **_tools(("docker", "podman", "nerdctl", "buildah", "skopeo", "helm"), _rule("registry-login", _LOGIN)),
}

# Commands that run the next word as the program: the one wrapper table (history/cmdline.py).
_POSITIONAL_SKIPS = {"timeout": 1}  # the duration before the program

_TOOL_NAMES = frozenset(TOOL_RULES)
_TRIGGERS = re.compile("|".join(sorted({re.escape(w) for r in GLOBAL_RULES for w in r.needs}, key=len, reverse=True)))
_WORDISH = re.compile(r"[\w.-]+")
# A simple command: everything up to an unquoted ; & | ( ) or newline.
_SEGMENT = re.compile(r"(?:'[^']*'|\"(?:\\.|[^\"\\])*\"|\\.|[^'\"\\;&|()\n])+")
_WORD = re.compile(r"(?:'[^']*'|\"(?:\\.|[^\"\\])*\"|\\.|\S)+")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_INNER_COMMAND = re.compile(r"'(?P<a>[^']*\s[^']*)'|\"(?P<b>(?:\\.|[^\"\\])*\s(?:\\.|[^\"\\])*)\"")


def _names_a_tool(text: str) -> bool:
    return not _TOOL_NAMES.isdisjoint(_WORDISH.findall(text))


def _spans(rule: Rule, text: str, offset: int = 0) -> list[tuple[int, int]]:
    out = []
    for match in rule.pattern.finditer(text):
        if rule.accept is not None and not rule.accept(match):
            continue
        for group in _SECRET_GROUPS:
            if group in rule.pattern.groupindex and match.group(group):
                start, end = match.span(group)
                out.append((offset + start, offset + end))
        if rule.first_only and out:
            break
    return out


def _program(segment: str) -> tuple[str, int]:
    """The program a simple command runs (past assignments and wrappers like sudo), and where its
    arguments start in `segment`."""
    words = list(_WORD.finditer(segment))
    i = 0
    while i < len(words) and _ASSIGNMENT.match(words[i].group()):
        i += 1
    while i < len(words):
        name = words[i].group().rsplit("/", 1)[-1]
        if name not in WRAPPERS:
            return name, words[i].end()
        takes_arg, skip = WRAPPERS[name], _POSITIONAL_SKIPS.get(name, 0)
        i += 1
        while i < len(words):
            word = words[i].group()
            if word.startswith("-"):
                i += 2 if word in takes_arg else 1
            elif _ASSIGNMENT.match(word):  # env FOO=bar program
                i += 1
            elif skip:  # timeout 5 program
                skip, i = skip - 1, i + 1
            else:
                break
    return "", len(segment)


def _tool_spans(text: str, offset: int, depth: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for segment in _SEGMENT.finditer(text):
        program, args_at = _program(segment.group())
        start = segment.start() + args_at
        for rule in TOOL_RULES.get(program, ()):
            spans += _spans(rule, segment.group()[args_at:], offset + start)
    if depth < 2:  # commands inside quotes: watch '...', bash -c "...", ssh host '...'
        for quoted in _INNER_COMMAND.finditer(text):
            group = "a" if quoted.group("a") is not None else "b"
            if _names_a_tool(quoted.group(group)):
                spans += _tool_spans(quoted.group(group), offset + quoted.start(group), depth + 1)
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=1 << 16)  # histories repeat the same commands over and over
def mask(command: str) -> tuple[str, int]:
    """`command` with every secret value replaced by MARKER, and how many were replaced."""
    spans: list[tuple[int, int]] = []
    found = set(_TRIGGERS.findall(command.lower()))
    if found:
        for rule in GLOBAL_RULES:
            if not found.isdisjoint(rule.needs):
                spans += _spans(rule, command)
    if _names_a_tool(command):
        spans += _tool_spans(command, 0, 0)
    spans = [(s, e) for s, e in _merge(spans) if command[s:e] != MARKER]
    for start, end in reversed(spans):
        command = command[:start] + MARKER + command[end:]
    return command, len(spans)
