"""The supervised threat model: which NSL-KDD category (normal, dos, probe, r2l, u2r) a connection
record belongs to, how likely it is to be an attack, and which features drove that.

Three parts, all trained by scikit-learn and then exported to plain numpy arrays:

- a random forest and a histogram gradient-boosting classifier over the 5 categories, soft-voted
  (`rf_weight` : 1 - `rf_weight`);
- a novelty term for attacks of types never seen in training: the distance of a record to the
  nearest of `prototypes` normal-traffic prototypes (k-means centroids of *normal* records only,
  in the feature space standardised by normal traffic and clipped at +-`novelty_clip`),
  calibrated on held-out normal records so that the term reaches 0.5 at the (1 - `novelty_rate`)
  quantile of normal traffic (1 % of normal records by default). It is combined with the
  classifier as a noisy-OR: ``attack score = 1 - P(normal) * (1 - novelty)``.

Features: the 38 numeric fields (log1p of counts and byte totals, missing values -> median of
normal training records), one-hot protocol and flag (plus an "unseen" bucket), one-hot of the
common services plus a bucket for rare and unseen ones, how frequent the service is in normal
traffic and in all traffic, and duration/bytes/counts relative to normal traffic of the same
service (`CONTEXT_COLUMNS`).

Design choices were made with the leave-attack-types-out protocol (`leave_types_out`), never with
KDDTest+: the per-service context features, prototypes instead of an isolation forest and the
clipping each raised the share of held-out attack types flagged at the same ~1 % false-alarm rate.

After `fit` the scikit-learn objects are dropped: every tree (forest, boosting) lives as arrays
(feature, threshold, child, leaf value) in one `_Forest` per part and is evaluated by a vectorised
numpy traversal (all trees of a part at once, rows in chunks); the prototypes are a small matrix.
`save` writes those arrays to ``threat_model.npz`` and the encoding/calibration to
``threat_model.json``; `load` needs neither pickle nor scikit-learn, and a loaded model scores
exactly like the fitted one.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from netcopilot.errors import DataFormatError, NetcopilotError
from netcopilot.nlu.intents import EstimatorContract
from netcopilot.threats.nslkdd import CATEGORIES, COLUMNS, NUMERIC, category_of, read_records, to_frame

FORMAT_VERSION = 1
NPZ_NAME = "threat_model.npz"
JSON_NAME = "threat_model.json"
CARD_NAME = "MODEL_CARD.md"

# heavy-tailed counts and byte totals: log1p makes them usable by the novelty detector and the
# deviation text in `explain` (trees do not care about monotone transforms)
LOG_COLUMNS = (
    "duration", "src_bytes", "dst_bytes", "wrong_fragment", "urgent", "hot", "num_failed_logins",
    "num_compromised", "num_root", "num_file_creations", "num_shells", "num_access_files",
    "count", "srv_count", "dst_host_count", "dst_host_srv_count",
)

# fields also expressed relative to normal traffic of the same service: (log1p(x) - median) / spread
# among normal records of that service (services with fewer than CONTEXT_MIN_NORMAL normal records,
# and unseen ones, use all normal records). A 1 kB ICMP echo reply or a 54 kB HTTP request is
# unremarkable globally but far outside what that service normally carries.
CONTEXT_COLUMNS = ("duration", "src_bytes", "dst_bytes", "count", "srv_count")
CONTEXT_MIN_NORMAL = 20
CONTEXT_MIN_SPREAD = 0.5

# Leave-attack-types-out splits (train without these types at all, then see whether their records
# are still flagged). Together they cover every category; the dominant types (neptune, and normal)
# are never held out, the rest are spread so each split keeps some examples of every category.
LEAVE_OUT_SPLITS: dict[str, tuple[str, ...]] = {
    "A": ("satan", "teardrop", "warezclient", "loadmodule"),
    "B": ("ipsweep", "back", "guess_passwd", "buffer_overflow"),
    "C": ("portsweep", "smurf", "warezmaster", "imap", "rootkit"),
    "D": ("nmap", "pod", "land", "ftp_write", "multihop", "phf", "perl", "spy"),
}


def default_model_dir() -> Path:
    """Where the model shipped with the package lives."""
    return Path(__file__).resolve().parent / "default_model"


# --------------------------------------------------------------------------------------------
# feature encoding


class _Encoder:
    """Raw 41-column frame -> float32 matrix. Fitted vocabularies and medians only; no sklearn."""

    def __init__(self, min_service_count: int = 300):
        self.min_service_count = min_service_count

    def fit(self, X: pd.DataFrame, categories: Sequence[str]) -> "_Encoder":
        X = to_frame(X)
        normal = np.asarray(categories) == "normal"
        numeric = X[list(NUMERIC)].to_numpy(np.float64)
        medians = np.nanmedian(np.where(normal[:, None], numeric, np.nan), axis=0) if normal.any() else None
        if medians is None or np.isnan(medians).any():
            medians = np.nan_to_num(np.nanmedian(numeric, axis=0))
        self.medians_ = [float(v) for v in medians]
        service = self._clean(X["service"])
        counts = service.value_counts()
        self.protocols_ = sorted(v for v in self._clean(X["protocol_type"]).unique() if v)
        self.flags_ = sorted(v for v in self._clean(X["flag"]).unique() if v)
        self.services_ = sorted(s for s, n in counts.items() if s and n >= self.min_service_count)
        self.all_services_ = sorted(s for s in counts.index if s)
        normal_counts = service[normal].value_counts()
        n_all, n_normal = len(service), int(normal.sum())
        self.service_freq_ = [math.log((counts.get(s, 0) + 1) / (n_all + 1)) for s in self.all_services_] + [
            math.log(1 / (n_all + 1))]
        self.service_normal_freq_ = [math.log((normal_counts.get(s, 0) + 1) / (n_normal + 1))
                                     for s in self.all_services_] + [math.log(1 / (n_normal + 1))]
        # per-service normal profile of the CONTEXT_COLUMNS (log1p scale): median and spread
        logs = np.log1p(np.maximum(np.nan_to_num(X[list(CONTEXT_COLUMNS)].to_numpy(np.float64)), 0.0))

        def profile(rows: np.ndarray) -> list[list[float]]:
            q25, q50, q75 = np.quantile(rows, [0.25, 0.5, 0.75], axis=0)
            return [[float(m), float(max((hi - lo) / 1.349, CONTEXT_MIN_SPREAD))] for m, lo, hi in zip(q50, q25, q75)]

        normal_logs = logs[normal] if normal.any() else logs
        fallback = profile(normal_logs)
        normal_service = service[normal].to_numpy() if normal.any() else service.to_numpy()
        self.context_ = []
        for s in self.all_services_:
            rows = normal_logs[normal_service == s]
            self.context_.append(profile(rows) if len(rows) >= CONTEXT_MIN_NORMAL else fallback)
        self.context_.append(fallback)  # unseen services
        self._build_names()
        return self

    def _build_names(self) -> None:
        names: list[str] = []
        source: list[str] = []
        for c in NUMERIC:
            names.append(f"log1p({c})" if c in LOG_COLUMNS else c)
            source.append(c)
        for col, vocab in (("protocol_type", self.protocols_), ("flag", self.flags_), ("service", self.services_)):
            for v in vocab:
                names.append(f"{col}={v}")
                source.append(col)
            names.append(f"{col}=other" if col == "service" else f"{col}=unseen")
            source.append(col)
        names += ["service_freq", "service_normal_freq"]
        source += ["service", "service"]
        names += [f"{c}_vs_service" for c in CONTEXT_COLUMNS]
        source += list(CONTEXT_COLUMNS)
        self.names_, self.source_ = names, source
        self._log_mask = np.array([c in LOG_COLUMNS for c in NUMERIC])
        self._medians = np.asarray(self.medians_, dtype=np.float64)
        self._svc_freq = np.asarray(self.service_freq_, dtype=np.float32)
        self._svc_normal_freq = np.asarray(self.service_normal_freq_, dtype=np.float32)
        context = np.asarray(self.context_, dtype=np.float64)  # (services + 1, columns, [median, spread])
        self._ctx_median, self._ctx_spread = context[:, :, 0], context[:, :, 1]
        self._ctx_index = np.array([NUMERIC.index(c) for c in CONTEXT_COLUMNS])

    @staticmethod
    def _clean(values: pd.Series) -> pd.Series:
        return values.fillna("").astype(str).str.strip().str.lower()

    @staticmethod
    def _codes(values: pd.Series, vocab: list[str]) -> np.ndarray:
        return pd.Categorical(values.astype(object), categories=vocab).codes.astype(np.intp)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        X = to_frame(X)
        n = len(X)
        out = np.zeros((n, len(self.names_)), dtype=np.float32)
        numeric = np.empty((n, len(NUMERIC)), dtype=np.float64)
        for j, c in enumerate(NUMERIC):
            column = X[c]
            if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
                column = pd.to_numeric(column, errors="coerce")
            numeric[:, j] = column.to_numpy(np.float64, na_value=np.nan)
        numeric = np.where(np.isfinite(numeric), numeric, self._medians)
        logs = numeric[:, self._log_mask]
        numeric[:, self._log_mask] = np.log1p(np.maximum(logs, 0.0))
        k = len(NUMERIC)
        out[:, :k] = numeric
        rows = np.arange(n)
        for col, vocab in (("protocol_type", self.protocols_), ("flag", self.flags_), ("service", self.services_)):
            codes = self._codes(self._clean(X[col]), vocab)
            block = np.zeros((n, len(vocab) + 1), dtype=np.float32)
            block[rows, codes] = 1.0  # code -1 (unseen) lands in the last column
            out[:, k:k + len(vocab) + 1] = block
            k += len(vocab) + 1
        codes = self._codes(self._clean(X["service"]), self.all_services_)
        out[:, k] = self._svc_freq[codes]
        out[:, k + 1] = self._svc_normal_freq[codes]
        k += 2
        logs = numeric[:, self._ctx_index]  # already log1p (CONTEXT_COLUMNS are all in LOG_COLUMNS)
        out[:, k:k + len(CONTEXT_COLUMNS)] = (logs - self._ctx_median[codes]) / self._ctx_spread[codes]
        return out

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "min_service_count", "medians_", "protocols_", "flags_", "services_", "all_services_",
            "service_freq_", "service_normal_freq_", "context_")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "_Encoder":
        enc = cls(data["min_service_count"])
        for name, value in data.items():
            setattr(enc, name, value)
        enc._build_names()
        return enc


# --------------------------------------------------------------------------------------------
# exported trees


def _round_down_f32(threshold: np.ndarray) -> np.ndarray:
    """float32 thresholds that compare like the float64 ones on float32 inputs:
    ``x <= t64  <=>  x <= t32`` for every float32 x."""
    t32 = threshold.astype(np.float32)
    too_big = t32.astype(np.float64) > threshold
    t32[too_big] = np.nextafter(t32[too_big], np.float32(-np.inf))
    return t32


class _Forest:
    """Trees as flat arrays. Node i: go to ``left[i] + (x[feature[i]] > threshold[i])`` (children
    are stored next to each other); a leaf points to itself with threshold +inf. `value` holds one
    row per node (leaf outputs; for the random forest also the internal nodes, for `explain`)."""

    ARRAYS = ("feature", "threshold", "left", "value", "roots", "depth", "tree_class")

    def __init__(self, feature, threshold, left, value, roots, depth, tree_class):
        self.feature = np.asarray(feature, dtype=np.intp)
        self.threshold = np.asarray(threshold, dtype=np.float32)
        self.left = np.asarray(left, dtype=np.intp)
        self.value = np.asarray(value, dtype=np.float32)
        if self.value.ndim == 1:
            self.value = self.value[:, None]
        self.roots = np.asarray(roots, dtype=np.intp)
        self.depth = np.asarray(depth, dtype=np.intp)
        self.tree_class = np.asarray(tree_class, dtype=np.intp)
        n = len(self.feature)
        if not (len(self.threshold) == len(self.left) == len(self.value) == n) or len(self.roots) != len(self.depth):
            raise ValueError("inconsistent tree arrays")
        if n and (self.left.min() < 0 or self.left.max() >= n or self.roots.max() >= n):
            raise ValueError("tree arrays point outside the tree")
        # trees sorted by depth, so a level only touches the trees still deeper than it
        self._order = np.argsort(self.depth, kind="stable")

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @property
    def n_nodes(self) -> int:
        return len(self.feature)

    @classmethod
    def from_trees(cls, trees: Iterable[dict[str, np.ndarray]]) -> "_Forest":
        """Each tree: children_left/right (-1 at leaves), feature, threshold (float64), value
        (n_nodes, k), and optionally 'cls'. Nodes are renumbered breadth first so that every
        right child directly follows its left sibling."""
        feats, thrs, lefts, values, roots, depths, classes = [], [], [], [], [], [], []
        offset = 0
        for tree in trees:
            cl, cr = tree["children_left"], tree["children_right"]
            order = [0]
            new_left: dict[int, int] = {}
            depth_of = {0: 0}
            i = 0
            while i < len(order):
                node = order[i]
                if cl[node] >= 0:
                    new_left[node] = len(order)
                    order += [int(cl[node]), int(cr[node])]
                    depth_of[int(cl[node])] = depth_of[int(cr[node])] = depth_of[node] + 1
                i += 1
            order_arr = np.array(order)
            n = len(order)
            is_leaf = cl[order_arr] < 0
            left = np.where(is_leaf, np.arange(n), [new_left.get(int(o), 0) for o in order]) + offset
            thr = _round_down_f32(np.asarray(tree["threshold"], dtype=np.float64)[order_arr])
            thr[is_leaf] = np.inf
            feat = np.where(is_leaf, 0, np.asarray(tree["feature"])[order_arr])
            feats.append(feat)
            thrs.append(thr)
            lefts.append(left)
            values.append(np.asarray(tree["value"], dtype=np.float64).reshape(len(cl), -1)[order_arr])
            roots.append(offset)
            depths.append(max(depth_of.values()))
            classes.append(int(tree.get("cls", 0)))
            offset += n
        return cls(np.concatenate(feats), np.concatenate(thrs), np.concatenate(lefts),
                   np.concatenate(values), roots, depths, classes)

    def apply(self, X: np.ndarray, chunk: int = 131072) -> np.ndarray:
        """Leaf index of every row in every tree, shape (n, n_trees), trees in stored order."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, F = X.shape
        T = self.n_trees
        out = np.empty((n, T), dtype=np.intp)
        order = self._order
        sorted_depth = self.depth[order]
        roots = self.roots[order]
        rows_per_chunk = max(256, chunk // max(T, 1))
        feature, threshold, left = self.feature, self.threshold, self.left
        for start in range(0, n, rows_per_chunk):
            block = X[start:start + rows_per_chunk]
            flat = block.ravel()
            m = len(block)
            base = np.arange(m, dtype=np.intp) * F
            nodes = np.repeat(roots[:, None], m, axis=1)  # (trees sorted by depth, rows)
            index = np.empty_like(nodes)
            x = np.empty(nodes.shape, dtype=np.float32)
            t = np.empty(nodes.shape, dtype=np.float32)
            right = np.empty(nodes.shape, dtype=bool)
            first = 0
            for level in range(int(sorted_depth[-1]) if T else 0):
                while first < T and sorted_depth[first] <= level:
                    first += 1
                # preallocated outputs: about twice as fast as letting numpy allocate
                a, i_, x_, t_, r_ = nodes[first:], index[first:], x[first:], t[first:], right[first:]
                np.take(feature, a, out=i_)
                i_ += base
                np.take(flat, i_, out=x_)
                np.take(threshold, a, out=t_)
                np.greater(x_, t_, out=r_)
                np.take(left, a, out=a)
                a += r_
            out[start:start + m, order] = nodes.T
        return out

    def path_nodes(self, x: np.ndarray) -> list[np.ndarray]:
        """Node indices from root to leaf for one row, per tree (for `explain`)."""
        x = np.asarray(x, dtype=np.float32)
        paths = []
        for root in self.roots:
            node = int(root)
            path = [node]
            while self.left[node] != node:
                node = int(self.left[node] + (x[self.feature[node]] > self.threshold[node]))
                path.append(node)
            paths.append(np.array(path))
        return paths

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        small = np.int16 if self.feature.max(initial=0) < 2**15 else np.int32
        idx = np.int32
        return {
            f"{prefix}_feature": self.feature.astype(small),
            f"{prefix}_threshold": self.threshold,
            f"{prefix}_left": self.left.astype(idx),
            f"{prefix}_value": self.value,
            f"{prefix}_roots": self.roots.astype(idx),
            f"{prefix}_depth": self.depth.astype(np.int16),
            f"{prefix}_tree_class": self.tree_class.astype(np.int16),
        }

    @classmethod
    def from_arrays(cls, data: Any, prefix: str) -> "_Forest":
        return cls(*(data[f"{prefix}_{name}"] for name in cls.ARRAYS))


def _export_sklearn_tree(tree: Any, classes: Sequence[int] | None = None, n_out: int = 0) -> dict[str, np.ndarray]:
    t = tree.tree_
    feature = t.feature.copy()
    value = t.value[:, 0, :]
    if classes is not None:  # spread the tree's classes over the n_out model classes, normalised
        full = np.zeros((t.node_count, n_out))
        full[:, list(classes)] = value
        value = full / np.maximum(full.sum(axis=1, keepdims=True), 1e-12)
    return {"children_left": t.children_left, "children_right": t.children_right,
            "feature": feature, "threshold": t.threshold, "value": value}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


# --------------------------------------------------------------------------------------------
# the model


class ThreatModel(EstimatorContract):
    """Random forest + gradient boosting (soft vote) over normal/dos/probe/r2l/u2r, with a
    novelty term for attack types absent from training. Follows the scikit-learn estimator
    contract; learned state ends in `_`. Accepts DataFrames with the 41 NSL-KDD columns (extra
    columns ignored, missing ones imputed), dicts or rows of 41 values."""

    def __init__(self, n_trees: int = 40, max_depth: int = 14, min_samples_leaf: int = 2,
                 boosting_rounds: int = 40, learning_rate: float = 0.2, max_leaf_nodes: int = 15,
                 boosting_max_depth: int = 5, rf_weight: float = 0.5, class_weight: str | None = "sqrt",
                 prototypes: int = 256, novelty_rate: float = 0.01, novelty_sharpness: float = 4.0,
                 novelty_clip: float = 4.0,
                 threshold: float = 0.5, min_service_count: int = 300, random_state: int = 0,
                 n_jobs: int = 1):
        self.n_trees = n_trees
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.boosting_rounds = boosting_rounds
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.boosting_max_depth = boosting_max_depth
        self.rf_weight = rf_weight
        self.class_weight = class_weight
        self.prototypes = prototypes
        self.novelty_rate = novelty_rate
        self.novelty_sharpness = novelty_sharpness
        self.novelty_clip = novelty_clip
        self.threshold = threshold
        self.min_service_count = min_service_count
        self.random_state = random_state
        self.n_jobs = n_jobs

    classes_ = np.array(CATEGORIES)

    # ---------------------------------------------------------------- fitting

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        if self.class_weight in (None, "none"):
            return None
        classes, counts = np.unique(y, return_counts=True)
        w = len(y) / (len(classes) * counts.astype(np.float64))
        if self.class_weight == "sqrt":
            w = np.sqrt(w)
        elif self.class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'sqrt' or 'balanced', not {self.class_weight!r}")
        lookup = dict(zip(classes, w))
        return np.array([lookup[v] for v in y])

    def fit(self, X: Any, y: Sequence[str], progress: Callable[[str], None] | None = None) -> "ThreatModel":
        """Train on records `X` and their categories `y` (normal/dos/probe/r2l/u2r; attack names
        are mapped to their category; unknown names are refused)."""
        from sklearn.cluster import MiniBatchKMeans
        from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
        from threadpoolctl import threadpool_limits

        say = progress or (lambda message: None)
        frame = to_frame(X)
        cats = np.array([category_of(v) for v in y])
        if len(cats) != len(frame):
            raise ValueError(f"X has {len(frame)} records but y has {len(cats)} labels")
        unknown = cats == "unknown"
        if unknown.any():
            raise ValueError(f"{int(unknown.sum())} labels are not NSL-KDD categories or attack names, "
                             f"e.g. {list(np.asarray(y)[unknown][:3])}")
        if not (cats == "normal").any() or (cats == "normal").all():
            raise ValueError("training needs both normal and attack records")
        self.encoder_ = _Encoder(self.min_service_count).fit(frame, cats)
        Z = self.encoder_.transform(frame)
        yi = np.array([CATEGORIES.index(c) for c in cats])
        weights = self._weights(yi)
        n_out = len(CATEGORIES)
        timings: dict[str, float] = {}

        t0 = time.perf_counter()
        say(f"random forest: {self.n_trees} trees on {len(Z):,} records")
        rf = RandomForestClassifier(n_estimators=self.n_trees, max_depth=self.max_depth,
                                    min_samples_leaf=self.min_samples_leaf, max_features="sqrt",
                                    n_jobs=self.n_jobs, random_state=self.random_state)
        rf.fit(Z, yi, sample_weight=weights)
        self.forest_ = _Forest.from_trees(_export_sklearn_tree(t, rf.classes_, n_out) for t in rf.estimators_)
        timings["forest_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        say(f"gradient boosting: up to {self.boosting_rounds} rounds")
        gb = HistGradientBoostingClassifier(max_iter=self.boosting_rounds, learning_rate=self.learning_rate,
                                            max_leaf_nodes=self.max_leaf_nodes, max_depth=self.boosting_max_depth,
                                            early_stopping=False, l2_regularization=1.0,
                                            random_state=self.random_state)
        with threadpool_limits(limits=max(1, self.n_jobs)):
            gb.fit(Z, yi, sample_weight=weights)
        self.boosting_ = self._export_boosting(gb)
        self.boosting_classes_ = [int(c) for c in gb.classes_]
        self.boosting_baseline_ = [float(v) for v in np.ravel(gb._baseline_prediction)]
        timings["boosting_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        normal = Z[cats == "normal"]
        rng = np.random.default_rng(self.random_state)
        perm = rng.permutation(len(normal))
        cut = max(1, int(0.8 * len(normal)))
        fit_part = normal[perm[:cut]]
        calib_part = normal[perm[cut:]] if len(normal) - cut >= 20 else fit_part
        k = int(min(self.prototypes, len(fit_part)))
        say(f"novelty: {k} prototypes of {len(fit_part):,} normal records")
        self.novelty_mean_ = fit_part.mean(axis=0).astype(np.float32)
        self.novelty_std_ = (fit_part.std(axis=0) + 1e-3).astype(np.float32)
        km = MiniBatchKMeans(n_clusters=k, random_state=self.random_state, n_init=3, batch_size=4096)
        with threadpool_limits(limits=max(1, self.n_jobs)):
            km.fit(self._standardise(fit_part))
        self.prototypes_ = km.cluster_centers_.astype(np.float32)
        self.prototype_counts_ = np.bincount(km.labels_, minlength=k).astype(np.int32)
        raw = self._novelty_raw(calib_part)
        cutoff = float(np.quantile(raw, 1.0 - self.novelty_rate))
        median = float(np.median(raw))
        self.novelty_cutoff_ = cutoff
        self.novelty_scale_ = max((cutoff - median) / max(self.novelty_sharpness, 1e-6), 1e-6)
        timings["novelty_s"] = time.perf_counter() - t0
        self.timings_ = timings
        self.n_features_in_ = len(COLUMNS)
        self.feature_names_in_ = np.array(COLUMNS)
        return self

    def _export_boosting(self, gb: Any) -> _Forest:
        trees = []
        for iteration in gb._predictors:
            for k, predictor in enumerate(iteration):
                nodes = predictor.nodes
                leaf = nodes["is_leaf"].astype(bool)
                trees.append({
                    "children_left": np.where(leaf, -1, nodes["left"].astype(np.int64)),
                    "children_right": np.where(leaf, -1, nodes["right"].astype(np.int64)),
                    "feature": np.where(leaf, -2, nodes["feature_idx"]),
                    "threshold": nodes["num_threshold"],
                    "value": np.where(leaf, nodes["value"], 0.0)[:, None],
                    "cls": k,
                })
        return _Forest.from_trees(trees)

    # ---------------------------------------------------------------- scoring

    def _check(self) -> None:
        if not hasattr(self, "forest_"):
            raise NetcopilotError("the threat model is not trained: call fit() or ThreatModel.load()")

    def transform(self, X: Any) -> np.ndarray:
        """The encoded feature matrix (float32) the trees read."""
        self._check()
        return self.encoder_.transform(X)

    def _classifier_proba(self, Z: np.ndarray) -> np.ndarray:
        n_out = len(CATEGORIES)
        leaves = self.forest_.apply(Z)
        p_rf = self.forest_.value[leaves].mean(axis=1)  # (n, T, 5) -> (n, 5)
        leaves = self.boosting_.apply(Z)
        k = len(self.boosting_baseline_)
        leaf_values = self.boosting_.value[leaves, 0].astype(np.float64)  # (n, T)
        per_class = np.zeros((self.boosting_.n_trees, k))
        per_class[np.arange(self.boosting_.n_trees), self.boosting_.tree_class] = 1.0
        raw = leaf_values @ per_class + np.asarray(self.boosting_baseline_, dtype=np.float64)
        if k == 1:
            p1 = _sigmoid(raw[:, 0])
            sub = np.stack([1 - p1, p1], axis=1)
        else:
            z = raw - raw.max(axis=1, keepdims=True)
            e = np.exp(z)
            sub = e / e.sum(axis=1, keepdims=True)
        p_gb = np.zeros((len(Z), n_out))
        p_gb[:, self.boosting_classes_] = sub
        w = float(self.rf_weight)
        return w * p_rf + (1 - w) * p_gb

    def _standardise(self, Z: np.ndarray) -> np.ndarray:
        """Standardised by normal traffic and clipped to +-`novelty_clip`, so the distance needs
        several unusual fields, not one extreme (rare binary) field, to grow large."""
        S = (Z - self.novelty_mean_) / self.novelty_std_
        if self.novelty_clip:
            np.clip(S, -self.novelty_clip, self.novelty_clip, out=S)
        return S

    def _nearest_prototype(self, Z: np.ndarray, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
        """(index of the nearest normal prototype, distance to it) per row."""
        C = self.prototypes_
        c2 = (C * C).sum(axis=1)
        idx = np.empty(len(Z), dtype=np.intp)
        dist = np.empty(len(Z), dtype=np.float64)
        for start in range(0, len(Z), chunk):
            S = self._standardise(Z[start:start + chunk])
            d2 = c2[None, :] - 2.0 * (S @ C.T)  # + |s|^2, added after the argmin
            j = d2.argmin(axis=1)
            best = d2[np.arange(len(S)), j] + (S * S).sum(axis=1)
            idx[start:start + len(S)] = j
            dist[start:start + len(S)] = np.sqrt(np.maximum(best, 0.0))
        return idx, dist

    def _novelty_raw(self, Z: np.ndarray) -> np.ndarray:
        """Distance to the nearest normal prototype (standardised units)."""
        return self._nearest_prototype(Z)[1]

    def _novelty_term(self, Z: np.ndarray) -> np.ndarray:
        return _sigmoid((self._novelty_raw(Z) - self.novelty_cutoff_) / self.novelty_scale_)

    def _scores(self, X: Any, novelty: bool = True) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        Z = self.encoder_.transform(X)
        proba = self._classifier_proba(Z)
        if not novelty:
            return proba, np.zeros(len(Z))
        return proba, self._novelty_term(Z)

    @staticmethod
    def _combine(proba: np.ndarray, nov: np.ndarray) -> np.ndarray:
        """Noisy-OR: P(normal) shrinks by (1 - novelty); the removed mass goes to the attack
        categories in proportion to the classifier's belief (plus a floor)."""
        out = proba.copy()
        p_normal = proba[:, 0]
        new_normal = p_normal * (1.0 - nov)
        moved = p_normal - new_normal
        attack = proba[:, 1:] + 1e-3
        out[:, 0] = new_normal
        out[:, 1:] += moved[:, None] * attack / attack.sum(axis=1, keepdims=True)
        return out

    def predict_proba(self, X: Any, novelty: bool = True) -> np.ndarray:
        """(n, 5) probabilities in `CATEGORIES` order. With `novelty` (the default) P(normal) is
        reduced for records unlike normal traffic (see the module docstring)."""
        proba, nov = self._scores(X, novelty)
        return self._combine(proba, nov) if novelty else proba

    def score_samples(self, X: Any, novelty: bool = True) -> np.ndarray:
        """Attack score in [0, 1]: 1 - P(normal), noisy-OR with the novelty term."""
        return 1.0 - self.predict_proba(X, novelty)[:, 0]

    def predict(self, X: Any, novelty: bool = True) -> np.ndarray:
        """A category per record: "normal" when the attack score is below `threshold`, otherwise
        the most probable attack category."""
        return self.categories(self.predict_proba(X, novelty))

    def categories(self, proba: np.ndarray) -> np.ndarray:
        """What `predict` answers, from probabilities already computed (score once, use twice)."""
        attack = (1.0 - proba[:, 0]) >= self.threshold
        best_attack = 1 + proba[:, 1:].argmax(axis=1)
        return np.array(CATEGORIES, dtype=object)[np.where(attack, best_attack, 0)]

    # ---------------------------------------------------------------- explanation

    def explain(self, X: Any, top: int = 3) -> list:
        """The features that drove the verdict on a record, as ``(field, text)`` pairs, most
        important first, grouped by raw NSL-KDD field.

        - When the classifier decided (its P(normal) is below 0.5, or the record is judged normal):
          Saabas path contributions in the random forest, i.e. how much each split on a field moved
          P(attack) = 1 - P(normal) along the record's path, averaged over trees. For a record
          judged normal the fields that pushed hardest towards normal are listed.
        - When the novelty term decided (the classifier says normal but the record is unlike
          normal traffic): an entry ``("novelty", ...)`` first, then the fields that differ most
          from the nearest normal prototype (squared standardised difference).

        One record (dict, Series, a row of 41 values, a 1-row frame) -> one list; several
        records -> one list per record."""
        self._check()
        single = isinstance(X, (dict, pd.Series)) or (
            not isinstance(X, pd.DataFrame) and len(X) > 0 and not isinstance(X[0], (list, tuple, np.ndarray, dict)))
        frame = to_frame(X)
        single = single or len(frame) == 1
        Z = self.encoder_.transform(frame)
        proba, nov = self._scores(frame)
        combined = self._combine(proba, nov)
        nearest, _ = self._nearest_prototype(Z)
        p_attack_node = 1.0 - self.forest_.value[:, 0]
        source = self.encoder_.source_
        results = []
        for i in range(len(frame)):
            is_attack = 1.0 - combined[i, 0] >= self.threshold
            entries: list[tuple[str, str]] = []
            if is_attack and proba[i, 0] >= 0.5:
                entries.append(("novelty", f"unlike normal traffic (novelty {nov[i]:.2f}) although the "
                                           f"classifier alone says normal (P={proba[i, 0]:.2f})"))
                centre = self.prototypes_[nearest[i]] * self.novelty_std_ + self.novelty_mean_
                gap = (self._standardise(Z[i:i + 1])[0] - self.prototypes_[nearest[i]]) ** 2
                by_field: dict[str, float] = {}
                for j, g in enumerate(gap):
                    by_field[source[j]] = by_field.get(source[j], 0.0) + float(g)
                for name, g in sorted(by_field.items(), key=lambda kv: -kv[1])[:max(top - 1, 1)]:
                    entries.append((name, f"{name}={self._raw_value(frame, i, name)} "
                                          f"(nearest normal profile: {self._profile_text(name, centre)}; "
                                          f"{math.sqrt(g):.1f} standard deviations away, clipped at {self.novelty_clip:g})"))
            else:
                contrib: dict[str, float] = {}
                for path in self.forest_.path_nodes(Z[i]):
                    deltas = np.diff(p_attack_node[path])
                    for node, delta in zip(path[:-1], deltas):
                        name = source[int(self.forest_.feature[node])]
                        contrib[name] = contrib.get(name, 0.0) + float(delta)
                sign = 1.0 if is_attack else -1.0
                for name, value in sorted(contrib.items(), key=lambda kv: -sign * kv[1])[:top]:
                    reference = self._reference_text(name)
                    if name == "service":
                        reference = f"{self._service_share(frame['service'].iloc[i]):.2g} % of normal records"
                    entries.append((name, f"{name}={self._raw_value(frame, i, name)} "
                                          f"({reference}) moved P(attack) "
                                          f"{value / self.forest_.n_trees:+.2f}"))
            results.append(entries[:top] if top > 0 else entries)
        return results[0] if single else results

    def _profile_text(self, name: str, centre: np.ndarray) -> str:
        names = self.encoder_.names_
        if name in NUMERIC:
            v = float(centre[NUMERIC.index(name)])
            return f"{math.expm1(v) if name in LOG_COLUMNS else v:.3g}"
        parts = [n.split("=", 1)[1] for j, n in enumerate(names)
                 if self.encoder_.source_[j] == name and "=" in n and centre[j] > 0.5]
        return f"{name}={parts[0]}" if parts else f"usual {name} values"

    def _raw_value(self, frame: pd.DataFrame, i: int, name: str) -> str:
        value = frame[name].iloc[i]
        if isinstance(value, (float, np.floating)):
            if np.isnan(value):
                return "missing"
            return f"{value:g}"
        return str(value)

    def _service_share(self, value: Any) -> float:
        enc = self.encoder_
        key = str(value).strip().lower() if isinstance(value, str) else ""
        j = enc.all_services_.index(key) if key in enc.all_services_ else len(enc.all_services_)
        return 100.0 * math.exp(enc.service_normal_freq_[j])  # add-one smoothed share

    def _reference_text(self, name: str) -> str:
        if name in NUMERIC:
            median = self.encoder_.medians_[NUMERIC.index(name)]
            return f"normal median {median:g}"
        if name == "service":
            return "share of normal training records"
        return "symbolic field"

    # ---------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> list[Path]:
        """Write ``threat_model.npz`` (all trees) and ``threat_model.json`` (encoding,
        calibration, hyper-parameters) to `directory`. Returns the paths written."""
        self._check()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {**self.forest_.arrays("forest"), **self.boosting_.arrays("boosting"),
                  "novelty_mean": self.novelty_mean_, "novelty_std": self.novelty_std_,
                  "prototypes": self.prototypes_, "prototype_counts": self.prototype_counts_}
        npz_path = directory / NPZ_NAME
        tmp = directory / (NPZ_NAME + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(npz_path)
        meta = {
            "format": FORMAT_VERSION,
            "kind": "netcopilot.threats.ThreatModel",
            "classes": list(CATEGORIES),
            "columns": list(COLUMNS),
            "params": self.get_params(),
            "encoder": self.encoder_.to_json(),
            "feature_names": self.encoder_.names_,
            "boosting_classes": self.boosting_classes_,
            "boosting_baseline": self.boosting_baseline_,
            "novelty_cutoff": self.novelty_cutoff_,
            "novelty_scale": self.novelty_scale_,
            "npz_sha256": hashlib.sha256(npz_path.read_bytes()).hexdigest(),
        }
        json_path = directory / JSON_NAME
        json_path.write_text(json.dumps(meta, indent=1))
        return [npz_path, json_path]

    @classmethod
    def load(cls, directory: str | Path) -> "ThreatModel":
        """Load a model written by `save`. Any missing, damaged or foreign file raises
        NetcopilotError with one line saying which file and what is wrong."""
        directory = Path(directory)
        json_path, npz_path = directory / JSON_NAME, directory / NPZ_NAME
        for path in (json_path, npz_path):
            if not path.is_file():
                raise NetcopilotError(f"{path}: threat model file missing; run `netcopilot train threats --data FILE`")
        try:
            meta = json.loads(json_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise NetcopilotError(f"{json_path}: unreadable threat model description ({exc})") from None
        if meta.get("format") != FORMAT_VERSION or meta.get("kind") != "netcopilot.threats.ThreatModel":
            raise NetcopilotError(f"{json_path}: not a threat model of format {FORMAT_VERSION} "
                                  f"(found format {meta.get('format')!r}); retrain it")
        blob = npz_path.read_bytes()
        if meta.get("npz_sha256") and hashlib.sha256(blob).hexdigest() != meta["npz_sha256"]:
            raise NetcopilotError(f"{npz_path}: contents do not match {json_path.name} (damaged or replaced); retrain it")
        try:
            with np.load(npz_path, allow_pickle=False) as data:
                forest = _Forest.from_arrays(data, "forest")
                boosting = _Forest.from_arrays(data, "boosting")
                novelty = {name: np.array(data[name]) for name in
                           ("novelty_mean", "novelty_std", "prototypes", "prototype_counts")}
            params = meta["params"]
            model = cls(**params)
            model.encoder_ = _Encoder.from_json(meta["encoder"])
            model.boosting_classes_ = [int(c) for c in meta["boosting_classes"]]
            model.boosting_baseline_ = [float(v) for v in meta["boosting_baseline"]]
            model.novelty_cutoff_ = float(meta["novelty_cutoff"])
            model.novelty_scale_ = float(meta["novelty_scale"])
        except Exception as exc:  # zip/npz/key/shape problems all mean the same thing to the user
            raise NetcopilotError(f"{directory}: damaged threat model ({type(exc).__name__}: {exc})") from None
        n_features = len(model.encoder_.names_)
        if n_features <= int(max(forest.feature.max(initial=0), boosting.feature.max(initial=0))) or \
                novelty["prototypes"].ndim != 2 or novelty["prototypes"].shape[1] != n_features or \
                novelty["novelty_mean"].shape != (n_features,) or novelty["novelty_std"].shape != (n_features,):
            raise NetcopilotError(f"{directory}: damaged threat model (arrays do not match the feature encoding)")
        model.forest_, model.boosting_ = forest, boosting
        model.novelty_mean_ = novelty["novelty_mean"].astype(np.float32)
        model.novelty_std_ = novelty["novelty_std"].astype(np.float32)
        model.prototypes_ = novelty["prototypes"].astype(np.float32)
        model.prototype_counts_ = novelty["prototype_counts"].astype(np.int32)
        model.n_features_in_ = len(COLUMNS)
        model.feature_names_in_ = np.array(COLUMNS)
        return model

    def size_summary(self) -> dict[str, int]:
        return {"forest_trees": self.forest_.n_trees, "forest_nodes": self.forest_.n_nodes,
                "boosting_trees": self.boosting_.n_trees, "boosting_nodes": self.boosting_.n_nodes,
                "prototypes": int(len(self.prototypes_)), "features": len(self.encoder_.names_)}


def load_default() -> ThreatModel:
    """The model shipped with the package (trained on NSL-KDD KDDTrain+)."""
    return ThreatModel.load(default_model_dir())


# --------------------------------------------------------------------------------------------
# evaluation and training


def detection_metrics(true_categories: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Binary accuracy, detection rate (attacks flagged), false-alarm rate (normals flagged) and
    recall per category (exact category for attacks, "not flagged" for normal)."""
    t = np.asarray(true_categories, dtype=object)
    p = np.asarray(predicted, dtype=object)
    attack_t, attack_p = t != "normal", p != "normal"
    out: dict[str, Any] = {
        "records": int(len(t)),
        "binary_accuracy": float((attack_t == attack_p).mean()) if len(t) else float("nan"),
        "detection_rate": float(attack_p[attack_t].mean()) if attack_t.any() else float("nan"),
        "false_alarm_rate": float(attack_p[~attack_t].mean()) if (~attack_t).any() else float("nan"),
        "category_accuracy": float((t == p).mean()) if len(t) else float("nan"),
    }
    out["recall"] = {c: (float((p[t == c] == c).mean()) if (t == c).any() else None) for c in CATEGORIES}
    out["support"] = {c: int((t == c).sum()) for c in CATEGORIES}
    return out


def leave_types_out_variants(X: pd.DataFrame, labels: Sequence[str], make_model: Callable[[], Any],
                             predictors: dict[str, Callable[[Any, pd.DataFrame], np.ndarray]],
                             splits: dict[str, tuple[str, ...]] = LEAVE_OUT_SPLITS, seed: int = 0,
                             progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Leave-attack-types-out evaluation. For each split: train (``make_model().fit(X, categories)``)
    on everything except the split's attack types and a fixed 20 % of the normal records, then,
    for each predictor (a way of turning the fitted model into categories), report the fraction of
    each held-out type still flagged as an attack and the false-alarm rate on the held-out normal
    records. Returns ``{predictor: {"splits": {...}, "mean_flagged_over_types": ...,
    "flagged_records": ..., "mean_false_alarm_rate": ...}}``."""
    say = progress or (lambda message: None)
    labels = np.asarray(labels, dtype=object)
    cats = np.array([category_of(v) for v in labels], dtype=object)
    rng = np.random.default_rng(seed)
    normal_idx = np.flatnonzero(cats == "normal")
    held_normal = np.zeros(len(labels), dtype=bool)
    held_normal[rng.choice(normal_idx, size=len(normal_idx) // 5, replace=False)] = True
    per_split: dict[str, dict[str, Any]] = {name: {} for name in predictors}
    pooled: dict[str, list[np.ndarray]] = {name: [] for name in predictors}
    for split, types in splits.items():
        held = np.isin(labels, types)
        if not held.any():
            continue
        train = ~held & ~held_normal
        say(f"leave-types-out split {split}: training without {', '.join(types)}")
        model = make_model().fit(X[train].reset_index(drop=True), list(cats[train]))
        test = held | held_normal
        frame = X[test].reset_index(drop=True)
        test_labels = labels[test]
        for variant, predict in predictors.items():
            flagged = np.asarray(predict(model, frame)) != "normal"
            per_type = {t: float(flagged[test_labels == t].mean()) for t in types if (test_labels == t).any()}
            pooled[variant].append(flagged[test_labels != "normal"])
            per_split[variant][split] = {
                "held_out": list(types),
                "records": {t: int((test_labels == t).sum()) for t in per_type},
                "flagged": per_type,
                "flagged_records": float(flagged[test_labels != "normal"].mean()),
                "false_alarm_rate": float(flagged[test_labels == "normal"].mean()),
            }
    out: dict[str, dict[str, Any]] = {}
    for variant, results in per_split.items():
        if not results:
            continue
        out[variant] = {
            "splits": results,
            "mean_flagged_over_types": float(np.mean([v for r in results.values() for v in r["flagged"].values()])),
            "flagged_records": float(np.concatenate(pooled[variant]).mean()),
            "mean_false_alarm_rate": float(np.mean([r["false_alarm_rate"] for r in results.values()])),
        }
    return out


def leave_types_out(X: pd.DataFrame, labels: Sequence[str], make_model: Callable[[], Any],
                    splits: dict[str, tuple[str, ...]] = LEAVE_OUT_SPLITS, seed: int = 0,
                    predict: Callable[[Any, pd.DataFrame], np.ndarray] | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """`leave_types_out_variants` with a single predictor (by default ``model.predict``)."""
    predict = predict or (lambda model, frame: np.asarray(model.predict(frame)))
    result = leave_types_out_variants(X, labels, make_model, {"model": predict}, splits, seed, progress)
    return result.get("model", {})


def _stratified_split(cats: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    test = np.zeros(len(cats), dtype=bool)
    for c in np.unique(cats):
        idx = np.flatnonzero(cats == c)
        k = int(round(len(idx) * test_size))
        if len(idx) > 1:
            test[rng.choice(idx, size=max(1, k), replace=False)] = True
    return np.flatnonzero(~test), np.flatnonzero(test)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _labelled_records(path: Path, say: Callable[[str], None]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """Records of a labelled file with their attack names and categories, minus those whose label
    is not in the NSL-KDD taxonomy (their count is the last value)."""
    X, labels = read_records(path)
    if labels is None:
        raise DataFormatError(path, "records have no label field (need 42 or 43 fields to train)")
    labels_arr = np.asarray(labels, dtype=object)
    cats = np.array([category_of(v) for v in labels], dtype=object)
    unknown = cats == "unknown"
    if unknown.all():
        raise DataFormatError(path, "no record has a known NSL-KDD label (normal or an attack name)")
    if unknown.any():
        say(f"ignoring {int(unknown.sum())} records with unknown labels in {path.name}")
        keep = ~unknown
        X, labels_arr, cats = X[keep].reset_index(drop=True), labels_arr[keep], cats[keep]
    return X, labels_arr, cats, int(unknown.sum())


def _row_keys(X: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(to_frame(X), index=False).to_numpy()


def train_threat_model(data_path: str | Path, out_dir: str | Path,
                       progress: Callable[[str], None] | None = None,
                       leave_out: bool = True, learned_path: str | Path | None = None, **params: Any) -> dict[str, Any]:
    """What ``netcopilot train threats --data FILE`` runs: read a labelled NSL-KDD file, measure
    on a stratified 20 % hold-out (and with attack types left out, if `leave_out`), refit on all
    records, and write the model plus MODEL_CARD.md to `out_dir`. Returns the metrics.

    `learned_path` (records analysts confirmed, `netcopilot threats confirm`) joins the training
    side of the held-out fit and the final fit, never the held-out records, so the gate measures
    every candidate on the same held-out records; a confirmed record equal to a held-out one is
    left out of the held-out fit. The leave-types-out protocol uses `data_path` alone."""
    say = progress or (lambda message: None)
    data_path = Path(data_path)
    started = time.perf_counter()
    say(f"reading {data_path}")
    X, labels_arr, cats, ignored = _labelled_records(data_path, say)
    extra_X, extra_cats = X.iloc[:0], cats[:0]
    if learned_path is not None:
        learned_path = Path(learned_path)
        say(f"reading confirmed records from {learned_path}")
        extra_X, _, extra_cats, _ = _labelled_records(learned_path, say)

    def make() -> ThreatModel:
        return ThreatModel(**params)

    train_idx, test_idx = _stratified_split(cats, 0.2, seed=0)
    test_frame = X.iloc[test_idx].reset_index(drop=True)
    clean = ~np.isin(_row_keys(extra_X), _row_keys(test_frame))
    say(f"held-out evaluation: training on {len(train_idx):,} (+{int(clean.sum()):,} confirmed), "
        f"testing on {len(test_idx):,}")
    model = make().fit(pd.concat([X.iloc[train_idx], extra_X[clean]], ignore_index=True),
                       [*cats[train_idx], *extra_cats[clean]], progress=say)
    metrics: dict[str, Any] = {
        "held_out": detection_metrics(cats[test_idx], model.predict(test_frame)),
        "held_out_classifier_only": detection_metrics(cats[test_idx], model.predict(test_frame, novelty=False)),
    }
    if leave_out:
        lto = leave_types_out_variants(X, labels_arr, make, {
            "model": lambda m, frame: m.predict(frame),
            "classifier_only": lambda m, frame: m.predict(frame, novelty=False)}, progress=say)
        metrics["leave_types_out"] = lto.get("model", {})
        metrics["leave_types_out_classifier_only"] = lto.get("classifier_only", {})
    say(f"final fit on all {len(X) + len(extra_X):,} records")
    t0 = time.perf_counter()
    final = make().fit(pd.concat([X, extra_X], ignore_index=True), [*cats, *extra_cats], progress=say)
    fit_seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    written = final.save(out_dir)
    data = {"file": data_path.name, "sha256": _sha256_file(data_path), "records": int(len(X)),
            "ignored_unknown_labels": ignored, "per_category": {c: int((cats == c).sum()) for c in CATEGORIES}}
    data["fingerprint"] = data["sha256"]
    if learned_path is not None:
        data["learned"] = {"path": str(learned_path), "sha256": _sha256_file(learned_path), "records": int(len(extra_X)),
                           "held_out_matches": int((~clean).sum()),
                           "per_category": {c: int((extra_cats == c).sum()) for c in CATEGORIES}}
        data["fingerprint"] = hashlib.sha256((data["sha256"] + data["learned"]["sha256"]).encode()).hexdigest()
    metrics.update({
        "data": data,
        "trained_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "params": final.get_params(),
        "size": {**final.size_summary(), "bytes": {p.name: p.stat().st_size for p in written}},
        "final_fit_seconds": round(fit_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
    })
    (out_dir / CARD_NAME).write_text(model_card(metrics))
    say(f"wrote {', '.join(p.name for p in written)} and {CARD_NAME} to {out_dir}")
    return metrics


def _pct(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f} %"


def model_card(metrics: dict[str, Any]) -> str:
    d, h, c = metrics["data"], metrics["held_out"], metrics["held_out_classifier_only"]
    lines = [
        "# Threat model (NSL-KDD categories)",
        "",
        "Random forest + histogram gradient boosting (soft vote) over normal / dos / probe / r2l / u2r,",
        "combined (noisy-OR) with a novelty term, the distance to the nearest k-means prototype of normal",
        "records, so that attack types absent from training can still be flagged. Exported to numpy",
        f"arrays (`{NPZ_NAME}` + `{JSON_NAME}`); loading needs neither pickle nor scikit-learn.",
        "Produced by `netcopilot.threats.model.train_threat_model` (`netcopilot train threats --data FILE`).",
        "",
        "## Training data",
        "",
        f"- file: `{d['file']}`",
        f"- sha256: `{d['sha256']}`",
        f"- records: {d['records']:,} ({', '.join(f'{k} {v:,}' for k, v in d['per_category'].items())})",
        f"- records ignored (unknown label): {d['ignored_unknown_labels']}",
        *([f"- confirmed records (`netcopilot threats confirm`, training side only): {d['learned']['records']:,} "
           f"from `{d['learned']['path']}` (sha256 `{d['learned']['sha256']}`)"] if d.get("learned") else []),
        f"- trained: {metrics['trained_at']} (final fit {metrics['final_fit_seconds']} s, "
        f"whole run {metrics['total_seconds']} s)",
        "",
        "## Hyper-parameters",
        "",
        *[f"- {k}: {v}" for k, v in metrics["params"].items()],
        "",
        "## Size",
        "",
        *[f"- {k}: {v:,}" for k, v in metrics["size"].items() if k != "bytes"],
        *[f"- {k}: {v:,} bytes" for k, v in metrics["size"]["bytes"].items()],
        "",
        "## Held-out metrics (stratified 20 % of the training file, model fitted on the other 80 %)",
        "",
        "| metric | with novelty term | classifier only |",
        "|---|---|---|",
        f"| binary accuracy | {_pct(h['binary_accuracy'])} | {_pct(c['binary_accuracy'])} |",
        f"| detection rate (attacks flagged) | {_pct(h['detection_rate'])} | {_pct(c['detection_rate'])} |",
        f"| false-alarm rate (normals flagged) | {_pct(h['false_alarm_rate'])} | {_pct(c['false_alarm_rate'])} |",
        *[f"| recall {k} (n={h['support'][k]}) | {_pct(h['recall'][k])} | {_pct(c['recall'][k])} |" for k in CATEGORIES],
        "",
    ]
    lto, lto_clf = metrics.get("leave_types_out"), metrics.get("leave_types_out_classifier_only") or {}
    if lto:
        lines += [
            "## Attack types never seen in training (leave-attack-types-out)",
            "",
            "Each split trains without the listed attack types (and without a fixed 20 % of the normal",
            "records), then reports the fraction of the held-out types' records still flagged as attacks",
            "(classifier alone in brackets) and the false-alarm rate on the held-out normal records.",
            "",
            "| split | held-out type (records): fraction flagged | false-alarm rate |",
            "|---|---|---|",
        ]
        for name, r in lto["splits"].items():
            other = lto_clf.get("splits", {}).get(name, {}).get("flagged", {})
            flagged = ", ".join(f"{t} ({r['records'][t]}) {_pct(v)} [{_pct(other.get(t))}]" for t, v in r["flagged"].items())
            lines.append(f"| {name} | {flagged} | {_pct(r['false_alarm_rate'])} |")
        lines += ["", f"Mean over held-out types: {_pct(lto['mean_flagged_over_types'])} flagged "
                      f"(classifier alone {_pct(lto_clf.get('mean_flagged_over_types'))}); over all their records "
                      f"{_pct(lto['flagged_records'])} ({_pct(lto_clf.get('flagged_records'))}); mean false-alarm rate "
                      f"{_pct(lto['mean_false_alarm_rate'])} ({_pct(lto_clf.get('mean_false_alarm_rate'))}).", ""]
    lines += [
        "## Caveats",
        "",
        "- NSL-KDD is 1998 DARPA simulation traffic: the features (and their meaning) only match",
        "  connection records produced the same way; scores on other networks are not validated.",
        "- The held-out numbers come from the training distribution. The official KDDTest+ set contains",
        "  attack types absent here (about a sixth of its attacks); expect lower detection there,",
        "  which is what the leave-attack-types-out numbers try to anticipate.",
        "- r2l and u2r are rare in training (about 1 % and 0.04 %): their recall is uncertain.",
        "",
    ]
    return "\n".join(lines)
