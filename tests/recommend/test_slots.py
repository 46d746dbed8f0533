from __future__ import annotations

import shlex

import pytest

from netcopilot.nlu.entities import find_entities
from netcopilot.recommend.slots import InvalidValue, render, slot_values, validate

PARAMS = [
    {"name": "host", "type": "host", "required": True, "default": None},
    {"name": "count", "type": "count", "required": False, "default": 4},
    {"name": "interface", "type": "interface", "required": False, "default": None},
]


def test_fills_validates_and_quotes() -> None:
    out = render("ping -c {count}[[ -I {interface}]] {host}", PARAMS, {"host": "10.0.0.5"})
    assert out.command == "ping -c 4 10.0.0.5"
    assert out.filled == {"host": "10.0.0.5"} and out.defaults == {"count": "4"} and out.complete


def test_optional_segment_kept_when_filled() -> None:
    out = render("ping -c {count}[[ -I {interface}]] {host}", PARAMS, {"host": "web01", "interface": "eth0"})
    assert out.command == "ping -c 4 -I eth0 web01"


def test_missing_required_becomes_placeholder() -> None:
    out = render("ping -c {count} {host}", PARAMS, {})
    assert out.command == "ping -c 4 <host>" and out.missing == ("host",) and not out.complete


@pytest.mark.parametrize("bad", ["8.8.8.8; rm -rf /", "$(reboot)", "`id`", "a b", "-oProxyCommand=x", "999.1.1.1"])
def test_invalid_values_never_reach_the_command(bad: str) -> None:
    out = render("ping -c {count} {host}", PARAMS, {"host": bad})
    assert bad not in out.command and out.missing == ("host",)


def test_curl_format_variables_are_literal() -> None:
    out = render("curl -w '%{http_code}' {url}", [{"name": "url", "type": "url", "required": True}], {"url": "https://a.example/x"})
    assert out.command == "curl -w '%{http_code}' https://a.example/x"


def test_values_with_safe_characters_are_quoted_anyway() -> None:
    out = render("dig {name}", [{"name": "name", "type": "word", "required": True}], {"name": "a.b-c"})
    assert shlex.split(out.command) == ["dig", "a.b-c"]


@pytest.mark.parametrize(
    "kind, value, expected",
    [
        ("port", "443", "443"), ("ip", "fe80::1%eth0", "fe80::1%eth0"), ("cidr", "192.168.1.50/24", "192.168.1.50/24"),
        ("mac", "AABB.CCDD.EEFF", "aa:bb:cc:dd:ee:ff"), ("duration", 0.2, "1"), ("record_type", "mx", "MX"),
    ],
)
def test_validators(kind: str, value: object, expected: str) -> None:
    assert validate(kind, value) == expected


@pytest.mark.parametrize("kind, value", [("port", 0), ("port", 70000), ("vlan", 5000), ("url", "ftp://x"), ("ipv4", "::1")])
def test_validators_reject(kind: str, value: object) -> None:
    with pytest.raises(InvalidValue):
        validate(kind, value)


def test_slot_values_from_entities() -> None:
    text = "curl https://shop.example:8443/health from eth1, MX records of corp.example"
    slots = slot_values(find_entities(text), text)
    assert slots["url"] == ["https://shop.example:8443/health"]
    assert slots["host"][0] == "shop.example" and "corp.example" in slots["hostname"]
    assert slots["port"] == ["8443"] and slots["interface"] == ["eth1"] and slots["record_type"] == ["MX"]
