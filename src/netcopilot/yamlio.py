"""YAML loading with libyaml when available (10x faster than the pure-Python parser)."""

from __future__ import annotations

from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAMLError = yaml.YAMLError


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def error_line(exc: yaml.YAMLError, offset: int = 0) -> int | None:
    """1-based line of a YAML error, if the parser reported one."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 + offset if mark is not None else None
