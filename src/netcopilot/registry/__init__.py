"""Versioned models of every kind, with aliases, a validation gate, promotion and rollback.

    from netcopilot.registry import Registry, gate
    reg = Registry(models_dir)                       # MLflow over sqlite:///<models_dir>/registry.db
    v = reg.register("intent", bundle, metrics)      # -> Version (number, label, path, metrics, aliases)
    decision = reg.gate_and_promote(v, tolerance=0.01)   # Decision(promote, reasons)
    reg.promote("intent", "3"); reg.rollback("intent"); reg.production_path("intent")

Importing this package does not import mlflow; opening a Registry does.
"""

from netcopilot.registry.core import Registry, Version, registry_uri, sync_sources
from netcopilot.registry.gate import Decision, MetricRule, flatten, gate
from netcopilot.registry.kinds import KINDS, Kind, get_kind

__all__ = ["KINDS", "Decision", "Kind", "MetricRule", "Registry", "Version", "flatten", "gate", "get_kind",
           "registry_uri", "sync_sources"]
