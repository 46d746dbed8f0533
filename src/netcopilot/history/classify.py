"""What a command line is: its type, purpose, risk and whether it needs root, read from the
command catalog plus a few declared rules, so every answer can be traced to a catalog entry or
a named rule.

Public surface (imported by `netcopilot explain`, the fix rules and time prediction):

    CommandClassifier(catalog)            build once (indices per utility); `from_settings(settings)`
    classifier.classify(line) -> Classification
    Classification fields: command, utility, type, purpose (intents), risk, needs_root,
        matched (catalog ids, best first), guess, family, notes (why the risk), stages
    StageClass: the same per pipeline stage (`ss -tlnp | grep 22` has two)
    TYPES = (diagnostic, configuration, monitoring, transfer, security, other, unknown)
    RISKS = (safe, caution, dangerous)

How it decides, per stage (wrappers like sudo/env/time/timeout/watch stripped, see `cmdline`):
- utility: the executable's base name. An unknown one gets a `family`: from an alias table
  (`fping` -> ping, `drill` -> dig) or the nearest known name by edit distance (`pnig` -> ping),
  and `guess` is True; the stage is then read as that family.
- catalog match: the stage's flags, literal flag values and sub-command words against each
  template of the same utility (smoothed Dice overlap over the words the utility's templates
  use); entries scoring at least `MATCH_THRESHOLD` are `matched`, and give purpose and a risk floor.
- type: a declared type per utility, overridden by verb rules (`ip addr add` is configuration,
  `iptables -L` diagnostic, `curl -O` transfer); rules also raise the risk (`ip link set down`,
  `iptables -F`, `reboot`, `rm -rf` are dangerous) and say why in `notes`.
- the line: risk is the highest of its stages, the type and purpose are those of the first stage
  that is not a filter (`grep`, `head`, ...), root is needed if any stage needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from netcopilot.history.cmdline import Stage, lex, stages
from netcopilot.history.options import parse_args
from netcopilot.recommend.catalog import CommandSpec

TYPES = ("diagnostic", "configuration", "monitoring", "transfer", "security", "other", "unknown")
RISKS = ("safe", "caution", "dangerous")
MATCH_THRESHOLD = 0.5
_PLATFORM_ORDER = ("linux", "any", "macos", "windows", "cisco-ios", "junos")


def _types(spec: dict[str, str]) -> dict[str, str]:
    return {name: kind for kind, names in spec.items() for name in names.split()}


UTILITY_TYPES: dict[str, str] = _types({
    "diagnostic": "ping ping6 traceroute traceroute6 tracepath mtr dig nslookup host whois curl nc ncat socat ss "
                  "netstat lsof ip ethtool arp arping iperf3 iperf ifconfig iwconfig iw nmcli route resolvectl getent "
                  "hostname hostnamectl sysctl iptables ip6tables nft ufw firewall-cmd pfctl conntrack ssh show "
                  "networksetup ipconfig scutil system_profiler wdutil journalctl dmesg nstat systemctl service cat "
                  "wg ipsec swanctl rfkill tc bridge socketfilterfw dscacheutil sshd netsh",
    "monitoring": "tcpdump tshark iftop nload vnstat sar bmon nettop nethogs iptraf-ng dstat vmstat ifstat watch bwm-ng",
    "transfer": "scp rsync sftp wget ftp tftp lftp rclone",
    "security": "nmap openssl ssh-keygen ssh-keyscan ssh-add ssh-copy-id fail2ban-client last lastb masscan certbot gpg",
    "configuration": "dhclient wg-quick openvpn reboot shutdown poweroff halt rm kill killall pkill chmod chown dd mkfs "
                     "modprobe rmmod",
    "other": "grep egrep fgrep awk sed sort uniq head tail cut tr wc less more tee jq column xargs echo printf true "
             "ls cd cp mv mkdir vim vi nano git make python python3 pip man which find du df ps top htop date uptime",
})
FILTERS = set("grep egrep fgrep awk sed sort uniq head tail cut tr wc less more tee jq column".split())
# unknown name -> the known utility it behaves like
ALIASES: dict[str, str] = {
    "fping": "ping", "hping3": "ping", "hping": "ping", "nping": "ping", "oping": "ping", "prettyping": "ping",
    "tcptraceroute": "traceroute", "tracert": "traceroute", "paris-traceroute": "traceroute", "lft": "traceroute",
    "tracepath6": "tracepath", "pathping": "mtr", "drill": "dig", "kdig": "dig", "delv": "dig", "doggo": "dig",
    "dog": "dig", "systemd-resolve": "resolvectl", "netcat": "nc", "nc.openbsd": "nc", "nc.traditional": "nc",
    "telnet": "nc", "http": "curl", "xh": "curl", "curlie": "curl", "aria2c": "wget", "speedtest": "iperf3",
    "speedtest-cli": "iperf3", "zmap": "nmap", "rustscan": "nmap", "arp-scan": "arping", "netdiscover": "nmap",
    "iptables-save": "iptables", "iptables-legacy": "iptables", "iptables-nft": "iptables", "ngrep": "tcpdump",
    "dumpcap": "tshark", "termshark": "tshark", "mii-tool": "ethtool", "dhcpcd": "dhclient", "udhcpc": "dhclient",
    "networkctl": "ip", "sslscan": "openssl", "testssl.sh": "openssl", "sslyze": "openssl", "gnutls-cli": "openssl",
    "mosh": "ssh", "autossh": "ssh", "ifstat": "iftop", "sockstat": "ss",
}


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern
    type: str | None
    risk: str
    note: str


def _rules(*rows: tuple[str, str | None, str, str]) -> tuple[_Rule, ...]:
    return tuple(_Rule(re.compile(p), t, r, n) for p, t, r, n in rows)


C, D, M, T = "configuration", "diagnostic", "monitoring", "transfer"
_NET_UNIT = r"(networking|network|NetworkManager|systemd-networkd|sshd?|wpa_supplicant)(\.service)?"
# utility -> ordered rules over its normalised argument line; the first that matches decides
VERB_RULES: dict[str, tuple[_Rule, ...]] = {
    "ip": _rules(
        (r"^link set\b.*\bdown\b", C, "dangerous", "takes the interface down, cutting its traffic"),
        (r"^neighbour flush\b", C, "caution", "clears learned neighbour entries (they are relearned)"),
        (r"^route (replace|change)\b.*\bdefault\b", C, "dangerous", "replaces the default route"),
        (r"^\S+ (del|flush)\b", C, "dangerous", "removes addresses, routes or rules"),
        (r"^\S+ (add|append|prepend|change|replace|set|restore)\b", C, "caution", "changes the network configuration"),
        (r"^monitor\b", M, "safe", "watches for changes"),
        (r"^netns exec\b", None, "caution", "runs a command in another network namespace"),
    ),
    "iptables": _rules(
        (r"(^| )(-P|--policy) \S+ (DROP|REJECT)\b", C, "dangerous", "sets a default policy that drops traffic"),
        (r"(^| )(-F|--flush|-X|--delete-chain|-D|--delete)( |$)", C, "dangerous", "removes firewall rules"),
        (r"(^| )(-A|--append|-I|--insert|-R|--replace|-N|--new-chain|-P|--policy|-E|-Z|--zero)( |$)", C, "caution",
         "changes the firewall rules"),
    ),
    "nft": _rules((r"(^| )(delete|flush|destroy)( |$)", C, "dangerous", "removes firewall rules"),
                  (r"(^| )(add|insert|create|replace|-f)( |$)", C, "caution", "changes the firewall rules")),
    "ufw": _rules((r"^(--force )?(delete|reset|enable|disable)\b", C, "dangerous",
                   "can remove rules or lock you out of a remote session"),
                  (r"^(allow|deny|reject|limit|insert|route|default|logging)\b", C, "caution", "changes the firewall rules")),
    "firewall-cmd": _rules((r"--(remove-\S+|panic-on|set-default-zone)", C, "dangerous", "removes firewall access"),
                           (r"--(add-\S+|reload|permanent|change-\S+|new-zone)", C, "caution", "changes the firewall")),
    "pfctl": _rules((r"(^| )-(d|F)\b", C, "dangerous", "disables or flushes the packet filter"),
                    (r"(^| )-(e|f)\b", C, "caution", "enables or loads packet filter rules")),
    "route": _rules((r"(^| )(del|delete|flush)( |$)", C, "dangerous", "removes routes"),
                    (r"(^| )(add|change)( |$)", C, "caution", "adds or changes a route")),
    "ifconfig": _rules((r"(^| )down( |$)", C, "dangerous", "takes the interface down, cutting its traffic"),
                       (r"^\S+ (up|mtu|inet6?|netmask|alias|-alias|add|delete|\d+\.\d+\.\d+\.\d+)\b", C, "caution",
                        "changes the interface configuration")),
    "ethtool": _rules((r"(^| )(-s|--change)( |$)", C, "dangerous", "changes speed/duplex; a mismatch drops the link"),
                      (r"(^| )-[KGLCAEW]( |$)", C, "caution", "changes NIC settings")),
    "tc": _rules((r"(^| )(del|delete)( |$)", C, "dangerous", "removes traffic control rules"),
                 (r"(^| )(add|change|replace|link)( |$)", C, "caution", "changes traffic shaping")),
    "sysctl": _rules((r"(^| )(-w|-p|--system|--load)( |$)|\S=\S", C, "caution", "changes kernel settings")),
    "nmcli": _rules((r"(^| )(down|del|delete|disconnect|off)( |$)", C, "dangerous", "takes a connection or radio down"),
                    (r"(^| )(up|add|mod|modify|connect|on|reload|import|clone|edit)( |$)", C, "caution",
                     "changes the network connections")),
    "systemctl": _rules((rf"(^| )(stop|disable|mask|restart|kill)( .*)? {_NET_UNIT}( |$)", C, "dangerous",
                         "stops or restarts a networking/ssh service (remote sessions may drop)"),
                        (r"(^| )(stop|disable|mask|kill|isolate|poweroff|reboot|halt)( |$)", C, "caution", "stops a service"),
                        (r"(^| )(start|restart|reload|enable|try-restart|reload-or-restart|daemon-reload|unmask|edit)( |$)",
                         C, "caution", "changes a running service")),
    "dhclient": _rules((r"(^| )-(r|x)( |$)", C, "dangerous", "releases the address; the host goes offline"),
                       (r".*", C, "caution", "asks DHCP for a new lease")),
    "hostnamectl": _rules((r"(^| )set-", C, "caution", "changes the host name")),
    "wg": _rules((r"(^| )(set|setconf|addconf|syncconf)( |$)", C, "caution", "changes the WireGuard configuration")),
    "ipsec": _rules((r"(^| )(up|down|restart|start|stop|reload)( |$)", C, "caution", "changes IPsec tunnels")),
    "swanctl": _rules((r"--(initiate|terminate|load-\S+)", C, "caution", "changes IPsec tunnels")),
    "arp": _rules((r"(^| )-(d|s|f)( |$)", C, "caution", "changes the ARP cache")),
    "conntrack": _rules((r"(^| )(-F|--flush)( |$)", C, "dangerous", "drops tracked connections (NAT sessions break)"),
                        (r"(^| )(-D|--delete|-U|--update|-I|--create)( |$)", C, "caution", "changes connection tracking"),
                        (r"(^| )(-E|--event)( |$)", M, "safe", "follows connection events")),
    "tcpdump": _rules((r"(^| )-w( |$)", None, "caution", "writes a capture file (can fill the disk)"),
                      (r"(^| )-(r|D)( |$)", D, "safe", "reads a capture file or lists interfaces")),
    "tshark": _rules((r"(^| )-w( |$)", None, "caution", "writes a capture file (can fill the disk)"),
                     (r"(^| )-(r|D)( |$)", D, "safe", "reads a capture file or lists interfaces")),
    "ss": _rules((r"(^| )(-K|--kill)( |$)", C, "dangerous", "forcibly closes the matching sockets")),
    "curl": _rules((r"(^| )(-T|--upload-file)( |$)", T, "caution", "uploads a file"),
                   (r"(^| )(-X|--request) (DELETE|PUT|PATCH|POST)\b|(^| )(-d|--data\S*|-F|--form|--json)( |$)", None,
                    "caution", "sends data that can change state on the server"),
                   (r"(^| )(-O|--remote-name)( |$)|(^| )(-o|--output) (?!/dev/null)", T, "safe", "downloads to a file")),
    "wget": _rules((r"(^| )--spider( |$)|(^| )(-O|--output-document) (/dev/null|-)( |$)", D, "safe",
                    "fetches without keeping a file"),),
    "rsync": _rules((r"(^| )--(delete\S*|remove-source-files)( |$)", None, "dangerous", "deletes files"),
                    (r"(^| )(-n|--dry-run)( |$)", None, "safe", "dry run: changes nothing"),
                    (r".*", None, "caution", "overwrites files on the receiver")),
    "scp": _rules((r".*", None, "caution", "overwrites files on the receiver"),),
    "journalctl": _rules((r"(^| )(-f|--follow)( |$)", M, "safe", "follows new messages"),),
    "dmesg": _rules((r"(^| )(-w|--follow)( |$)", M, "safe", "follows new messages"),),
    "tail": _rules((r"(^| )(-f|-F|--follow\S*)( |$)", M, "safe", "follows a growing file"),),
    "sed": _rules((r"(^| )(-i\S*|--in-place)( |$)", C, "caution", "edits a file in place"),),
    "tee": _rules((r"^(-a )?/(etc|boot)/", C, "dangerous", "overwrites a system file"),
                  (r"^(-a )?(?!/dev/null)\S", C, "caution", "writes a file")),
    "rm": _rules((r"(^| )(-\S*[rRf]\S*|--recursive|--force)( |$)", C, "dangerous", "deletes files irrecoverably"),
                 (r".*", C, "caution", "deletes files")),
    "reboot": _rules((r".*", C, "dangerous", "restarts the machine"),),
    "shutdown": _rules((r".*", C, "dangerous", "powers off or restarts the machine"),),
    "poweroff": _rules((r".*", C, "dangerous", "powers off the machine"),),
    "halt": _rules((r".*", C, "dangerous", "stops the machine"),),
    "dd": _rules((r"(^| )of=/dev/", C, "dangerous", "overwrites a device"), (r".*", C, "caution", "writes a file")),
    "mkfs": _rules((r".*", C, "dangerous", "erases a file system"),),
    "kill": _rules((r".*", C, "caution", "signals a running process"),),
    "show": _rules((r".*", D, "safe", "read-only show command"),),
    "networksetup": _rules((r"(^| )-(remove|delete)\S*|(^| )-set\S*(enabled|power) .*\boff\b", C, "dangerous",
                            "removes or disables a network service"),
                           (r"(^| )-(set|create|add)\S*", C, "caution", "changes the network settings")),
    "ipconfig": _rules((r"(^| )/release\b", C, "dangerous", "releases the address; the host goes offline"),
                       (r"(^| )(/renew|/flushdns|/registerdns|set)\b", C, "caution", "changes the address or DNS cache")),
    "dscacheutil": _rules((r"-flushcache", C, "caution", "flushes the DNS cache"),),
    "resolvectl": _rules((r"(^| )(flush-caches|dns|domain|revert|default-route|llmnr|mdns|dnssec|dnsovertls)( |$)", C,
                          "caution", "changes resolver settings or caches"),),
    "fail2ban-client": _rules((r"(^| )(set|unban|reload|restart|stop|start)( |$)", None, "caution",
                               "changes bans or the fail2ban service"),),
    "iw": _rules((r"(^| )(set|connect|disconnect|del|add|ibss|mesh)( |$)", C, "caution", "changes the wireless setup"),),
    "openvpn": _rules((r".*", C, "caution", "starts a VPN tunnel (changes routes)"),),
    "wg-quick": _rules((r"(^| )down( |$)", C, "caution", "takes the VPN tunnel down"),
                       (r".*", C, "caution", "brings a VPN tunnel up (changes routes)")),
}
VERB_RULES["ip6tables"] = VERB_RULES["iptables"]
VERB_RULES["killall"] = VERB_RULES["pkill"] = VERB_RULES["kill"]
VERB_RULES["service"] = VERB_RULES["systemctl"]

# utilities that need root whenever they run, and those that need it to change anything
ALWAYS_ROOT = set("iptables ip6tables nft ufw conntrack lastb fail2ban-client arping wg wg-quick ipsec swanctl dhclient "
                  "reboot shutdown poweroff halt iftop openvpn pfctl".split())
ROOT_TO_CHANGE = set("ip route ifconfig ethtool sysctl systemctl service tc hostnamectl arp iw resolvectl firewall-cmd "
                     "networksetup dscacheutil mkfs".split())
_IP_OBJECTS = ("address", "addrlabel", "maddress", "route", "rule", "neighbour", "ntable", "link", "l2tp", "fou",
               "tunnel", "tuntap", "token", "tcp_metrics", "monitor", "xfrm", "mroute", "netns", "netconf", "vrf",
               "nexthop", "mptcp")
_IP_VERBS = ("show", "list", "add", "append", "prepend", "change", "replace", "delete", "flush", "set", "get",
             "save", "restore", "exec")
_IP_VERB_NAMES = {"delete": "del", "list": "show", "lst": "show", "ls": "show"}


@dataclass(frozen=True)
class StageClass:
    """The classification of one pipeline stage."""
    utility: str
    type: str
    risk: str
    needs_root: bool
    purpose: tuple[str, ...]
    matched: tuple[str, ...]
    scores: tuple[float, ...]
    guess: bool
    family: str | None
    notes: tuple[str, ...]
    stage: Stage = field(compare=False, repr=False)

    @property
    def filter(self) -> bool:
        return self.utility in FILTERS and self.type == "other"


@dataclass(frozen=True)
class Classification:
    command: str
    utility: str
    type: str
    purpose: tuple[str, ...]
    risk: str
    needs_root: bool
    matched: tuple[str, ...]
    guess: bool
    family: str | None
    notes: tuple[str, ...]
    stages: tuple[StageClass, ...] = field(compare=False, repr=False)

    @property
    def main(self) -> StageClass:
        """The stage that says what the line is about (the first that is not a filter)."""
        return next((s for s in self.stages if not s.filter), self.stages[0])


def max_risk(risks: Iterable[str]) -> str:
    return max(risks, key=RISKS.index, default="safe")


def damerau(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _features(stage: Stage, utility: str) -> set[str]:
    """Words that distinguish one use of a utility from another: flags, literal flag values and
    sub-command words (placeholders, marked with NUL, are left out)."""
    out: set[str] = {f"wrapper:{w}" for w in stage.wrappers if w not in ("sudo", "doas")}
    args = _ip_words(stage.args) if utility == "ip" else stage.args
    for arg in parse_args(utility, args):
        if "\0" in arg.name:
            continue
        out.add(arg.name if arg.flag else arg.name.lower())
        if arg.flag and arg.value and "\0" not in arg.value:
            out.add(f"{arg.name}={arg.value.lower()}")
    return out


@dataclass(frozen=True)
class _Entry:
    spec: CommandSpec
    required: frozenset[str]
    optional: frozenset[str]
    parts: int  # pipeline stages of the template: the simpler entry wins a tie


_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)
_PLACEHOLDER = re.compile(r"(?<!%)\{([a-z_][a-z0-9_]*)\}")


def _template_stage(text: str, utility: str) -> Stage | None:
    found = stages(lex(_PLACEHOLDER.sub("\0\\1\0", text)))
    return next((s for s in found if s.utility == utility), found[0] if found else None)


class CommandClassifier:
    """Classifies command lines against the command catalog; build once, call `classify` often."""

    def __init__(self, catalog: list[CommandSpec]):
        self.catalog = catalog
        self._entries: dict[str, list[_Entry]] = {}
        for spec in catalog:
            full = _template_stage(_OPTIONAL.sub(r"\1", spec.template), spec.utility)
            bare = _template_stage(_OPTIONAL.sub("", spec.template), spec.utility)
            if full is None or bare is None:
                continue
            required = frozenset(_features(bare, full.utility))
            entry = _Entry(spec, required, frozenset(_features(full, full.utility)) - required,
                           spec.template.count("|") + spec.template.count(";") + 1)
            self._entries.setdefault(full.utility, []).append(entry)
        self._vocab = {u: frozenset().union(*(e.required | e.optional for e in es)) for u, es in self._entries.items()}
        self.utilities = frozenset(self._entries) | frozenset(UTILITY_TYPES)
        self._intents = {u: self._common_intents(es) for u, es in self._entries.items()}

    @classmethod
    def from_settings(cls, settings) -> "CommandClassifier":  # noqa: ANN001 - netcopilot.settings.Settings
        from netcopilot.recommend.catalog import load_catalog

        return cls(load_catalog(Path(settings.knowledge_dir) / "commands"))

    @staticmethod
    def _common_intents(entries: list[_Entry]) -> tuple[str, ...]:
        counts: dict[str, int] = {}
        for entry in entries:
            for intent in entry.spec.intents[:2]:
                counts[intent] = counts.get(intent, 0) + 1
        return tuple(sorted(counts, key=lambda i: -counts[i])[:2])

    def classify(self, command_line: str) -> Classification:
        """Classify a whole line; InputError for empty input or unbalanced quotes."""
        parts = tuple(self.classify_stage(stage) for stage in stages(lex(command_line)))
        if not parts:
            from netcopilot.errors import InputError

            raise InputError(f"command: no command in {command_line!r}")
        main = next((s for s in parts if not s.filter), parts[0])
        notes = tuple(dict.fromkeys(n for s in parts for n in s.notes))
        return Classification(command=command_line, utility=main.utility, type=main.type, purpose=main.purpose,
                              risk=max_risk(s.risk for s in parts), needs_root=any(s.needs_root for s in parts),
                              matched=main.matched, guess=main.guess, family=main.family, notes=notes, stages=parts)

    def family_of(self, utility: str) -> tuple[str | None, bool]:
        """(family, guessed): a known utility is its own family; otherwise an alias or a near name."""
        if utility in self.utilities:
            return ALIASES.get(utility, utility), False
        if utility in ALIASES:
            return ALIASES[utility], True
        return _nearest(utility, self.utilities), True

    def classify_stage(self, stage: Stage) -> StageClass:
        family, guess = self.family_of(stage.utility)
        utility = family if guess and family else stage.utility
        scored = self._match(stage, utility)
        matched = [(e.spec, s) for e, s in scored if s >= MATCH_THRESHOLD]
        kind = UTILITY_TYPES.get(utility) or ("diagnostic" if utility in self._entries else "unknown")
        if "watch" in stage.wrappers and kind == "diagnostic":
            kind = "monitoring"
        risks = ["caution" if kind == "unknown" else "safe"]
        notes: list[str] = ["not a known command; its effect cannot be checked"] if kind == "unknown" else []
        rule = self._rule(stage, utility)
        if rule is not None:
            kind = rule.type or kind
            risks.append(rule.risk)
            notes.append(rule.note)
        if matched:
            risks.append(matched[0][0].risk)
        for op, target in stage.redirects:
            if ">" in op and target and target != "/dev/null" and not target.startswith("&"):
                danger = "dangerous" if target.startswith(("/etc/", "/boot/", "/dev/sd", "/dev/nvme")) else "caution"
                risks.append(danger)
                notes.append(f"overwrites {target}" if ">>" not in op else f"appends to {target}")
        root = stage.root or bool(matched and matched[0][0].root) or utility in ALWAYS_ROOT \
            or kind == "configuration" and utility in ROOT_TO_CHANGE
        if utility in ("tcpdump", "tshark") and kind != "diagnostic":
            root = True  # live capture opens a raw socket
        purpose = matched[0][0].intents if matched else self._intents.get(utility, ())
        return StageClass(utility=stage.utility, type=kind, risk=max_risk(risks), needs_root=root, purpose=purpose,
                          matched=tuple(spec.id for spec, _ in matched[:3]),
                          scores=tuple(round(s, 3) for _, s in matched[:3]), guess=guess,
                          family=family if guess else ALIASES.get(stage.utility, stage.utility if kind != "unknown" else None),
                          notes=tuple(notes), stage=stage)

    def _match(self, stage: Stage, utility: str) -> list[tuple[_Entry, float]]:
        entries = self._entries.get(utility, [])
        if not entries:
            return []
        found = _features(stage, utility) & self._vocab[utility]
        scored = []
        for entry in entries:
            hit = len(entry.required & found) + len(entry.optional & found)
            score = (2 * hit + 1) / (len(entry.required) + len(entry.optional & found) + len(found) + 1)
            if hit == 0 and entry.required:
                score = min(score, MATCH_THRESHOLD - 0.01)  # only the defaults in common: a neighbour, not a match
            scored.append((entry, score))
        order = {e.spec.id: i for i, e in enumerate(entries)}
        scored.sort(key=lambda es: (-es[1], es[0].parts, _PLATFORM_ORDER.index(es[0].spec.platform), order[es[0].spec.id]))
        return scored

    @staticmethod
    def _rule(stage: Stage, utility: str) -> _Rule | None:
        rules = VERB_RULES.get(utility)
        if not rules:
            return None
        line = _ip_line(stage.args) if utility == "ip" else " ".join(stage.args)
        return next((r for r in rules if r.pattern.search(line)), None)


def _prefix(word: str, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n.startswith(word.lower())), None) if word else None


def _ip_words(args: tuple[str, ...]) -> tuple[str, ...]:
    """`ip -br a s` as `ip -br address show`: ip accepts any prefix of its objects and verbs,
    and shows when no verb is given."""
    flags = [a for a in args if a.startswith("-")]
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return tuple(flags)
    obj = "neighbour" if words[0].startswith("neigh") else _prefix(words[0], _IP_OBJECTS) or words[0]
    rest = words[1:]
    if rest:
        verb = _prefix(rest[0], _IP_VERBS) or rest[0]
        rest = [_IP_VERB_NAMES.get(verb, verb)] + rest[1:]
    elif obj != "monitor":
        rest = ["show"]
    return tuple([*flags, obj, *rest])


def _ip_line(args: tuple[str, ...]) -> str:
    return " ".join(a for a in _ip_words(args) if not a.startswith("-"))


@lru_cache(maxsize=4096)
def _nearest(utility: str, known: frozenset[str]) -> str | None:
    if len(utility) < 3:
        return None
    limit = 1 if len(utility) <= 5 else 2
    best = sorted((damerau(utility, k), k not in ALIASES.values(), k) for k in known if abs(len(k) - len(utility)) <= limit)
    return best[0][2] if best and best[0][0] <= limit else None
