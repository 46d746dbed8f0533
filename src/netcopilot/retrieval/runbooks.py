"""Runbooks: `knowledge_base/runbooks/*.md`, Markdown with YAML front matter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


from netcopilot.errors import DataFormatError
from netcopilot.yamlio import YAMLError, error_line, load_yaml

SECTIONS = ("Symptoms", "Diagnostic steps", "Likely causes", "Fixes")
_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.M)
_ITEM = re.compile(r"^\s*(?:[-*]|\d+[.)])\s+(.*)$")


@dataclass(frozen=True)
class Runbook:
    id: str
    title: str
    intents: tuple[str, ...]
    tags: tuple[str, ...]
    symptoms: tuple[str, ...]
    steps: tuple[str, ...]
    causes: tuple[str, ...]
    fixes: tuple[str, ...]
    path: str

    def passages(self) -> list[str]:
        """Texts embedded for search: the title, and the title with each symptom and cause."""
        return [self.title] + [f"{self.title}: {s}" for s in self.symptoms] + [
            f"{self.title}: {c}" for c in self.causes
        ]


def _items(body: str) -> tuple[str, ...]:
    items: list[str] = []
    for line in body.splitlines():
        m = _ITEM.match(line)
        if m:
            items.append(m.group(1).strip())
        elif line.startswith(("  ", "\t")) and line.strip() and items:
            items[-1] += " " + line.strip()  # continuation of the previous item
    return tuple(items)


def parse_runbook(path: Path, known_intents: set[str] | None = None) -> Runbook:
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise DataFormatError(path, "must start with YAML front matter between '---' lines", line=1)
    try:
        _, front, body = text.split("---", 2)
    except ValueError:
        raise DataFormatError(path, "front matter is not closed by '---'", line=1) from None
    try:
        meta = load_yaml(front) or {}
    except YAMLError as exc:
        raise DataFormatError(path, "front matter is not valid YAML", line=error_line(exc, offset=1) or 1) from None
    for name in ("id", "title", "intents"):
        if not meta.get(name):
            raise DataFormatError(path, "is missing", field=name)
    if meta["id"] != Path(path).stem:
        raise DataFormatError(path, f"id '{meta['id']}' must match the file name", field="id")
    intents = tuple(meta["intents"])
    if known_intents is not None and not set(intents) <= known_intents:
        raise DataFormatError(path, f"unknown intent(s): {', '.join(sorted(set(intents) - known_intents))}", field="intents")
    sections: dict[str, str] = {}
    headings = list(_HEADING.finditer(body))
    for i, m in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(body)
        sections[m.group(1).strip().lower()] = body[m.end() : end]
    for name in SECTIONS:
        if name.lower() not in sections:
            line = text.count("\n", 0, len(text) - len(body)) + 2  # first line after the front matter
            raise DataFormatError(path, f"section '## {name}' is missing", line=line, field=name)
    return Runbook(
        id=str(meta["id"]),
        title=str(meta["title"]),
        intents=intents,
        tags=tuple(meta.get("tags") or ()),
        symptoms=_items(sections["symptoms"]),
        steps=_items(sections["diagnostic steps"]),
        causes=_items(sections["likely causes"]),
        fixes=_items(sections["fixes"]),
        path=str(path),
    )


def load_runbooks(directory: Path, known_intents: set[str] | None = None) -> list[Runbook]:
    files = sorted(Path(directory).glob("*.md"))
    books = [parse_runbook(p, known_intents) for p in files if p.name != "README.md"]
    if not books:
        raise DataFormatError(directory, "no runbooks (*.md) found")
    return books
