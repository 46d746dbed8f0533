"""The team's written knowledge, loaded and checked together: intents, commands, runbooks."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from netcopilot.errors import DataFormatError
from netcopilot.nlu.data import IntentDef, load_definitions
from netcopilot.recommend.catalog import CommandSpec, load_catalog
from netcopilot.recommend.requests import LabelledRequest, load_requests
from netcopilot.retrieval.runbooks import Runbook, load_runbooks

log = logging.getLogger("netcopilot.knowledge")


@dataclass
class Knowledge:
    intents: dict[str, IntentDef]
    catalog: list[CommandSpec]
    runbooks: list[Runbook]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for spec in self.catalog:
            digest.update(repr((spec.id, spec.template, spec.examples, spec.intents)).encode())
        for book in self.runbooks:
            digest.update(repr(book).encode())
        return digest.hexdigest()[:12]


def load_knowledge(intents_dir: Path, knowledge_dir: Path) -> Knowledge:
    intents = load_definitions(intents_dir)
    names = set(intents)
    return Knowledge(
        intents=intents,
        catalog=load_catalog(Path(knowledge_dir) / "commands", names),
        runbooks=load_runbooks(Path(knowledge_dir) / "runbooks", names),
    )


def load_labelled_requests(knowledge_dir: Path, knowledge: Knowledge, extra: Sequence[Path] = ()) -> list[LabelledRequest]:
    """Every `knowledge_base/requests/*.yml`, then the `extra` files that exist (requests learned
    from feedback by `netcopilot retrain`), checked against the catalog and intents; a query
    labelled twice keeps its first labels. The extra files are read leniently: an entry that no
    longer fits (an intent removed since, a hand edit gone wrong) is left out with a warning."""
    utilities = {spec.utility for spec in knowledge.catalog}
    seen: set[str] = set()
    out: list[LabelledRequest] = []
    for path in [*sorted((Path(knowledge_dir) / "requests").glob("*.yml")), *(p for p in extra if Path(p).is_file())]:
        skipped: list[str] | None = [] if path in extra else None  # a learned file never stops the assistant
        try:
            requests = load_requests(path, utilities, set(knowledge.intents), skipped=skipped)
        except DataFormatError as exc:
            if skipped is None:
                raise
            requests, skipped = [], [str(exc)]
        for problem in skipped or ():
            log.warning("left out: %s", problem)
        for request in requests:
            key = request.query.lower()
            if key not in seen:
                seen.add(key)
                out.append(request)
    return out
