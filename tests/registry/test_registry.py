"""The model registry (MLflow over a real SQLite file), the validation gate, promotion, rollback,
tamper detection, `netcopilot train`'s use of them and `netcopilot models` as users run it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netcopilot import artifacts
from netcopilot.errors import InputError, ModelMismatchError
from netcopilot.registry import KINDS, MetricRule, Registry, flatten, gate, sync_sources
from netcopilot.settings import Settings
from tests.clirun import REPO, cli_env

# `netcopilot models` is registered on the main app by cli.py; until then tests add it themselves
CLI = ("import sys\nfrom netcopilot.frontends import cli, models_cli\n"
       "if not any(g.name == 'models' for g in cli.app.registered_groups):\n    models_cli.register(cli.app)\n"
       "cli.main()\n")


def run_cli(args: list[str], home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, env=cli_env(home), timeout=300,
                          cwd=REPO)


@pytest.fixture(scope="session")
def empty_registry_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MLflow builds its schema with ~100 migrations (seconds); build it once, copy it per test."""
    folder = tmp_path_factory.mktemp("registry-template")
    registry = Registry(folder)
    registry.client.search_experiments()
    registry.versions("intent")
    return folder / "registry.db"


@pytest.fixture
def home(tmp_path: Path, empty_registry_db: Path) -> Path:
    (tmp_path / "models").mkdir()
    shutil.copy(empty_registry_db, tmp_path / "models" / "registry.db")
    return tmp_path


@pytest.fixture
def registry(home: Path) -> Registry:
    return Registry(home / "models")


def intent_bundle(models_dir: Path, accuracy: float, macro_f1: float | None = None) -> Path:
    """A small assistant bundle with a real manifest (file hashes, library versions)."""
    metrics = {"intent": {"ensemble": {"accuracy": accuracy, "macro_f1": macro_f1 or accuracy, "n": 100}}}
    fingerprint = f"{int(accuracy * 1e6):08x}"
    while (bundle := models_dir / artifacts.new_version(fingerprint)).exists():
        time.sleep(0.2)
    (bundle / "nlu").mkdir(parents=True)
    (bundle / "nlu" / "weights.bin").write_bytes(fingerprint.encode() * 10)
    (bundle / "ranker.json").write_text(json.dumps({"accuracy": accuracy}))
    artifacts.write_manifest(bundle, {"version": bundle.name, "kind": "intent", "fingerprint": fingerprint,
                                      "data": {"intent_test": 100}, "metrics": metrics})
    (bundle / "MODEL_CARD.md").write_text(f"# {bundle.name}\n")
    return bundle


def register_intent(registry: Registry, accuracy: float, **kw):  # noqa: ANN201
    version = registry.register("intent", intent_bundle(registry.models_dir, accuracy))
    return version, registry.gate_and_promote(version, **kw)


# ---------------------------------------------------------------------------- the gate alone

RULES = (MetricRule("intent.ensemble.macro_f1", "macro-F1", True, 0.01), MetricRule("fa", "false alarms", False, 0.005))


def test_gate_promotes_the_first_model_and_within_tolerance() -> None:
    assert gate(RULES, {"intent.ensemble.macro_f1": 0.9, "fa": 0.02}, None).promote
    decision = gate(RULES, {"intent.ensemble.macro_f1": 0.951, "fa": 0.01}, {"intent.ensemble.macro_f1": 0.955, "fa": 0.02})
    assert decision.promote
    assert decision.reasons == ["macro-F1 0.951 vs production 0.955: within tolerance 0.010",
                                "false alarms 0.010 vs production 0.020: better"]


def test_gate_rejects_a_drop_beyond_tolerance_and_says_why() -> None:
    prod = {"intent.ensemble.macro_f1": 0.955, "fa": 0.010}
    decision = gate(RULES, {"intent.ensemble.macro_f1": 0.940, "fa": 0.012}, prod)
    assert not decision.promote
    assert "macro-F1 0.940 vs production 0.955: worse by 0.015, more than tolerance 0.010" in decision.reasons
    assert "false alarms 0.012 vs production 0.010: within tolerance 0.005" in decision.reasons
    assert gate(RULES, {"intent.ensemble.macro_f1": 0.940, "fa": 0.012}, prod, tolerance=0.02).promote
    assert not gate(RULES, {"fa": 0.0}, prod).promote  # a gated metric the candidate lacks cannot pass
    assert flatten({"a": {"b": 1, "c": "x", "d": float("nan")}, "e": 2.5}) == {"a.b": 1.0, "e": 2.5}


# ---------------------------------------------------------------------------- registry

def test_register_gate_promote_reject_and_rollback(registry: Registry) -> None:
    models_dir = registry.models_dir
    first, decision = register_intent(registry, 0.90)
    assert decision.promote and "first netcopilot-intent" in decision.reasons[0]
    assert artifacts.current_version(models_dir) == first.label
    assert registry.production_path("intent") == first.path

    second, decision = register_intent(registry, 0.93)
    assert decision.promote and artifacts.current_version(models_dir) == second.label

    worse, decision = register_intent(registry, 0.80)
    assert not decision.promote
    assert "held-out accuracy 0.800 vs production 0.930: worse by 0.130" in decision.summary()
    assert artifacts.current_version(models_dir) == second.label  # a rejected candidate never becomes current
    listed = {v.number: v.aliases for v in registry.versions("intent")}
    assert listed == {first.number: [], second.number: ["production"], worse.number: ["candidate"]}
    stored = registry.get("intent", str(worse.number))
    assert stored.gate_record().startswith(f"not promoted against {second.number}")
    assert stored.metrics["intent.ensemble.accuracy"] == 0.8
    assert stored.params["library.numpy"] == artifacts.library_versions()["numpy"]
    assert stored.params["sha256.nlu/weights.bin"] == artifacts.read_manifest(worse.path)["files"]["nlu/weights.bin"]

    assert registry.promote("intent", "candidate").number == worse.number  # a person may override the gate
    assert artifacts.current_version(models_dir) == worse.label
    assert registry.rollback("intent").number == second.number
    assert artifacts.current_version(models_dir) == second.label
    assert registry.rollback("intent").number == first.number
    with pytest.raises(InputError, match="no previous production"):
        registry.rollback("intent")
    assert Registry(models_dir).production("intent").label == first.label == artifacts.current_version(models_dir)


def test_tampered_artefacts_are_refused_by_promote_and_by_loading(registry: Registry, home: Path) -> None:
    good, _ = register_intent(registry, 0.90)
    bad, _ = register_intent(registry, 0.50)
    weights = bad.path / "nlu" / "weights.bin"
    weights.write_bytes(b"replaced")
    with pytest.raises(ModelMismatchError, match="weights.bin: contents changed"):
        registry.promote("intent", str(bad.number))
    with pytest.raises(ModelMismatchError, match="weights.bin: contents changed"):
        artifacts.read_manifest(bad.path)  # what Assistant.load runs on the CURRENT bundle
    assert artifacts.current_version(registry.models_dir) == good.label
    out = run_cli(["models", "promote", "intent", str(bad.number)], home)
    err = out.stderr.decode().strip()
    assert out.returncode == 2 and len(err.splitlines()) == 1 and str(weights) in err, err
    # rewriting the manifest to match the new file is caught too: the registry pinned its sha256
    manifest = json.loads((bad.path / "manifest.json").read_text())
    manifest["libraries"] = {**manifest["libraries"], "numpy": "0.1.0"}
    (bad.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelMismatchError, match="manifest.json: changed since"):
        registry.promote("intent", str(bad.number))
    assert artifacts.current_version(registry.models_dir) == good.label


def test_a_broken_production_is_replaced_and_the_threat_model_is_served(registry: Registry) -> None:
    first, _ = register_intent(registry, 0.95)
    (first.path / "ranker.json").write_text("{}")
    second, decision = register_intent(registry, 0.50)
    assert decision.promote and "is unusable" in decision.reasons[0]

    threat = registry.register_files("threat", {"threat_model.json": b"{}", "MODEL_CARD.md": b"# t\n"},
                                     metrics={"held_out": {"detection_rate": 0.9, "false_alarm_rate": 0.01,
                                                           "binary_accuracy": 0.95}})
    assert registry.gate_and_promote(threat).promote
    served = registry.models_dir / "threats"
    assert (served / "threat_model.json").read_bytes() == b"{}" and (served / "MODEL_CARD.md").is_file()
    worse = registry.register_files("threat", {"threat_model.json": b"[]"},
                                    metrics={"held_out": {"detection_rate": 0.9, "false_alarm_rate": 0.05,
                                                          "binary_accuracy": 0.95}})
    decision = registry.gate_and_promote(worse)
    assert not decision.promote and "false-alarm rate 0.050 vs production 0.010" in decision.summary()
    assert (served / "threat_model.json").read_bytes() == b"{}"


def test_file_kinds_register_only_when_they_change(registry: Registry, home: Path) -> None:
    settings = Settings.load(environ={}, home=home, models_dir=home / "models")
    first = sync_sources(registry, settings)
    assert sorted(v.kind for v, _ in first) == ["anomaly", "next"]  # no bandit/time state yet
    anomaly = registry.production("anomaly")
    params = json.loads((anomaly.path / "anomaly_params.json").read_text())
    assert params["class"].endswith("AnomalyDetector") and params["params"]["threshold"] == 0.997
    assert sync_sources(registry, settings) == []
    (home / "bandit.npz").write_bytes(b"state")
    assert [v.kind for v, d in sync_sources(registry, settings) if d.promote] == ["bandit"]
    assert set(KINDS) == {"intent", "threat", "anomaly", "next", "time", "bandit"}


# ---------------------------------------------------------------------------- the CLI

def test_models_cli_list_show_promote_rollback(registry: Registry, home: Path) -> None:
    first, _ = register_intent(registry, 0.90)
    second, _ = register_intent(registry, 0.80)  # rejected: candidate
    out = run_cli(["models", "list", "--json"], home)
    assert out.returncode == 0, out.stderr.decode()
    rows = {r["version"]: r for r in json.loads(out.stdout)}
    assert rows[first.number]["aliases"] == ["production"] and rows[second.number]["aliases"] == ["candidate"]
    assert rows[second.number]["metrics"]["intent.ensemble.macro_f1"] == 0.8
    assert "worse by 0.100" in rows[second.number]["gate"]

    out = run_cli(["models", "show", f"intent:{second.number}"], home)
    text = out.stdout.decode()
    assert out.returncode == 0 and f"label: {second.label}" in text and "nlu/weights.bin: " in text
    assert "numpy: " in text and "gate history:" in text and "first netcopilot-intent" in text

    out = run_cli(["models", "promote", "intent", second.label], home)
    assert out.returncode == 0 and "is production" in out.stdout.decode(), out.stderr.decode()
    assert artifacts.current_version(home / "models") == second.label
    out = run_cli(["models", "rollback", "intent"], home)
    assert out.returncode == 0 and f"rolled back to version {first.number}" in out.stdout.decode()
    assert artifacts.current_version(home / "models") == first.label

    for args, needle in ((["models", "list", "--kind", "nope"], "unknown model kind 'nope'"),
                         (["models", "show", "intent:99"], "no version '99'"),
                         (["models", "promote", "threat", "1"], "no version '1'"),
                         (["models", "rollback", "intent"], "no previous production")):
        out = run_cli(args, home)
        err = out.stderr.decode().strip()
        assert out.returncode == 2 and len(err.splitlines()) == 1 and needle in err, (args, err)


def test_no_network_is_touched(home: Path) -> None:
    """Register, gate and promote in a process where any socket use raises."""
    script = (
        "import sys\n"
        "def hook(event, args):\n"
        "    if event in ('socket.connect', 'socket.getaddrinfo', 'socket.gethostbyname'):\n"
        "        raise RuntimeError(f'network use: {event} {args}')\n"
        "sys.addaudithook(hook)\n"
        "from pathlib import Path\n"
        "from netcopilot.registry import Registry\n"
        "from tests.registry.test_registry import register_intent\n"
        f"r = Registry(Path({str(home / 'models')!r}))\n"
        "v, d = register_intent(r, 0.9)\n"
        "print(d.promote, r.production('intent').number)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=REPO, timeout=300,
                         env=cli_env(home))
    assert out.returncode == 0 and out.stdout.decode().split() == ["True", "1"], out.stderr.decode()[-2000:]

# `netcopilot train` -> register -> gate -> promote/rollback on a real training run: tests/test_lifecycle.py
