from __future__ import annotations

from pathlib import Path

import numpy as np

from netcopilot.recommend.lexical import LexicalIndex, texts_fingerprint

TEXTS = ["ping to 10.0.0.1 shows 300ms", "dig returns SERVFAIL for corp.example", "curl: (7) Failed to connect",
         "ssh: connect to host web01 port 22: Connection refused", "is 443 open on web01", ""]


def test_similarities_equal_the_sparse_product(tmp_path: Path) -> None:
    index = LexicalIndex.build(TEXTS)
    matrix = index.featurizer.transform(TEXTS)
    for query in TEXTS + ["ssh refused on web02", "zzz qqq"]:
        cols, vals = index.featurizer.row(query)
        expected = np.asarray(matrix[:, cols] @ vals).ravel() / 2 if len(cols) else np.zeros(len(TEXTS))
        assert np.allclose(index.similarities(query), expected, atol=1e-5)
    assert index.similarities(TEXTS[1])[1] > 0.999
    index.save(tmp_path / "lex.npz")
    again = LexicalIndex.load(tmp_path / "lex.npz")
    assert again.fingerprint == texts_fingerprint(TEXTS)
    assert np.allclose(again.similarities(TEXTS[3]), index.similarities(TEXTS[3]))
