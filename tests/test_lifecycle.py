"""The model lifecycle end to end on the local PostgreSQL: train -> register -> serve -> feedback
-> retrain -> the gate rejects -> promote by hand -> rollback. Real training, real MLflow
registry, the real API on loopback; most of the time is the retraining."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from netcopilot import artifacts
from netcopilot.api import ApiOptions, create_app
from netcopilot.api.auth import KeyStore
from netcopilot.registry import Registry
from netcopilot.retrain import learned_dir, retrain
from netcopilot.settings import Settings
from netcopilot.store.db import Store

QUESTIONS = ("why can't I reach 10.0.0.5 on port 443?", "dig says SERVFAIL for intranet.example.org",
             "the wifi keeps dropping on my laptop every few minutes")


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings, options=ApiOptions()), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def test_train_register_serve_feedback_retrain_gate_rollback(models_dir: Path, postgres_url: str, tmp_path: Path) -> None:
    models = tmp_path / "models"  # the registry keeps paths relative to models_dir, so a copy is self-contained
    shutil.copytree(models_dir, models)
    settings = Settings.load(environ={}, home=tmp_path, models_dir=models, database_url=postgres_url)

    # train -> register: the session's `netcopilot train` registered its version as production
    production = Registry(models).production("intent")
    assert production is not None and production.label == artifacts.current_version(models)
    assert production.gate_record().startswith("promoted")
    assert {"intent.ensemble.accuracy", "intent.ensemble.macro_f1"} <= set(production.metrics)
    assert Registry(models).production("anomaly") is not None and Registry(models).production("next") is not None

    # serve -> feedback, over HTTP with an API key, into PostgreSQL
    store = Store(postgres_url)
    key, _ = KeyStore(store).create("lifecycle")
    server, thread, url = _serve(settings)
    try:
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"}) as http:
            deadline = time.monotonic() + 300
            while http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, http.get("/readyz").text
                time.sleep(0.2)
            answers = [http.post("/v1/ask", json={"text": q}).json() for q in QUESTIONS]
            assert all(a["answer_id"] for a in answers)
            for a in answers[:2]:
                assert http.post("/v1/feedback", json={"answer_id": a["answer_id"], "kind": "good"}).status_code == 201
            correction = {"answer_id": answers[2]["answer_id"], "kind": "correction", "intent": "wifi"}
            assert http.post("/v1/feedback", json=correction).status_code == 201
    finally:
        server.should_exit = True
        thread.join(30)

    # retrain -> gate: the feedback became phrasings; a candidate that must beat production by 1.0 is rejected
    report = retrain(settings, store, tolerance=-1.0, spacy_epochs=2)  # fewer epochs: the gate is what is tested
    assert report.added >= 2 and (learned_dir(settings) / "wifi.txt").exists()
    assert report.train is not None and not report.promoted
    assert report.train.encoded == report.added  # every other text's vector came from production's bundle
    assert report.train.decision.reasons[0].startswith("production re-measured on the same")
    assert any("worse by" in reason for reason in report.train.decision.reasons)
    assert artifacts.current_version(models) == production.label  # a rejected candidate never serves

    # promote by hand, then roll back: CURRENT follows the production alias both ways
    registry = Registry(models)
    promoted = registry.promote("intent", "candidate")
    assert promoted.label == report.train.version == artifacts.current_version(models)
    assert registry.rollback("intent").label == production.label == artifacts.current_version(models)
    store.close()
