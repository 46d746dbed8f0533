"""Running the real `netcopilot` command in a subprocess, as users and evaluation scripts do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without any NETCOPILOT_* setting of the developer's, with a fresh home."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("NETCOPILOT_")}
    return {**base, "NETCOPILOT_HOME": str(home), "COLUMNS": "120", **extra}


def run(args: list[str], env: dict[str, str], stdin: str = "", timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netcopilot", *args], input=stdin.encode(), capture_output=True,
                          env=env, timeout=timeout, cwd=REPO)
