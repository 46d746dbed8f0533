"""Every setting declared once: name, type, default, help and environment variable.

Explicit arguments win over the environment, the environment wins over defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from netcopilot.errors import SettingError


@dataclass(frozen=True)
class Setting:
    name: str
    type: Callable[[str], Any]
    default: Callable[["Settings"], Any] | Any
    help: str
    env_name: str | None = None  # when the variable has a name of its own (Slack's conventions)

    @property
    def env(self) -> str:
        return self.env_name or "NETCOPILOT_" + self.name.upper()


def _data_dir(_: "Settings") -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("netcopilot", appauthor=False))


def _resource_dir(name: str) -> Callable[["Settings"], Path]:
    """Packaged data (a wheel install) first, else the source checkout (an editable install)."""

    def find(_: "Settings") -> Path:
        here = Path(__file__).resolve().parent
        packaged = here / "_data" / name
        if packaged.is_dir():
            return packaged
        return here.parents[1] / name

    return find


def _float_between(lo: float, hi: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _privacy_mode(text: str) -> str:
    value = text.strip().lower()
    if value not in ("on", "off", "auto"):
        raise ValueError("must be on, off or auto")
    return value


def _on_off(text: str) -> str:
    value = text.strip().lower()
    if value not in ("on", "off"):
        raise ValueError("must be on or off")
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("home", Path, _data_dir, "Directory for the database, models and chat history."),
    Setting(
        "database_url",
        str,
        lambda s: f"sqlite:///{s.home / 'netcopilot.db'}",
        "SQLAlchemy URL of the store, e.g. postgresql+psycopg://user@host:5432/db.",
    ),
    Setting("models_dir", Path, lambda s: s.home / "models", "Where `netcopilot train` writes models."),
    Setting("intents_dir", Path, _resource_dir("intents"), "Intent definitions and training phrasings."),
    Setting("knowledge_dir", Path, _resource_dir("knowledge_base"), "Command catalog and runbooks."),
    Setting(
        "clarify_below",
        _float_between(0.0, 1.0),
        0.45,
        "Ask a clarifying question when the intent confidence is below this.",
    ),
    Setting("top_k", _positive_int, 5, "Commands shown per answer."),
    Setting("top_matches", _positive_int, 3, "Similar runbooks and sessions shown per answer."),
    Setting("threads", _positive_int, 2, "CPU threads for the sentence encoder."),
    Setting("reactions", str, None, "Emoji reaction -> satisfaction, e.g. '+1=1,x=-1' (default: a built-in list)."),
    Setting("reply_sentiment_min", _float_between(0.0, 1.0), 0.3,
            "A reply counts as feedback when the absolute VADER compound score reaches this."),
    Setting("bandit", _on_off, "on",
            "Reorder suggested commands by what feedback and runs showed (a contextual bandit) and by step "
            "orders learned from solved sessions: on or off."),
    Setting("pseudonymize", _privacy_mode, "auto",
            "Store keyed pseudonyms instead of IPs, host names, user names and e-mails: on, off, or auto "
            "(on for the Slack app and the HTTP API, off for your own CLI)."),
    Setting("privacy_key", str, None,
            "Secret key of the pseudonyms (default: a random key kept in <home>/privacy.key). Give every "
            "replica the same key, or the same host gets different pseudonyms."),
    Setting("retention_days", _positive_int, 90, "`netcopilot privacy purge` deletes conversations, feedback, "
            "command history and audit records older than this."),
    Setting("metrics", str, None,
            "Metrics for anomaly and capacity questions that name none: a CSV file, a folder, or prometheus://host:port?query=..."),
    Setting("slack_api_url", str, "https://slack.com/api/", "Slack Web API base URL (tests point it at a stub)."),
    Setting("slack_bot_token", str, None, "Bot token (xoxb-...).", env_name="SLACK_BOT_TOKEN"),
    Setting("slack_app_token", str, None, "App-level token for Socket Mode (xapp-...).", env_name="SLACK_APP_TOKEN"),
    Setting("slack_signing_secret", str, None, "Signing secret for HTTP mode.", env_name="SLACK_SIGNING_SECRET"),
)


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    @classmethod
    def load(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        environ = dict(os.environ if environ is None else environ)
        settings = cls()
        for setting in SETTINGS:
            if overrides.get(setting.name) is not None:
                value = overrides[setting.name]
            elif setting.env in environ and environ[setting.env] != "":
                raw = environ[setting.env]
                try:
                    value = setting.type(raw)
                except ValueError as exc:
                    raise SettingError(
                        f"{setting.env}={raw!r} is not valid: {exc} ({setting.help})"
                    ) from None
            else:
                value = setting.default(settings) if callable(setting.default) else setting.default
            if setting.type is Path:
                value = Path(value).expanduser()
            settings.values[setting.name] = value
        return settings
