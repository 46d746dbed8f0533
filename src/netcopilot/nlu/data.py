"""Reading the files in `intents/`: definitions, training/held-out phrasings, entity annotations."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path


from netcopilot.errors import DataFormatError
from netcopilot.yamlio import YAMLError, error_line, load_yaml
from netcopilot.nlu.entities import LABELS

REQUIRED_INTENTS = (
    "connectivity", "dns", "latency", "packet_loss", "bandwidth", "port_check", "routing",
    "interface", "http", "tls", "dhcp", "wifi", "firewall", "ssh", "vpn", "arp", "security",
    "topology", "capacity", "anomaly", "command_help", "history", "smalltalk",
)  # fmt: skip


@dataclass(frozen=True)
class IntentDef:
    name: str
    description: str
    clarify: str


@dataclass
class IntentData:
    definitions: dict[str, IntentDef]
    train: list[tuple[str, str]]  # (text, intent)
    test: list[tuple[str, str]]

    @property
    def labels(self) -> list[str]:
        return sorted(self.definitions)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for text, label in self.train:
            digest.update(f"{label}\t{text}\n".encode())
        return digest.hexdigest()[:12]


def load_definitions(intents_dir: Path) -> dict[str, IntentDef]:
    path = Path(intents_dir) / "intents.yml"
    if not path.exists():
        raise DataFormatError(path, "missing (intent definitions)")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise DataFormatError(path, "not valid YAML", line=error_line(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise DataFormatError(path, "expected a mapping 'intents:'", field="intents")
    defs = {}
    for name, body in data["intents"].items():
        if not isinstance(body, dict) or not body.get("description") or not body.get("clarify"):
            raise DataFormatError(path, f"intent '{name}' needs a description and a clarify question", field=name)
        defs[name] = IntentDef(name, " ".join(str(body["description"]).split()), str(body["clarify"]).strip())
    missing = [i for i in REQUIRED_INTENTS if i not in defs]
    if missing:
        raise DataFormatError(path, f"required intents missing: {', '.join(missing)}", field="intents")
    return defs


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of each non-empty, non-comment line."""
    try:
        raw = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[: exc.start].count(b"\n") + 1
        raise DataFormatError(path, "not UTF-8 text", line=line) from None
    out = []
    for number, line in enumerate(raw.splitlines(), 1):
        text = line.strip()
        if text and not text.startswith("#"):
            out.append((number, text))
    return out


def load_intents(intents_dir: Path) -> IntentData:
    intents_dir = Path(intents_dir)
    defs = load_definitions(intents_dir)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}
    for split, rows in splits.items():
        folder = intents_dir / split
        for path in sorted(folder.glob("*.txt")):
            if path.stem not in defs:
                raise DataFormatError(path, f"'{path.stem}' is not an intent defined in intents.yml")
            rows.extend((text, path.stem) for _, text in read_lines(path))
    counts = {name: 0 for name in defs}
    for _, label in splits["train"]:
        counts[label] += 1
    thin = [f"{name} ({n})" for name, n in counts.items() if n < 10]
    if thin:
        raise DataFormatError(intents_dir / "train", f"too few training phrasings for: {', '.join(thin)}")
    train_texts = {t.lower() for t, _ in splits["train"]}
    leaked = [t for t, _ in splits["test"] if t.lower() in train_texts]
    if leaked:
        raise DataFormatError(intents_dir / "test", f"held-out phrasing also in training: {leaked[0]!r}")
    return IntentData(defs, splits["train"], splits["test"])


# --- entity annotations: "ping [10.0.0.5](IPV4) [5 times](COUNT)" ---------------------------------

_MARK = re.compile(r"\[([^\[\]]+)\]\(([A-Z0-9_]+)\)")


def parse_annotated(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and (start, end, label) spans from one annotated line."""
    text_parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    length = 0
    for m in _MARK.finditer(line):
        before = line[pos : m.start()]
        text_parts.append(before)
        length += len(before)
        spans.append((length, length + len(m.group(1)), m.group(2)))
        text_parts.append(m.group(1))
        length += len(m.group(1))
        pos = m.end()
    text_parts.append(line[pos:])
    return "".join(text_parts), spans


def load_annotations(path: Path) -> list[tuple[str, list[tuple[int, int, str]]]]:
    rows = []
    for number, line in read_lines(path):
        text, spans = parse_annotated(line)
        for _, _, label in spans:
            if label not in LABELS:
                raise DataFormatError(path, f"unknown entity label {label}", line=number)
        rows.append((text, spans))
    return rows
