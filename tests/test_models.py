"""Trained artefacts: manifest, model card, integrity checks, the estimator contract, and the
ONNX encoder against the real sentence-transformers model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from netcopilot import artifacts
from netcopilot.core.assistant import Assistant
from netcopilot.errors import ModelMismatchError
from netcopilot.nlu.intents import EmbeddingMember, NgramMember, TextcatMember
from tests.conftest import make_settings


def test_manifest_and_model_card(models_dir: Path) -> None:
    bundle = artifacts.current_dir(models_dir)
    manifest = artifacts.read_manifest(bundle)
    ens = manifest["metrics"]["intent"]["ensemble"]
    assert 0.0 <= ens["accuracy"] <= 1.0 and ens["n"] > 0
    assert set(manifest["ensemble"]["weights"]) == {"spacy", "minilm", "ngram"}
    assert manifest["libraries"]["spacy"] and manifest["files"]
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "Held-out intent metrics" in card and manifest["created"] in card


def copy_models(models_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(models_dir, target)
    return target


def test_tampered_model_file_is_refused(models_dir: Path, tmp_path: Path) -> None:
    target = copy_models(models_dir, tmp_path)
    bundle = artifacts.current_dir(target)
    (bundle / "ensemble.json").write_text(json.dumps({"classes": [], "weights": {}, "temperature": 1}))
    with pytest.raises(ModelMismatchError, match="ensemble.json: contents changed since training"):
        Assistant.load(make_settings(tmp_path, target))


def test_library_version_mismatch_is_refused(models_dir: Path, tmp_path: Path) -> None:
    target = copy_models(models_dir, tmp_path)
    bundle = artifacts.current_dir(target)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["libraries"]["spacy"] = "2.0.0"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelMismatchError, match="built with spacy 2.0.0"):
        Assistant.load(make_settings(tmp_path, target))


TEXTS = ["ping the gateway", "dns lookup fails", "is port 22 open", "resolve example.com", "ping 10.0.0.1", "open port 80?"]
LABELS = ["connectivity", "dns", "port_check", "dns", "connectivity", "port_check"]


@pytest.mark.parametrize("make", [lambda: TextcatMember(epochs=2), lambda: NgramMember(), lambda: EmbeddingMember()])
def test_estimator_contract(make, tmp_path: Path) -> None:
    member = make()
    params = member.get_params()
    assert params and all(getattr(member, k) == v for k, v in params.items())
    X = np.random.default_rng(0).normal(size=(len(TEXTS), 8)).astype(np.float32) if isinstance(member, EmbeddingMember) else TEXTS
    assert member.fit(X, LABELS) is member
    assert any(name.endswith("_") and not name.startswith("_") for name in vars(member))
    proba = member.predict_proba(X)
    assert proba.shape == (len(TEXTS), 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    path = tmp_path / ("nlu" if isinstance(member, TextcatMember) else "m.npz")
    member.save(path)
    again = type(member).load(path)
    assert np.allclose(again.predict_proba(X), proba, atol=1e-5)
    with pytest.raises(ValueError, match="has no parameter"):
        member.set_params(nonsense=1)


@pytest.mark.slow
def test_onnx_encoder_matches_sentence_transformers(shared_assistant) -> None:
    from netcopilot.embeddings import source_model_dir
    from sentence_transformers import SentenceTransformer

    texts = ["why can't I reach 10.0.0.5 on port 443?", "hi", "dns " * 300, ""]
    reference = SentenceTransformer(str(source_model_dir()), device="cpu").encode(texts, normalize_embeddings=True)
    ours = shared_assistant.encoder.encode(texts)
    assert (ours * reference).sum(axis=1).min() > 0.9999
