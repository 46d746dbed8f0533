"""The rule registry and `diagnose`: every rule is declared once with `@rule(...)`.

A rule matches on the error text (a regular expression) or, when no text was captured (the shell
hook records only the command and its exit status), on the exit status of a given utility. Its
function proposes a `Fix`. Specific rules outrank generic ones (`priority`), and may hide the
generic reading of the same text (`supersedes`); `fallback` rules speak only when nothing else did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .model import Fix
from .packages import Platform
from .parse import Failure, parse_failure

Propose = Callable[[Failure, "re.Match[str] | None", Platform], Fix]


@dataclass(frozen=True)
class Rule:
    name: str
    propose_fn: Propose
    pattern: re.Pattern[str] | None = None
    statuses: Mapping[str, frozenset[int]] = field(default_factory=dict)  # utility ("*": any) -> codes
    when: Callable[[Failure], bool] | None = None
    priority: int = 50
    supersedes: tuple[str, ...] = ()
    fallback: bool = False

    def search(self, failure: Failure) -> "re.Match[str] | None":
        return self.pattern.search(failure.output) if self.pattern and failure.output else None

    def match(self, failure: Failure) -> bool:
        if self.when is not None and not self.when(failure):
            return False
        if failure.output.strip():
            return self.pattern is None or self.search(failure) is not None
        codes = self.statuses.get(failure.utility, frozenset()) | self.statuses.get("*", frozenset())
        return failure.exit_status in codes

    def propose(self, failure: Failure, platform: Platform) -> Fix:
        fix = self.propose_fn(failure, self.search(failure), platform)
        fix.from_status_only = not failure.output.strip()
        return fix


RULES: list[Rule] = []


def rule(name: str, pattern: str | None = None, *, statuses: Mapping[str, set[int]] | None = None,
         when: Callable[[Failure], bool] | None = None, priority: int = 50, supersedes: tuple[str, ...] = (),
         fallback: bool = False, flags: int = re.IGNORECASE | re.MULTILINE) -> Callable[[Propose], Propose]:
    """Register the decorated function as the rule `name` (names are unique)."""

    def register(fn: Propose) -> Propose:
        if any(r.name == name for r in RULES):
            raise ValueError(f"rule {name!r} is declared twice")
        RULES.append(Rule(name, fn, re.compile(pattern, flags) if pattern else None,
                          {k: frozenset(v) for k, v in (statuses or {}).items()}, when, priority, supersedes,
                          fallback))
        return fn

    return register


def diagnose(command: str, output: str = "", exit_status: int | None = None,
             platform: Platform | None = None) -> list[Fix]:
    """Every rule's reading of the failure, best first (empty when no rule recognises it)."""
    failure = parse_failure(command, output, exit_status)
    return diagnose_failure(failure, platform or Platform.detect())


def diagnose_failure(failure: Failure, platform: Platform) -> list[Fix]:
    matched = [r for r in RULES if not r.fallback and r.match(failure)]
    hidden = {name for r in matched for name in r.supersedes}
    matched = [r for r in matched if r.name not in hidden] or [r for r in RULES if r.fallback and r.match(failure)]
    matched.sort(key=lambda r: -r.priority)
    return [r.propose(failure, platform) for r in matched]
