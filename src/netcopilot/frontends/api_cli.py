"""CLI adapters for the HTTP API: `netcopilot serve` and `netcopilot apikey create/list/revoke`
(registered on the main app by `register`)."""

from __future__ import annotations

import ipaddress
import sys
from typing import Optional

import typer

apikey_app = typer.Typer(help="API keys for `netcopilot serve`: shown once at creation, stored only as a hash.",
                         no_args_is_help=True)


def _keys():  # noqa: ANN202 - a KeyStore, imported lazily
    from netcopilot.api.auth import KeyStore
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    return KeyStore(Store(Settings.load().database_url))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@apikey_app.command("create", epilog=(
    "Examples:\n\n  netcopilot apikey create --name ci\n\n"
    "  netcopilot apikey create --name grafana --scopes detect,threats\n\n"
    "  curl -H \"Authorization: Bearer $KEY\" -d '{\"text\": \"is 443 open on web01?\"}' "
    "-H 'content-type: application/json' http://127.0.0.1:8080/v1/ask"
))
def apikey_create(
    name: str = typer.Option(..., "--name", help="A name for the key (who or what uses it); answers are recorded as api:NAME."),
    scopes: Optional[str] = typer.Option(None, "--scopes", help=(
        "Comma-separated: ask, suggest, detect, threats, next, feedback, admin (admin grants all). "
        "Default: all but admin.")),
) -> None:
    """Create a key and print it once: it cannot be shown again, only revoked."""
    from netcopilot.api.auth import parse_scopes

    key, info = _keys().create(name, parse_scopes(scopes))
    sys.stdout.write(key + "\n")
    sys.stderr.write(f"API key {info.name!r} created with scopes {','.join(info.scopes)}; "
                     "store it now, it is not shown again. Clients send 'Authorization: Bearer KEY'.\n")


@apikey_app.command("list", epilog="Example:  netcopilot apikey list")
def apikey_list() -> None:
    """Show every key: name, prefix, scopes, when created and last used, and whether revoked."""
    from rich.console import Console
    from rich.table import Table

    keys = _keys().list()
    console = Console(highlight=False)
    if not keys:
        console.print("No API keys; create one with `netcopilot apikey create --name NAME`.")
        return
    table = Table(title="API keys", title_justify="left")
    for col in ("name", "prefix", "scopes", "created", "last used", "status"):
        table.add_column(col)
    for k in keys:
        used = k.last_used_at.isoformat(timespec="minutes") if k.last_used_at else "never"
        table.add_row(k.name, k.prefix + "…", ",".join(k.scopes), k.created_at.isoformat(timespec="minutes"), used,
                      "revoked" if k.revoked else "active")
    console.print(table)


@apikey_app.command("revoke", epilog="Example:  netcopilot apikey revoke ci")
def apikey_revoke(name: str = typer.Argument(..., help="The key's name (see `netcopilot apikey list`).")) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    info = _keys().revoke(name)
    sys.stderr.write(f"API key {info.name!r} ({info.prefix}…) is revoked\n")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=16,
                                help="Worker processes, each with its own models (~1 per CPU core; the Assistant is CPU-bound)."),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve without API keys (local development only)."),
    rate: float = typer.Option(10.0, "--rate", min=0.0, help="Requests per second per key, on average (0: no limit)."),
    burst: int = typer.Option(20, "--burst", min=1, help="Requests a key may send at once before --rate applies."),
    max_body: int = typer.Option(1 << 20, "--max-body", min=1024, help="Largest request body, in bytes (larger: 413)."),
    max_queue: int = typer.Option(64, "--max-queue", min=1, help="Requests that may wait for the Assistant (more: 503)."),
    metrics_auth: bool = typer.Option(False, "--metrics-auth", help="Require a key with the admin scope for /metrics."),
) -> None:
    """Serve the HTTP API: POST /v1/ask, /v1/suggest, /v1/detect, /v1/threats, /v1/next,
    /v1/feedback; GET /healthz, /readyz, /metrics; the OpenAPI spec at /openapi.json and /docs."""
    import json
    import os
    from dataclasses import asdict

    import uvicorn

    from netcopilot import artifacts
    from netcopilot.api.app import OPTIONS_ENV, ApiOptions
    from netcopilot.errors import InputError
    from netcopilot.settings import Settings

    settings = Settings.load()
    artifacts.current_dir(settings.models_dir)  # no models: one clear line now, not a 503 later
    if not no_auth and _keys().active_count() == 0:
        raise InputError("no active API key: create one with `netcopilot apikey create --name NAME` "
                         "(or pass --no-auth for local development)")
    if no_auth and not _is_loopback(host):
        sys.stderr.write(f"netcopilot serve: warning: --no-auth on {host}: anyone who can reach this port can use the API\n")
    options = ApiOptions(auth=not no_auth, rate=rate, burst=burst, max_body_bytes=max_body, metrics_auth=metrics_auth,
                         max_queue=max_queue)
    os.environ[OPTIONS_ENV] = json.dumps(asdict(options))
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"netcopilot serve: http://{shown}:{port} (API docs at /docs, {workers} worker(s), "
                     f"auth {'off' if no_auth else 'on'})\n")
    uvicorn.run("netcopilot.api.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="info")


def register(app: typer.Typer) -> None:
    """Add `serve` and `apikey` to the main `netcopilot` app."""
    app.command("serve", epilog=(
        "Examples:\n\n  netcopilot apikey create --name ci && netcopilot serve --port 8080\n\n"
        "  netcopilot serve --host 0.0.0.0 --workers 2 --rate 20 --burst 40\n\n"
        "  netcopilot serve --no-auth     (local development only)"
    ))(serve)
    app.add_typer(apikey_app, name="apikey")
