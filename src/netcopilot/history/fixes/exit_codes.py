"""What an exit status means, for the failures no rule recognised (or recorded without any
output): the shell's conventions and the documented codes of curl, wget, ssh, ping, dig and nc."""

from __future__ import annotations

import re

from .model import Fix, Raw, Suggestion, sh
from .packages import Platform
from .parse import Failure
from .registry import rule

MEANINGS: dict[tuple[str, int], str] = {
    ("curl", 1): "unsupported protocol in the URL", ("curl", 3): "the URL is malformed",
    ("curl", 5): "the proxy's name could not be resolved", ("curl", 6): "the host name could not be resolved",
    ("curl", 7): "failed to connect to the host or proxy", ("curl", 18): "the transfer ended early (partial file)",
    ("curl", 22): "the server answered with an HTTP error (400 or above) and --fail was given",
    ("curl", 23): "curl could not write the output (disk full, or a closed pipe)",
    ("curl", 28): "the operation timed out", ("curl", 35): "the TLS handshake failed",
    ("curl", 47): "too many redirects", ("curl", 52): "the server closed the connection without a reply",
    ("curl", 55): "sending data failed", ("curl", 56): "receiving data failed (often: connection reset)",
    ("curl", 58): "the client certificate could not be used", ("curl", 60): "the server certificate did not verify",
    ("curl", 77): "the CA certificate file could not be read", ("curl", 97): "the proxy handshake failed",
    ("wget", 4): "network failure (resolution, connection or timeout)", ("wget", 5): "TLS verification failed",
    ("wget", 6): "authentication failed", ("wget", 8): "the server answered with an HTTP error",
    ("ssh", 255): "ssh itself failed (connecting, the host key or authentication), not the remote command",
    ("ping", 1): "no reply was received", ("ping", 2): "ping could not run (an unresolvable name, a bad option)",
    ("dig", 9): "no DNS server answered", ("dig", 10): "dig hit an internal error",
    ("nc", 1): "the connection failed, or the scanned port is closed",
    ("host", 1): "the lookup failed (no such name, or no answer)", ("nslookup", 1): "the lookup failed",
    ("*", 1): "a general error", ("*", 2): "a usage error or a failure the tool reports as serious",
    ("*", 124): "killed by `timeout`: the time limit ran out", ("*", 126): "found but not executable (permissions)",
    ("*", 127): "command not found", ("*", 130): "interrupted with Ctrl-C",
    ("*", 137): "killed (SIGKILL; the out-of-memory killer, or kill -9)", ("*", 141): "its output pipe closed (SIGPIPE)",
    ("*", 143): "terminated (SIGTERM)",
}
VERBOSE = {"curl": "-v", "ssh": "-v", "nc": "-v", "wget": "-d", "traceroute": "-n"}


def meaning(f: Failure) -> str | None:
    if f.exit_status is None:
        return None
    return MEANINGS.get((f.utility, f.exit_status)) or MEANINGS.get(("*", f.exit_status))


@rule("exit_status", statuses={"*": set(range(1, 256))}, when=lambda f: meaning(f) is not None, fallback=True,
      priority=0)
def exit_status(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    fixes = []
    if f.utility in VERBOSE and VERBOSE[f.utility] not in f.flags | set(f.args):
        fixes.append(Suggestion(f.rebuilt(insert=(VERBOSE[f.utility],)), "safe", "run it again with more detail"))
    return Fix("exit_status", f"{f.utility or 'The command'} exited with {f.exit_status}: {meaning(f)}.", fixes,
               [capture_step(f)])


def capture_step(f: Failure) -> str:
    """Run the command again with its error fed to `netcopilot fix`, for a precise diagnosis."""
    return sh(Raw(f.rebuilt()), Raw("2>&1 |"), "netcopilot", "fix", "--command", f.rebuilt(), "-")
