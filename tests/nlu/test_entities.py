from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcopilot.nlu.entities import find_entities
from netcopilot.nlu.pipeline import blank_pipeline


def labelled(text: str) -> list[tuple[str, str]]:
    return [(e.label, e.text) for e in find_entities(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("why can't I reach 10.0.0.5 on port 443?", [("IPV4", "10.0.0.5"), ("PORT", "443")]),
        ("ping fe80::1%eth0 and 2001:db8::1", [("IPV6", "fe80::1%eth0"), ("IPV6", "2001:db8::1")]),
        ("curl [2001:db8::1]:8443", [("IPV6", "2001:db8::1"), ("PORT", "8443")]),
        ("scan 10.1.2.0/24 and 2001:db8::/32", [("CIDR", "10.1.2.0/24"), ("CIDR", "2001:db8::/32")]),
        ("who has aa:bb:cc:dd:ee:ff or AA-BB-CC-00-11-22 or aabb.ccdd.eeff",
         [("MAC", "aa:bb:cc:dd:ee:ff"), ("MAC", "AA-BB-CC-00-11-22"), ("MAC", "aabb.ccdd.eeff")]),
        ("is web01.corp.example up", [("HOSTNAME", "web01.corp.example")]),
        ("ssh admin@bastion-1 fails", [("HOSTNAME", "bastion-1")]),
        ("GET https://api.example.com/v1/health?x=1.", [("URL", "https://api.example.com/v1/health?x=1")]),
        ("errors on eth0, ens33 and wlan0", [("INTERFACE", "eth0"), ("INTERFACE", "ens33"), ("INTERFACE", "wlan0")]),
        ("Gi0/1 GigabitEthernet1/0/24 Te1/1 xe-0/0/0.0",
         [("INTERFACE", "Gi0/1"), ("INTERFACE", "GigabitEthernet1/0/24"), ("INTERFACE", "Te1/1"), ("INTERFACE", "xe-0/0/0.0")]),
        ("address on the lo interface", [("INTERFACE", "lo")]),
        ("is https open on web01", [("PORT", "https"), ("HOSTNAME", "web01")]),
        ("allow tcp/8080 and 53/udp", [("PROTOCOL", "tcp"), ("PORT", "8080"), ("PORT", "53"), ("PROTOCOL", "udp")]),
        ("trunk vlan 20 and VLAN30", [("VLAN", "vlan 20"), ("VLAN", "VLAN30")]),
        ("ping it 5 times for 30s", [("COUNT", "5 times"), ("DURATION", "30s")]),
        ("send ten pings over 2 minutes", [("COUNT", "ten pings"), ("DURATION", "2 minutes")]),
    ],
)
def test_recognises(text: str, expected: list[tuple[str, str]]) -> None:
    assert labelled(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "upgrade to python 3.11.2 or v1.2.3.4",
        "the outage started at 10:30 on 2024-05-01",
        "attach notes.txt and config.yaml",
        "999.1.1.1 and 10.0.0 are not addresses",
        "mtu is 1500 bytes and loss is 30%",
        "dns is slow and ssh keeps asking for a password",
        "wi-fi is flaky, follow-up tomorrow",
    ],
)
def test_rejects(text: str) -> None:
    assert labelled(text) == []


def test_values_are_normalised() -> None:
    by_label = {e.label: e.value for e in find_entities("reach https://x.example:8443 over https in 5 min from AA-BB-CC-DD-EE-FF")}
    assert by_label["MAC"] == "aa:bb:cc:dd:ee:ff"
    assert by_label["PORT"] == 443
    assert by_label["DURATION"] == 300


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_spans_are_exact_and_disjoint(text: str) -> None:
    ents = find_entities(text)
    for e in ents:
        assert text[e.start : e.end] == e.text
    for a, b in zip(ents, ents[1:]):
        assert a.end <= b.start


_pipeline = None


def pipeline():
    global _pipeline
    if _pipeline is None:
        _pipeline = blank_pipeline()
    return _pipeline


PIECES = list("ab .:/-_09\n\t") + ["10.0.0.5", " eth0", " 5 times", "vlan 7", "[::1]:80", "  ", "web01"]


@given(st.lists(st.sampled_from(PIECES), max_size=25).map("".join))
@settings(max_examples=300, deadline=None)
def test_tokenizer_keeps_text_and_entity_boundaries(text: str) -> None:
    doc = pipeline()(text)
    assert doc.text == text
    assert [(e.label_, e.text) for e in doc.ents] == labelled(text)
