"""What a diagnosis is made of: the failed command (`Failure`), proposed fixes and their risk.

Suggested command lines are built only with `sh()`: every plain string is shell-quoted, and
only `Raw` fragments (constants written in this package, such as `|` or `<port>`) pass as they
are. Values taken from the failed command reach `sh()` only after validation (see `parse`), so
a suggestion can never carry shell syntax the user did not see in our own code.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

RISKS = ("safe", "caution", "dangerous")  # in increasing order


@dataclass(frozen=True)
class Raw:
    """Trusted shell text written in this package (an operator, a placeholder like `<port>`)."""

    text: str


def sh(*parts: str | Raw | int) -> str:
    """One command line: strings are quoted with shlex.quote, Raw fragments kept as they are."""
    return " ".join(p.text if isinstance(p, Raw) else shlex.quote(str(p)) for p in parts)


@dataclass(frozen=True)
class Suggestion:
    """One proposed command line; `risk` is safe, caution (changes something) or dangerous."""

    command: str
    risk: str = "safe"
    why: str = ""

    def __post_init__(self) -> None:
        if self.risk not in RISKS:
            raise ValueError(f"risk must be one of {RISKS}, got {self.risk!r}")

    def to_dict(self) -> dict[str, str]:
        return {"command": self.command, "risk": self.risk, "why": self.why}


@dataclass
class Fix:
    """A rule's reading of a failure: what went wrong, what to run instead, what to check next."""

    rule: str
    diagnosis: str
    fixes: list[Suggestion] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    from_status_only: bool = False  # no error text was available: the exit status was all we had

    @property
    def risk(self) -> str:
        """The highest risk among the fixes (safe when there are none)."""
        return max((s.risk for s in self.fixes), key=RISKS.index, default="safe")

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "diagnosis": self.diagnosis, "risk": self.risk,
                "fixes": [s.to_dict() for s in self.fixes], "next": list(self.next_steps),
                "from_status_only": self.from_status_only}
