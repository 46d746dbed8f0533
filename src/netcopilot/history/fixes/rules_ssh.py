"""Rules for ssh authentication and host keys: Permission denied (publickey), an unknown host key,
and a changed one (a possible man-in-the-middle, so its fix is labelled dangerous)."""

from __future__ import annotations

import re

from .model import Fix, Raw, Suggestion, sh
from .packages import Platform
from .parse import Failure, _valid
from .registry import rule

KEY = Raw("~/.ssh/id_ed25519")


def login(f: Failure) -> Raw:
    """user@host for a suggestion: validated values, quoted; placeholders for what is unknown."""
    user = sh(f.user) if f.user else "<user>"
    return Raw(f"{user}@{sh(f.target())}")


def port_args(f: Failure, flag: str = "-p") -> tuple[str, ...]:
    return (flag, str(f.port)) if f.port and f.port != 22 else ()


def known_hosts_name(f: Failure) -> str | Raw:
    """How known_hosts names the host: `host`, or `[host]:port` for another port."""
    if not f.host:
        return Raw("<host>")
    return f"[{f.host}]:{f.port}" if f.port and f.port != 22 else f.host


def fingerprint_step(f: Failure) -> str:
    return sh("ssh-keyscan", *port_args(f), f.target(), Raw("2>/dev/null | ssh-keygen -lf -"))


@rule("ssh_permission_denied", r"Permission denied \((?P<methods>[a-z0-9@.,-]+)\)", priority=70)
def ssh_permission_denied(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    methods = m.group("methods").split(",") if m else []
    keys_only = bool(methods) and "password" not in methods and "keyboard-interactive" not in methods
    who = f"as {f.user}" if f.user else "as your local user name (no user@ was given)"
    fixes = [Suggestion(sh("ssh", *port_args(f), "-i", KEY, login(f)), "safe",
                        "offer a specific key (ssh only offers its default ones and the agent's)")]
    if not f.user:
        fixes.insert(0, Suggestion(sh("ssh", *port_args(f), login(f)), "safe", "log in as the account on the server"))
    fixes.append(Suggestion(sh("ssh-copy-id", *port_args(f), "-i", Raw("~/.ssh/id_ed25519.pub"), login(f)), "caution",
                            "installs your public key on the server (needs one login by another method)"))
    return Fix("ssh_permission_denied",
               f"The server rejected every authentication method ssh tried {who}"
               + (": it accepts keys only, and none you offered is in its authorized_keys." if keys_only else "."),
               fixes,
               [sh("ssh", "-v", *port_args(f), login(f), Raw("2>&1 | grep -E 'Offering|Authentications|Server accepts'")),
                "ssh-add -l", p.privileged("journalctl -u ssh -n 50") + "    # on the server: why it refused",
                "chmod 700 ~/.ssh && chmod 600 ~/.ssh/authorized_keys    # on the server, if permissions are too open"])


@rule("ssh_host_key_unknown", r"Host key verification failed", priority=70)
def ssh_host_key_unknown(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    return Fix("ssh_host_key_unknown",
               f"ssh does not know {f.host or 'the server'}'s host key and strict checking (or BatchMode) forbids "
               "asking. Compare the fingerprint below with one from the server's admin or console before trusting it.",
               [Suggestion(sh("ssh", "-o", "StrictHostKeyChecking=accept-new", *port_args(f), login(f)), "caution",
                           "trusts the key offered the first time: only after checking its fingerprint"),
                Suggestion(sh("ssh-keyscan", *port_args(f), "-H", f.target(), Raw(">> ~/.ssh/known_hosts")), "caution",
                           "adds the key to known_hosts, for batch jobs: only after checking its fingerprint")],
               [fingerprint_step(f), sh("ssh-keygen", "-F", known_hosts_name(f))])


def _changed_name(f: Failure) -> str | Raw:
    """The host as ssh named it in the warning (validated), else from the command line."""
    found = re.search(r"Host key for (\S+) has changed", f.output)
    if found:
        name = found.group(1)
        inner = re.fullmatch(r"\[([^\]]+)\]:(\d+)", name)
        if inner and _valid("host", inner.group(1)) and _valid("port", inner.group(2)):
            return name
        if _valid("host", name):
            return name
    return known_hosts_name(f)


@rule("ssh_host_key_changed", r"REMOTE HOST IDENTIFICATION HAS CHANGED", priority=90,
      supersedes=("ssh_host_key_unknown",))
def ssh_host_key_changed(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    name = _changed_name(f)
    found = re.search(r'ssh-keygen -f "([^"\n]+)" -R', f.output)
    path = found.group(1) if found and re.fullmatch(r"[\w./~ -]+", found.group(1)) else None
    remove = sh("ssh-keygen", *(("-f", path) if path else ()), "-R", name)
    return Fix("ssh_host_key_changed",
               "SECURITY WARNING: the server presented a different host key from the one you trusted before. Either it "
               "was reinstalled or its keys were rotated, or someone is intercepting the connection (man-in-the-"
               "middle). Do not log in, and do not remove the old key, until the new fingerprint is confirmed by the "
               "server's admin or console.",
               [Suggestion(remove, "dangerous",
                           "forgets the trusted key so the next login asks about the new one: only after the new "
                           "fingerprint is confirmed out of band")],
               [fingerprint_step(f) + "    # the key offered now",
                sh("ssh-keygen", "-l", "-F", name) + "    # the key you trusted before",
                "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub    # on the server's console: the real one"])
