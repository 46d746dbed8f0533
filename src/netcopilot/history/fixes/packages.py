"""Which package provides a missing network utility, on Debian/Ubuntu, RHEL/Fedora, Alpine and
macOS (Homebrew), and which package manager this machine has; plus near-miss typo correction.

The first install suggestion uses the package manager found on this machine, so it can be run
as shown; the other systems' names follow for people reading the advice elsewhere.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

# utility -> (Debian/Ubuntu, RHEL/Fedora, Alpine, Homebrew); None: not packaged there / built in.
_IPUTILS = ("iputils-ping", "iputils", "iputils", None)
_DIG = ("bind9-dnsutils", "bind-utils", "bind-tools", "bind")
_IPROUTE = ("iproute2", "iproute", "iproute2", "iproute2mac")
_NET_TOOLS = ("net-tools", "net-tools", "net-tools", None)
_SSH = ("openssh-client", "openssh-clients", "openssh-client", None)
PACKAGES: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "ping": _IPUTILS, "ping6": _IPUTILS,
    "arping": ("iputils-arping", "iputils", "iputils", "arping"),
    "tracepath": ("iputils-tracepath", "iputils", "iputils", None),
    "traceroute": ("traceroute", "traceroute", None, None),
    "mtr": ("mtr-tiny", "mtr", "mtr", "mtr"),
    "dig": _DIG, "nslookup": _DIG, "delv": _DIG,
    "host": ("bind9-host", "bind-utils", "bind-tools", "bind"),
    "nc": ("netcat-openbsd", "nmap-ncat", "netcat-openbsd", "netcat"),
    "ncat": ("ncat", "nmap-ncat", "nmap-ncat", "nmap"),
    "ss": _IPROUTE, "ip": _IPROUTE, "bridge": _IPROUTE, "tc": _IPROUTE,
    "ifconfig": _NET_TOOLS, "netstat": _NET_TOOLS, "arp": _NET_TOOLS, "route": _NET_TOOLS,
    "tcpdump": ("tcpdump", "tcpdump", "tcpdump", "tcpdump"),
    "tshark": ("tshark", "wireshark-cli", "tshark", "wireshark"),
    "nmap": ("nmap", "nmap", "nmap", "nmap"),
    "iperf3": ("iperf3", "iperf3", "iperf3", "iperf3"),
    "iperf": ("iperf", "iperf", "iperf", "iperf"),
    "ethtool": ("ethtool", "ethtool", "ethtool", None),
    "whois": ("whois", "whois", "whois", "whois"),
    "telnet": ("telnet", "telnet", "busybox-extras", "telnet"),
    "curl": ("curl", "curl", "curl", "curl"),
    "wget": ("wget", "wget", "wget", "wget"),
    "lsof": ("lsof", "lsof", "lsof", None),
    "socat": ("socat", "socat", "socat", "socat"),
    "openssl": ("openssl", "openssl", "openssl", "openssl"),
    "ssh": _SSH, "scp": _SSH, "ssh-keygen": _SSH, "ssh-keyscan": _SSH, "ssh-copy-id": _SSH,
    "iptables": ("iptables", "iptables", "iptables", None),
    "nft": ("nftables", "nftables", "nftables", None),
    "conntrack": ("conntrack", "conntrack-tools", "conntrack-tools", None),
    "iw": ("iw", "iw", "iw", None),
    "fping": ("fping", "fping", "fping", "fping"),
    "hping3": ("hping3", "hping3", "hping3", None),
    "arp-scan": ("arp-scan", "arp-scan", "arp-scan", "arp-scan"),
    "iftop": ("iftop", "iftop", "iftop", "iftop"),
    "ipcalc": ("ipcalc", "ipcalc", "ipcalc", "ipcalc"),
    "lldpctl": ("lldpd", "lldpd", "lldpd", None),
    "nmcli": ("network-manager", "NetworkManager", "networkmanager-cli", None),
    "resolvectl": ("systemd-resolved", "systemd-resolved", None, None),
    "dhclient": ("isc-dhcp-client", "dhcp-client", None, None),
    "sudo": ("sudo", "sudo", "sudo", None),
}
MANAGERS = ("apt-get", "dnf", "yum", "apk", "brew")  # the order we look for them
_INSTALL = {"apt-get": "apt-get install -y", "dnf": "dnf install -y", "yum": "yum install -y",
            "apk": "apk add", "brew": "brew install"}
_COLUMN = {"apt-get": 0, "dnf": 1, "yum": 1, "apk": 2, "brew": 3}
_SYSTEM = {"apt-get": "Debian/Ubuntu", "dnf": "RHEL/Fedora", "apk": "Alpine", "brew": "macOS"}


@dataclass(frozen=True)
class Platform:
    """What the suggestions depend on: the package manager present and whether we are root."""

    manager: str | None
    root: bool

    @classmethod
    def detect(cls) -> "Platform":
        manager = next((m for m in MANAGERS if shutil.which(m)), None)
        return cls(manager, hasattr(os, "geteuid") and os.geteuid() == 0)

    def privileged(self, command: str) -> str:
        """The command as it must be typed to run as root here (brew never runs under sudo)."""
        return command if self.root or command.startswith("brew ") else f"sudo {command}"


def install_commands(utility: str, platform: Platform) -> list[tuple[str, str]]:
    """[(command line, which system it is for)], this machine's package manager first."""
    names = PACKAGES.get(utility)
    if not names:
        return []
    order = ([platform.manager] if platform.manager else []) + [m for m in ("apt-get", "dnf", "apk", "brew")
                                                              if m != platform.manager]
    out: list[tuple[str, str]] = []
    for manager in order:
        package = names[_COLUMN[manager]]
        if package:
            line = f"{_INSTALL[manager]} {package}"
            here = manager == platform.manager
            out.append((platform.privileged(line) if here else _foreign(line, manager),
                        "this machine" if here else _SYSTEM.get(manager, manager)))
    return out


def _foreign(line: str, manager: str) -> str:
    return line if manager == "brew" else f"sudo {line}"


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts once."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            cur.append(cost)
        prev2, prev = prev, cur
    return prev[-1]


def near_misses(name: str, limit: int = 3) -> list[str]:
    """Known network utilities within a small edit distance of `name` (a typo), closest first."""
    budget = 1 if len(name) <= 4 else 2
    scored = sorted((_distance(name, known), known) for known in PACKAGES if known != name)
    return [known for d, known in scored if d <= budget][:limit]
