"""Satisfaction signals: reactions, buttons, chat commands and the sentiment of replies."""

from netcopilot.feedback.signals import parse_reactions, reaction_value, reply_sentiment

__all__ = ["parse_reactions", "reaction_value", "reply_sentiment"]
