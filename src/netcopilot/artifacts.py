"""Where trained models live and how they are checked when loaded.

    <models_dir>/
      encoder/            MiniLM exported to ONNX (shared by all versions; encoder.json has hashes)
      <version>/          one directory per `netcopilot train` run
        manifest.json     version, date, data fingerprints, metrics, library versions, file hashes
        MODEL_CARD.md     the same, for people
        nlu/              spaCy pipeline (tokenizer, entity rules, textcat)
        minilm_intent.npz, ngram_intent.npz, ensemble.json, ranker.json, vectors.npz
      CURRENT             the version in use

Loading refuses a version whose files do not match their recorded hashes, or which was built
with different major.minor versions of the libraries that read it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version as package_version
from pathlib import Path
from typing import Any

from netcopilot.errors import ModelMismatchError, ModelsMissingError

CHECKED_LIBRARIES = ("spacy", "scikit-learn", "numpy", "onnxruntime", "faiss-cpu")


def library_versions() -> dict[str, str]:
    out = {}
    for name in CHECKED_LIBRARIES:
        try:
            out[name] = package_version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


def sha256_tree(path: Path) -> dict[str, str]:
    """sha256 of every file under `path` (or of the file itself), by relative path."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    out = {}
    for file in files:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        out[str(file.relative_to(path.parent if path.is_file() else path))] = digest
    return out


def new_version(fingerprint: str) -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + fingerprint[:8]


def encoder_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "encoder"


def current_version(models_dir: Path) -> str | None:
    marker = Path(models_dir) / "CURRENT"
    if not marker.exists():
        return None
    version = marker.read_text().strip()
    return version or None


def current_dir(models_dir: Path) -> Path:
    version = current_version(models_dir)
    if version is None or not (Path(models_dir) / version / "manifest.json").exists():
        raise ModelsMissingError(
            f"no trained models in {models_dir}: run `netcopilot train` (or `make chat`, which does it once)"
        )
    return Path(models_dir) / version


def set_current(models_dir: Path, version: str) -> None:
    tmp = Path(models_dir) / "CURRENT.tmp"
    tmp.write_text(version + "\n")
    os.replace(tmp, Path(models_dir) / "CURRENT")


def write_manifest(bundle: Path, manifest: dict[str, Any]) -> None:
    files: dict[str, str] = {}
    for item in sorted(bundle.iterdir()):
        if item.name in ("manifest.json", "MODEL_CARD.md"):
            continue
        for rel, digest in sha256_tree(item).items():
            files[str(Path(item.name) / rel) if item.is_dir() else rel] = digest
    manifest = {**manifest, "libraries": library_versions(), "files": files}
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def read_manifest(bundle: Path, verify: bool = True) -> dict[str, Any]:
    path = Path(bundle) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelMismatchError(f"{path}: unreadable manifest ({exc}); run `netcopilot train`") from None
    if not verify:
        return manifest
    installed = library_versions()
    for name, built in manifest.get("libraries", {}).items():
        if name in installed and _minor(built) != _minor(installed[name]):
            raise ModelMismatchError(
                f"models in {bundle} were built with {name} {built} but {installed[name]} is installed; "
                "run `netcopilot train` to rebuild them"
            )
    for rel, digest in manifest.get("files", {}).items():
        file = Path(bundle) / rel
        if not file.exists():
            raise ModelMismatchError(f"{file}: listed in the manifest but missing; run `netcopilot train`")
        if hashlib.sha256(file.read_bytes()).hexdigest() != digest:
            raise ModelMismatchError(f"{file}: contents changed since training (hash mismatch); run `netcopilot train`")
    return manifest
