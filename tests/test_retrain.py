"""Continuous learning without the training run: which feedback becomes training data, and where
it goes (the end-to-end run with training is tests/test_lifecycle.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netcopilot.embeddings import DIM, VectorCache
from netcopilot.nlu.data import load_definitions, load_intents, read_lines
from netcopilot.retrain import collect, fold_in, learned_dir, merged_intents
from netcopilot.settings import Settings
from netcopilot.store.db import Store

REPO = Path(__file__).resolve().parents[1]


def _answer(store: Store, user: str, question: str, intent: str, confidence: float = 0.9, clarify: bool = False) -> int:
    uid = store.user(user).id
    conv = store.conversation(uid, "cli")
    payload = {"intent": {"name": intent, "confidence": confidence}, "clarify": "which one?" if clarify else None,
               "entities": [], "commands": [], "model_versions": {"models": "v1"}}
    return store.record_exchange(conv.id, question, payload, "reply", 1.0)


def test_corrections_and_confirmed_answers_become_phrasings(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    known = set(load_definitions(REPO / "intents"))
    uid = store.user("cli:a").id
    a1 = _answer(store, "cli:a", "the vpn tunnel to the branch keeps flapping", "latency")
    store.add_feedback(a1, uid, "correction", -0.5, source="vpn")
    a2 = _answer(store, "cli:a", "dig for the mx record of corp example returns nothing", "dns")
    store.add_feedback(a2, uid, "good", 1.0)
    a3 = _answer(store, "cli:a", "unsure question", "dns", confidence=0.3)
    store.add_feedback(a3, uid, "good", 1.0)  # too unsure to be a label
    a4 = _answer(store, "cli:a", "asked back", "dns", clarify=True)
    store.add_feedback(a4, uid, "good", 1.0)  # a clarifying question is not an answer
    a5 = _answer(store, "cli:a", "bad one", "dns")
    store.add_feedback(a5, uid, "bad", -1.0)
    store.add_feedback(a1, uid, "correction", -0.5, source="no_such_intent")  # ignored: not an intent
    examples = {e.text: (e.intent, e.origin) for e in collect(store, known)}
    assert set(examples) == {"the vpn tunnel to the branch keeps flapping", "dig for the mx record of corp example returns nothing"}
    assert examples["dig for the mx record of corp example returns nothing"] == ("dns", "confirmed")
    assert examples["the vpn tunnel to the branch keeps flapping"][1] == "correction"
    store.close()


def test_fold_in_keeps_held_out_clean_and_never_adds_twice(tmp_path: Path) -> None:
    from netcopilot.retrain import Example

    settings = Settings.load(environ={}, home=tmp_path)
    held_out_text = read_lines(next((REPO / "intents" / "test").glob("*.txt")))[0][1]
    examples = [Example("my new phrasing about dns lookups failing on the lab box", "dns", "confirmed"),
                Example(held_out_text, "dns", "confirmed")]
    assert fold_in(settings, examples) == 1
    assert fold_in(settings, examples) == 0
    assert (learned_dir(settings) / "dns.txt").read_text().count("lab box") == 1
    merged = merged_intents(settings, tmp_path / "merged")
    data = load_intents(merged)  # the loader's own leak check passes
    assert ("my new phrasing about dns lookups failing on the lab box", "dns") in data.train
    assert len(data.test) == len(load_intents(REPO / "intents").test)


class CountingEncoder:
    """Stands in for the ONNX encoder: a vector per text, and a record of what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.asked += texts
        return np.array([np.full(DIM, len(t), dtype=np.float32) for t in texts])


def test_a_retrain_reuses_production_vectors_only_from_the_same_encoder(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    production = VectorCache(encoder="onnx-a")
    production.vectors(encoder, ["ping the gateway", "dig for mx records"])
    production.save(tmp_path / "vectors.npz")
    saved = VectorCache.load(tmp_path / "vectors.npz")
    assert saved.encoder == "onnx-a"

    encoder.asked.clear()
    retrain = VectorCache(encoder="onnx-a")
    assert retrain.reuse(saved)
    vectors = retrain.vectors(encoder, ["dig for mx records", "a new phrasing"])
    assert encoder.asked == ["a new phrasing"] and retrain.misses == 1
    assert np.array_equal(vectors[0], production.vectors(encoder, ["dig for mx records"])[0])
    retrain.save(tmp_path / "retrain.npz")  # only what this run asked for, as a cache built from scratch
    assert len(np.load(tmp_path / "retrain.npz")["keys"]) == 2

    encoder.asked.clear()
    other = VectorCache(encoder="onnx-b")  # re-exported encoder: its vectors may differ, encode again
    assert not other.reuse(saved)
    other.vectors(encoder, ["dig for mx records"])
    assert encoder.asked == ["dig for mx records"]
