"""A FAISS inner-product index over passages, answering with the best passage per document.

Vectors are L2-normalised, so inner product is cosine similarity. At a team's scale (thousands of
passages) a flat index is exact and answers in well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float
    passage: str


class PassageIndex:
    def __init__(self, dim: int = 384):
        import faiss

        self._faiss = faiss
        self.index = faiss.IndexFlatIP(dim)
        self.doc_ids: list[str] = []
        self.passages: list[str] = []

    def __len__(self) -> int:
        return len(self.doc_ids)

    def add(self, doc_ids: Sequence[str], passages: Sequence[str], vectors: np.ndarray) -> None:
        if len(vectors) == 0:
            return
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.doc_ids.extend(doc_ids)
        self.passages.extend(passages)

    def search(self, vector: np.ndarray, k: int = 3, fetch: int = 64) -> list[Hit]:
        if not self.doc_ids:
            return []
        scores, rows = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), min(fetch, len(self.doc_ids)))
        best: dict[str, Hit] = {}
        for score, row in zip(scores[0], rows[0]):
            if row < 0:
                continue
            doc = self.doc_ids[row]
            if doc not in best:
                best[doc] = Hit(doc, float(score), self.passages[row])
        return sorted(best.values(), key=lambda h: -h.score)[:k]

    def save(self, path: Path) -> None:
        self._faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, doc_ids: list[str], passages: list[str]) -> "PassageIndex":
        import faiss

        index = cls()
        index.index = faiss.read_index(str(path))
        if index.index.ntotal != len(doc_ids):
            raise ValueError(f"{path}: {index.index.ntotal} vectors but {len(doc_ids)} passages")
        index.doc_ids, index.passages = list(doc_ids), list(passages)
        return index
