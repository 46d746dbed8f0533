"""The learned topology: merging into the store (SQLite and PostgreSQL), the graph, its queries,
drawing, and the `netcopilot topology` commands."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from netcopilot.errors import DataFormatError, InputError
from netcopilot.store.db import Store
from netcopilot.topology import graph as topo
from netcopilot.topology.parsers import parse_file
from netcopilot.topology.store import observation_rows, topology_rows

SAMPLES = Path(__file__).parent / "samples"
T1 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 3, 8, 9, 0, tzinfo=timezone.utc)
LAPTOP_VIEW = ["ip_route.txt", "traceroute.txt", "mtr_report.txt", "lldpctl.txt", "ip_neigh.txt", "arp_linux.txt"]
SWITCH_VIEW = ["cdp_neighbors.txt", "cdp_neighbors_detail.txt", "lldp_neighbors.txt", "lldp_neighbors_detail.txt"]
ALL = LAPTOP_VIEW + SWITCH_VIEW + ["flows.csv"]


def paths(names: list[str]) -> list[Path]:
    return [SAMPLES / n for n in names]


@pytest.fixture(scope="module")
def g():
    """Every sample merged in memory (same rules as the store)."""
    return topo.build_graph([parse_file(p) for p in paths(ALL)], seen_at=T1)


@pytest.fixture
def store(store_url: str):
    s = Store(store_url)
    yield s
    s.close()


def test_store_round_trip_keeps_first_seen_and_merges(store: Store) -> None:
    summaries = topo.ingest(store, paths(ALL), seen_at=T1)
    assert [s["format"] for s in summaries][:3] == ["ip route", "traceroute", "mtr"]
    g = topo.load_graph(store)
    memory = topo.build_graph([parse_file(p) for p in paths(ALL)], seen_at=T1)
    assert sorted(g.nodes) == sorted(memory.nodes) and g.number_of_edges() == memory.number_of_edges()
    local = g.nodes["local"]
    # the laptop seen from the switch (lldp, by name and address) and in the flows is this machine
    assert local["names"] == ["laptop-ana"] and "10.0.0.23" in local["addresses"]
    assert "laptop-ana" not in g and "10.0.0.23" not in g
    assert g.nodes["10.0.0.2"]["kind"] == "switch" and "sw-access-3.corp.example" in g.nodes["10.0.0.2"]["names"]
    assert g.nodes["10.0.0.1"]["names"] == ["rtr-edge-1.corp.example"] and g.nodes["10.0.0.1"]["kind"] == "gateway"
    assert g.nodes["local"]["first_seen"] == T1 and g.nodes["local"]["last_seen"] == T1
    assert set(g.edges["local", "10.0.0.1"]["kinds"]) == {"hop", "route", "l2"}
    assert g.edges["10.0.0.2", "sw-core-1"]["ports"] == {"10.0.0.2": "Gi1/0/49", "sw-core-1": "Gi1/0/3"}

    topo.ingest(store, paths(["ip_route.txt", "traceroute.txt"]), seen_at=T2)
    again = topo.load_graph(store)
    assert again.nodes["10.0.0.1"]["first_seen"] == T1 and again.nodes["10.0.0.1"]["last_seen"] == T2
    assert again.nodes["10.0.0.15"]["last_seen"] == T1
    hop = again.edges["local", "10.0.0.1"]["by_kind"]["hop"]
    assert hop["first_seen"] == T1 and hop["last_seen"] == T2 and hop["sources"] == 3  # traceroute, mtr, traceroute
    nodes, edges = topology_rows(store)
    assert len(nodes) == again.number_of_nodes() and all(e["a"] < e["b"] for e in edges)
    assert len(observation_rows(store)) == len(ALL) + 2


def test_a_later_observation_merges_stored_duplicates(store: Store) -> None:
    topo.ingest(store, paths(["lldp_neighbors.txt"]), seen_at=T1)  # knows laptop-ana only by name
    assert "laptop-ana" in topo.load_graph(store)
    summary = topo.ingest(store, paths(["mtr_report.txt"]), seen_at=T2)[0]  # HOST: laptop-ana is this machine
    g = topo.load_graph(store)
    assert "laptop-ana" not in g and summary["merged"] == {"laptop-ana": "local"}
    assert g.nodes["local"]["first_seen"] == T1
    assert g.edges["local", "sw-access-3"]["ports"] == {"sw-access-3": "Gi1/0/14", "local": "0000.5e00.5317"}


def test_a_bad_file_among_good_ones_writes_nothing(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("remember to buy milk\n")
    with pytest.raises(DataFormatError, match="notes.txt: not a recognised topology format"):
        topo.ingest(store, [SAMPLES / "ip_route.txt", bad])
    assert topology_rows(store) == ([], [])


def test_changes_since_a_date(store: Store, tmp_path: Path) -> None:
    topo.ingest(store, paths(["ip_route.txt", "traceroute.txt"]), seen_at=T1)
    changed = tmp_path / "traceroute.txt"  # the ISP moved us onto core3
    text = (SAMPLES / "traceroute.txt").read_text().splitlines()
    text[4] = " 4  core3.isp.example (198.51.100.17)  10.1 ms  10.2 ms  10.3 ms"
    changed.write_text("\n".join(text) + "\n")
    topo.ingest(store, [SAMPLES / "ip_route.txt", changed], seen_at=T2)
    changes = topo.changes_since(store, T1 + timedelta(days=1))
    assert changes["observations"] == 2
    assert [n["node"] for n in changes["new_nodes"]] == ["198.51.100.17"]
    assert {(e["a"], e["b"]) for e in changes["new_edges"]} == {("198.51.100.1", "198.51.100.17"), ("198.51.100.17", "203.0.113.1")}
    assert {n["node"] for n in changes["unseen_nodes"]} == {"198.51.100.9", "198.51.100.13"}
    assert len(changes["unseen_edges"]) == 4
    assert topo.changes_since(store, T2)["new_nodes"] == []
    assert topo.parse_when("7d", now=T2) == T1 and topo.parse_when("2026-03-01T10:00+01:00") == T1
    assert topo.parse_when("yesterday", now=T2 + timedelta(hours=3)) == T2.replace(hour=0) - timedelta(days=1)
    with pytest.raises(InputError, match="expected a duration"):
        topo.parse_when("last tuesday")


def test_paths_across_traceroute_routes_lldp_and_cdp(g) -> None:
    to_dns = topo.path(g, "my laptop", "the DNS server")
    assert to_dns["found"] and to_dns["from"] == "local" and to_dns["to"] == "203.0.113.53"
    assert to_dns["between"][:2] == ["10.0.0.1", "198.51.100.1"] and to_dns["between"][-1] == "203.0.113.1"
    assert to_dns["hop_count"] == 6  # five links, one silent hop
    assert {"route", "hop"} <= set(to_dns["hops"][0]["kinds"]) and to_dns["hops"][0]["a_port"] == "enp0s31f6"
    to_core = topo.path(g, "this machine", "sw-core-1")
    assert to_core["nodes"] == ["local", "10.0.0.2", "sw-core-1"]
    assert to_core["hops"][0]["kinds"][0] == "lldp" and to_core["hops"][0]["b_port"] == "Gi1/0/14"
    assert to_core["hops"][1]["a_port"] == "Gi1/0/49" and to_core["hops"][1]["b_port"] == "Gi1/0/3"
    assert topo.path(g, "me", "10.20.9.9")["nodes"] == ["local", "10.0.0.254", "10.20.0.0/16"]
    # flows are conversations, not links: 10.0.0.40 only talked to 198.51.100.200
    assert not topo.path(g, "10.0.0.40", "198.51.100.200")["found"]
    assert topo.path(g, "10.0.0.40", "198.51.100.200", include_flows=True)["nodes"] == ["10.0.0.40", "198.51.100.200"]
    with pytest.raises(InputError, match="closest: sw-core-1"):
        topo.path(g, "me", "sw-core-2")


def test_resolving_what_people_say(g) -> None:
    resolve = topo.resolve
    assert resolve(g, "me") == resolve(g, "My Laptop") == resolve(g, "this machine") == resolve(g, "laptop-ana") == "local"
    assert resolve(g, "gateway") == resolve(g, "the default gateway") == resolve(g, "rtr-edge-1") == "10.0.0.1"
    assert resolve(g, "DNS server") == resolve(g, "dns1.example.net") == "203.0.113.53"
    assert resolve(g, "SW-CORE-1") == resolve(g, "10.0.0.3") == "sw-core-1"
    assert resolve(g, "sw-access-3") == resolve(g, "sw-access-3.corp.example") == "10.0.0.2"
    assert resolve(g, "the switch sw-lab-1") == "10.20.0.2"
    assert resolve(g, "10.88.1.2") == "10.88.0.0/16"
    assert resolve(g, "printer-3f") is None and resolve(g, "") is None


def test_neighbours_with_ports(g) -> None:
    rows = {r["node"]: r for r in topo.neighbours(g, "sw-core-1")}
    assert set(rows) == {"10.0.0.2", "10.0.0.1", "sw-access-4", "ap-floor2", "SEP00005E005344"}
    assert rows["10.0.0.1"]["local_port"] == "Gi1/0/48" and rows["10.0.0.1"]["remote_port"] == "Gi0/0/1"
    assert rows["10.0.0.2"]["via"] == ["lldp", "cdp"]


def _rows(nodes: dict[str, str], links: list[tuple[str, str, str]]):
    nodes_rows = [{"node_id": n, "kind": k, "attrs": {}, "first_seen": T1, "last_seen": T1} for n, k in nodes.items()]
    edge_rows = [{"a": min(a, b), "b": max(a, b), "kind": kind, "attrs": {}, "first_seen": T1, "last_seen": T1, "sources": 1}
                 for a, b, kind in links]
    return topo.graph_from_rows(nodes_rows, edge_rows)


def test_single_points_of_failure_on_a_known_shape() -> None:
    #  local - gw - r1 - core - sw - h1, h2      core - 10.9.0.0/16 (a prefix)
    #              \- r2 -/                       gw - r3 - 10.8.0.0/16;  local ~ flows ~ far
    g = _rows(
        {"local": "host", "gw": "gateway", "r1": "router", "r2": "router", "core": "switch", "sw": "switch", "h1": "host",
         "h2": "host", "10.9.0.0/16": "network", "r3": "router", "10.8.0.0/16": "network", "far": "host"},
        [("local", "gw", "hop"), ("gw", "r1", "hop"), ("gw", "r2", "hop"), ("r1", "core", "hop"), ("r2", "core", "hop"),
         ("core", "sw", "lldp"), ("sw", "h1", "l2"), ("sw", "h2", "l2"), ("core", "10.9.0.0/16", "route"),
         ("gw", "r3", "route"), ("r3", "10.8.0.0/16", "route"), ("local", "far", "flow")],
    )
    spof = topo.single_points_of_failure(g)
    points = {p["node"]: p["cuts_off"] for p in spof["articulation_points"]}
    assert points == {"gw": ["core", "h1", "h2", "r1", "r2", "r3", "sw"], "core": ["h1", "h2", "sw"], "sw": ["h1", "h2"]}
    # local is the observer; r3 only strands a prefix; bridges to single devices are trivial
    assert [(b["a"], b["b"], b["cuts_off"]) for b in spof["bridges"]] == [("core", "sw", ["h1", "h2", "sw"])]
    top = topo.central(g, k=2)
    assert [c["node"] for c in top] == ["core", "gw"]  # core splits 4 x 6 nodes, gw 3 x 7
    assert topo.path(g, "local", "core")["hop_count"] == 3 and not topo.path(g, "gw", "far")["found"]


def test_dot_text_and_png(g, tmp_path: Path) -> None:
    text = topo.to_dot(g, tmp_path / "t.dot")
    assert (tmp_path / "t.dot").read_text() == text
    assert text.startswith("graph topology {") and text.rstrip().endswith("}")
    declared = set(re.findall(r'^  "([^"]+)" \[', text, re.M))
    assert declared == set(g.nodes)
    assert len(re.findall(r'^  "[^"]+" -- "[^"]+" \[', text, re.M)) == g.number_of_edges()
    assert 'label="Gi1/0/49 - Gi1/0/3"' in text or 'label="Gi1/0/3 - Gi1/0/49"' in text
    png = topo.draw_png(g, tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    empty = topo.draw_png(topo.build_graph([]), tmp_path / "empty.png")
    assert empty.read_bytes()[:4] == b"\x89PNG"


def test_the_topology_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from netcopilot.frontends.topology_cli import topology_app

    monkeypatch.setenv("NETCOPILOT_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "160")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(topology_app, list(args))

    out = run("ingest", *map(str, paths(LAPTOP_VIEW + SWITCH_VIEW)), "--at", "2026-03-01T09:00")
    assert out.exit_code == 0, out.output
    assert "traceroute, 7 nodes (5 new, 2 updated)" in out.output and "note: 2 unresolved" in out.output
    shown = run("show", "--json", "--png", str(tmp_path / "t.png"), "--dot", str(tmp_path / "t.dot"))
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["summary"]["gateway"] == "10.0.0.1" and data["summary"]["local"] == "local"
    assert {p["node"] for p in data["summary"]["articulation_points"]} >= {"10.0.0.1", "sw-core-1"}
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "t.dot").exists()
    table = run("show")
    assert "single points of failure" in table.output and "rtr-edge-1.corp.example" in table.output
    path = run("path", "me", "dns server")
    assert path.exit_code == 0 and "-> 203.0.113.53 (dns1.example.net)" in path.output and "1 silent hop" in path.output
    assert json.loads(run("path", "me", "sw-core-1", "--json").output)["between"] == ["10.0.0.2"]
    assert "Gi1/0/48" in run("neighbours", "sw-core-1").output
    changes = run("changes", "--since", "2026-02-28", "--json")
    assert len(json.loads(changes.output)["new_nodes"]) == len(data["graph"]["nodes"])
    missing = run("path", "me", "nowhere")
    assert isinstance(missing.exception, InputError) and "nowhere" in str(missing.exception)
    bad = run("ingest", str(SAMPLES.parent / "test_graph.py"))
    assert isinstance(bad.exception, DataFormatError) and "\n" not in str(bad.exception)
    assert run("ingest", "--help").exit_code == 0 and "Examples" in run("ingest", "--help").output
