"""Ranker parts that need no trained model: slot assignment, diversity, platform and intent-to-change
detection, the 'already ran' detector, the prior, and that listwise training learns."""

from __future__ import annotations

import numpy as np
import pytest

from netcopilot.recommend.catalog import CommandSpec, Param
from netcopilot.recommend.ranker import (
    CHANGE_WORDS,
    FEATURES,
    CommandRanker,
    TrainingQuery,
    assign_slots,
    detect_platform,
    diversify,
    estimate_prior,
)


def spec(ident: str, utility: str, template: str, params: list[Param], intents=("dns",), platform="linux", risk="safe") -> CommandSpec:
    return CommandSpec(ident, utility, platform, "d", tuple(intents), tuple(params), template, ("x",), "w", risk, False)


DIG_AT = spec("dig-at", "dig", "dig @{server} {name}", [Param("server", "host", True), Param("name", "hostname", True)])
SNI = spec("tls", "openssl", "openssl s_client -connect {host}:{port} -servername {hostname}",
           [Param("host", "host", True), Param("port", "port", True), Param("hostname", "hostname", True)])
RANGE = spec("nc-range", "nc", "nc -zv {host} {start_port}-{end_port}",
             [Param("host", "host", True), Param("start_port", "port", True), Param("end_port", "port", True)])


def test_values_go_to_the_right_parameters() -> None:
    slots = {"host": ["corp.example", "10.0.0.53"], "hostname": ["corp.example"], "ip": ["10.0.0.53"]}
    assert assign_slots(DIG_AT, slots) == {"name": "corp.example", "server": "10.0.0.53"}


def test_a_server_never_reuses_the_target() -> None:
    assert assign_slots(DIG_AT, {"host": ["corp.example"], "hostname": ["corp.example"]}) == {"name": "corp.example"}


def test_same_name_may_fill_host_and_sni() -> None:
    slots = {"host": ["shop.example"], "hostname": ["shop.example"], "port": ["8443"]}
    assert assign_slots(SNI, slots) == {"host": "shop.example", "hostname": "shop.example", "port": "8443"}


def test_same_type_parameters_take_successive_values() -> None:
    assert assign_slots(RANGE, {"host": ["web01"], "port": ["80"]}) == {"host": "web01", "start_port": "80"}
    assert assign_slots(RANGE, {"host": ["web01"], "port": ["80", "90"]})["end_port"] == "90"


def test_first_three_use_different_utilities() -> None:
    scores = np.array([5.0, 4.9, 4.8, 1.0, 0.5])
    assert diversify(scores, ["ping", "ping", "ping", "mtr", "dig"], k=5) == [0, 3, 4, 1, 2]


@pytest.mark.parametrize(
    "text, platform",
    [("show mac address-table on the IOS switch", "cisco-ios"), ("on my mac the wifi drops", "macos"),
     ("juniper srx sessions", "junos"), ("the mac address of the gateway", None), ("ubuntu box", "linux")],
)
def test_platform(text: str, platform: str | None) -> None:
    assert detect_platform(text) == platform


@pytest.mark.parametrize(
    "text, change",
    [("is port 443 open on web01?", False), ("open port 8443 in ufw", True), ("why is eth0 down", False),
     ("how do I allow ssh from 10.0.0.0/8", True), ("please flush the arp cache", True)],
)
def test_asking_for_a_change(text: str, change: bool) -> None:
    assert bool(CHANGE_WORDS.search(text)) == change


def ranker(catalog: list[CommandSpec]) -> CommandRanker:
    dim = 4
    examples = np.eye(dim, dtype=np.float32)[: len(catalog)]
    return CommandRanker(catalog, examples, np.arange(len(catalog)), examples.copy())


def test_ran_detects_quoted_output() -> None:
    r = ranker([spec("ping", "ping", "ping {host}", [Param("host", "host", True)], ("connectivity",)),
                spec("mtr", "mtr", "mtr {host}", [Param("host", "host", True)], ("latency",))])
    assert r.ran_utilities("ping to 10.0.0.1 shows 300ms") == {"ping"}
    assert r.ran_utilities("use mtr to find the bad hop") == set()


def test_prior_favours_the_usual_first_tool() -> None:
    q = lambda utils: TrainingQuery("x", np.zeros(4), {}, {}, utils, "latency")  # noqa: E731
    prior = estimate_prior([q(["mtr", "ping"]), q(["mtr"]), q(["ping"])])
    assert prior["latency"]["mtr"] == 1.0 and prior["latency"]["ping"] < 1.0


def test_listwise_training_learns_to_rank() -> None:
    catalog = [spec(f"c{i}", f"u{i}", f"u{i}", [], ("dns",)) for i in range(4)]
    r = ranker(catalog)
    rng = np.random.default_rng(0)
    queries = []
    for _ in range(60):
        target = int(rng.integers(0, 4))
        vector = np.eye(4, dtype=np.float32)[target] + rng.normal(0, 0.1, 4).astype(np.float32)
        queries.append(TrainingQuery("q", vector / np.linalg.norm(vector), {"dns": 1.0}, {}, [f"u{target}"], "dns"))
    r.fit(queries, hidden=0)
    assert set(r.weights) == set(FEATURES) and r.weights["example"] > 0
    hits = sum(r.rank(q.text, q.vector, q.intent_proba, [], k=1, slots={})[0].spec.utility == q.utilities[0] for q in queries)
    assert hits / len(queries) > 0.9
