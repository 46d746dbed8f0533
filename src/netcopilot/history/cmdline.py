"""Shell command lines taken apart the way the shell and the utility would: pipeline stages,
wrappers (sudo, env, time, nice, timeout, watch, sh -c ...) removed, redirections set aside, and
each stage's options parsed (getopt-style bundles like `-tulpn`, attached values like `-c4`,
`--max-time=5`, dig's `+short` and `@server`).

Used by `history.classify` (what a command is) and `history.optimize` (how to improve it). The
pieces keep their positions so an edit (insert a flag, fix a typo) can rebuild the whole line
with every word shell-quoted.

    lex(line) -> list[Piece]                 raises InputError on empty input or unbalanced quotes
    simple_commands(pieces)                  word positions of each simple command, and what ended it
    unwrap(words) -> (wrappers, start)       the wrappers in front of the real command, and where it starts
    stages(pieces) -> list[Stage]            one per pipeline/list element, wrappers stripped
    (options of a stage are parsed by `history.options.parse_args`)
    rebuild(pieces, replace=..., insert=...) the line again, words quoted with shlex.quote

`history.timing` and `history.fixes.parse` read lines with the same lexer and wrapper table, so
`sudo -u x`, `env A=1` and `timeout -s KILL 5` mean the same thing everywhere.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Iterator

from netcopilot.errors import InputError

CONTROL = {"|", "|&", "||", "&&", ";", "&", ";;", "\n"}
_REDIRECT = re.compile(r"[<>]+&?|&>>?|>\|")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
ROOT_WRAPPERS = {"sudo", "doas", "pkexec", "run0"}

# The one wrapper table: wrapper -> its options that take a value. A wrapper's own words (options,
# their values, env's assignments, timeout's duration) are skipped before the real command.
WRAPPERS: dict[str, frozenset[str]] = {name: frozenset(opts) for name, opts in {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"}, "pkexec": {"--user"}, "run0": {"-u", "--user"},
    "env": {"-u", "--unset", "-C", "--chdir", "-S"}, "time": {"-f", "-o"}, "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p"}, "timeout": {"-s", "--signal", "-k", "--kill-after"}, "nohup": set(),
    "stdbuf": {"-i", "-o", "-e"}, "command": set(), "exec": {"-a"}, "builtin": set(), "unbuffer": set(),
    "watch": {"-n", "--interval"}, "chronic": set(),
    "xargs": {"-n", "-I", "-L", "-P", "-d", "-E", "-s", "-a", "--arg-file"}, "strace": {"-o", "-e", "-p", "-s"},
}.items()}
_VALUE_AFTER_OPTIONS = {"timeout"}  # `timeout 5 ping ...`: the duration comes before the command
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}


@dataclass(frozen=True)
class Piece:
    """One lexed word or shell operator of the original line."""
    text: str
    op: bool = False


@dataclass(frozen=True)
class Stage:
    """One simple command: `utility` and its `args` after wrappers and redirections are removed.

    `index` is the position of the utility word in the lexed pieces and `arg_index` those of the
    args, so edits can be applied to the original line; both are None for a command nested in a
    string (`watch 'ss -s'`, `sh -c '...'`), which is not edited."""
    utility: str
    args: tuple[str, ...]
    wrappers: tuple[str, ...] = ()
    redirects: tuple[tuple[str, str], ...] = ()
    index: int | None = None
    arg_index: tuple[int, ...] | None = None
    wrapped: tuple["Wrapper", ...] = field(default=(), compare=False)  # the stripped wrappers with their words

    @property
    def root(self) -> bool:
        return any(w in ROOT_WRAPPERS for w in self.wrappers)


def lex(line: str, lenient: bool = False) -> list[Piece]:
    """Words and operators of a shell line; InputError for empty input or unbalanced quotes.

    `lenient` reads a line with broken quoting as whitespace-separated words instead (a history
    line is still worth a guess, where a line typed for `explain` is a mistake to report)."""
    if not line or not line.strip():
        raise InputError("command: empty command line")
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        pieces = [Piece(w, op=bool(w) and all(c in "();<>|&" for c in w)) for w in lexer]
    except ValueError as exc:
        if not lenient:
            raise InputError(f"command: cannot parse {line!r}: {exc}") from None
        pieces = [Piece(w) for w in line.split()]
    if not any(not p.op for p in pieces):
        raise InputError(f"command: no command in {line!r}")
    return pieces


def simple_commands(pieces: list[Piece]) -> Iterator[tuple[list[int], tuple[tuple[str, str], ...], str]]:
    """Split at |, &&, ;, ...: per simple command the positions of its words, its redirections
    (operator, target; `2>/dev/null` loses its descriptor word) and the operator that ended it
    ("" at the end of the line), so a reader can tell a pipe (run together) from a list."""
    words: list[int] = []
    redirects: list[tuple[str, str]] = []
    i = 0
    while i <= len(pieces):
        piece = pieces[i] if i < len(pieces) else Piece("", op=True)
        if piece.op and piece.text in CONTROL or i == len(pieces):
            if words:
                yield words, tuple(redirects), piece.text
            words, redirects = [], []
        elif piece.op and _REDIRECT.fullmatch(piece.text):
            if words and pieces[words[-1]].text.isdigit():
                words.pop()  # the file descriptor of `2>/dev/null`
            target = pieces[i + 1].text if i + 1 < len(pieces) and not pieces[i + 1].op else ""
            redirects.append((piece.text, target))
            i += 1 if target else 0
        elif not piece.op:
            words.append(i)
        i += 1


@dataclass(frozen=True)
class Wrapper:
    """A stripped wrapper: its name (basename), its own words after the name (`timeout -s KILL 5`:
    ("-s", "KILL", "5"), where timing reads its cap) and the position of its name."""
    name: str
    args: tuple[str, ...]
    start: int


def unwrap(words: list[str], keep_last: bool = True) -> tuple[tuple[Wrapper, ...], int]:
    """(wrappers, position of the real command's name) once wrappers and VAR=value prefixes are
    stripped: `sudo -u x env A=1 timeout -s KILL 5 ping h` -> ping h; len(words) when nothing is
    left. With `keep_last` a wrapper or assignment that is the last word is the command itself
    (`sudo` alone names sudo, for classify); without it nothing is left to run (timing, fixes).
    A shell's `-c` string is not opened here: `stages` lexes it again."""
    wrappers: list[Wrapper] = []
    k = 0
    while k < len(words):
        last = k + 1 >= len(words) and keep_last
        if _ASSIGNMENT.match(words[k]) and not last:
            k += 1
            continue
        name = PurePosixPath(words[k]).name
        if name not in WRAPPERS or last:
            break
        start, k = k, k + 1
        while k < len(words) and words[k] != "--":
            arg = words[k]
            if name == "env" and (_ASSIGNMENT.match(arg) or arg == "-"):  # `env -` is `env -i`
                k += 1
            elif arg.startswith("-") and arg != "-":
                k += 2 if arg in WRAPPERS[name] else 1
            else:
                break
        k += k < len(words) and words[k] == "--"  # the end of the wrapper's options
        k += name in _VALUE_AFTER_OPTIONS and k < len(words)  # timeout's duration
        k = min(k, len(words))
        wrappers.append(Wrapper(name, tuple(words[start + 1:k]), start))
    return tuple(wrappers), k


def stages(pieces: list[Piece], _wrappers: tuple[str, ...] = ()) -> list[Stage]:
    """One Stage per simple command, wrappers stripped; nested command strings are lexed again."""
    out: list[Stage] = []
    for words, redirects, _ in simple_commands(pieces):
        out.extend(_strip(pieces, words, redirects, _wrappers))
    return out


def _strip(pieces: list[Piece], idx: list[int], redirects: tuple, outer: tuple[str, ...]) -> list[Stage]:
    texts = [pieces[j].text for j in idx]
    found, k = unwrap(texts)
    wrappers = list(outer) + [w.name for w in found]
    name = PurePosixPath(texts[k]).name if k < len(texts) else ""
    if name in _SHELLS and k + 2 < len(texts) and texts[k + 1] == "-c":
        inner = texts[k + 2]
        return stages(lex(inner), tuple(wrappers + [name])) if inner.strip() else []
    if found and found[-1].name == "watch" and k == len(texts) - 1 and " " in texts[k].strip():
        return stages(lex(texts[k]), tuple(wrappers))
    if k >= len(texts):
        return []
    nested = bool(outer)
    return [Stage(utility=PurePosixPath(texts[k]).name, args=tuple(texts[k + 1:]), wrappers=tuple(wrappers),
                  redirects=redirects, index=None if nested else idx[k],
                  arg_index=None if nested else tuple(idx[k + 1:]), wrapped=found)]


def rebuild(pieces: list[Piece], replace: dict[int, str] | None = None,
            insert: dict[int, list[str]] | None = None) -> str:
    """The line again with piece i replaced by `replace[i]` and `insert[i]` placed after piece i;
    every word is shell-quoted, operators are kept as they are."""
    replace, insert = replace or {}, insert or {}
    out: list[str] = []
    for i, piece in enumerate(pieces):
        text = replace.get(i, piece.text)
        out.append(text if piece.op else shlex.quote(text))
        out.extend(shlex.quote(w) for w in insert.get(i, []))
    return " ".join(out)
