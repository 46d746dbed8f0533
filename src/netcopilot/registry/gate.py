"""The validation gate: a candidate replaces production only if no declared metric got worse by
more than its tolerance. Metrics are flat dicts keyed by dotted paths (``intent.ensemble.macro_f1``),
the form MLflow stores them in, so a gate can be re-run from the registry alone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class MetricRule:
    """One gated metric: where it is, which way is better, and how much worse is still acceptable."""

    key: str
    label: str
    higher_is_better: bool = True
    tolerance: float = 0.01


@dataclass
class Decision:
    promote: bool
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return ("promoted: " if self.promote else "rejected: ") + "; ".join(self.reasons)


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested metric dicts -> {"a.b.c": float}; non-numeric leaves are dropped."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:  # not NaN
            out[name] = float(value)
    return out


def gate(rules: Sequence[MetricRule], candidate: Mapping[str, float], production: Mapping[str, float] | None,
         tolerance: float | None = None, what: str = "model") -> Decision:
    """Compare flat candidate metrics with production's. `tolerance` overrides every rule's own.
    No production yet -> promote; a missing candidate metric -> reject (it cannot be checked)."""
    if production is None:
        return Decision(True, [f"first {what}: no production version to compare with"])
    if not rules:
        return Decision(True, [f"{what} declares no gated metrics: nothing to compare"])
    reasons, worse = [], False
    for rule in (replace(r, tolerance=tolerance) if tolerance is not None else r for r in rules):
        cand, prod = candidate.get(rule.key), production.get(rule.key)
        if cand is None:
            worse = True
            reasons.append(f"{rule.label}: missing from the candidate's metrics ({rule.key})")
            continue
        if prod is None:
            reasons.append(f"{rule.label} {cand:.3f}: production has none recorded, not compared")
            continue
        drop = (prod - cand) if rule.higher_is_better else (cand - prod)
        head = f"{rule.label} {cand:.3f} vs production {prod:.3f}"
        if drop > rule.tolerance + 1e-12:
            worse = True
            reasons.append(f"{head}: worse by {drop:.3f}, more than tolerance {rule.tolerance:.3f}")
        elif drop > 0:
            reasons.append(f"{head}: within tolerance {rule.tolerance:.3f}")
        else:
            reasons.append(f"{head}: {'same' if drop == 0 else 'better'}")
    return Decision(not worse, reasons)
