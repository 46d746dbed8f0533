"""The NSL-KDD reader and the supervised threat model (fast: a small model, and the shipped one)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netcopilot.errors import DataFormatError, NetcopilotError
from netcopilot.threats.model import (
    JSON_NAME, NPZ_NAME, ThreatModel, default_model_dir, detection_metrics, load_default,
)
from netcopilot.threats.nslkdd import (
    CATEGORIES, COLUMNS, category_of, iter_records, read_records,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "nsl-kdd"
TWENTY = DATA / "KDDTrain+_20Percent.txt"

needs_data = pytest.mark.skipif(not TWENTY.exists(), reason=f"NSL-KDD data not found in {DATA}")

NORMAL_HTTP = ("0,tcp,http,SF,232,8153,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,5,5,0.20,0.20,0.00,0.00,1.00,0.00,"
               "0.00,30,255,1.00,0.00,0.03,0.04,0.03,0.01,0.00,0.01,normal,21")
NEPTUNE = ("0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,"
           "255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19")
SMURF = ("0,icmp,ecr_i,SF,1032,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,263,263,0.00,0.00,0.00,0.00,1.00,0.00,0.00,"
         "255,255,1.00,0.00,1.00,0.00,0.00,0.00,0.00,0.00,smurf,20")


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------- reading


def test_reads_43_42_and_41_fields_gzip_and_header(tmp_path: Path) -> None:
    X, labels = read_records(write(tmp_path / "a.txt", [NORMAL_HTTP, NEPTUNE, SMURF]))
    assert list(X.columns) == list(COLUMNS) and len(X) == 3
    assert labels == ["normal", "neptune", "smurf"]
    assert X["src_bytes"].tolist() == [232, 0, 1032] and X["flag"].tolist() == ["SF", "S0", "SF"]

    rows42 = [",".join(line.split(",")[:42]) for line in (NORMAL_HTTP, NEPTUNE)]
    header = ",".join(COLUMNS) + ",label"
    X, labels = read_records(write(tmp_path / "b.csv", [header, *rows42]))
    assert len(X) == 2 and labels == ["normal", "neptune"]

    rows41 = [",".join(line.split(",")[:41]) for line in (NORMAL_HTTP, NEPTUNE)]
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(("\n".join(rows41) + "\n").encode()))
    X, labels = read_records(gz)
    assert len(X) == 2 and labels is None

    chunks = list(iter_records(write(tmp_path / "d.txt", [NORMAL_HTTP] * 5), chunk_rows=2))
    assert [len(c[0]) for c in chunks] == [2, 2, 1]


def test_missing_values_do_not_crash(tmp_path: Path) -> None:
    fields = NORMAL_HTTP.split(",")
    fields[4] = ""        # src_bytes
    fields[2] = ""        # service
    fields[30] = "?"      # srv_diff_host_rate
    X, labels = read_records(write(tmp_path / "m.txt", [",".join(fields), NEPTUNE]))
    assert np.isnan(X.loc[0, "src_bytes"]) and np.isnan(X.loc[0, "srv_diff_host_rate"])
    assert X.loc[0, "service"] == ""
    # the model imputes: no crash, probabilities sum to one
    proba = load_default().predict_proba(X)
    assert proba.shape == (2, 5) and np.allclose(proba.sum(axis=1), 1.0)


def test_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", [NORMAL_HTTP, NEPTUNE, NEPTUNE + ",extra"])
    with pytest.raises(DataFormatError) as info:
        read_records(path)
    assert f"{path}:3:" in str(info.value) and "found 44" in str(info.value)
    with pytest.raises(DataFormatError, match=r"bad2.txt:1: expected 41, 42 or 43"):
        read_records(write(tmp_path / "bad2.txt", ["1,2,3"]))


def test_non_numeric_value_names_the_field(tmp_path: Path) -> None:
    fields = NEPTUNE.split(",")
    fields[4] = "lots"
    path = write(tmp_path / "nan.txt", [NORMAL_HTTP, NORMAL_HTTP, ",".join(fields)])
    with pytest.raises(DataFormatError) as info:
        read_records(path)
    err = info.value
    assert err.line == 3 and err.field == "src_bytes"
    assert str(err).startswith(f"{path}:3: field 'src_bytes': not a number: 'lots'")


def test_empty_and_broken_gzip_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="empty"):
        read_records(write(tmp_path / "empty.txt", []))
    with pytest.raises(DataFormatError, match="no such file"):
        read_records(tmp_path / "absent.txt")
    blob = gzip.compress(("\n".join([NORMAL_HTTP] * 2000) + "\n").encode())
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataFormatError, match="cut.txt.gz:.*(truncated|unreadable)"):
        read_records(truncated)
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"\x00not really gzip" * 10)
    with pytest.raises(DataFormatError, match="garbage.gz"):
        read_records(garbage)


def test_category_of() -> None:
    assert category_of("neptune") == "dos" and category_of("Smurf.") == "dos"
    assert category_of("mscan") == "probe" and category_of("snmpguess") == "r2l"
    assert category_of("sqlattack") == "u2r" and category_of("normal") == "normal"
    assert category_of("r2l") == "r2l"
    assert category_of("zeroday") == "unknown" and category_of(None) == "unknown"


# ------------------------------------------------------------------------------- small model


@pytest.fixture(scope="module")
def small() -> tuple[ThreatModel, pd.DataFrame, list[str]]:
    if not TWENTY.exists():
        pytest.skip(f"NSL-KDD data not found in {DATA}")
    X, labels = read_records(TWENTY)
    X, labels = X.iloc[:5000].reset_index(drop=True), labels[:5000]
    model = ThreatModel(n_trees=8, max_depth=10, boosting_rounds=5, prototypes=16, n_jobs=1)
    model.fit(X, [category_of(v) for v in labels])
    return model, X, labels


@needs_data
def test_small_model_round_trips_without_pickle(small, tmp_path: Path) -> None:
    model, X, labels = small
    files = model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted([NPZ_NAME, JSON_NAME])
    assert all(p.suffix in (".npz", ".json") for p in files)
    with np.load(tmp_path / "m" / NPZ_NAME, allow_pickle=False) as data:  # no object arrays inside
        assert all(data[name].dtype != object for name in data.files)
    loaded = ThreatModel.load(tmp_path / "m")
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.score_samples(X), model.score_samples(X))
    assert list(loaded.predict(X[:50])) == list(model.predict(X[:50]))
    assert loaded.get_params() == model.get_params()
    # sane on its own training records
    metrics = detection_metrics([category_of(v) for v in labels], model.predict(X))
    assert metrics["binary_accuracy"] > 0.95


@needs_data
def test_exported_trees_match_scikit_learn() -> None:
    """The numpy traversal of the exported forest gives scikit-learn's probabilities."""
    from sklearn.ensemble import RandomForestClassifier

    from netcopilot.threats.model import _export_sklearn_tree, _Forest

    X, labels = read_records(TWENTY)
    model = ThreatModel(n_trees=2, boosting_rounds=2, prototypes=4)
    model.fit(X.iloc[:3000], [category_of(v) for v in labels[:3000]])
    Z = model.transform(X.iloc[3000:6000])
    y = np.array([CATEGORIES.index(category_of(v)) for v in labels[:3000]])
    rf = RandomForestClassifier(n_estimators=5, max_depth=12, random_state=0).fit(model.transform(X.iloc[:3000]), y)
    forest = _Forest.from_trees(_export_sklearn_tree(t, rf.classes_, 5) for t in rf.estimators_)
    ours = forest.value[forest.apply(Z)].mean(axis=1)[:, rf.classes_]
    assert np.allclose(ours, rf.predict_proba(Z), atol=1e-6)

    from sklearn.ensemble import HistGradientBoostingClassifier

    gb = HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=7, early_stopping=False, random_state=0)
    gb.fit(model.transform(X.iloc[:3000]), y)
    model.boosting_ = model._export_boosting(gb)
    model.boosting_classes_ = [int(c) for c in gb.classes_]
    model.boosting_baseline_ = [float(v) for v in np.ravel(gb._baseline_prediction)]
    model.rf_weight = 0.0
    assert np.allclose(model._classifier_proba(Z)[:, gb.classes_], gb.predict_proba(Z), atol=1e-5)


@needs_data
def test_damaged_or_missing_files_fail_with_one_line(small, tmp_path: Path) -> None:
    model, _, _ = small
    model.save(tmp_path / "ok")
    with pytest.raises(NetcopilotError, match="missing"):
        ThreatModel.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "ok", broken)
    npz = broken / NPZ_NAME
    npz.write_bytes(npz.read_bytes()[:1000])
    with pytest.raises(NetcopilotError) as info:
        ThreatModel.load(broken)
    assert "\n" not in str(info.value) and NPZ_NAME in str(info.value)
    shutil.copy(tmp_path / "ok" / NPZ_NAME, npz)
    (broken / JSON_NAME).write_text("{not json")
    with pytest.raises(NetcopilotError, match="unreadable"):
        ThreatModel.load(broken)
    (broken / JSON_NAME).unlink()
    with pytest.raises(NetcopilotError, match="missing"):
        ThreatModel.load(broken)


def test_estimator_contract() -> None:
    model = ThreatModel()
    params = model.get_params()
    assert params["n_trees"] == 40 and "novelty_rate" in params
    assert model.set_params(n_trees=7, threshold=0.6) is model
    assert model.get_params()["n_trees"] == 7 and model.threshold == 0.6
    with pytest.raises(ValueError, match="no parameter"):
        model.set_params(trees=3)
    with pytest.raises(NetcopilotError, match="not trained"):
        model.predict_proba([NORMAL_HTTP.split(",")[:41]])


# ------------------------------------------------------------------------------- shipped model


def test_default_model_ships_small_and_without_pickle() -> None:
    files = sorted(p.name for p in default_model_dir().iterdir())
    assert NPZ_NAME in files and JSON_NAME in files and "MODEL_CARD.md" in files
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in files)
    assert sum(p.stat().st_size for p in default_model_dir().iterdir()) < 3_000_000


def test_default_model_classifies_obvious_records(tmp_path: Path) -> None:
    model = load_default()
    X, labels = read_records(write(tmp_path / "r.txt", [NEPTUNE, NORMAL_HTTP, SMURF]))
    assert list(model.predict(X)) == ["dos", "normal", "dos"]
    scores = model.score_samples(X)
    assert scores[0] > 0.9 and scores[1] < 0.2 and scores[2] > 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (3, 5) and np.allclose(proba.sum(axis=1), 1.0)
    # a dict and a plain row of 41 values work too
    row = dict(zip(COLUMNS, NEPTUNE.split(",")[:41]))
    assert list(model.predict(row)) == ["dos"]


def test_explain_names_features() -> None:
    model = load_default()
    attack = dict(zip(COLUMNS, NEPTUNE.split(",")[:41]))
    reasons = model.explain(attack, top=3)
    assert 1 <= len(reasons) <= 3
    for feature, text in reasons:
        assert feature in COLUMNS or feature == "novelty"
        assert isinstance(text, str) and text
    both = model.explain(pd.DataFrame([attack, dict(zip(COLUMNS, NORMAL_HTTP.split(",")[:41]))]))
    assert len(both) == 2 and all(isinstance(r, list) for r in both)


@needs_data
def test_default_model_on_the_20_percent_file() -> None:
    """The 20 % file is part of the training data: this only checks nothing is badly off."""
    X, labels = read_records(TWENTY)
    metrics = detection_metrics([category_of(v) for v in labels], load_default().predict(X))
    assert metrics["binary_accuracy"] > 0.98 and metrics["false_alarm_rate"] < 0.03
