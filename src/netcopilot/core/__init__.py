"""The one core every front end calls: `Assistant.answer(Request) -> Answer`."""

from netcopilot.core.types import Answer, Match, Request

__all__ = ["Answer", "Match", "Request"]
