"""Shared fixtures. Everything is real: models are trained once per test session by the same
code `netcopilot train` runs, SQLite lives in a temporary directory, and PostgreSQL is the server
on this machine (a fresh schema per session, dropped at the end)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

# One BLAS thread per test process (OpenBLAS reads this when numpy loads, after this line): `make
# test` runs two workers on two cores, and a second OpenBLAS thread per worker only busy-waits for
# the core the other worker is using (training's command ranker took 1.3-2.6 times as long with
# it, for the same weights).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from netcopilot.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("NETCOPILOT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own NETCOPILOT_* settings."""
    for name in list(os.environ):
        if name.startswith("NETCOPILOT_") and name != "NETCOPILOT_TEST_POSTGRES":
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Models trained once for the whole run, exactly as `netcopilot train`. With pytest-xdist
    (`make test` runs two workers) the first worker trains into the run's shared temporary folder
    and the other waits for it, so training happens once however many workers there are."""
    from filelock import FileLock

    from netcopilot.training import train

    root = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    target = root / "models-shared"
    with FileLock(str(root / "models-shared.lock")):
        if not (target / "CURRENT").exists():
            target.mkdir(exist_ok=True)
            train(Settings.load(environ={}, home=target, models_dir=target))
    return target


def make_settings(home: Path, models_dir: Path, database_url: str | None = None) -> Settings:
    return Settings.load(environ={}, home=home, models_dir=models_dir,
                         database_url=database_url or f"sqlite:///{home / 'netcopilot.db'}")


@pytest.fixture
def settings(tmp_path: Path, models_dir: Path) -> Settings:
    return make_settings(tmp_path, models_dir)


@pytest.fixture(scope="session")
def shared_assistant(tmp_path_factory: pytest.TempPathFactory, models_dir: Path):
    """One loaded Assistant for read-only checks (its own SQLite store)."""
    from netcopilot.core.assistant import Assistant

    home = tmp_path_factory.mktemp("home")
    return Assistant.load(make_settings(home, models_dir))


@pytest.fixture
def assistant(settings: Settings, shared_assistant):
    """An Assistant with the shared models but a fresh, empty store."""
    from netcopilot.core.assistant import Assistant
    from netcopilot.store.db import Store

    a = shared_assistant
    fresh = Assistant(settings, a.encoder, a.intents, a.ranker, a.knowledge, a.runbook_index,
                      Store(settings.database_url), a.versions)
    yield fresh
    fresh.store.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema in the local PostgreSQL `test` database,
    dropped after the test."""
    from sqlalchemy import create_engine, text

    schema = f"nc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at {PG_URL} is required for the store tests: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long lifecycle test first (its worker starts training at once and then retrains), then
    the tests that need no models (the other worker runs them meanwhile), then the rest. A stable
    sort, so every xdist worker collects the same order."""

    def rank(item: pytest.Item) -> int:
        if "test_lifecycle" in item.nodeid:
            return 0
        return 2 if "models_dir" in getattr(item, "fixturenames", ()) else 1

    items.sort(key=rank)
