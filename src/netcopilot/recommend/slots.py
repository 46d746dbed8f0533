"""Parameter types: validation, filling from entities, shell quoting and template rendering.

A value reaches a command only through `render`, which validates it for its declared type and
quotes it with `shlex.quote`. A value that fails validation is dropped (the slot shows its
placeholder instead), so text a user typed can never add shell syntax to a suggestion.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from netcopilot.nlu.entities import Entity, plausible_fqdn, plausible_machine_name, valid_hostname

_IFACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_./:-]{0,40}")
_WORD = re.compile(r"[A-Za-z0-9._-]{1,64}")
_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}", re.I)
_PATH = re.compile(r"[A-Za-z0-9._/~-]{1,255}")
RECORD_TYPES = ("A", "AAAA", "MX", "NS", "TXT", "CNAME", "SOA", "PTR", "SRV", "CAA", "ANY")
PROTOCOL_NAMES = ("tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "esp", "ah", "all")


class InvalidValue(ValueError):
    pass


def _ip(version: int | None) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        address, _, zone = str(value).partition("%")
        try:
            addr = ipaddress.ip_address(address)
        except ValueError:
            raise InvalidValue(f"{value!r} is not an IP address") from None
        if version and addr.version != version:
            raise InvalidValue(f"{value!r} is not an IPv{version} address")
        if zone and (addr.version != 6 or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", zone)):
            raise InvalidValue(f"{value!r} has an invalid zone")
        return f"{addr}%{zone}" if zone else str(addr)

    return check


def _hostname(value: Any) -> str:
    text = str(value).rstrip(".")
    if not valid_hostname(text) or text.startswith("-"):
        raise InvalidValue(f"{value!r} is not a host name")
    return text.lower()


def _host(value: Any) -> str:
    try:
        return _ip(None)(value)
    except InvalidValue:
        return _hostname(value)


def _int_range(lo: int, hi: int, what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        try:
            number = int(float(value))
        except (TypeError, ValueError):
            raise InvalidValue(f"{value!r} is not a {what}") from None
        if not lo <= number <= hi or float(value) != number:
            raise InvalidValue(f"{value!r} is not a {what} ({lo}-{hi})")
        return str(number)

    return check


def _duration(value: Any) -> str:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{value!r} is not a duration") from None
    if not 0 < seconds <= 3650 * 86400:
        raise InvalidValue(f"{value!r} is not a duration in seconds")
    return str(max(1, round(seconds)))


def _url(value: Any) -> str:
    text = str(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"{value!r} is not an http(s) URL")
    _host(parts.hostname)
    if re.search(r"[\s'\"`]", text):
        raise InvalidValue(f"{value!r} contains spaces or quotes")
    return text


def _cidr(value: Any) -> str:
    """A prefix, keeping host bits: both 10.0.0.0/24 and an interface address 10.0.0.5/24."""
    if "/" not in str(value):
        raise InvalidValue(f"{value!r} is not a network in CIDR form")
    try:
        return str(ipaddress.ip_interface(str(value)))
    except ValueError:
        raise InvalidValue(f"{value!r} is not a network in CIDR form") from None


def _mac(value: Any) -> str:
    digits = re.sub(r"[:.-]", "", str(value)).lower()
    if not re.fullmatch(r"[0-9a-f]{12}", digits):
        raise InvalidValue(f"{value!r} is not a MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _pattern(rx: re.Pattern, what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value)
        if not rx.fullmatch(text):
            raise InvalidValue(f"{value!r} is not a valid {what}")
        return text

    return check


def _choice(options: Iterable[str], what: str, upper: bool = False) -> Callable[[Any], str]:
    allowed = tuple(options)

    def check(value: Any) -> str:
        text = str(value).upper() if upper else str(value).lower()
        if text not in allowed:
            raise InvalidValue(f"{value!r} is not a {what} ({', '.join(allowed)})")
        return text

    return check


VALIDATORS: dict[str, Callable[[Any], str]] = {
    "host": _host,
    "ip": _ip(None),
    "ipv4": _ip(4),
    "ipv6": _ip(6),
    "hostname": _hostname,
    "port": _int_range(1, 65535, "port"),
    "interface": _pattern(_IFACE_NAME, "interface name"),
    "count": _int_range(1, 100000, "count"),
    "number": _int_range(0, 10_000_000, "number"),
    "duration": _duration,
    "url": _url,
    "cidr": _cidr,
    "mac": _mac,
    "vlan": _int_range(1, 4094, "VLAN id"),
    "protocol": _choice(PROTOCOL_NAMES, "protocol"),
    "record_type": _choice(RECORD_TYPES, "DNS record type", upper=True),
    "user": _pattern(_USER, "user name"),
    "path": _pattern(_PATH, "path"),
    "word": _pattern(_WORD, "word"),
}
PARAM_TYPES = tuple(VALIDATORS)


def validate(kind: str, value: Any) -> str:
    """The normalised text of `value` as a `kind`, or InvalidValue."""
    return VALIDATORS[kind](value)


# --- filling slots from entities ----------------------------------------------------------------

ENTITY_SOURCES: dict[str, tuple[str, ...]] = {
    "host": ("IPV4", "IPV6", "HOSTNAME", "URL"),
    "ip": ("IPV4", "IPV6"),
    "ipv4": ("IPV4",),
    "ipv6": ("IPV6",),
    "hostname": ("HOSTNAME", "URL"),
    "port": ("PORT", "URL"),
    "interface": ("INTERFACE",),
    "count": ("COUNT",),
    "duration": ("DURATION",),
    "url": ("URL",),
    "cidr": ("CIDR",),
    "mac": ("MAC",),
    "vlan": ("VLAN",),
    "protocol": ("PROTOCOL",),
}
_RECORD_WORDS = re.compile(r"\b(AAAA|A|MX|NS|TXT|CNAME|SOA|PTR|SRV|CAA)\b(?=\s*(?:records?|lookup|entry|entries|query)\b)|\b(?:records?\s+(?:type\s+)?)(AAAA|A|MX|NS|TXT|CNAME|SOA|PTR|SRV|CAA)\b|\b(mx|txt|cname|ptr|soa|srv|aaaa|caa)\b", re.I)


def _entity_value(entity: Entity, kind: str) -> Any:
    if entity.label == "URL":
        parts = urlsplit(str(entity.value))
        if kind == "port":
            return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        if kind in ("host", "hostname"):
            return parts.hostname
    return entity.value


def slot_values(entities: list[Entity], text: str = "") -> dict[str, list[str]]:
    """For each parameter type, the validated values the message offers, in order of appearance."""
    found: dict[str, list[str]] = {}
    for kind, labels in ENTITY_SOURCES.items():
        values: list[str] = []
        for entity in entities:
            if entity.label not in labels:
                continue
            raw = _entity_value(entity, kind)
            if raw is None:
                continue
            try:
                value = validate(kind, raw)
            except InvalidValue:
                continue
            if kind == "hostname" and entity.label == "HOSTNAME" and not (
                plausible_fqdn(value) or plausible_machine_name(value)
            ):
                continue
            if value not in values:
                values.append(value)
        if values:
            found[kind] = values
    if text:
        for m in _RECORD_WORDS.finditer(text):
            word = next(g for g in m.groups() if g)
            found.setdefault("record_type", []).append(word.upper())
    return found


# --- rendering ----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"(?<!%)\{([a-z_][a-z0-9_]*)\}")  # curl's %{http_code} is literal
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)


@dataclass(frozen=True)
class Rendered:
    command: str
    filled: dict[str, str]  # parameter -> value taken from the message
    defaults: dict[str, str]  # parameter -> default used
    missing: tuple[str, ...]  # required parameters shown as <placeholders>

    @property
    def complete(self) -> bool:
        return not self.missing


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def render(template: str, params: list[dict[str, Any]], values: dict[str, str]) -> Rendered:
    """Fill `template`. `values` maps parameter names to raw values; each is validated for its
    parameter's type and shell-quoted. Invalid or absent required values become `<name>`."""
    by_name = {p["name"]: p for p in params}
    chosen: dict[str, str] = {}
    filled: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for name, param in by_name.items():
        raw = values.get(name)
        if raw is not None:
            try:
                chosen[name] = filled[name] = validate(param["type"], raw)
                continue
            except InvalidValue:
                pass
        if param.get("default") is not None:
            chosen[name] = defaults[name] = validate(param["type"], param["default"])

    def optional(match: re.Match) -> str:
        inner = match.group(1)
        return inner if all(n in chosen for n in placeholders(inner)) else ""

    text = _OPTIONAL.sub(optional, template)
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name in chosen:
            return shlex.quote(chosen[name])
        missing.append(name)
        return f"<{name}>"

    command = _PLACEHOLDER.sub(fill, text)
    return Rendered(command, filled, defaults, tuple(dict.fromkeys(missing)))
