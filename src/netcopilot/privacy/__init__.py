"""Privacy controls: keyed pseudonyms in stored text, retention, opt-out, the data-use notice and
personal data export. `open_store(settings, frontend)` is how every front end opens the store, so
the `pseudonymize` setting is honoured in one place."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from netcopilot.privacy.pseudonymize import Pseudonymizer
from netcopilot.settings import Settings
from netcopilot.store.db import Store

SERVICE_FRONTENDS = ("slack", "api")  # where `auto` turns pseudonymisation on


def pseudonymizing(settings: Settings, frontend: str) -> bool:
    mode = settings.pseudonymize
    return mode == "on" or (mode == "auto" and frontend in SERVICE_FRONTENDS)


def load_key(settings: Settings) -> bytes:
    """The key from the `privacy_key` setting, else <home>/privacy.key (made once, mode 0600)."""
    if settings.privacy_key:
        return hashlib.sha256(settings.privacy_key.encode()).digest()
    path = Path(settings.home) / "privacy.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def pseudonymizer_for(settings: Settings, frontend: str) -> Pseudonymizer | None:
    return Pseudonymizer(load_key(settings)) if pseudonymizing(settings, frontend) else None


def open_store(settings: Settings, frontend: str = "cli") -> Store:
    return Store(settings.database_url, pseudonymizer=pseudonymizer_for(settings, frontend))
