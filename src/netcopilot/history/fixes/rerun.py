"""Re-running a failed command to read its error, for read-only commands on a conservative
allow-list only. The front end asks the user first; this module never runs anything else, never
through a shell, never with sudo, and always with a time limit.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from .parse import Failure, has_shell_syntax

_ALWAYS = {"dig", "host", "nslookup", "traceroute", "tracepath", "whois", "getent"}
_CURL_SAFE = {
    "-I", "--head", "-s", "--silent", "-S", "--show-error", "-v", "--verbose", "-L", "--location", "-k", "--insecure",
    "-m", "--max-time", "--connect-timeout", "-4", "-6", "--ipv4", "--ipv6", "--resolve", "--cacert", "-i",
    "--include", "-f", "--fail", "-H", "--header", "--compressed", "-A", "--user-agent", "--noproxy", "--tlsv1.2",
    "--tlsv1.3", "--http1.1", "--http2", "-X", "--request",
}


@dataclass
class RerunResult:
    output: str  # stderr then stdout, as the user would have seen the error first
    exit_status: int | None  # None: killed at the time limit
    timed_out: bool = False


def _curl_is_safe(f: Failure) -> bool:
    method = (f.options.get("-X") or f.options.get("--request") or "GET").upper()
    return (set(f.options) | f.flags) <= _CURL_SAFE and method in ("GET", "HEAD") and f.url is not None


def rerun_argv(f: Failure) -> list[str] | None:
    """The argv to re-run (ping gets a count so it ends), or None when re-running is not known to be safe."""
    if not f.utility or f.wrappers or has_shell_syntax(f.command):
        return None
    argv = [f.program, *f.args]
    if f.utility in _ALWAYS:
        return argv
    if f.utility == "ping" and "-f" not in f.flags:
        return argv if "-c" in f.options else [f.program, "-c", "3", *f.args]
    if f.utility == "curl" and _curl_is_safe(f):
        return argv
    if f.utility == "nc" and "-z" in f.flags and "-l" not in f.flags and not {"-e", "-c"} & set(f.options):
        return argv
    if f.utility == "ssh" and f.options.get("-o batchmode", "").lower() == "yes" and not {"-L", "-R", "-D", "-W"} \
            & set(f.options) and len([a for a in f.args if not a.startswith("-")]) <= len(f.options) + 1:
        return argv
    return None


def rerun(argv: list[str], timeout: float) -> RerunResult:
    """Run argv (no shell, no stdin) and collect what it printed."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return RerunResult(_text(exc.stderr) + _text(exc.output), None, True)
    except FileNotFoundError:
        return RerunResult(f"{argv[0]}: command not found", 127)
    return RerunResult(_text(done.stderr) + _text(done.stdout), done.returncode)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""
