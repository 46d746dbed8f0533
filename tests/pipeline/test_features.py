"""The feature store caches each input once per feature set and version (SQLite and PostgreSQL),
and training and serving see the same features for the same input (no training/serving skew)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netcopilot import artifacts
from netcopilot.embeddings import Encoder, VectorCache
from netcopilot.history.timing import DurationModel
from netcopilot.nlu.data import load_intents
from netcopilot.pipeline.feature_store import FeatureStore
from netcopilot.pipeline.features import command_features, question_vectors
from netcopilot.settings import Settings
from netcopilot.store.db import Store


def _fake(calls: list[list[str]]):  # noqa: ANN202
    def compute(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[len(t), t.count(" "), 1.0] for t in texts], dtype=np.float32)
    return compute


def test_each_text_is_computed_once_per_version(store_url: str) -> None:
    store = Store(store_url)
    calls: list[list[str]] = []
    fs = FeatureStore(store)
    first = fs.vectors("question", "v1", ["ping a host", "dns is slow", "ping a host"], _fake(calls))
    assert calls == [["ping a host", "dns is slow"]]  # a repeated text is computed once
    again = FeatureStore(store).vectors("question", "v1", ["dns is slow", "ping a host", "a new one"], _fake(calls))
    assert calls[1:] == [["a new one"]]
    np.testing.assert_array_equal(again[:2], first[[1, 0]])

    FeatureStore(store).vectors("question", "v2", ["ping a host"], _fake(calls))  # a new encoder: recomputed
    assert calls[2:] == [["ping a host"]]
    stats = {(r["feature_set"], r["version"]): r["rows"] for r in FeatureStore(store).stats()}
    assert stats == {("question", "v1"): 3, ("question", "v2"): 1}
    assert FeatureStore(store).drop_stale({"question": "v2"}) == 3
    assert [r["version"] for r in FeatureStore(store).stats()] == ["v2"]


def test_two_writers_of_the_same_rows_do_not_fail(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    first, second = FeatureStore(store), FeatureStore(store)
    calls: list[list[str]] = []
    texts = ["route to 10.1.1.1", "mtu problems"]
    original = second._read
    second._read = lambda name, version, keys: {}  # type: ignore[method-assign] # as if it read before `first` wrote
    first.vectors("question", "v1", texts, _fake(calls))
    out = second.vectors("question", "v1", texts, _fake(calls))
    second._read = original  # type: ignore[method-assign]
    assert out.shape == (2, 3) and FeatureStore(store).stats()[0]["rows"] == 2


def test_training_and_serving_see_the_same_question_vectors(models_dir: Path, tmp_path: Path) -> None:
    """Training embeds phrasings in batches (VectorCache), answering embeds one message at a time
    (Encoder.encode_one), monitoring reads the feature store: the same text gives the same vector."""
    encoder = Encoder(artifacts.encoder_dir(models_dir))
    phrasings = [t for t, _ in load_intents(Settings.load(environ={}).intents_dir).train][::97][:12]
    training = VectorCache().vectors(encoder, phrasings)
    serving = np.stack([encoder.encode_one(t) for t in phrasings])
    stored = FeatureStore(Store(f"sqlite:///{tmp_path / 'store.db'}")).question_vectors(encoder, phrasings)
    declared = question_vectors(encoder, phrasings)
    for other in (serving, stored, declared):
        np.testing.assert_allclose(other, training, atol=1e-5)


def test_time_model_learns_and_predicts_from_the_same_command_features(monkeypatch) -> None:  # noqa: ANN001
    """The execution-time model's fit and predict both read lines through the declared feature function."""
    from netcopilot.history import timing

    seen: list[str] = []
    original = timing.parse
    monkeypatch.setattr(timing, "parse", lambda text: seen.append(text) or original(text))
    runs = [("ping -c 4 -i 0.2 127.0.0.1", 0.62), ("ping -c 9 -i 0.2 127.0.0.1", 1.62), ("ping -c 2 -i 0.2 127.0.0.1", 0.22)]
    model = DurationModel().fit(runs)
    prediction = model.predict_one("ping -c 6 -i 0.2 127.0.0.1")
    assert seen == [c for c, _ in runs] + ["ping -c 6 -i 0.2 127.0.0.1"]  # training and serving alike
    parts = command_features("ping -c 6 -i 0.2 127.0.0.1")
    assert seen[-1] == "ping -c 6 -i 0.2 127.0.0.1" and len(seen) == 5  # the declared function is that same parse
    assert [[p.family for p in pipe] for pipe in parts] == [["ping"]] and parts[0][0].schedule == 1.0
    assert abs(prediction.seconds - 1.02) < 0.15


def test_monitor_reads_question_vectors_from_the_feature_store(models_dir: Path, tmp_path: Path) -> None:
    from netcopilot.frontends.monitor_cli import _embedder

    settings = Settings.load(environ={}, home=tmp_path, models_dir=models_dir)
    store = Store(settings.database_url)
    embed, training_texts = _embedder(settings, store)
    recent = ["cannot reach the printer vlan", "dns lookups time out since noon"]
    first = embed(recent)
    assert FeatureStore(store).stats()[0]["rows"] == 2
    reference = embed(training_texts)  # the training phrasings come from the bundle's cache, not the encoder
    cache = VectorCache.load(artifacts.current_dir(models_dir) / "vectors.npz")
    np.testing.assert_array_equal(reference, cache.vectors(Encoder(artifacts.encoder_dir(models_dir)), training_texts))
    assert cache.misses == 0
    rows = FeatureStore(store).stats()[0]["rows"]
    embed2, _ = _embedder(settings, store)
    np.testing.assert_array_equal(embed2(recent), first)
    assert FeatureStore(store).stats()[0]["rows"] == rows  # read back, nothing computed again


def test_features_build_and_list_through_the_cli(models_dir: Path, tmp_path: Path) -> None:
    import json

    from netcopilot.store.models import Conversation, Message, User
    from tests.clirun import cli_env, run

    home = tmp_path / "home"
    store = Store(f"sqlite:///{home / 'netcopilot.db'}")
    with store.session() as s, s.begin():
        user = User(external_id="cli:al")
        s.add(user)
        s.flush()
        conv = Conversation(user_id=user.id)
        s.add(conv)
        s.flush()
        for role, text in [("user", "dns is slow on vlan 20"), ("assistant", "try dig"), ("user", "dns is slow on vlan 20"),
                           ("user", "cannot reach 10.0.0.5 on 443")]:
            s.add(Message(conversation_id=conv.id, role=role, text=text))
    env = cli_env(home, NETCOPILOT_MODELS_DIR=str(models_dir))
    first = run(["features", "build"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.decode().strip() == "2 stored questions: 2 embedded now, 0 already cached"
    assert run(["features", "build"], env).stdout.decode().strip() == "2 stored questions: 0 embedded now, 2 already cached"
    listed = json.loads(run(["features", "list", "--json"], env).stdout)
    assert [(c["feature_set"], c["rows"]) for c in listed["cached"]] == [("question", 2)]
    assert [fs["name"] for fs in listed["sets"]] == ["question", "command", "connection"]


def test_opting_out_forgets_the_cached_vectors_of_that_persons_questions(tmp_path: Path) -> None:
    from netcopilot.privacy.people import set_opt_out
    from netcopilot.store.models import Conversation, Message, User

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.session() as s, s.begin():
        for who, text in [("cli:al", "why is the wifi slow"), ("cli:bo", "dns fails for intranet names")]:
            user = User(external_id=who)
            s.add(user)
            s.flush()
            conv = Conversation(user_id=user.id)
            s.add(conv)
            s.flush()
            s.add(Message(conversation_id=conv.id, role="user", text=text))
    calls: list[list[str]] = []
    FeatureStore(store).vectors("question", "v1", ["why is the wifi slow", "dns fails for intranet names"], _fake(calls))
    set_opt_out(store, "cli:al")
    FeatureStore(store).vectors("question", "v1", ["why is the wifi slow", "dns fails for intranet names"], _fake(calls))
    assert calls[1:] == [["why is the wifi slow"]]  # al's was forgotten, bo's is still cached
