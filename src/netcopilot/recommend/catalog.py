"""The command catalog: `knowledge_base/commands/*.yml`, loaded and checked.

Every mistake names its file, entry and field, so a contributor adding a command sees exactly
what to fix (`netcopilot catalog check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from netcopilot.errors import DataFormatError
from netcopilot.yamlio import YAMLError, error_line, load_yaml
from netcopilot.recommend.slots import PARAM_TYPES, InvalidValue, placeholders, validate

PLATFORMS = ("linux", "macos", "any", "cisco-ios", "junos", "windows")
RISKS = ("safe", "caution", "dangerous")
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    default: Any = None
    help: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required, "default": self.default}


@dataclass(frozen=True)
class CommandSpec:
    id: str
    utility: str
    platform: str
    description: str
    intents: tuple[str, ...]
    params: tuple[Param, ...]
    template: str
    examples: tuple[str, ...]
    why: str
    risk: str
    root: bool
    flags: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    source: str = ""

    @property
    def param_dicts(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.params]


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return None


def load_catalog(directory: Path, known_intents: set[str] | None = None) -> list[CommandSpec]:
    files = sorted(Path(directory).glob("*.yml")) + sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise DataFormatError(directory, "no command files (*.yml) found")
    specs: list[CommandSpec] = []
    seen: dict[str, str] = {}
    for path in files:
        for spec in _load_file(path, known_intents):
            if spec.id in seen:
                raise DataFormatError(path, f"id '{spec.id}' is already used in {seen[spec.id]}", field="id")
            seen[spec.id] = path.name
            specs.append(spec)
    return specs


def _load_file(path: Path, known_intents: set[str] | None) -> list[CommandSpec]:
    text = path.read_text(encoding="utf-8")
    try:
        data = load_yaml(text)
    except YAMLError as exc:
        raise DataFormatError(path, f"not valid YAML ({getattr(exc, 'problem', exc)})", line=error_line(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("commands"), list):
        raise DataFormatError(path, "expected a mapping with a 'commands' list", field="commands")
    return [_parse_entry(path, text, i, entry, known_intents) for i, entry in enumerate(data["commands"])]


def _parse_entry(path: Path, text: str, index: int, entry: Any, known_intents: set[str] | None) -> CommandSpec:
    ident = entry.get("id") if isinstance(entry, dict) else None
    where = f"command '{ident}'" if ident else f"command #{index + 1}"

    def fail(problem: str, name: str) -> DataFormatError:
        line = _line_of(text, f"id: {ident}") if ident else None
        return DataFormatError(path, f"{where}: {problem}", line=line, field=name)

    if not isinstance(entry, dict):
        raise fail("expected a mapping", "commands")
    for name in ("id", "utility", "platform", "description", "intents", "template", "examples", "why", "risk"):
        if entry.get(name) in (None, "", []):
            raise fail("is missing", name)
    if not _ID.fullmatch(str(entry["id"])):
        raise fail("must be lowercase letters, digits and dashes", "id")
    if entry["platform"] not in PLATFORMS:
        raise fail(f"must be one of {', '.join(PLATFORMS)}", "platform")
    if entry["risk"] not in RISKS:
        raise fail(f"must be one of {', '.join(RISKS)}", "risk")
    intents = entry["intents"]
    if not isinstance(intents, list) or not all(isinstance(i, str) for i in intents):
        raise fail("must be a list of intent names", "intents")
    if known_intents is not None:
        unknown = [i for i in intents if i not in known_intents]
        if unknown:
            raise fail(f"unknown intent(s) {', '.join(unknown)}", "intents")
    examples = entry["examples"]
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise fail("must be a list of example requests", "examples")
    params = []
    for raw in entry.get("params") or []:
        if not isinstance(raw, dict) or not raw.get("name") or raw.get("type") not in PARAM_TYPES:
            raise fail(f"each param needs a name and a type from: {', '.join(PARAM_TYPES)}", "params")
        param = Param(str(raw["name"]), raw["type"], bool(raw.get("required", False)),
                      raw.get("default"), str(raw.get("help", "")))
        if param.default is not None:
            try:
                validate(param.type, param.default)
            except InvalidValue as exc:
                raise fail(f"default of '{param.name}': {exc}", "params") from None
        params.append(param)
    template = str(entry["template"])
    used = set(placeholders(template))
    declared = {p.name for p in params}
    if used - declared:
        raise fail(f"placeholders not declared as params: {', '.join(sorted(used - declared))}", "template")
    if declared - used:
        raise fail(f"params not used in the template: {', '.join(sorted(declared - used))}", "params")
    if template.count("[[") != template.count("]]"):
        raise fail("unbalanced [[ ]] optional segment", "template")
    flags = entry.get("flags") or {}
    if not isinstance(flags, dict):
        raise fail("must be a mapping of flag to meaning", "flags")
    return CommandSpec(
        id=str(entry["id"]),
        utility=str(entry["utility"]),
        platform=entry["platform"],
        description=" ".join(str(entry["description"]).split()),
        intents=tuple(intents),
        params=tuple(params),
        template=template.strip(),
        examples=tuple(e.strip() for e in examples),
        why=" ".join(str(entry["why"]).split()),
        risk=entry["risk"],
        root=bool(entry.get("root", False)),
        flags={str(k): str(v) for k, v in flags.items()},
        source=path.name,
    )
