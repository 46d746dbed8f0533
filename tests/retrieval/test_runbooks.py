from __future__ import annotations

from pathlib import Path

import pytest

from netcopilot.errors import DataFormatError
from netcopilot.nlu.data import load_definitions
from netcopilot.retrieval.runbooks import load_runbooks, parse_runbook

REPO = Path(__file__).resolve().parents[2]


def test_runbooks_are_complete() -> None:
    books = load_runbooks(REPO / "knowledge_base" / "runbooks", set(load_definitions(REPO / "intents")))
    assert len(books) >= 40
    for book in books:
        assert book.symptoms and book.steps and book.causes and book.fixes, book.id
        assert any("`" in step for step in book.steps), f"{book.id}: diagnostic steps need commands"
    covered = {intent for book in books for intent in book.intents}
    assert {"connectivity", "dns", "latency", "tls", "dhcp", "wifi", "firewall", "ssh", "vpn"} <= covered


def test_missing_section_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("---\nid: x\ntitle: X\nintents: [dns]\n---\n## Symptoms\n- a\n## Fixes\n- b\n")
    with pytest.raises(DataFormatError, match=r"x\.md:6: field 'Diagnostic steps': section '## Diagnostic steps' is missing"):
        parse_runbook(path)


def test_id_must_match_file(tmp_path: Path) -> None:
    path = tmp_path / "y.md"
    path.write_text("---\nid: x\ntitle: X\nintents: [dns]\n---\n")
    with pytest.raises(DataFormatError, match="field 'id'"):
        parse_runbook(path)
