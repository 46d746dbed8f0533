"""The feature store: engineered features of stored records, cached in the `feature_cache` table.

Rows are keyed by (feature set, version, sha256 of the input text): a question asked twice is
embedded once, a new encoder version starts a new set of rows (`drop_stale` removes the old ones),
and nothing in the table can be traced back to a person without the text it was computed from.
Concurrent writers are fine: a row another process inserted first is simply read back.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Sequence

import numpy as np
from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError

from netcopilot.store.db import Store
from netcopilot.store.models import FeatureRow

CHUNK = 500  # keys per IN (...) query


def key_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FeatureStore:
    def __init__(self, store: Store):
        self.store = store
        self.computed = 0  # inputs computed (not found in the store) by this object
        self.hits = 0

    def _read(self, name: str, version: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self.store.session() as s:
            for i in range(0, len(keys), CHUNK):
                query = select(FeatureRow.key, FeatureRow.blob).where(
                    FeatureRow.feature_set == name, FeatureRow.version == version, FeatureRow.key.in_(keys[i:i + CHUNK]))
                found.update({k: b for k, b in s.execute(query)})
        return found

    def _write(self, name: str, version: str, rows: dict[str, bytes]) -> None:
        if not rows:
            return
        values = [{"feature_set": name, "version": version, "key": k, "blob": b} for k, b in rows.items()]
        try:
            with self.store.engine.begin() as connection:
                connection.execute(FeatureRow.__table__.insert(), values)
        except IntegrityError:  # another process stored some of them first: store the rest one by one
            for value in values:
                try:
                    with self.store.engine.begin() as connection:
                        connection.execute(FeatureRow.__table__.insert(), [value])
                except IntegrityError:
                    pass

    def vectors(self, name: str, version: str, texts: Sequence[str],
                compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """float32 vectors of `texts`, in order: read from the store, the missing ones computed
        (once per distinct text) with `compute` and stored."""
        keys = [key_of(t) for t in texts]
        unique = list(dict.fromkeys(keys))
        found = self._read(name, version, unique)
        missing = [k for k in unique if k not in found]
        if missing:
            text_of = {k: t for k, t in zip(keys, texts)}
            fresh = np.asarray(compute([text_of[k] for k in missing]), dtype=np.float32)
            rows = {k: v.tobytes() for k, v in zip(missing, fresh)}
            self._write(name, version, rows)
            found.update(rows)
        self.computed += len(missing)
        self.hits += len(unique) - len(missing)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([np.frombuffer(found[k], dtype=np.float32) for k in keys])

    def question_vectors(self, encoder: Any, texts: Sequence[str]) -> np.ndarray:
        """`features.question_vectors`, through the store."""
        from netcopilot.pipeline.features import question_vectors

        return self.vectors("question", encoder.version, texts, lambda missing: question_vectors(encoder, missing))

    def stats(self) -> list[dict[str, Any]]:
        """Rows per (feature set, version), with the newest row's time."""
        query = (select(FeatureRow.feature_set, FeatureRow.version, func.count(), func.max(FeatureRow.created_at))
                 .group_by(FeatureRow.feature_set, FeatureRow.version).order_by(FeatureRow.feature_set, FeatureRow.version))
        with self.store.session() as s:
            return [{"feature_set": n, "version": v, "rows": c, "newest": t.isoformat(timespec="seconds") if t else None}
                    for n, v, c, t in s.execute(query)]

    def drop_stale(self, current: dict[str, str]) -> int:
        """Delete rows of a set whose version is not `current[set]` (e.g. after a new encoder)."""
        with self.store.session() as s, s.begin():
            n = 0
            for name, version in current.items():
                n += s.execute(delete(FeatureRow).where(and_(FeatureRow.feature_set == name,
                                                               FeatureRow.version != version))).rowcount or 0
            return n
