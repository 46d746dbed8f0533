"""netcopilot: a networking copilot for chat, the terminal and HTTP."""

__version__ = "0.1.0"
