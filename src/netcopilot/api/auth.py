"""API keys: created once, shown once, stored only as a hash, checked on every request.

A key is `nc_` + 43 URL-safe characters (32 random bytes). The store keeps its first
`PREFIX_CHARS` characters (to find the row and to show in `netcopilot apikey list`) and the hex
SHA-256 of the whole key. A fast hash is enough: the key is 256 random bits, so there is nothing
to brute-force that a slow password hash would protect; hashes are compared with
`hmac.compare_digest`. Each key carries scopes (`SCOPES`); `admin` grants every scope.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import anyio
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Receive, Scope, Send

from netcopilot.api.limits import RateLimiter, send_json
from netcopilot.errors import InputError
from netcopilot.store.db import Store
from netcopilot.store.models import ApiKey, utcnow

KEY_PREFIX = "nc_"
PREFIX_CHARS = 11  # "nc_" + 8 characters of the secret part
SCOPES = ("ask", "suggest", "detect", "threats", "next", "feedback", "admin")
DEFAULT_SCOPES = tuple(s for s in SCOPES if s != "admin")
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


@dataclass(frozen=True)
class KeyInfo:
    """What a request knows about the key it came with (never the key itself)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked: bool = False

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    @property
    def user(self) -> str:
        """The external user id answers and feedback are recorded under."""
        return f"api:{self.name}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(text: str | None) -> tuple[str, ...]:
    """`ask,suggest` -> ("ask", "suggest"); None or "" -> the default scopes (all but admin)."""
    if not text:
        return DEFAULT_SCOPES
    scopes = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InputError(f"--scopes: unknown scope {', '.join(unknown) or text!r}; choose from {', '.join(SCOPES)}")
    return scopes


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, tuple(row.scopes or ()), row.created_at, row.last_used_at, row.revoked)


class KeyStore:
    """The `api_keys` table of a Store."""

    def __init__(self, store: Store):
        self.store = store

    def create(self, name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> tuple[str, KeyInfo]:
        """A new key and its info; the key is returned here and nowhere else, ever."""
        if not _NAME.match(name):
            raise InputError(f"--name {name!r}: use 1-100 letters, digits, '_', '.', '@' or '-', starting with a letter or digit")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(name=name, prefix=key[:PREFIX_CHARS], key_hash=hash_key(key), scopes=list(scopes),
                     revoked=False, created_at=utcnow())
        try:
            with self.store.session() as s, s.begin():
                s.add(row)
        except IntegrityError:
            raise InputError(f"--name {name!r}: a key with this name already exists (revoked keys keep their names)") from None
        return key, _info(row)

    def list(self) -> list[KeyInfo]:
        with self.store.session() as s:
            return [_info(row) for row in s.scalars(select(ApiKey).order_by(ApiKey.id))]

    def active_count(self) -> int:
        return sum(not k.revoked for k in self.list())

    def revoke(self, name: str) -> KeyInfo:
        with self.store.session() as s, s.begin():
            row = s.scalar(select(ApiKey).where(ApiKey.name == name))
            if row is None:
                raise InputError(f"no API key named {name!r} (see `netcopilot apikey list`)")
            if not row.revoked:
                row.revoked, row.revoked_at = True, utcnow()
            return _info(row)

    def verify(self, key: str) -> KeyInfo | None:
        """The active key matching `key`, or None. Records when it was last used (at most once a
        minute, so a busy client does not turn every request into a write)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        wanted = hash_key(key)
        with self.store.session() as s, s.begin():
            found = None
            for row in s.scalars(select(ApiKey).where(ApiKey.prefix == key[:PREFIX_CHARS])):
                if hmac.compare_digest(row.key_hash, wanted) and not row.revoked:
                    found = row
            if found is None:
                return None
            now = utcnow()
            last = found.last_used_at
            if last is None or now - (last if last.tzinfo else last.replace(tzinfo=timezone.utc)) >= TOUCH_EVERY:
                found.last_used_at = now
            return _info(found)


class AuthMiddleware:
    """Refuses requests to protected paths before their body is read: 401 without a valid key,
    403 when the key lacks the path's scope, 429 when the key is over its rate. The key's info
    is left in `request.state.api_key` for the endpoint. Without a KeyStore (`serve --no-auth`)
    every request acts as a local admin key."""

    def __init__(self, app: ASGIApp, keys: KeyStore | None, scopes: dict[str, str], limiter: RateLimiter):
        self.app = app
        self.keys = keys
        self.scopes = scopes
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        needed = self.scopes.get(scope["path"]) if scope["type"] == "http" else None
        if needed is None:
            await self.app(scope, receive, send)
            return
        if self.keys is None:
            info = LOCAL_KEY
        else:
            token = _bearer(scope)
            if token is None:
                await send_json(send, 401, "missing API key: send 'Authorization: Bearer KEY'",
                                {"WWW-Authenticate": f'Bearer realm="{REALM}"'})
                return
            info = await anyio.to_thread.run_sync(self.keys.verify, token)
            if info is None:
                await send_json(send, 401, "invalid or revoked API key",
                                {"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'})
                return
            if not info.allows(needed):
                await send_json(send, 403, f"this API key lacks the '{needed}' scope",
                                {"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", scope="{needed}"'})
                return
        wait = self.limiter.take(info.id)
        if wait:
            await send_json(send, 429, f"rate limit of {self.limiter.rate:g} requests/s exceeded; retry later",
                            {"Retry-After": self.limiter.retry_after(wait)})
            return
        scope.setdefault("state", {})["api_key"] = info
        await self.app(scope, receive, send)


REALM = "netcopilot"
LOCAL_KEY = KeyInfo(0, "local", "", ("admin",), datetime.fromtimestamp(0, timezone.utc))


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
