"""Intent classification: three complementary members and their calibrated ensemble.

- `TextcatMember`: spaCy's `textcat` (bag of word n-grams) trained here, inside the NLU pipeline.
- `EmbeddingMember`: logistic regression over all-MiniLM-L6-v2 sentence embeddings (meaning).
- `NgramMember`: logistic regression over character and word TF-IDF n-grams (robust to typos).

`IntentEnsemble` combines their probabilities log-linearly with weights and a temperature fitted
on a calibration split (minimum log-loss), so the confidence it reports is calibrated: among
answers given with confidence 0.8, about 80% are right (`benchmarks/bench_nlu.py` prints the ECE).

Each member follows the scikit-learn estimator contract (`fit`, `predict_proba`, learned state
ending in `_`) and saves to plain arrays and JSON, never pickle.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

EPS = 1e-9


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _linear_proba(X: Any, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    return softmax(np.asarray(X @ coef.T) + intercept)


class EstimatorContract:
    """scikit-learn's estimator conventions without importing scikit-learn at run time:
    hyper-parameters are the __init__ keywords, stored unchanged; `fit` returns self; learned
    state ends in `_`."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params: Any) -> "EstimatorContract":
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; valid: {sorted(valid)}")
            setattr(self, name, value)
        return self


class _LinearMember(EstimatorContract):
    """Shared parts of the two logistic-regression members."""

    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray

    def _fit_linear(self, X: Any, y: Sequence[str], C: float, seed: int) -> None:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, max_iter=5000, random_state=seed).fit(X, list(y))
        self.classes_ = model.classes_.astype(str)
        self.coef_ = model.coef_.astype(np.float32)
        self.intercept_ = model.intercept_.astype(np.float32)

    def _save_linear(self, path: Path, **extra: Any) -> None:
        np.savez(path, classes=self.classes_, coef=self.coef_, intercept=self.intercept_, **extra)

    def _load_linear(self, data: Any) -> None:
        self.classes_ = data["classes"].astype(str)
        self.coef_ = data["coef"]
        self.intercept_ = data["intercept"]


class EmbeddingMember(_LinearMember):
    name = "minilm"

    def __init__(self, C: float = 8.0, random_state: int = 42):
        self.C = C
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Sequence[str]) -> "EmbeddingMember":
        self._fit_linear(X, y, self.C, self.random_state)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return _linear_proba(np.atleast_2d(X), self.coef_, self.intercept_)

    def save(self, path: Path) -> None:
        self._save_linear(path)

    @classmethod
    def load(cls, path: Path) -> "EmbeddingMember":
        member = cls()
        member._load_linear(np.load(path, allow_pickle=False))
        return member


_WORD = re.compile(r"\b\w[\w.:/-]*\b")


class NgramFeaturizer:
    """TF-IDF over character n-grams (2-5, within word boundaries, from lowercased words) and word
    uni/bigrams, each block L2-normalised, with sublinear term frequency and smoothed idf.

    Written here rather than taken from scikit-learn so the run-time path needs only numpy
    (importing scikit-learn costs more than a second at start-up)."""

    def __init__(self, char_range: tuple[int, int] = (2, 5), min_df: int = 2):
        self.char_range = char_range
        self.min_df = min_df

    def grams(self, text: str) -> tuple[list[str], list[str]]:
        low = text.lower()
        chars: list[str] = []
        lo, hi = self.char_range
        for word in low.split():
            padded = f" {word} "
            for n in range(lo, hi + 1):
                if len(padded) < n:
                    break
                chars.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
        words = _WORD.findall(low)
        return chars, words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def fit(self, texts: Sequence[str]) -> "NgramFeaturizer":
        df: dict[str, int] = {}
        for text in texts:
            chars, words = self.grams(text)
            for key in {"c" + g for g in chars} | {"w" + g for g in words}:
                df[key] = df.get(key, 0) + 1
        keep = sorted(k for k, n in df.items() if n >= (self.min_df if k[0] == "c" else 1))
        self.vocabulary_ = {k: i for i, k in enumerate(keep)}
        n_docs = len(texts)
        self.idf_ = np.array([np.log((1 + n_docs) / (1 + df[k])) + 1.0 for k in keep], dtype=np.float32)
        self.block_ = np.array([k[0] == "c" for k in keep])
        return self

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and values of one text's feature vector."""
        chars, words = self.grams(text)
        counts: dict[int, int] = {}
        for key in ["c" + g for g in chars] + ["w" + g for g in words]:
            col = self.vocabulary_.get(key)
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf_[cols]
        for block in (True, False):
            mask = self.block_[cols] == block
            norm = float(np.linalg.norm(vals[mask]))
            if norm > 0:
                vals[mask] /= norm
        return cols, vals

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix

        indptr, indices, data = [0], [], []
        for text in texts:
            cols, vals = self.row(text)
            indices.append(cols)
            data.append(vals)
            indptr.append(indptr[-1] + len(cols))
        return csr_matrix(
            (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [], indptr),
            shape=(len(texts), len(self.vocabulary_)),
        )


class NgramMember(_LinearMember):
    """Logistic regression over `NgramFeaturizer` features: robust to typos and odd spellings."""

    name = "ngram"

    def __init__(self, C: float = 20.0, random_state: int = 42):
        self.C = C
        self.random_state = random_state

    def fit(self, X: Sequence[str], y: Sequence[str]) -> "NgramMember":
        self.featurizer_ = NgramFeaturizer().fit(X)
        self._fit_linear(self.featurizer_.transform(X), y, self.C, self.random_state)
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        logits = np.zeros((len(X), len(self.classes_)), dtype=np.float32)
        for i, text in enumerate(X):
            cols, vals = self.featurizer_.row(text)
            logits[i] = self.coef_[:, cols] @ vals
        return softmax(logits + self.intercept_)

    def save(self, path: Path) -> None:
        keys = sorted(self.featurizer_.vocabulary_, key=self.featurizer_.vocabulary_.get)
        self._save_linear(path, vocab=np.array(keys), idf=self.featurizer_.idf_)

    @classmethod
    def load(cls, path: Path) -> "NgramMember":
        data = np.load(path, allow_pickle=False)
        member = cls()
        member._load_linear(data)
        featurizer = NgramFeaturizer()
        keys = [str(k) for k in data["vocab"]]
        featurizer.vocabulary_ = {k: i for i, k in enumerate(keys)}
        featurizer.idf_ = data["idf"]
        featurizer.block_ = np.array([k[0] == "c" for k in keys])
        member.featurizer_ = featurizer
        return member


class TextcatMember(EstimatorContract):
    """spaCy's exclusive `textcat` over word uni- and bigrams of token norms (lowercase, with
    placeholders such as <ip> for entities), trained in our NLU pipeline."""

    name = "spacy"
    ARCHITECTURE = {
        "@architectures": "netcopilot.TextCatBOWNorm.v1",
        "exclusive_classes": True,
        "ngram_size": 2,
        "length": 65536,
    }

    def __init__(self, epochs: int = 12, batch_size: int = 32, dropout: float = 0.2, random_state: int = 42):
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.random_state = random_state

    def fit(self, X: Sequence[str], y: Sequence[str], progress: Callable[[int, int], None] | None = None) -> "TextcatMember":
        from netcopilot.nlu.pipeline import blank_pipeline, import_spacy

        spacy = import_spacy()
        from spacy.training import Example
        from spacy.util import fix_random_seed, minibatch

        fix_random_seed(self.random_state)
        rng = random.Random(self.random_state)
        labels = sorted(set(y))
        nlp = blank_pipeline()
        textcat = nlp.add_pipe("textcat", config={"model": self.ARCHITECTURE})
        for label in labels:
            textcat.add_label(label)
        examples = [
            Example.from_dict(nlp.make_doc(text), {"cats": {label: float(label == gold) for label in labels}})
            for text, gold in zip(X, y)
        ]
        optimizer = nlp.initialize(lambda: examples)
        for epoch in range(self.epochs):
            rng.shuffle(examples)
            for batch in minibatch(examples, self.batch_size):
                nlp.update(batch, sgd=optimizer, drop=self.dropout)
            if progress:
                progress(epoch + 1, self.epochs)
        del spacy
        self.nlp_ = nlp
        self.classes_ = np.array(labels)
        return self

    def proba_of_doc(self, doc: Any) -> np.ndarray:
        cats = doc.cats
        return np.array([cats.get(label, 0.0) for label in self.classes_], dtype=np.float32)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return np.stack([self.proba_of_doc(doc) for doc in self.nlp_.pipe(X)])

    def save(self, path: Path) -> None:
        self.nlp_.to_disk(path)

    @classmethod
    def load(cls, path: Path) -> "TextcatMember":
        from netcopilot.nlu.pipeline import load_pipeline

        member = cls()
        member.nlp_ = load_pipeline(path)
        member.classes_ = np.array(sorted(member.nlp_.get_pipe("textcat").labels))
        return member


@dataclass
class IntentEnsemble:
    """p(intent) ∝ exp(Σ_m w_m · log p_m(intent) / T)."""

    classes: list[str]
    weights: dict[str, float] = field(default_factory=dict)
    temperature: float = 1.0

    def combine(self, probas: dict[str, np.ndarray]) -> np.ndarray:
        logits = sum(self.weights[name] * np.log(np.clip(p, EPS, 1.0)) for name, p in probas.items() if name in self.weights)
        return softmax(np.atleast_2d(logits) / self.temperature)

    def fit(self, probas: dict[str, np.ndarray], y: Sequence[str]) -> "IntentEnsemble":
        """Grid-search member weights (summing to 1) and temperature for minimum log-loss."""
        names = sorted(probas)
        index = {c: i for i, c in enumerate(self.classes)}
        gold = np.array([index[label] for label in y])
        logs = {n: np.log(np.clip(probas[n], EPS, 1.0)) for n in names}
        grid = np.round(np.arange(0.0, 1.0001, 0.1), 2)
        best = (np.inf, None, 1.0)
        temperatures = np.exp(np.linspace(np.log(0.05), np.log(5.0), 60))
        for combo in _simplex(len(names), grid):
            logits = sum(w * logs[n] for w, n in zip(combo, names))
            for t in temperatures:
                p = softmax(logits / t)
                nll = -np.mean(np.log(np.clip(p[np.arange(len(gold)), gold], EPS, 1.0)))
                if nll < best[0]:
                    best = (nll, combo, float(t))
        _, combo, self.temperature = best
        self.weights = {n: float(w) for n, w in zip(names, combo)}
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"classes": self.classes, "weights": self.weights, "temperature": self.temperature}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "IntentEnsemble":
        return cls(list(data["classes"]), dict(data["weights"]), float(data["temperature"]))


def _simplex(n: int, grid: np.ndarray) -> list[tuple[float, ...]]:
    """All n-tuples of grid values summing to 1."""
    return [combo for combo in itertools.product(*[grid.tolist()] * n) if abs(sum(combo) - 1.0) < 1e-6]


def expected_calibration_error(proba: np.ndarray, gold: Sequence[int], bins: int = 10) -> float:
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(gold)
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


class IntentClassifier:
    """The three members and their ensemble, as used at run time and by the benchmarks."""

    def __init__(self, textcat: TextcatMember, minilm: EmbeddingMember, ngram: NgramMember, ensemble: IntentEnsemble):
        self.textcat, self.minilm, self.ngram, self.ensemble = textcat, minilm, ngram, ensemble
        self.classes = list(ensemble.classes)
        for member in (textcat, minilm, ngram):
            if list(member.classes_) != self.classes:
                raise ValueError(f"intent member {member.name} has classes {list(member.classes_)}, expected {self.classes}")

    @property
    def nlp(self) -> "Language":
        return self.textcat.nlp_

    def member_probas(self, texts: Sequence[str], vectors: np.ndarray, docs: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        if docs is None:
            spacy_p = self.textcat.predict_proba(texts)
        else:
            spacy_p = np.stack([self.textcat.proba_of_doc(doc) for doc in docs])
        return {
            TextcatMember.name: spacy_p,
            EmbeddingMember.name: self.minilm.predict_proba(vectors),
            NgramMember.name: self.ngram.predict_proba(texts),
        }

    def predict_proba(self, texts: Sequence[str], vectors: np.ndarray, docs: Sequence[Any] | None = None) -> np.ndarray:
        return self.ensemble.combine(self.member_probas(texts, vectors, docs))

    def save(self, bundle: Path) -> None:
        self.textcat.save(bundle / "nlu")
        self.minilm.save(bundle / "minilm_intent.npz")
        self.ngram.save(bundle / "ngram_intent.npz")
        (bundle / "ensemble.json").write_text(json.dumps(self.ensemble.to_dict(), indent=2))

    @classmethod
    def load(cls, bundle: Path) -> "IntentClassifier":
        ensemble = IntentEnsemble.from_dict(json.loads((bundle / "ensemble.json").read_text()))
        return cls(
            TextcatMember.load(bundle / "nlu"),
            EmbeddingMember.load(bundle / "minilm_intent.npz"),
            NgramMember.load(bundle / "ngram_intent.npz"),
            ensemble,
        )
