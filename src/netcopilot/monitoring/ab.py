"""A/B tests of model variants: who gets which variant, what feedback each variant earned, and
whether the candidate should be promoted.

Assignment is a pure function of (experiment, user id): sha256("experiment:user") -> a number
in [0, 1) -> the variant whose cumulative weight covers it. No table of assignments is kept, every
process (CLI, Slack, API replicas) agrees, and a user keeps the same variant for the whole test.

Experiments live in <home>/experiments.json; at most one runs at a time, and `assignment()` is
what the Assistant calls to pick the model for a user and to tag the answer's
model_versions["ab"] = {"experiment", "variant"}. An answer counts for a variant when it carries
that tag, or (answers from before the tag existed) when model_versions["models"] is the variant's
name and the answer falls inside the experiment's run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from netcopilot.errors import DataFormatError, InputError
from netcopilot.monitoring import stats
from netcopilot.monitoring.rows import AnswerRow

FILE = "experiments.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PROMOTE, KEEP, MORE = "promote", "keep", "need more data"


def variant_for(user_id: str, experiment: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> str:
    """The user's variant: deterministic, and spread in proportion to the weights."""
    weights = list(weights) if weights else [1.0] * len(variants)
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(weights)
    edge = 0.0
    for variant, weight in zip(variants, weights):
        edge += weight
        if point < edge:
            return variant
    return variants[-1]


# --- experiments file ------------------------------------------------------------------------


def _path(home: Path) -> Path:
    return Path(home) / FILE


def load_experiments(home: Path) -> dict[str, dict[str, Any]]:
    """The experiments in <home>/experiments.json ({} without the file): a copy the caller may
    change and `_save`."""
    return copy.deepcopy(_experiments(_path(home)))


# (path) -> ((mtime_ns, size), the parsed experiments): assignment() runs on every answer
_parsed: dict[Path, tuple[tuple[int, int], dict[str, dict[str, Any]]]] = {}


def _experiments(path: Path) -> dict[str, dict[str, Any]]:
    """The parsed file, read again only when its modification time or size changed (another
    process ran `netcopilot ab start` or `stop`). Shared: read it, never change it."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        _parsed.pop(path, None)
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get(path)
    if cached is None or cached[0] != stamp:
        cached = _parsed[path] = (stamp, _read(path))
    return cached[1]


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"not a readable JSON file ({exc})") from None
    experiments = data.get("experiments") if isinstance(data, dict) else None
    if not isinstance(experiments, dict):
        raise DataFormatError(path, "expected an object with an 'experiments' mapping", field="experiments")
    for name, exp in experiments.items():
        if not isinstance(exp, dict) or not isinstance(exp.get("variants"), list) or len(exp["variants"]) < 2:
            raise DataFormatError(path, "needs a list of at least two variants", field=f"experiments.{name}.variants")
    return experiments


def _save(home: Path, experiments: dict[str, dict[str, Any]]) -> None:
    """Write-then-rename, so a crash never leaves half a file that stops every answer."""
    path = _path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"experiments": experiments}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    _parsed.pop(path, None)  # even a rewrite within one clock tick and of the same size is seen


def parse_variants(variants: str, weights: str | None) -> tuple[list[str], list[float]]:
    names = [v.strip() for v in variants.split(",") if v.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise InputError(f"--variants {variants!r}: give at least two different names, e.g. production,candidate")
    if weights is None:
        return names, [1.0] * len(names)
    try:
        values = [float(w) for w in weights.split(",")]
    except ValueError:
        raise InputError(f"--weights {weights!r}: expected numbers separated by commas, e.g. 50,50") from None
    if len(values) != len(names) or any(w <= 0 for w in values):
        raise InputError(f"--weights {weights!r}: expected {len(names)} positive numbers, one per variant")
    return names, values


def start(home: Path, name: str, variants: list[str], weights: list[float]) -> dict[str, Any]:
    if not _NAME.match(name):
        raise InputError(f"experiment name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    experiments = load_experiments(home)
    if name in experiments:
        raise InputError(f"experiment {name!r} already exists (names are never reused: assignments depend on them)")
    running = [n for n, e in experiments.items() if e.get("status") == "running"]
    if running:
        raise InputError(f"experiment {running[0]!r} is running; `netcopilot ab stop {running[0]}` first")
    experiments[name] = {"variants": variants, "weights": weights, "status": "running",
                         "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "stopped_at": None}
    _save(home, experiments)
    return experiments[name]


def stop(home: Path, name: str) -> dict[str, Any]:
    experiments = load_experiments(home)
    exp = experiments.get(name)
    if exp is None:
        raise InputError(f"no experiment {name!r} (see `netcopilot ab list`)")
    if exp.get("status") == "running":
        exp["status"], exp["stopped_at"] = "stopped", datetime.now(timezone.utc).isoformat(timespec="seconds")
        _save(home, experiments)
    return exp


def get(home: Path, name: str) -> dict[str, Any]:
    exp = load_experiments(home).get(name)
    if exp is None:
        raise InputError(f"no experiment {name!r} (see `netcopilot ab list`)")
    return exp


def assignment(settings: Any, user_id: str) -> dict[str, str] | None:
    """{"experiment", "variant"} of the running experiment for this user, or None."""
    for name, exp in _experiments(_path(settings.home)).items():
        if exp.get("status") == "running":
            return {"experiment": name, "variant": variant_for(user_id, name, exp["variants"], exp.get("weights"))}
    return None


# --- outcomes and the decision -----------------------------------------------------------------


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def variant_of(row: AnswerRow, name: str, exp: dict[str, Any]) -> str | None:
    tag = row.model_versions.get("ab")
    if isinstance(tag, dict):
        return tag.get("variant") if tag.get("experiment") == name and tag.get("variant") in exp["variants"] else None
    model = row.model_versions.get("models")
    started, stopped = _when(exp.get("started_at")), _when(exp.get("stopped_at"))
    in_run = (started is None or row.created_at >= started) and (stopped is None or row.created_at <= stopped)
    return model if in_run and model in exp["variants"] else None


@dataclass(frozen=True)
class Arm:
    variant: str
    answers: int
    rated: int
    positive: int
    satisfaction: float | None

    @property
    def rate(self) -> float | None:
        return self.positive / self.rated if self.rated else None


def arms(rows: Sequence[AnswerRow], name: str, exp: dict[str, Any]) -> list[Arm]:
    tally: dict[str, list[float | None]] = {v: [] for v in exp["variants"]}
    for row in rows:
        variant = variant_of(row, name, exp)
        if variant is not None:
            tally[variant].append(row.satisfaction)
    out = []
    for variant, sats in tally.items():
        rated = [s for s in sats if s is not None]
        out.append(Arm(variant, len(sats), len(rated), sum(s > 0 for s in rated),
                       sum(rated) / len(rated) if rated else None))
    return out


def compare(control: Arm, candidate: Arm, effect: float = 0.05, alpha: float = 0.05, power: float = 0.8) -> dict[str, Any]:
    """The candidate against the control: difference of helpful-answer rates with its 95% CI, the
    two-proportion z-test, P(candidate better) under Beta-Binomial posteriors, and a
    recommendation. The test is read once, when both arms reach the sample size planned for
    `effect` (peeking earlier and stopping at the first p < alpha inflates false promotions);
    promote needs p < alpha, a positive difference and P(better) >= 1 - alpha."""
    k1, n1, k2, n2 = control.positive, control.rated, candidate.positive, candidate.rated
    diff, low, high = stats.diff_interval(k1, n1, k2, n2)
    _, p_value = stats.two_proportion_z(k1, n1, k2, n2)
    better = stats.prob_better(k1, n1, k2, n2)
    needed = stats.sample_size(control.rate if control.rate is not None else 0.5, effect, alpha, power)
    if min(n1, n2) < needed:
        decision, why = MORE, f"{min(n1, n2)} of the {needed} rated answers per variant planned to detect {effect:+.0%}"
    elif p_value < alpha and diff > 0 and better >= 1 - alpha:
        decision, why = PROMOTE, f"{candidate.variant} is better by {diff:+.1%} (p={p_value:.2g}, P(better)={better:.3f})"
    elif p_value < alpha and diff < 0:
        decision, why = KEEP, f"{candidate.variant} is worse by {diff:+.1%} (p={p_value:.2g})"
    else:
        decision, why = KEEP, f"no significant difference ({diff:+.1%}, p={p_value:.2g}) at the planned sample size"
    return {"control": control.variant, "candidate": candidate.variant, "difference": diff, "ci95": [low, high],
            "p_value": p_value, "prob_better": better, "needed_per_variant": needed, "effect": effect,
            "recommendation": decision, "why": why}


def report(rows: Sequence[AnswerRow], name: str, exp: dict[str, Any], effect: float = 0.05) -> dict[str, Any]:
    """Per variant counts and every candidate compared with the first variant (the control)."""
    table = arms(rows, name, exp)
    return {
        "experiment": name, "status": exp.get("status"), "started_at": exp.get("started_at"),
        "stopped_at": exp.get("stopped_at"), "variants": exp["variants"], "weights": exp.get("weights"),
        "arms": [{"variant": a.variant, "answers": a.answers, "rated": a.rated, "positive": a.positive,
                  "positive_rate": a.rate, "satisfaction": a.satisfaction} for a in table],
        "comparisons": [compare(table[0], arm, effect) for arm in table[1:]],
    }
