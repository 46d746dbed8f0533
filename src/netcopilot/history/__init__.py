"""Learning from what people run: command histories and the next-command model."""
