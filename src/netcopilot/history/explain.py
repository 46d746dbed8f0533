"""`netcopilot explain`: what a command line will do, and what each of its words means.

    explain(classifier, line, context=None, history=()) -> dict   the --json object

Meanings come first from the `flags:` of the catalog entries the line matched (the wording the
catalog was reviewed with), then from the built-in option table (`history.options`), then from
the entry's parameters (a value that validates as the entry's `host` gets that param's help).
Words found in none of them are reported as unknown rather than guessed.
"""

from __future__ import annotations

from typing import Any, Sequence

from netcopilot.history.classify import Classification, CommandClassifier, StageClass
from netcopilot.history.options import Arg, meaning, parse_args
from netcopilot.history.optimize import advise
from netcopilot.history.records import CommandEvent
from netcopilot.recommend.catalog import CommandSpec
from netcopilot.recommend.slots import InvalidValue, validate

UNKNOWN = "(not in the catalog or the built-in table)"


def explain(classifier: CommandClassifier, line: str, context: dict[str, Any] | None = None,
            history: Sequence[CommandEvent] = ()) -> dict[str, Any]:
    result = classifier.classify(line)
    specs = {s.id: s for s in classifier.catalog}
    main = result.main
    best = specs.get(main.matched[0]) if main.matched else None
    flags = [item for stage in result.stages for item in _stage_flags(stage, [specs[i] for i in stage.matched])]
    return {
        "command": line, "utility": result.utility, "type": result.type, "purpose": list(result.purpose),
        "risk": result.risk, "root": result.needs_root, "guess": result.guess, "family": result.family,
        "does": _does(result, best), "why": best.why if best else None, "matched": list(result.matched),
        "notes": list(result.notes), "flags": flags,
        "advice": [a.to_dict() for a in advise(line, context, history, classifier)],
    }


def _does(result: Classification, best: CommandSpec | None) -> str:
    if best is not None:
        return best.description
    if result.type == "unknown":
        return f"'{result.utility}' is not a command netcopilot knows."
    family = f" (read as {result.family})" if result.guess and result.family else ""
    return f"runs {result.utility}{family}: a {result.type} command; no catalog entry matches these options exactly."


def _catalog_meaning(arg: Arg, specs: list[CommandSpec]) -> str | None:
    keys = [arg.text, arg.name, f"{arg.name} {arg.value}" if arg.value else None]
    for spec in specs:
        for key in keys:
            if key and key in spec.flags:
                return spec.flags[key]
    return None


def _param_meaning(word: str, specs: list[CommandSpec], used: set[str]) -> str | None:
    for spec in specs[:1]:
        for param in spec.params:
            if param.name in used:
                continue
            try:
                validate(param.type, word)
            except InvalidValue:
                continue
            used.add(param.name)
            return param.help or param.name
    return None


def _stage_flags(stage: StageClass, specs: list[CommandSpec]) -> list[dict[str, Any]]:
    utility = stage.family if stage.guess and stage.family else stage.utility
    raw = stage.stage.args
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    bundled = {w for w in raw if w.startswith("-") and len(parse_args(utility, (w,))) > 1
               and _catalog_meaning(Arg(w, True, w), specs)}  # `-tulnp` explained as the catalog wrote it
    args: list[Arg] = []
    chunk: list[str] = []
    for word in raw:
        if word in bundled:
            args += parse_args(utility, chunk) + [Arg(word, True, word)]
            chunk = []
        else:
            chunk.append(word)
    args += parse_args(utility, chunk)
    for arg in args:
        if arg.flag:
            if arg.value:
                _param_meaning(arg.value, specs, used)  # the value fills that parameter
            text = _catalog_meaning(arg, specs) or meaning(utility, arg.name) or UNKNOWN
            out.append({"flag": arg.name, "value": arg.value, "meaning": text})
        else:
            text = _catalog_meaning(arg, specs) or meaning(utility, arg.name) or _param_meaning(arg.name, specs, used)
            out.append({"flag": arg.name, "value": None, "meaning": text or "argument"})
    return out
