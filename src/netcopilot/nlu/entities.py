"""Rule-based entity recognition, validated in code.

Each recogniser finds candidate spans with a regular expression and keeps only the ones that
validate (an IPv4 address must parse, a port must be 1-65535, a host name must have a real TLD or
look like a machine name). Overlaps are resolved by priority, then by length. The result is a list
of `Entity` with character offsets and a normalised `value` (e.g. "https" -> 443, "5 min" -> 300).

This module has no heavy imports: the spaCy component in `pipeline.py` wraps `find_entities`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

LABELS = (
    "URL", "CIDR", "MAC", "IPV6", "IPV4", "INTERFACE", "HOSTNAME",
    "VLAN", "PORT", "PROTOCOL", "COUNT", "DURATION",
)  # fmt: skip


@dataclass(frozen=True)
class Entity:
    label: str
    text: str
    start: int
    end: int
    value: Any = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "text": self.text, "start": self.start, "end": self.end, "value": self.value}


# --- value tables -------------------------------------------------------------------------------

SERVICES: dict[str, int] = {
    "ftp": 21, "ssh": 22, "sftp": 22, "telnet": 23, "smtp": 25, "dns": 53, "tftp": 69, "http": 80,
    "kerberos": 88, "pop3": 110, "ntp": 123, "imap": 143, "snmp": 161, "ldap": 389, "https": 443,
    "smb": 445, "syslog": 514, "smtps": 465, "submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995,
    "mssql": 1433, "openvpn": 1194, "radius": 1812, "nfs": 2049, "mysql": 3306, "rdp": 3389,
    "wireguard": 51820, "postgres": 5432, "postgresql": 5432, "amqp": 5672, "redis": 6379,
    "http-alt": 8080, "elasticsearch": 9200, "mongodb": 27017, "vnc": 5900,
    "kafka": 9092, "memcached": 11211, "sip": 5060, "mqtt": 1883, "ipp": 631,
}  # fmt: skip

# Services that are also everyday topics ("dns is slow", "ssh asks for a password") only count as
# ports in a port context; the rest count whenever they appear in one (see _services).
PROTOCOLS = (
    "tcp", "udp", "icmpv6", "icmp", "sctp", "gre", "esp", "igmp", "bgp", "ospf", "eigrp", "rip",
    "vrrp", "arp", "ipv6", "ipv4", "quic",
)  # fmt: skip

NUMBER_WORDS = {
    "once": 1, "twice": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100, "a hundred": 100, "a thousand": 1000,
}  # fmt: skip

DURATION_UNITS: dict[str, float] = {}
for _unit, _secs in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "wk", "wks", "week", "weeks"), 604800),
):
    for _name in _unit:
        DURATION_UNITS[_name] = _secs

COUNT_NOUNS = (
    "times", "time", "pings", "ping", "packets", "packet", "probes", "probe", "requests", "request",
    "attempts", "attempt", "tries", "try", "echoes", "echo", "connections", "queries", "query",
    "lookups", "retries", "hops", "iterations", "rounds", "samples", "streams", "flows", "runs",
    "cycles", "loops",
)  # fmt: skip

# Top-level domains we accept for FQDNs: generic, country codes in common use and the
# conventional private suffixes. File extensions that are also TLDs need 3+ labels.
TLDS = frozenset(
    """com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel jobs
    io ai app dev cloud tech online site xyz me tv cc co us uk de fr nl be ch at se no dk fi ie es it
    pt pl cz sk hu ro bg gr ru ua tr il in cn jp kr tw hk sg my th vn id ph au nz ca mx br ar cl za ng ke
    eg ae sa eu is lu li lt lv ee si hr rs ba mk md by kz ir pk bd lk np ve pe ec uy
    local lan internal intranet corp home localdomain intra example test invalid localhost arpa
    private priv home.arpa svc cluster consul mesh dmz mgmt prod stage staging inside office""".split()
)
FILE_LIKE_TLDS = frozenset("sh py md zip mov pl rs so js ts rb go cc in am ps".split())

HOSTNAME_STOPWORDS = frozenset(
    """ipv4 ipv6 http2 http3 md5 sha1 sha256 sha512 x86 x64 arm64 aarch64 amd64 utf8 utf-8 ed25519
    log4j k8s s3 ec2 win10 win11 tls1 ssl3 h264 h265 mp3 mp4 3g 4g 5g 2fa mfa l2 l3 l4 l7 v4 v6 dns64
    nat64 6to4 802 x509 pkcs12 p12 sha2 aes128 aes256 chacha20 rc4 des3 ipv6-only dual-stack
    e-mail wi-fi re-run follow-up built-in real-time on-prem third-party round-trip well-known
    self-signed man-in-the-middle up-to-date out-of-date end-to-end point-to-point peer-to-peer
    hard-coded long-lived short-lived so-called open-source non-zero zero-window half-open
    half-duplex full-duplex auto-negotiation auto-negotiate dns-over-https split-horizon
    top-level second-level multi-homed load-balancer load-balanced mtu-sized same-site cross-site
    ip-based host-based port-based time-based rate-limit rate-limited rate-limiting one-way two-way
    three-way x-forwarded-for pre-shared pre-prod non-prod read-only write-only opt-in opt-out
    set-cookie user-agent keep-alive content-type content-length ttl-exceeded re-add re-enable
    co-worker check-in log-in sign-in login-page in-house day-to-day back-end front-end
    wireguard-go openvpn-as f5 a10 ios-xe ios-xr nx-os junos-os ce-os eos ipv4-only
    ping6 traceroute6 iperf3 iperf2 fail2ban fail2ban-client firewall-cmd ssh-keygen ssh-copy-id
    ssh-add ssh-keyscan ssh-agent wg-quick ip6tables ip6tables-save iptables-save nft-monitor
    tcpdump4 mtr-tiny dnsutils bind9 bind9-dnsutils net-tools iproute2 x-forwarded-proto
    cache-control content-encoding accept-encoding strict-transport-security""".split()
)
MACHINE_WORDS = frozenset(
    """web db app api srv server host node vm box router rtr switch sw fw firewall core edge lb
    proxy cache redis pg mysql kafka nas backup bastion jump gw gateway vpn ap wlc spine leaf tor
    dist access mgmt mail smtp ns dns dc ad ldap k8s master worker ctrl prod staging stage dev uat
    qa test build ci git jenkins grafana prom monitor log elk es mon nfs san storage print printer
    pc laptop desktop ws wks kube etcd haproxy nginx pve esx esxi hv nat ids ips siem syslog ntp
    dhcp radius ise asa srx mx ex qfx rt cr ar pe ce border wan lan dmz""".split()
)

# --- regular expressions ------------------------------------------------------------------------

_B = r"(?<![\w.:/-])"  # left boundary: not inside a word, address or path
_URL = re.compile(r"\b(?:https?|ftps?|wss?)://[^\s<>\"'`|;]+", re.I)
_CIDR4 = re.compile(_B + r"(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2})(?![\w/.])")
_CIDR6 = re.compile(r"(?<![\w:])([0-9A-Fa-f:]*:[0-9A-Fa-f:]*)/(\d{1,3})(?![\w/.])")
_MAC = re.compile(
    r"(?<![\w:.-])(?:[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:.-])"
)
_IPV6 = re.compile(r"(?<![\w:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.-]+)?)(?![\w:])")
_IPV4 = re.compile(_B + r"(\d{1,3}(?:\.\d{1,3}){3})(?![\w/-]|\.\d)")
_IFACE = re.compile(
    r"(?<![\w/.-])("
    # Linux / macOS
    r"(?:eth|ens|eno|enp|enx|wlan|wlp|wlo|wlx|bond|br|virbr|docker|veth|wg|tun|tap|em|ib|utun|bridge|awdl|llw|team|macvlan|vxlan|cni|flannel|cali)"
    r"\d+(?:[a-z]\d+)*(?:f\d+)?(?:np\d+)?(?:\.\d+)?(?::\d+)?"
    r"|en\d+|lo\d*|lo"
    # Cisco IOS / NX-OS
    r"|(?:GigabitEthernet|FastEthernet|TenGigabitEthernet|TwentyFiveGigE|FortyGigabitEthernet|HundredGigE|"
    r"Ethernet|Port-channel|Loopback|Tunnel|Serial|TenGigE|Gi|Fa|Te|Tw|Fo|Hu|Eth|Et|Po|Se|Tu)"
    r" ?\d+(?:/\d+){1,3}(?:\.\d+)?"
    r"|(?:Port-channel|Loopback|Tunnel|Po|Lo|Tu)\d+"
    # Junos
    r"|(?:ge|xe|et|fe|so|gr|ip|lt)-\d+/\d+/\d+(?::\d+)?(?:\.\d+)?"
    r"|(?:ae|fxp|em|me|reth)\d+(?:\.\d+)?|irb(?:\.\d+)?|st0(?:\.\d+)?"
    r")(?![\w/-])",
    re.I,
)
_FQDN = re.compile(
    r"(?<![\w.@/-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62})\.?(?![\w-]|\.\w)"
)
_AT_HOST = re.compile(r"(?<=@)((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9-]+)*)")
_LABEL = re.compile(r"(?<![\w.@/-])([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)(?![\w-]|\.\w)")
_VLAN = re.compile(r"\bvlan(?:\s*(?:id|number|#))?\s*-?\s*(\d{1,4})\b", re.I)
_PORT_KEYWORD = re.compile(
    r"\b(?:ports?|p)\s*(?:number\s*|no\.?\s*|#\s*|:\s*)?((?:\d{1,5})(?:\s*(?:,|and|or|&|/)\s*\d{1,5})*)\b", re.I
)
_PORT_SLASH = re.compile(r"\b(?:(tcp|udp|sctp)[/ ](\d{1,5})|(\d{1,5})/(tcp|udp|sctp))\b", re.I)
_PORT_AFTER_COLON = re.compile(r"([\w.-]+\]?|\]):(\d{1,5})\b(?![:.]\d)")
_PORT_ON = re.compile(r"\b(?:on|at|to|via|over|using|against)\s+(\d{1,5})(?![\w.:/%-]|\s*(?:%|percent))\b", re.I)
_PORT_VERB = re.compile(
    r"\b(?:open|opening|allow|allowing|forward|forwarding|dnat|expose|exposing|publish|block|blocking|"
    r"deny|denying|close|closing|listen(?:ing)?\s+on|bind(?:ing)?\s+to)\s+(?:local\s+|remote\s+|port\s+)?(\d{1,5})"
    r"(?![\w.:/%-])",
    re.I,
)
_PORT_AFTER_HOST_IN_COMMAND = re.compile(
    r"\b(?:nc|ncat|netcat|telnet|socat)\s+(?:-[\w-]+\s+)*[\w.:-]+\s+(\d{1,5})(?![\w.:/%-])", re.I
)
_PORT_SSH_FORWARD = re.compile(r"(?<![\w-])-[LRD]\s*(\d{1,5})(?=[:\s]|$)")
_PORT_STATE = re.compile(
    r"\b(\d{1,5})\s+(?=(?:is\s+|are\s+|seems\s+|looks\s+|still\s+)?(?:open|closed|listening|blocked|filtered|refused|reachable|unreachable)\b)",
    re.I,
)
_UNIT_AFTER = re.compile(
    r"\s*(?:ms\b|s\b|secs?\b|seconds?\b|min|%|x\b|mbps|gbps|kbps|mb\b|gb\b|kb\b|bytes?\b|users?\b|"
    + "|".join(rf"{noun}\b" for noun in COUNT_NOUNS) + ")",
    re.I,
)
_SERVICE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, SERVICES), key=len, reverse=True)) + r")\b", re.I)
_SERVICE_BEFORE = re.compile(
    r"(?:\b(?:on|over|via|port|allow|allowing|block|blocking|deny|denying|open|opening|close|permit|"
    r"forward|forwarding|expose|exposing|reach|reaching|for|to)\s+(?:the\s+|its\s+|tcp\s+|udp\s+)?)$",
    re.I,
)
_SERVICE_AFTER = re.compile(
    r"^(?:\s+(?:port|ports|service|open|closed|listening|blocked|filtered|refused|traffic|"
    r"reachable|unreachable|is\s+(?:open|closed|blocked|filtered|listening|refused)))\b",
    re.I,
)
_PROTOCOL = re.compile(r"(?<![\w-])(?<![A-Za-z]/)(" + "|".join(PROTOCOLS) + r")(?![\w-])", re.I)
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_COUNT = re.compile(r"(?<![\w.])" + _NUM + r"\s*(?:more\s+)?(" + "|".join(COUNT_NOUNS) + r")\b", re.I)
_COUNT_WORD = re.compile(r"\b(once|twice)\b", re.I)
_DURATION = re.compile(
    r"(?<![\w.:/-])" + _NUM + r"[ -]?(" + "|".join(sorted(map(re.escape, DURATION_UNITS), key=len, reverse=True)) + r")(?![\w/%])",
    re.I,
)


# --- validators ---------------------------------------------------------------------------------


def valid_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def valid_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return ":" in text


def valid_hostname(text: str) -> bool:
    name = text.rstrip(".")
    if not 0 < len(name) <= 253 or valid_ipv4(name):
        return False
    labels = name.split(".")
    if labels[-1].isdigit():  # an all-numeric top label is an address attempt, not a name
        return False
    return all(re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", label) for label in labels)


def plausible_fqdn(text: str) -> bool:
    name = text.rstrip(".").lower()
    if not valid_hostname(name):
        return False
    labels = name.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    tld = labels[-1]
    if tld in FILE_LIKE_TLDS and len(labels) < 3:
        return False
    return tld in TLDS or (len(labels) >= 3 and len(tld) >= 2 and tld.isalpha())


def plausible_machine_name(text: str) -> bool:
    """A single-label name that looks like a machine: web01, core-sw1, db-prod, localhost."""
    low = text.lower()
    if low == "localhost":
        return True
    if low in HOSTNAME_STOPWORDS or low in PROTOCOLS or low in SERVICES or len(low) < 2 or not valid_hostname(low):
        return False
    if re.fullmatch(r"[A-Z]{2,6}-?\d+(?:-\d+)*", text):  # tickets and AS numbers: INC-20431, CVE-2023-1, AS64512
        return False
    parts = low.split("-")
    letters = sum(c.isalpha() for c in low)
    if any(c.isdigit() for c in low):
        # web01, sw1, db-2, rtr-3b; but not v2, x86, 5g, tls1 (up to 3 letters and one digit).
        return letters >= 2 and low[0].isalpha() and ("-" in low or not re.fullmatch(r"[a-z]{1,3}\d", low))
    # No digit: hyphenated names with a machine-ish part (db-prod, core-sw, edge-fw).
    return len(parts) >= 2 and any(part in MACHINE_WORDS for part in parts)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float(NUMBER_WORDS[text.lower()])


# --- recognisers: each yields (start, end, label, value) ----------------------------------------

Candidate = tuple[int, int, str, Any]


def _urls(text: str) -> Iterator[Candidate]:
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?)]}'\"")
        if url.count("(") < url.count(")"):
            url = url.rstrip(")")
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            continue
        if host and (valid_ipv4(host) or valid_ipv6(host) or valid_hostname(host)):
            yield m.start(), m.start() + len(url), "URL", url


def _cidrs(text: str) -> Iterator[Candidate]:
    for rx, maxlen in ((_CIDR4, 32), (_CIDR6, 128)):
        for m in rx.finditer(text):
            if int(m.group(2)) > maxlen:
                continue
            try:
                net = ipaddress.ip_interface(f"{m.group(1)}/{m.group(2)}")
            except ValueError:
                continue
            yield m.start(), m.end(), "CIDR", str(net)


def _macs(text: str) -> Iterator[Candidate]:
    for m in _MAC.finditer(text):
        digits = re.sub(r"[^0-9A-Fa-f]", "", m.group(0)).lower()
        yield m.start(), m.end(), "MAC", ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _ipv6s(text: str) -> Iterator[Candidate]:
    for m in _IPV6.finditer(text):
        addr = m.group(1)
        core = addr.split("%", 1)[0]
        if valid_ipv6(core) and core.count(":") >= 2:
            yield m.start(1), m.end(1), "IPV6", addr


def _ipv4s(text: str) -> Iterator[Candidate]:
    for m in _IPV4.finditer(text):
        if valid_ipv4(m.group(1)):
            yield m.start(1), m.end(1), "IPV4", m.group(1)


def _interfaces(text: str) -> Iterator[Candidate]:
    for m in _IFACE.finditer(text):
        name = m.group(1)
        low = name.lower()
        if low in ("lo", "irb") and re.match(r"\s+and behold", text[m.end(1):], re.I):
            continue
        if re.fullmatch(r"(?:se|et|fo|tw|hu|te|fa|po|lo|tu) ?\d+(?:/\d+)*", low) and "/" not in low and not low.startswith(("po", "lo", "tu")):
            continue
        yield m.start(1), m.end(1), "INTERFACE", name


def _hostnames(text: str) -> Iterator[Candidate]:
    for m in _FQDN.finditer(text):
        name = m.group(1)
        if plausible_fqdn(name):
            yield m.start(1), m.end(1), "HOSTNAME", name.lower()
    for m in _AT_HOST.finditer(text):
        name = m.group(1)
        if plausible_fqdn(name) or plausible_machine_name(name):
            yield m.start(1), m.end(1), "HOSTNAME", name.lower()
    for m in _LABEL.finditer(text):
        name = m.group(1)
        if plausible_machine_name(name) and not _IFACE.fullmatch(name) and name.lower() not in SERVICES:
            yield m.start(1), m.end(1), "HOSTNAME", name.lower()


def _vlans(text: str) -> Iterator[Candidate]:
    for m in _VLAN.finditer(text):
        vid = int(m.group(1))
        if 1 <= vid <= 4094:
            yield m.start(), m.end(), "VLAN", vid


def _port(digits: str) -> int | None:
    if not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
        return None
    value = int(digits)
    return value if 1 <= value <= 65535 else None


def _ports(text: str) -> Iterator[Candidate]:
    for m in _PORT_KEYWORD.finditer(text):
        for num in re.finditer(r"\d{1,5}", m.group(1)):
            value = _port(num.group(0))
            if value is not None:
                start = m.start(1) + num.start()
                yield start, start + len(num.group(0)), "PORT", value
    for m in _PORT_SLASH.finditer(text):
        group = 2 if m.group(2) else 3
        value = _port(m.group(group))
        if value is not None:
            yield m.start(group), m.end(group), "PORT", value
    for m in _PORT_AFTER_COLON.finditer(text):
        # host:port only after something that is a host ("10:30" is a time)
        host = m.group(1)
        is_host = host.endswith("]") or valid_ipv4(host) or plausible_fqdn(host) or plausible_machine_name(host)
        value = _port(m.group(2))
        if is_host and value is not None:
            yield m.start(2), m.end(2), "PORT", value
    for rx in (_PORT_ON, _PORT_STATE, _PORT_VERB, _PORT_AFTER_HOST_IN_COMMAND, _PORT_SSH_FORWARD):
        for m in rx.finditer(text):
            value = _port(m.group(1))
            if value is None or _UNIT_AFTER.match(text, m.end(1)):
                continue
            yield m.start(1), m.end(1), "PORT", value
    previous_end = -1  # end of the last service accepted as a port, for lists: "http and https"
    for m in _SERVICE.finditer(text):
        before, after = text[: m.start()], text[m.end() :]
        in_list = previous_end >= 0 and re.fullmatch(r"\s*(?:,|and|or|&|/|,\s*and)\s*", text[previous_end : m.start()], re.I)
        if in_list or _SERVICE_BEFORE.search(before) or _SERVICE_AFTER.match(after):
            # "ssh to web01" names the tool, not its port
            if m.group(1).lower() == "ssh" and re.match(r"\s+(?:to|into|in)\b", after, re.I):
                continue
            previous_end = m.end()
            yield m.start(), m.end(), "PORT", SERVICES[m.group(1).lower()]


def _protocols(text: str) -> Iterator[Candidate]:
    for m in _PROTOCOL.finditer(text):
        yield m.start(1), m.end(1), "PROTOCOL", m.group(1).lower()


def _counts(text: str) -> Iterator[Candidate]:
    for m in _COUNT.finditer(text):
        value = _int_or_none(m.group(1))
        if value:
            yield m.start(), m.end(), "COUNT", value
    for m in _COUNT_WORD.finditer(text):
        yield m.start(), m.end(), "COUNT", NUMBER_WORDS[m.group(1).lower()]


def _int_or_none(text: str) -> int | None:
    try:
        return int(text) if text.isdigit() else NUMBER_WORDS[text.lower()]
    except KeyError:
        return None


def _durations(text: str) -> Iterator[Candidate]:
    for m in _DURATION.finditer(text):
        unit = m.group(2).lower()
        number = m.group(1)
        # single-letter units only glued to digits ("30s", "5m"), never after words ("five m")
        if len(unit) <= 1 and (not number[0].isdigit() or m.group(0)[len(number)] == " "):
            continue
        seconds = _number(number) * DURATION_UNITS[unit]
        if seconds > 0:
            yield m.start(), m.end(), "DURATION", seconds


RECOGNISERS: tuple[tuple[str, Callable[[str], Iterator[Candidate]]], ...] = (
    ("URL", _urls),
    ("CIDR", _cidrs),
    ("MAC", _macs),
    ("IPV6", _ipv6s),
    ("IPV4", _ipv4s),
    ("INTERFACE", _interfaces),
    ("VLAN", _vlans),
    ("HOSTNAME", _hostnames),
    ("PORT", _ports),
    ("COUNT", _counts),
    ("DURATION", _durations),
    ("PROTOCOL", _protocols),
)
PRIORITY = {label: rank for rank, (label, _) in enumerate(RECOGNISERS)}


def find_entities(text: str) -> list[Entity]:
    """All entities in `text`, non-overlapping, in order of appearance."""
    candidates: list[Candidate] = []
    for _, recogniser in RECOGNISERS:
        candidates.extend(recogniser(text))
    # Higher priority first, then longer spans; a span is kept if it overlaps nothing kept.
    candidates.sort(key=lambda c: (PRIORITY[c[2]], -(c[1] - c[0]), c[0]))
    taken: list[tuple[int, int]] = []
    kept: list[Entity] = []
    for start, end, label, value in candidates:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        kept.append(Entity(label, text[start:end], start, end, value))
    kept.sort(key=lambda e: e.start)
    return kept
