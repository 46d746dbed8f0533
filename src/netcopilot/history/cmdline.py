"""Shell command lines taken apart the way the shell and the utility would: pipeline stages,
wrappers (sudo, env, time, nice, timeout, watch, sh -c ...) removed, redirections set aside, and
each stage's options parsed (getopt-style bundles like `-tulpn`, attached values like `-c4`,
`--max-time=5`, dig's `+short` and `@server`).

Used by `history.classify` (what a command is) and `history.optimize` (how to improve it). The
pieces keep their positions so an edit (insert a flag, fix a typo) can rebuild the whole line
with every word shell-quoted.

    lex(line) -> list[Piece]                 raises InputError on empty input or unbalanced quotes
    stages(pieces) -> list[Stage]            one per pipeline/list element, wrappers stripped
    (options of a stage are parsed by `history.options.parse_args`)
    rebuild(pieces, replace=..., insert=...) the line again, words quoted with shlex.quote
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from netcopilot.errors import InputError

CONTROL = {"|", "|&", "||", "&&", ";", "&", ";;", "\n"}
_REDIRECT = re.compile(r"[<>]+&?|&>>?|>\|")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
ROOT_WRAPPERS = {"sudo", "doas", "pkexec", "run0"}

# wrapper -> options that take a value (the wrapper's own words are skipped before the real command)
_WRAPPERS: dict[str, set[str]] = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"}, "pkexec": {"--user"}, "run0": {"-u", "--user"},
    "env": {"-u", "--unset", "-C", "--chdir", "-S"}, "time": {"-f", "-o"}, "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p"}, "timeout": {"-s", "--signal", "-k", "--kill-after"}, "nohup": set(),
    "stdbuf": {"-i", "-o", "-e"}, "command": set(), "exec": set(), "builtin": set(), "unbuffer": set(),
    "watch": {"-n", "--interval"}, "chronic": set(),
    "xargs": {"-n", "-I", "-L", "-P", "-d", "-E", "-s"}, "strace": {"-o", "-e", "-p", "-s"},
}
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
    wrapper_args: tuple[str, ...] = field(default=(), compare=False)

    @property
    def root(self) -> bool:
        return any(w in ROOT_WRAPPERS for w in self.wrappers)


def lex(line: str) -> list[Piece]:
    """Words and operators of a shell line; InputError for empty input or unbalanced quotes."""
    if not line or not line.strip():
        raise InputError("command: empty command line")
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        words = list(lexer)
    except ValueError as exc:
        raise InputError(f"command: cannot parse {line!r}: {exc}") from None
    pieces = [Piece(w, op=bool(w) and all(c in "();<>|&" for c in w)) for w in words]
    if not any(not p.op for p in pieces):
        raise InputError(f"command: no command in {line!r}")
    return pieces


def stages(pieces: list[Piece], _wrappers: tuple[str, ...] = ()) -> list[Stage]:
    """Split at |, &&, ;, ... and strip wrappers; nested command strings are lexed again."""
    out: list[Stage] = []
    words: list[int] = []
    redirects: list[tuple[str, str]] = []
    i = 0
    while i <= len(pieces):
        piece = pieces[i] if i < len(pieces) else Piece(";", op=True)
        if piece.op and piece.text in CONTROL or i == len(pieces):
            if words:
                out.extend(_strip(pieces, words, tuple(redirects), _wrappers))
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
    return out


def _strip(pieces: list[Piece], idx: list[int], redirects: tuple, outer: tuple[str, ...]) -> list[Stage]:
    wrappers = list(outer)
    wrapper_args: list[str] = []
    k = 0
    while k < len(idx):
        word = pieces[idx[k]].text
        name = PurePosixPath(word).name
        if _ASSIGNMENT.match(word) and k + 1 < len(idx):
            k += 1
            continue
        if name in _SHELLS and k + 2 < len(idx) and pieces[idx[k + 1]].text == "-c":
            inner = pieces[idx[k + 2]].text
            return stages(lex(inner), tuple(wrappers + [name])) if inner.strip() else []
        if name not in _WRAPPERS or k + 1 >= len(idx):
            break
        wrappers.append(name)
        k += 1
        takes_value = _WRAPPERS[name]
        while k < len(idx):
            arg = pieces[idx[k]].text
            if arg == "--":
                k += 1
                break
            if not arg.startswith("-") or arg == "-" or name == "env" and _ASSIGNMENT.match(arg):
                if name == "env" and _ASSIGNMENT.match(arg):
                    k += 1
                    continue
                break
            wrapper_args.append(arg)
            k += 2 if arg in takes_value else 1
        if name in _VALUE_AFTER_OPTIONS and k < len(idx):
            wrapper_args.append(pieces[idx[k]].text)
            k += 1
        if name == "watch" and k == len(idx) - 1 and " " in pieces[idx[k]].text.strip():
            return stages(lex(pieces[idx[k]].text), tuple(wrappers))
    if k >= len(idx):
        return []
    utility = PurePosixPath(pieces[idx[k]].text).name
    nested = bool(outer)
    return [Stage(utility=utility, args=tuple(pieces[j].text for j in idx[k + 1:]), wrappers=tuple(wrappers),
                  redirects=redirects, index=None if nested else idx[k],
                  arg_index=None if nested else tuple(idx[k + 1:]), wrapper_args=tuple(wrapper_args))]


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
