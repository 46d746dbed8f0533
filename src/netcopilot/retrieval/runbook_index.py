"""Search over runbooks (passages from the knowledge base) and solved past sessions."""

from __future__ import annotations

from typing import Callable

import numpy as np

from netcopilot.retrieval.index import Hit, PassageIndex
from netcopilot.retrieval.runbooks import Runbook


def build_runbook_index(runbooks: list[Runbook], embed: Callable[[list[str]], np.ndarray]) -> PassageIndex:
    ids: list[str] = []
    passages: list[str] = []
    for book in runbooks:
        for passage in book.passages():
            ids.append(book.id)
            passages.append(passage)
    index = PassageIndex()
    index.add(ids, passages, embed(passages))
    return index


class SessionIndex:
    """Solved conversations, recalled by the question that opened them."""

    def __init__(self) -> None:
        self.index = PassageIndex()
        self.known: set[int] = set()

    def add(self, conversation_id: int, text: str, vector: np.ndarray) -> None:
        if conversation_id in self.known:
            return
        self.known.add(conversation_id)
        self.index.add([str(conversation_id)], [text], vector.reshape(1, -1))

    def search(self, vector: np.ndarray, k: int) -> list[Hit]:
        return self.index.search(vector, k)

    def __len__(self) -> int:
        return len(self.known)
