"""The chat's way into threat detection: "is anything malicious in capture.pcap?", "who is
scanning us in conn.log?" analyse the file the message names."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from netcopilot.errors import NetcopilotError

log = logging.getLogger("netcopilot.threats")
FILE = re.compile(r"((?:~|\.{1,2})?/?[\w.\-/~]+\.(?:pcapng|pcap|cap|log|txt|csv|gz))\b", re.I)
ASK_FOR_FILE = ("Give me something to look at: name a packet capture (pcap/pcapng), a Zeek conn.log or "
                "NSL-KDD records in your question, or run `netcopilot threats FILE`.")


def analyse(text: str, home: Path, models_dir: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"kind": "security", "source": None, "summary": [], "png": None, "error": None}
    path = next((Path(m.group(1)).expanduser() for m in FILE.finditer(text) if Path(m.group(1)).expanduser().is_file()), None)
    if path is None:
        result["error"] = ASK_FOR_FILE
        return result
    result["source"] = str(path)
    try:
        from netcopilot.threats import intel, service

        report = service.analyse_file(path, service.load_model(models_dir), intel.load_saved(home))
        result["summary"] = summary_lines(report, limit=6)
    except NetcopilotError as exc:
        result["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - a failed analysis must not cost the user the answer
        log.exception("threat analysis of %s failed", path)
        result["error"] = f"the analysis failed ({type(exc).__name__}: {exc})"
    return result


def summary_lines(report: Any, limit: int = 10) -> list[str]:
    """The findings a person reads first, most severe first."""
    counts = ", ".join(f"{c} {n:,}" for c, n in report.by_category.most_common())
    lines = [f"{report.records:,} {'connections' if report.kind != 'records' else 'records'} ({counts})"]
    if not report.findings:
        lines.append("No threats found.")
    for f in report.findings[:limit]:
        lines.append(f"[{f['severity']}] {f['summary']}")
        if f["next_steps"]:
            lines.append(f"    next: {f['next_steps'][0]}")
    return lines
