"""The HTTP API (`netcopilot serve`): FastAPI over the same Assistant as the CLI and Slack."""

from netcopilot.api.app import ApiOptions, create_app

__all__ = ["ApiOptions", "create_app"]
