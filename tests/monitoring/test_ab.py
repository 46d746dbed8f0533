"""assignment() runs on every answer: it reads experiments.json again only when the file changed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from netcopilot.monitoring import ab


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every experiments.json read from disk, in order."""
    seen: list[Path] = []
    original = Path.read_text

    def counting(self: Path, *args, **kwargs) -> str:
        if self.name == ab.FILE:
            seen.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting)
    return seen


def _rewrite_elsewhere(home: Path, status: str) -> None:
    """What another process's `netcopilot ab stop` leaves: same size ("running" and "stopped"
    have the same length), a later modification time."""
    path = home / ab.FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["experiments"]["exp1"]["status"] = status
    before = path.stat()
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_size == before.st_size


def test_an_unchanged_file_is_read_once(tmp_path: Path, reads: list[Path]) -> None:
    settings = SimpleNamespace(home=tmp_path)
    ab.start(tmp_path, "exp1", ["production", "candidate"], [1.0, 1.0])
    reads.clear()
    first = [ab.assignment(settings, f"cli:user{i}") for i in range(20)]
    assert len(reads) == 1
    assert {a["experiment"] for a in first} == {"exp1"}
    assert {a["variant"] for a in first} == {"production", "candidate"}


def test_a_change_by_another_process_is_picked_up(tmp_path: Path, reads: list[Path]) -> None:
    settings = SimpleNamespace(home=tmp_path)
    ab.start(tmp_path, "exp1", ["production", "candidate"], [1.0, 1.0])
    assert ab.assignment(settings, "cli:alice") is not None
    _rewrite_elsewhere(tmp_path, "stopped")
    assert ab.assignment(settings, "cli:alice") is None
    _rewrite_elsewhere(tmp_path, "running")
    assert ab.assignment(settings, "cli:alice")["experiment"] == "exp1"
    (tmp_path / ab.FILE).unlink()
    assert ab.assignment(settings, "cli:alice") is None


def test_changes_made_here_are_seen_at_once(tmp_path: Path) -> None:
    settings = SimpleNamespace(home=tmp_path)
    ab.start(tmp_path, "exp1", ["production", "candidate"], [1.0, 1.0])
    assert ab.assignment(settings, "cli:alice") is not None
    ab.stop(tmp_path, "exp1")  # may land in the same clock tick as start
    assert ab.assignment(settings, "cli:alice") is None


def test_loaded_experiments_are_the_callers_own(tmp_path: Path) -> None:
    settings = SimpleNamespace(home=tmp_path)
    ab.start(tmp_path, "exp1", ["production", "candidate"], [1.0, 1.0])
    ab.load_experiments(tmp_path)["exp1"]["status"] = "stopped"  # changed, never saved
    assert ab.assignment(settings, "cli:alice") is not None
