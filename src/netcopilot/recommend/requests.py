"""Labelled requests: a question and the utilities a senior engineer would run first.

`knowledge_base/requests/train.yml` trains the command ranker; `benchmarks/data/
command_requests.yml` (written separately) evaluates it. Both use this format:

    requests:
      - query: "is port 5432 open on db-prod-2?"
        utilities: [nc, nmap]     # first = best, others acceptable
        intent: port_check
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netcopilot.errors import DataFormatError
from netcopilot.yamlio import YAMLError, error_line, load_yaml


@dataclass(frozen=True)
class LabelledRequest:
    query: str
    utilities: tuple[str, ...]
    intent: str
    source: str = ""  # file name, e.g. train.yml


def load_requests(path: Path, known_utilities: set[str] | None = None, known_intents: set[str] | None = None,
                  skipped: list[str] | None = None) -> list[LabelledRequest]:
    """The requests of one file, checked. A bad entry raises a DataFormatError naming it, unless
    `skipped` is given: then it is left out and its problem appended there (for files people edit
    by hand, such as the requests learned from feedback, which must not stop the assistant)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        data = load_yaml(text)
    except YAMLError as exc:
        raise DataFormatError(path, "not valid YAML", line=error_line(exc)) from None
    if skipped is not None and isinstance(data, dict) and data.get("requests") is None:
        return []  # every entry deleted by hand
    if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
        raise DataFormatError(path, "expected a mapping with a 'requests' list", field="requests")
    out = []
    for i, row in enumerate(data["requests"], 1):
        try:
            out.append(_request(path, i, row, known_utilities, known_intents))
        except DataFormatError as exc:
            if skipped is None:
                raise
            skipped.append(str(exc))
    return out


def _request(path: Path, i: int, row: object, known_utilities: set[str] | None,
             known_intents: set[str] | None) -> LabelledRequest:
    where = f"request #{i}"
    if not isinstance(row, dict) or not isinstance(row.get("query"), str) or not row["query"].strip():
        raise DataFormatError(path, f"{where}: needs a non-empty query", field="query")
    utilities = row.get("utilities")
    if not isinstance(utilities, list) or not utilities or not all(isinstance(u, str) for u in utilities):
        raise DataFormatError(path, f"{where}: needs a list of utilities", field="utilities")
    if known_utilities is not None:
        unknown = [u for u in utilities if u not in known_utilities]
        if unknown:
            raise DataFormatError(path, f"{where}: utilities not in the catalog: {', '.join(unknown)}", field="utilities")
    intent = str(row.get("intent", ""))
    if known_intents is not None and intent not in known_intents:
        raise DataFormatError(path, f"{where}: unknown intent {intent!r}", field="intent")
    return LabelledRequest(row["query"].strip(), tuple(utilities), intent, Path(path).name)
