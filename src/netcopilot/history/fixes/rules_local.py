"""Rules about this machine rather than the network: missing privileges, privileged ports, busy
or foreign local addresses, commands that are not installed (with the package that provides
them) and, as the last resort, what an exit status means."""

from __future__ import annotations

import os
import re
import shlex

from netcopilot.history.cmdline import unwrap

from .model import Fix, Raw, Suggestion, sh
from .packages import PACKAGES, Platform, install_commands, near_misses
from .parse import Failure
from .registry import rule

_NOT_FOUND = (r"(?P<a>[\w.+-]+): command not found|command not found: (?P<b>[\w.+-]+)|"
              r"^(?:\S+: )?\d+: (?P<c>[\w.+-]+): not found|Unknown command:? '?(?P<d>[\w.+-]+)")
_BIND_PORT = re.compile(r"bind[^\n]*?:(\d{1,5})\b[^\n]*Permission denied", re.I)


@rule("operation_not_permitted", r"Operation not permitted|You do not have enough privileges|don't have permission "
      r"to capture|missing cap_net_raw|must be root|are you root|requires root|must be superuser", priority=60)
def operation_not_permitted(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    if f.sudo or p.root:
        return Fix("operation_not_permitted",
                   "Even as root the kernel refused: this is probably a container without CAP_NET_RAW/CAP_NET_ADMIN, "
                   "or a seccomp, AppArmor or SELinux policy.",
                   [Suggestion("docker run --cap-add=NET_ADMIN --cap-add=NET_RAW ...", "caution",
                               "start the container with the network capabilities (gives it control of its network)")],
                   ["grep Cap /proc/self/status", "capsh --print"])
    fixes = [Suggestion(shlex.join(["sudo", *f.argv]), "caution", "runs the whole command as root")]
    if f.utility == "ping":
        fixes += [Suggestion(sh("sudo", "setcap", "cap_net_raw+ep", Raw('"$(command -v ping)"')), "caution",
                             "lets ping open raw sockets for every user (how distributions install it)"),
                  Suggestion(sh("sudo", "sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647"), "caution",
                             "lets every user send ICMP echo through datagram sockets (until reboot)")]
    return Fix("operation_not_permitted",
               f"{f.utility or 'The command'} needs privileges you do not have: raw sockets, packet capture and "
               "changing interfaces or routes need root (or a capability such as CAP_NET_RAW).",
               fixes, ["id", sh("getcap", Raw(f'"$(command -v {shlex.quote(f.utility or "ping")})"')),
                       "sysctl net.ipv4.ping_group_range"])


def _bind_port(f: Failure) -> int | None:
    found = _BIND_PORT.search(f.output)
    if found:
        return int(found.group(1))
    return f.port if f.listening else None


def _privileged_bind(f: Failure) -> bool:
    port = _bind_port(f)
    return port is not None and port < 1024


def _free_port(port: int) -> int:
    return {80: 8080, 443: 8443}.get(port, port + 8000)


@rule("privileged_port", r"Permission denied|EACCES|Errno 13|Cannot bind", when=_privileged_bind, priority=75)
def privileged_port(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    port = _bind_port(f) or 0
    new = _free_port(port)
    fixes = []
    if str(port) in f.args or f"-p{port}" in f.args:
        fixes.append(Suggestion(f.rebuilt(replace={str(port): str(new), f"-p{port}": f"-p{new}"}), "safe",
                                f"listen on {new} instead: ports from 1024 up need no privilege"))
    fixes += [Suggestion(shlex.join(["sudo", *f.argv]), "caution", "runs the whole program as root"),
              Suggestion(sh("sudo", "setcap", "cap_net_bind_service=+ep", Raw("<path-to-binary>")), "caution",
                         "lets that one binary bind low ports (never give it to an interpreter like python)"),
              Suggestion(sh("sudo", "sysctl", "-w", f"net.ipv4.ip_unprivileged_port_start={port}"), "caution",
                         f"lets every user bind ports from {port} up (until reboot)")]
    return Fix("privileged_port",
               f"Port {port} is privileged: below 1024 only root or a program with CAP_NET_BIND_SERVICE may listen "
               "(net.ipv4.ip_unprivileged_port_start, 1024 by default).",
               fixes, ["sysctl net.ipv4.ip_unprivileged_port_start", sh("ss", "-ltnp", Raw(f"'sport = :{port}'"))])


@rule("address_in_use", r"Address already in use|EADDRINUSE|Errno 98", priority=70)
def address_in_use(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    port = f.port_or()
    fixes = []
    if f.port and str(f.port) in f.args:
        fixes.append(Suggestion(f.rebuilt(replace={str(f.port): str(f.port + 1)}), "safe", "use another port"))
    fixes.append(Suggestion(sh("kill", Raw("<pid>")), "caution",
                            "stop the process holding the port (find its pid with ss below; make sure it is yours)"))
    return Fix("address_in_use",
               f"Another socket already listens on port {f.port or 'that port'} (or the old one is still closing).",
               fixes, [p.privileged(sh("ss", "-ltnp", Raw(f"'sport = :{sh(port)}'"))),
                       p.privileged(sh("lsof", "-nP", Raw(f"-iTCP:{sh(port)}"), "-sTCP:LISTEN"))])


@rule("cannot_assign_address", r"Cannot assign requested address|EADDRNOTAVAIL|Errno 99", priority=65)
def cannot_assign_address(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    fixes = []
    for option in ("-s", "-I", "--bind", "-b", "--interface"):
        if option in f.args:
            fixes.append(Suggestion(f.rebuilt(drop=(option,)), "safe", f"let the system choose (drop {option})"))
            break
    return Fix("cannot_assign_address",
               "The local address asked for is not configured on this machine (a bind or source address), or the "
               "local ports towards that destination are used up.",
               fixes, ["ip -br addr", "ss -s", "sysctl net.ipv4.ip_local_port_range"])


def _missing_name(f: Failure, m: re.Match | None) -> str:
    name = next((g for g in (m.groups() if m else ()) if g), None) or os.path.basename(f.program)
    return name if re.fullmatch(r"[\w.+-]{1,64}", name or "") else ""


def _install_fixes(name: str, p: Platform) -> list[Suggestion]:
    return [Suggestion(line, "caution", f"install {name} (needs root)" + ("" if where == "this machine" else f", on {where}"))
            for line, where in install_commands(name, p)]


def _without(words: list[str], wrapper: str) -> list[str]:
    """Wrapper words with one wrapper and its own options gone (`sudo -u x env A=1` -> `env A=1`)."""
    found, _ = unwrap([*words, "program"])
    drop = {i for w in found if w.name == wrapper for i in range(w.start, w.start + 1 + len(w.args))}
    return [word for i, word in enumerate(words) if i not in drop]


@rule("command_not_found", _NOT_FOUND, statuses={"*": {127}}, priority=80)
def command_not_found(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    name = _missing_name(f, m)
    if name == "sudo" and p.root:
        return Fix("command_not_found", "sudo is not installed, and you are root already: run the command without it.",
                   [Suggestion(f.rebuilt(wrappers=_without(f.wrappers, "sudo")), "safe",
                               "you are root")] + _install_fixes(name, p), ["id -u"])
    fixes = _install_fixes(name, p)
    if os.path.basename(f.program) == name:
        typos = [] if name in PACKAGES else near_misses(name)  # a known tool is missing, not misspelt
        fixes = [Suggestion(f.rebuilt(program=other), "safe", f"did you mean {other}?") for other in typos] + fixes
        sbin = next((d for d in ("/usr/sbin", "/sbin") if os.path.isfile(os.path.join(d, name))), None)
        if sbin:
            fixes.insert(0, Suggestion(f.rebuilt(program=os.path.join(sbin, name)), "safe",
                                       f"{name} is installed in {sbin}, which is not on your PATH"))
    known = "" if name in PACKAGES else " It is not a network utility netcopilot knows."
    return Fix("command_not_found", f"{name or 'The command'} is not installed or not on your PATH.{known}", fixes,
               [sh("command", "-v", name or Raw("<command>")), 'echo "$PATH"',
                sh("apt-file", "search", "bin/" + name) if name else "apt-file search bin/<command>"])


@rule("sudo_command_not_found", r"sudo: (?P<a>[\w.+-]+): command not found", priority=85,
      supersedes=("command_not_found",))
def sudo_command_not_found(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    name = _missing_name(f, m)
    path = Raw(f'"$(command -v {shlex.quote(name)})"')
    return Fix("sudo_command_not_found",
               f"sudo cannot find {name}: it is not installed, or it lives outside sudo's secure_path "
               "(/usr/local/bin, a virtualenv, your home).",
               [Suggestion(sh("sudo", path, *f.args), "caution", "give sudo the full path your shell finds")]
               + _install_fixes(name, p),
               [sh("command", "-v", name), "sudo grep -r secure_path /etc/sudoers /etc/sudoers.d"])
