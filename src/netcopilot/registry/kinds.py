"""The table of model kinds the registry knows. Registering a new kind is one `Kind(...)` line.

A kind says which metrics gate it (`rules`), where production is served from, and, for kinds that
are a file or a few parameters rather than a training run, how to collect that file (`source`).
"""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from netcopilot.errors import InputError
from netcopilot.registry.gate import MetricRule
from netcopilot.settings import Settings

# settings -> {file name: contents}, or None when the kind has nothing to register yet
Source = Callable[[Settings], "dict[str, bytes] | None"]


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    rules: tuple[MetricRule, ...] = ()
    serve_dir: str | None = None  # production's files are copied to <models_dir>/<serve_dir>
    uses_current: bool = False  # production is the version <models_dir>/CURRENT names (the assistant bundle)
    source: Source | None = None

    @property
    def model_name(self) -> str:
        return f"netcopilot-{self.name}"

    def versions_dir(self, models_dir: Path) -> Path:
        """Where this kind's version directories live (the assistant's sit directly in models_dir)."""
        return Path(models_dir) if self.uses_current else Path(models_dir) / "versions" / self.name


def _defaults(module: str, cls: str, filename: str) -> Source:
    """A kind whose artefact is the constructor defaults of a class, as JSON."""

    def collect(_: Settings) -> dict[str, bytes]:
        params = inspect.signature(getattr(importlib.import_module(module), cls)).parameters
        values = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
        return {filename: json.dumps({"class": f"{module}.{cls}", "params": values}, indent=1, sort_keys=True).encode()}

    return collect


def _home_file(name: str) -> Source:
    """A kind whose artefact is a state file under settings.home, if it exists yet."""

    def collect(settings: Settings) -> dict[str, bytes] | None:
        path = Path(settings.home) / name
        return {name: path.read_bytes()} if path.is_file() else None

    return collect


def _rule(key: str, label: str, higher: bool = True, tolerance: float = 0.01) -> MetricRule:
    return MetricRule(key, label, higher, tolerance)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("intent", "assistant bundle: intent ensemble + command ranker", uses_current=True, rules=(
        _rule("intent.ensemble.accuracy", "held-out accuracy"),
        _rule("intent.ensemble.macro_f1", "held-out macro-F1"),
    )),
    Kind("threat", "threat model (NSL-KDD categories)", serve_dir="threats", rules=(
        _rule("held_out.detection_rate", "held-out detection rate"),
        _rule("held_out.false_alarm_rate", "held-out false-alarm rate", higher=False, tolerance=0.005),
        _rule("held_out.binary_accuracy", "held-out binary accuracy"),
    )),
    Kind("anomaly", "anomaly detector parameters", source=_defaults("netcopilot.analytics.detect", "AnomalyDetector",
                                                                    "anomaly_params.json")),
    Kind("next", "next-command model configuration", source=_defaults("netcopilot.history.nextcmd", "NextCommandModel",
                                                                      "next_command.json")),
    Kind("time", "command execution-time model", source=_home_file("command_time.json")),
    Kind("bandit", "command bandit state", source=_home_file("bandit.npz")),
)}


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise InputError(f"unknown model kind {name!r}: choose one of {', '.join(KINDS)}") from None
