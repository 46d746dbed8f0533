"""Lexical nearest neighbours: TF-IDF n-gram similarity between a question and the labelled
requests, the lexical twin of the sentence-embedding vote (error strings and tool names carry
much of the signal). Built at training time and saved as plain arrays; scoring needs only numpy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from netcopilot.nlu.intents import NgramFeaturizer


def texts_fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


class LexicalIndex:
    """Rows are requests; columns are n-grams, stored column-major (indptr, indices, data) so a
    question's few hundred n-grams gather their postings directly."""

    def __init__(self, featurizer: NgramFeaturizer, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                 n_rows: int, fingerprint: str):
        self.featurizer = featurizer
        self.indptr, self.indices, self.data = indptr, indices, data
        self.n_rows = n_rows
        self.fingerprint = fingerprint

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        featurizer = NgramFeaturizer(min_df=1).fit(list(texts))
        matrix = featurizer.transform(list(texts)).tocsc()
        matrix.sort_indices()
        return cls(featurizer, matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32),
                   matrix.data.astype(np.float32), len(texts), texts_fingerprint(texts))

    def similarities(self, text: str) -> np.ndarray:
        """Cosine-like similarity (0..1) of `text` with every request."""
        cols, vals = self.featurizer.row(text)
        if len(cols) == 0:
            return np.zeros(self.n_rows, dtype=np.float32)
        starts, ends = self.indptr[cols], self.indptr[cols + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n_rows, dtype=np.float32)
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) + np.arange(total)
        weights = self.data[offsets] * np.repeat(vals, lengths)
        # Each text's features are two L2-normalised blocks (characters, words): halve to 0..1.
        return np.bincount(self.indices[offsets], weights=weights, minlength=self.n_rows).astype(np.float32) / 2.0

    def save(self, path: Path) -> None:
        vocab = sorted(self.featurizer.vocabulary_, key=self.featurizer.vocabulary_.get)
        np.savez(path, vocab=np.array(vocab), idf=self.featurizer.idf_, indptr=self.indptr, indices=self.indices,
                 data=self.data, meta=np.array(json.dumps({"n_rows": self.n_rows, "fingerprint": self.fingerprint})))

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex":
        arrays = np.load(path, allow_pickle=False)
        meta = json.loads(str(arrays["meta"]))
        featurizer = NgramFeaturizer(min_df=1)
        keys = [str(k) for k in arrays["vocab"]]
        featurizer.vocabulary_ = {k: i for i, k in enumerate(keys)}
        featurizer.idf_ = arrays["idf"]
        featurizer.block_ = np.array([k[0] == "c" for k in keys])
        return cls(featurizer, arrays["indptr"], arrays["indices"], arrays["data"], meta["n_rows"], meta["fingerprint"])
