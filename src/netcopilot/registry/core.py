"""The model registry: MLflow's model registry over SQLite in `<models_dir>/registry.db`.

Each trained artefact stays where training wrote it (a version directory with manifest.json, see
`netcopilot.artifacts`); the registry records, per version, an MLflow run holding the metrics,
the data fingerprint, library versions and every file's sha256 as params, the manifest and model
card as run artefacts, and a model version (`netcopilot-<kind>`) whose source is that directory.

Aliases: `production` is what is served (for the assistant bundle `<models_dir>/CURRENT` always
names it; for the threat model its files are copied to `<models_dir>/threats`), `candidate` is
the latest version that was not promoted. Each registered model keeps its promotion history in
the tag `netcopilot.production_history`, so `rollback` restores the previous production.
Promoting or rolling back verifies the artefact first (manifest pinned by sha256, file hashes,
library versions) and refuses with one line naming the file that does not match.

mlflow is imported only when a Registry is opened, with telemetry off, so `netcopilot --help`
stays instant and nothing touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from netcopilot import artifacts
from netcopilot.errors import InputError, ModelMismatchError
from netcopilot.registry.gate import Decision, flatten, gate
from netcopilot.registry.kinds import KINDS, Kind, get_kind

PRODUCTION, CANDIDATE = "production", "candidate"
HISTORY_TAG = "netcopilot.production_history"
# mlflow reads these when it is imported: no telemetry, no INFO lines on the user's terminal
OFFLINE_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
QUIET_ENV = {"MLFLOW_LOGGING_LEVEL": "WARNING"}


def registry_uri(models_dir: Path) -> str:
    return f"sqlite:///{Path(models_dir).resolve() / 'registry.db'}"


def _client(models_dir: Path) -> Any:
    os.environ.update(OFFLINE_ENV)
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    from mlflow.tracking import MlflowClient

    uri = registry_uri(models_dir)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _param_key(text: str) -> str:
    return re.sub(r"[^\w\-. /]", "_", text)[:250]


@dataclass
class Version:
    """One registered version, as the CLI and training see it."""

    kind: str
    number: int  # MLflow's model version number
    label: str  # the version directory's name (what CURRENT holds for the assistant)
    path: Path
    created: datetime
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.number}"

    def gate_record(self) -> str | None:
        if "gate.decision" not in self.tags:
            return None
        against = self.tags.get("gate.compared_to")
        return (f"{self.tags['gate.decision']}" + (f" against {against}" if against else "") + ": "
                + self.tags.get("gate.reasons", ""))


class Registry:
    """Register, gate, promote and roll back model versions of every kind in `KINDS`."""

    def __init__(self, models_dir: Path):
        self.models_dir = Path(models_dir).resolve()
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.client = _client(self.models_dir)

    # ------------------------------------------------------------------ registering
    def register(self, kind: str, path: Path, metrics: Mapping[str, Any] | None = None) -> Version:
        """Record the version directory `path` (manifest.json written by `artifacts.write_manifest`)
        with its metrics; the new version gets no alias until `promote` or `gate_and_promote`."""
        k = get_kind(kind)
        path = Path(path).resolve()
        manifest = artifacts.read_manifest(path)
        flat = flatten(metrics if metrics is not None else manifest.get("metrics", {}))
        self._ensure_model(k)
        run = self.client.create_run(self._experiment(k), run_name=path.name, tags={"netcopilot.kind": k.name})
        self._log(run.info.run_id, manifest, flat)
        for name in ("manifest.json", "MODEL_CARD.md"):
            if (path / name).is_file():
                self.client.log_artifact(run.info.run_id, str(path / name))
        self.client.set_terminated(run.info.run_id)
        mv = self.client.create_model_version(k.model_name, source=str(path), run_id=run.info.run_id, tags={
            "netcopilot.version": path.name,
            "netcopilot.path": str(path.relative_to(self.models_dir) if path.is_relative_to(self.models_dir) else path),
            "netcopilot.manifest_sha256": _sha256(path / "manifest.json"),
            "netcopilot.data_fingerprint": str(manifest.get("fingerprint", "")),
            "netcopilot.libraries": json.dumps(manifest.get("libraries", {}), sort_keys=True),
        })
        return self.get(k.name, str(mv.version))

    def _log(self, run_id: str, manifest: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric, Param

        params = {f"data.{k}": v for k, v in flatten_any(manifest.get("data", {})).items()}
        params.update({f"library.{k}": v for k, v in manifest.get("libraries", {}).items()})
        params.update({f"sha256.{k}": v for k, v in manifest.get("files", {}).items()})
        params["fingerprint"] = str(manifest.get("fingerprint", ""))
        items = [Param(_param_key(k), str(v)[:6000]) for k, v in params.items()]
        now = int(time.time() * 1000)
        values = [Metric(_param_key(k), v, now, 0) for k, v in metrics.items()]
        for start in range(0, max(len(items), len(values)), 100):
            self.client.log_batch(run_id, metrics=values[start:start + 100], params=items[start:start + 100])

    def register_files(self, kind: str, files: Mapping[str, bytes], metrics: Mapping[str, Any] | None = None,
                       data: Mapping[str, Any] | None = None) -> Version | None:
        """Write `files` as a new version directory of `kind` and register it; None when the latest
        version already holds exactly these files (nothing new to register)."""
        k = get_kind(kind)
        content = hashlib.sha256(json.dumps({n: hashlib.sha256(b).hexdigest() for n, b in files.items()},
                                            sort_keys=True).encode()).hexdigest()
        latest = self.versions(k.name)
        if latest and latest[0].tags.get("netcopilot.data_fingerprint") == content:
            return None
        bundle = new_bundle(k.versions_dir(self.models_dir), content)
        for name, blob in files.items():
            (bundle / name).write_bytes(blob)
        artifacts.write_manifest(bundle, {"version": bundle.name, "kind": k.name, "fingerprint": content,
                                          "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                          "data": dict(data or {}), "metrics": dict(metrics or {})})
        return self.register(k.name, bundle, metrics or {})

    # ------------------------------------------------------------------ reading
    def versions(self, kind: str) -> list[Version]:
        """Every version of `kind`, newest first."""
        k = get_kind(kind)
        aliases = self._aliases(k)
        found = self.client.search_model_versions(f"name='{k.model_name}'")
        return sorted((self._version(k, mv, aliases) for mv in found), key=lambda v: -v.number)

    def get(self, kind: str, ref: str) -> Version:
        """A version by MLflow number, directory name or alias; InputError naming what was asked."""
        k = get_kind(kind)
        aliases = self._aliases(k)
        number = aliases.get(ref) if ref in aliases else (int(ref) if ref.isdigit() else None)
        for v in self.versions(k.name):
            if v.number == number or v.label == ref:
                return v
        known = ", ".join(f"{v.number} ({v.label})" for v in self.versions(k.name)[:5]) or "none registered"
        raise InputError(f"{k.model_name}: no version {ref!r} (known: {known})")

    def production(self, kind: str) -> Version | None:
        k = get_kind(kind)
        number = self._aliases(k).get(PRODUCTION)
        return None if number is None else self.get(k.name, str(number))

    def production_path(self, kind: str) -> Path | None:
        prod = self.production(kind)
        return None if prod is None else prod.path

    def history(self, kind: str) -> list[int]:
        """Version numbers that were production, oldest first (the last is production now)."""
        k = get_kind(kind)
        if not self._exists(k):
            return []
        return json.loads(self.client.get_registered_model(k.model_name).tags.get(HISTORY_TAG, "[]"))

    def protected_labels(self, kind: str, depth: int = 3) -> set[str]:
        """Version directories pruning must keep: production, the `depth - 1` versions a rollback
        can return to, and the candidate."""
        keep = set(self.history(kind)[-depth:]) | {n for a, n in self._aliases(get_kind(kind)).items() if a == CANDIDATE}
        return {v.label for v in self.versions(kind) if v.number in keep}

    # ------------------------------------------------------------------ gate, promote, rollback
    def verify(self, version: Version) -> dict[str, Any]:
        """The artefact's manifest, after checking it is the registered one and that every file and
        library version matches; ModelMismatchError (one line, naming the file) otherwise."""
        manifest = version.path / "manifest.json"
        if not manifest.is_file():
            raise ModelMismatchError(f"{version.path}: artefact of {version.ref} is missing (pruned or moved)")
        if _sha256(manifest) != version.tags.get("netcopilot.manifest_sha256"):
            raise ModelMismatchError(f"{manifest}: changed since {version.ref} was registered (hash mismatch)")
        return artifacts.read_manifest(version.path)

    def gate_and_promote(self, version: Version, tolerance: float | None = None,
                         production_metrics: Mapping[str, float] | None = None, promote: bool = True,
                         basis: str | None = None) -> Decision:
        """Run the kind's gate against production (its recorded metrics, or `production_metrics`
        measured now, described by `basis`); promote the version if it passes (and `promote`), else
        make it the candidate. The decision and reasons are stored on the version."""
        k = get_kind(version.kind)
        prod = self.production(k.name)
        note = [basis] if basis and prod is not None and production_metrics is not None else []
        if prod is not None:
            try:
                self.verify(prod)
            except ModelMismatchError as exc:
                note, prod = [f"production {prod.ref} is unusable ({exc})"], None
        if prod is not None and prod.number == version.number:
            raise InputError(f"{version.ref} is already production")
        against = None if prod is None else (production_metrics if production_metrics is not None else prod.metrics)
        decision = gate(k.rules, version.metrics, against, tolerance, what=k.model_name)
        decision.reasons = note + decision.reasons
        if decision.promote and not promote:
            decision = Decision(False, decision.reasons + ["passed the gate but kept as candidate (--no-promote)"])
        self._record_gate(version, decision, prod)
        if decision.promote:
            self.promote(k.name, str(version.number))
        else:
            self.client.set_registered_model_alias(k.model_name, CANDIDATE, str(version.number))
        return decision

    def _record_gate(self, version: Version, decision: Decision, prod: Version | None) -> None:
        tags = {"gate.decision": "promoted" if decision.promote else "not promoted",
                "gate.reasons": "; ".join(decision.reasons)[:5000],
                "gate.compared_to": "" if prod is None else f"{prod.number} ({prod.label})",
                "gate.at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        for key, value in tags.items():
            self.client.set_model_version_tag(get_kind(version.kind).model_name, str(version.number), key, value)

    def promote(self, kind: str, ref: str) -> Version:
        """Make a version production after verifying it; the assistant's CURRENT (or the threat
        model's serving directory) follows."""
        k = get_kind(kind)
        version = self.get(k.name, ref)
        self.verify(version)
        self._set_production(k, version)
        history = [n for n in self.history(k.name) if n != version.number] + [version.number]
        self.client.set_registered_model_tag(k.model_name, HISTORY_TAG, json.dumps(history))
        if self._aliases(k).get(CANDIDATE) == version.number:
            self.client.delete_registered_model_alias(k.model_name, CANDIDATE)
        return self.get(k.name, str(version.number))

    def rollback(self, kind: str) -> Version:
        """Restore the production version before the current one."""
        k = get_kind(kind)
        history = self.history(k.name)
        if len(history) < 2:
            raise InputError(f"{k.model_name}: no previous production version to roll back to")
        previous = self.get(k.name, str(history[-2]))
        self.verify(previous)
        self._set_production(k, previous)
        self.client.set_registered_model_tag(k.model_name, HISTORY_TAG, json.dumps(history[:-1]))
        return self.get(k.name, str(previous.number))

    def _set_production(self, k: Kind, version: Version) -> None:
        if k.uses_current:
            if version.path.parent != self.models_dir:
                raise ModelMismatchError(f"{version.path}: not a version directory of {self.models_dir}")
            artifacts.set_current(self.models_dir, version.label)
        elif k.serve_dir:
            serve(version.path, self.models_dir / k.serve_dir)
        self.client.set_registered_model_alias(k.model_name, PRODUCTION, str(version.number))

    # ------------------------------------------------------------------ mlflow plumbing
    def _exists(self, k: Kind) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(k.model_name)
            return True
        except MlflowException:
            return False

    def _ensure_model(self, k: Kind) -> None:
        if not self._exists(k):
            self.client.create_registered_model(k.model_name, description=k.title)

    def _experiment(self, k: Kind) -> str:
        found = self.client.get_experiment_by_name(k.model_name)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(k.model_name, artifact_location=(self.models_dir / "mlruns").as_uri())

    def _aliases(self, k: Kind) -> dict[str, int]:
        if not self._exists(k):
            return {}
        return {a: int(n) for a, n in self.client.get_registered_model(k.model_name).aliases.items()}

    def _version(self, k: Kind, mv: Any, aliases: Mapping[str, int]) -> Version:
        data = self.client.get_run(mv.run_id).data if mv.run_id else None
        tags = dict(mv.tags or {})
        return Version(
            kind=k.name, number=int(mv.version), label=tags.get("netcopilot.version", ""),
            path=self.models_dir / tags.get("netcopilot.path", mv.source),  # relative: the folder can move
            created=datetime.fromtimestamp(mv.creation_timestamp / 1000, timezone.utc),
            metrics=dict(data.metrics) if data else {}, params=dict(data.params) if data else {}, tags=tags,
            aliases=sorted(a for a, n in aliases.items() if n == int(mv.version)),
        )


def flatten_any(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested dict -> {"a.b": "value"} with every leaf as text (for MLflow params)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(flatten_any(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def new_bundle(parent: Path, fingerprint: str) -> Path:
    """A fresh, empty version directory under `parent`."""
    parent.mkdir(parents=True, exist_ok=True)
    bundle = parent / artifacts.new_version(fingerprint)
    bundle.mkdir()
    return bundle


def serve(source: Path, target: Path) -> None:
    """Replace the directory `target` with a copy of `source` (copy, then swap by rename)."""
    staging, old = target.with_name(f".{target.name}.tmp"), target.with_name(f".{target.name}.old")
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(source, staging)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def sync_sources(registry: Registry, settings: Any, tolerance: float | None = None,
                 kinds: Iterable[Kind] | None = None) -> list[tuple[Version, Decision]]:
    """Register (and gate) the current file of every kind that has a `source`, when it changed."""
    out = []
    for k in kinds if kinds is not None else KINDS.values():
        files = k.source(settings) if k.source else None
        version = registry.register_files(k.name, files) if files else None
        if version is not None:
            out.append((version, registry.gate_and_promote(version, tolerance)))
    return out
