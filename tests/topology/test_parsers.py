"""Parsing each supported output (the samples in tests/topology/samples are hand-written, using
documentation address ranges) and refusing what is not one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from netcopilot.errors import DataFormatError
from netcopilot.topology.parsers import detect_format, from_connections, parse_file, parse_text, short_ifname

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str, **kwargs):
    return parse_file(SAMPLES / name, **kwargs)


def edge(obs, a: str, b: str, kind: str) -> dict:
    key = (a, b, kind) if a <= b else (b, a, kind)
    assert key in obs.edges, f"no {kind} edge {a} -- {b}; edges: {sorted(obs.edges)}"
    return obs.edges[key].attrs


@pytest.mark.parametrize("name, fmt, nodes, edges", [
    ("traceroute.txt", "traceroute", 7, 7),
    ("traceroute_inetutils.txt", "traceroute", 6, 5),
    ("mtr_report.txt", "mtr", 7, 7),
    ("ip_route.txt", "ip route", 9, 8),
    ("route_n.txt", "route -n", 8, 7),
    ("ip_neigh.txt", "ip neigh", 5, 4),
    ("arp_linux.txt", "arp -a", 5, 4),
    ("arp_macos.txt", "arp -a", 3, 2),
    ("arp_windows.txt", "arp -a", 3, 2),
    ("lldpctl.txt", "lldpctl", 3, 2),
    ("lldpctl_keyvalue.txt", "lldpctl keyvalue", 3, 2),
    ("cdp_neighbors.txt", "cdp neighbors", 6, 5),
    ("cdp_neighbors_detail.txt", "cdp neighbors detail", 5, 4),
    ("lldp_neighbors.txt", "lldp neighbors", 4, 3),
    ("lldp_neighbors_detail.txt", "lldp neighbors detail", 4, 3),
    ("flows.csv", "flows", 6, 4),
])
def test_every_sample_is_recognised_and_counted(name: str, fmt: str, nodes: int, edges: int) -> None:
    obs = sample(name)
    assert obs.format == fmt
    assert (len(obs.nodes), len(obs.edges)) == (nodes, edges)
    assert all(e.a < e.b for e in obs.edges.values())


def test_traceroute_hops_names_stars_and_several_addresses_per_hop() -> None:
    obs = sample("traceroute.txt")
    assert obs.local == "local" and obs.nodes["local"].attrs["local"] is True
    assert obs.nodes["10.0.0.1"].kind == "gateway"
    assert obs.nodes["198.51.100.9"].attrs["names"] == ["core1.isp.example"]
    assert obs.nodes["198.51.100.13"].attrs["names"] == ["core2.isp.example"]
    # hop 3 answered nothing: hop 2 links straight to both addresses of hop 4
    assert edge(obs, "198.51.100.1", "198.51.100.9", "hop")["hidden_hops"] == 1
    assert edge(obs, "198.51.100.1", "198.51.100.13", "hop")["hidden_hops"] == 1
    assert edge(obs, "local", "10.0.0.1", "hop")["rtt_ms"] == pytest.approx(0.576, abs=0.001)
    dns = obs.nodes["203.0.113.53"]
    assert dns.kind == "dns" and dns.attrs["names"] == ["dns1.example.net"]
    assert obs.notes == []


def test_inetutils_traceroute_and_an_unreached_destination() -> None:
    obs = sample("traceroute_inetutils.txt")
    assert edge(obs, "203.0.113.1", "203.0.113.80", "hop")["rtt_ms"] == pytest.approx(12.312, abs=0.001)
    text = ("traceroute to 203.0.113.99 (203.0.113.99), 30 hops max, 60 byte packets\n"
            " 1  10.0.0.1 (10.0.0.1)  0.5 ms  0.4 ms  0.4 ms\n 2  * * *\n 3  * * *\n")
    unreached = parse_text(text, "t.txt")
    assert "203.0.113.99" in unreached.nodes and len(unreached.edges) == 1
    assert any("did not reach" in n for n in unreached.notes)


def test_mtr_report_host_line_extra_addresses_and_silent_hops() -> None:
    obs = sample("mtr_report.txt")
    assert obs.nodes["local"].attrs["names"] == ["laptop-ana"]
    assert edge(obs, "198.51.100.1", "198.51.100.13", "hop")["hidden_hops"] == 1
    assert edge(obs, "198.51.100.9", "203.0.113.1", "hop")["rtt_ms"] == 11.5
    assert obs.nodes["203.0.113.80"].kind == "host"
    assert "???" not in obs.nodes


def test_ip_route_default_connected_static_and_source_addresses() -> None:
    obs = sample("ip_route.txt")
    assert obs.nodes["10.0.0.1"].kind == "gateway"
    default = edge(obs, "local", "10.0.0.1", "route")
    assert default["default"] is True and default["ports"] == {"local": "enp0s31f6"} and default["proto"] == "dhcp"
    assert edge(obs, "local", "10.0.0.0/24", "route")["connected"] is True
    assert edge(obs, "10.0.0.254", "10.20.0.0/16", "route")["destination"] == "10.20.0.0/16"
    assert edge(obs, "local", "10.88.0.0/16", "route")["linkdown"] is True
    assert obs.nodes["local"].attrs["addresses"] == ["10.0.0.23", "10.88.0.1", "192.0.2.10"]
    assert obs.nodes["10.0.0.0/24"].kind == "network"


def test_ip_route_multipath_ipv6_other_tables_and_a_bad_line() -> None:
    text = (
        "default proto static metric 1024\n"
        "\tnexthop via 10.0.0.1 dev eth0 weight 1\n"
        "\tnexthop via 10.0.1.1 dev eth1 weight 1\n"
        "default via fe80::1 dev eth0 proto ra metric 1024 pref medium\n"
        "2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium\n"
        "blackhole 10.99.0.0/16\n"
        "this is not a route\n"
    )
    obs = parse_text(text, "routes.txt")
    assert {"10.0.0.1", "10.0.1.1", "fe80::1", "2001:db8:1::/64"} <= set(obs.nodes)
    assert edge(obs, "local", "10.0.1.1", "route")["ports"] == {"local": "eth1"}
    assert any(n.startswith("line 7: not an ip route line") for n in obs.notes)
    assert any("1 blackhole" in n for n in obs.notes)


def test_route_n_matches_ip_route() -> None:
    obs = sample("route_n.txt")
    assert edge(obs, "local", "10.0.0.1", "route")["default"] is True
    assert edge(obs, "local", "10.0.0.0/24", "route")["ports"] == {"local": "enp0s31f6"}
    assert obs.nodes["203.0.113.53"].kind == "host"  # a host route (flag H)
    assert "192.0.2.1" in obs.nodes and "10.20.0.0/16" in obs.nodes


def test_ip_neigh_states_and_link_local_of_the_same_interface() -> None:
    obs = sample("ip_neigh.txt")
    assert edge(obs, "local", "10.0.0.1", "l2")["state"] == "REACHABLE"
    assert edge(obs, "local", "10.0.0.15", "l2")["state"] == "DELAY"
    assert obs.nodes["10.0.0.1"].kind == "router" and obs.nodes["10.0.0.1"].attrs["mac"] == "00:00:5e:00:53:01"
    assert obs.nodes["10.0.0.1"].attrs["addresses"] == ["fe80::1"] and "fe80::1" not in obs.nodes
    assert "10.0.0.99" not in obs.nodes and "10.0.0.77" not in obs.nodes
    assert any("2 unresolved" in n and "10.0.0.99" in n for n in obs.notes)


def test_arp_linux_macos_and_windows() -> None:
    linux = sample("arp_linux.txt")
    assert linux.nodes["10.0.0.1"].kind == "gateway"  # systemd's _gateway name
    assert linux.nodes["10.0.0.15"].attrs == {"names": ["nas.corp.example"], "mac": "00:00:5e:00:53:0f"}
    assert edge(linux, "local", "10.0.0.40", "l2")["state"] == "PERMANENT"
    mac = sample("arp_macos.txt")
    assert mac.nodes["10.0.0.1"].attrs["mac"] == "00:00:5e:00:53:01"
    assert edge(mac, "local", "10.0.0.15", "l2")["ports"] == {"local": "en0"}
    assert "10.0.0.255" not in mac.nodes and "224.0.0.251" not in mac.nodes
    windows = sample("arp_windows.txt")
    assert windows.nodes["local"].attrs["addresses"] == ["10.0.0.23"]
    assert windows.nodes["10.0.0.15"].attrs["mac"] == "00:00:5e:00:53:0f"


def test_lldpctl_default_and_keyvalue_agree() -> None:
    default, keyvalue = sample("lldpctl.txt"), sample("lldpctl_keyvalue.txt")
    assert {k: (n.kind, n.attrs) for k, n in default.nodes.items()} == {k: (n.kind, n.attrs) for k, n in keyvalue.nodes.items()}
    assert {k: e.attrs for k, e in default.edges.items()} == {k: e.attrs for k, e in keyvalue.edges.items()}
    switch = default.nodes["10.0.0.2"]
    assert switch.kind == "switch" and switch.attrs["names"] == ["sw-access-3.corp.example"]
    assert edge(default, "local", "10.0.0.2", "lldp")["ports"] == {"local": "enp0s31f6", "10.0.0.2": "Gi1/0/14"}
    # a PortID of subtype 'local' is a number: the port description names the port
    assert edge(default, "local", "10.20.0.2", "lldp")["ports"]["10.20.0.2"] == "ge-0/0/5"
    assert default.nodes["10.20.0.2"].attrs["addresses"] == ["2001:db8:20::2"]


def test_cdp_table_with_wrapped_device_ids() -> None:
    obs = sample("cdp_neighbors.txt")
    assert obs.local == "sw-core-1"  # from the prompt
    assert edge(obs, "sw-core-1", "sw-access-3.corp.example", "cdp")["ports"] == {
        "sw-core-1": "Gi1/0/3", "sw-access-3.corp.example": "Gi1/0/49"}
    assert edge(obs, "sw-core-1", "rtr-edge-1.corp.example", "cdp")["ports"]["rtr-edge-1.corp.example"] == "Gi0/0/1"
    kinds = {n: obs.nodes[n].kind for n in ("sw-access-4", "rtr-edge-1.corp.example", "ap-floor2", "SEP00005E005344")}
    assert kinds == {"sw-access-4": "switch", "rtr-edge-1.corp.example": "router", "ap-floor2": "ap", "SEP00005E005344": "phone"}
    assert obs.nodes["SEP00005E005344"].attrs["platform"] == "IP Phone"
    assert edge(obs, "sw-core-1", "SEP00005E005344", "cdp")["ports"]["SEP00005E005344"] == "Port 1"
    assert obs.notes == []


def test_cdp_table_without_a_prompt_names_the_device_after_the_file(tmp_path: Path) -> None:
    text = (SAMPLES / "cdp_neighbors.txt").read_text().replace("sw-core-1#show cdp neighbors\n", "").replace("sw-core-1#\n", "")
    target = tmp_path / "core-a.txt"
    target.write_text(text + "this line is not a neighbour row at all\n")
    obs = parse_file(target)
    assert obs.local == "core-a" and ("core-a", "sw-access-4", "cdp") in obs.edges
    assert any("--from" in n for n in obs.notes)
    assert any(n.startswith("line 15:") for n in obs.notes)
    assert parse_file(target, local="sw-core-9").local == "sw-core-9"


def test_cdp_detail_uses_management_addresses() -> None:
    obs = sample("cdp_neighbors_detail.txt")
    node = obs.nodes["10.0.0.1"]
    assert node.kind == "router" and node.attrs["names"] == ["rtr-edge-1.corp.example"] and node.attrs["platform"] == "ISR4331/K9"
    assert edge(obs, "sw-core-1", "10.0.0.2", "cdp") == {"ports": {"sw-core-1": "Gi1/0/3", "10.0.0.2": "Gi1/0/49"}, "vlan": "10"}
    assert obs.nodes["10.0.0.30"].kind == "ap"


def test_show_lldp_neighbors_table_and_detail() -> None:
    table = sample("lldp_neighbors.txt")
    assert table.local == "sw-access-3"
    assert {n: table.nodes[n].kind for n in ("sw-core-1", "laptop-ana", "ap-floor3")} == {
        "sw-core-1": "switch", "laptop-ana": "host", "ap-floor3": "ap"}
    assert edge(table, "sw-access-3", "sw-core-1", "lldp")["ports"] == {"sw-access-3": "Gi1/0/49", "sw-core-1": "Gi1/0/3"}
    detail = sample("lldp_neighbors_detail.txt")
    laptop = detail.nodes["10.0.0.23"]
    assert laptop.kind == "host" and laptop.attrs["names"] == ["laptop-ana"] and laptop.attrs["platform"].startswith("Ubuntu")
    assert edge(detail, "sw-access-3", "10.0.0.23", "lldp")["ports"]["10.0.0.23"] == "enp0s31f6"  # MAC port id -> descr
    assert edge(detail, "sw-access-3", "10.0.0.23", "lldp")["vlan"] == "10"
    assert detail.nodes["10.0.0.3"].attrs["names"] == ["sw-core-1"]


def test_nx_os_style_lldp_detail() -> None:
    text = (
        "Chassis id: 0000.5e00.5401\nPort id: Eth1/49\nLocal Port id: Eth1/1\nPort Description: uplink\n"
        "System Name: n9k-spine-1(FDO12345678)\nSystem Description: Cisco Nexus Operating System (NX-OS) Software\n"
        "Time remaining: 95 seconds\nSystem Capabilities: B, R\nEnabled Capabilities: B, R\n"
        "Management Address: 10.0.9.1\nVlan ID: not advertised\n\n"
        "Chassis id: 0000.5e00.5402\nPort id: Eth1/49\nLocal Port id: Eth1/2\nSystem Name: n9k-spine-2\n"
        "Enabled Capabilities: R\nManagement Address: 10.0.9.2\n"
    )
    obs = parse_text(text, "leaf-1.txt", local="n9k-leaf-1")
    assert obs.format == "lldp neighbors detail"
    assert obs.nodes["10.0.9.1"].attrs["names"] == ["n9k-spine-1"] and obs.nodes["10.0.9.2"].kind == "router"
    assert edge(obs, "n9k-leaf-1", "10.0.9.1", "lldp")["ports"] == {"n9k-leaf-1": "Eth1/1", "10.0.9.1": "Eth1/49"}


def test_flows_from_a_dataframe_and_a_csv() -> None:
    df = pd.DataFrame({
        "src": ["10.0.0.23", "10.0.0.23", "203.0.113.53", "10.0.0.5", None],
        "dst": ["203.0.113.53", "203.0.113.53", "10.0.0.23", "10.0.0.6", "10.0.0.6"],
        "proto": ["udp", "udp", "udp", "tcp", "tcp"], "dport": [53, 53, 41000, 22, 22],
    })
    obs = from_connections(df)
    assert obs.format == "flows" and len(obs.edges) == 2
    dns = edge(obs, "10.0.0.23", "203.0.113.53", "flow")
    assert dns["connections"] == 3 and dns["protocols"] == ["udp"] and dns["dports"][0] == 53
    assert obs.nodes["203.0.113.53"].kind == "dns"
    assert any("1 flow record" in n for n in obs.notes)
    with pytest.raises(DataFormatError, match="field 'dst'"):
        from_connections(pd.DataFrame({"src": ["10.0.0.1"], "destination_port": [1]}))
    csv = sample("flows.csv")
    assert edge(csv, "10.0.0.15", "10.0.0.23", "flow")["bytes"] == 155340
    assert any("(line 9)" in n for n in csv.notes)


def test_malformed_lines_are_skipped_with_their_line_numbers() -> None:
    text = (SAMPLES / "traceroute.txt").read_text() + "garbage without a hop number\n 7  not-an-address  1.0 ms\n"
    obs = parse_text(text, "trace.txt")
    assert len(obs.nodes) == 7
    assert obs.notes == ["line 8: not a traceroute hop, skipped: 'garbage without a hop number'",
                         "line 9: traceroute hop with an unreadable address, skipped: '7  not-an-address  1.0 ms'"]


@pytest.mark.parametrize("content", [
    b"",
    b"   \n\n",
    b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\nNothing to see here.\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
    bytes(range(256)) * 4,
])
def test_unusable_input_is_one_line_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    target = tmp_path / "capture.out"
    target.write_bytes(content)
    with pytest.raises(DataFormatError) as info:
        parse_file(target)
    message = str(info.value)
    assert message.startswith(str(target)) and "\n" not in message
    assert "not a recognised topology format: expected traceroute, mtr, ip route, ip neigh / arp -a, lldpctl, " \
           "show cdp/lldp neighbors" in message


def test_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file"):
        parse_file(tmp_path / "nope.txt")
    with pytest.raises(DataFormatError, match="directory"):
        parse_file(tmp_path)


def test_detection_and_interface_names() -> None:
    assert detect_format("10.0.0.1 dev eth0 lladdr 00:00:5e:00:53:01 REACHABLE\n") == "ip neigh"
    assert detect_format("default via 10.0.0.1 dev eth0\n") == "ip route"
    assert detect_format("hello world\n") is None
    assert short_ifname("GigabitEthernet1/0/1") == short_ifname("Gig 1/0/1") == "Gi1/0/1"
    assert short_ifname("TenGigabitEthernet1/1/1") == "Te1/1/1" and short_ifname("Ethernet1/49") == "Eth1/49"
    assert short_ifname("eth0") == "eth0" and short_ifname("ge-0/0/5") == "ge-0/0/5"


def test_mangled_samples_never_raise_anything_but_a_one_line_data_error() -> None:
    import random

    rng = random.Random(7)
    junk = ["(", ")", "*", "ms", "via", "dev", "::", "/", "%", "#", "=", "lldp.", "Interface:", "|--", "Device ID:",
            "nexthop", "at", "on", "300.1.1.1", "1.2.3", "ff:ff:ff:ff:ff:ff", "Local Intf:", "€"]
    for path in sorted(SAMPLES.iterdir()):
        base = path.read_text().split("\n")
        for _ in range(25):
            lines = list(base)
            for _ in range(rng.randint(1, 6)):
                j = rng.randrange(len(lines))
                k = rng.randrange(len(lines[j]) + 1)
                lines[j] = lines[j][:k] + rng.choice(junk) + lines[j][k + rng.randint(0, 6):]
            try:
                parse_text("\n".join(lines), path.name)
            except DataFormatError as exc:
                assert "\n" not in str(exc)


def test_captures_and_conn_logs_give_conversations(tmp_path) -> None:
    from pathlib import Path

    from netcopilot.topology.parsers import parse_file

    capture = Path(__file__).resolve().parents[3] / "shared" / "data" / "pcaps" / "captures" / "dns_query_response.pcapng"
    obs = parse_file(capture)
    assert obs.format == "flows" and {"192.168.0.114", "205.152.37.23"} <= set(obs.nodes)
    assert all(kind == "flow" for (_, _, kind) in obs.edges)
    log = tmp_path / "conn.log"
    log.write_text("#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
                   "duration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n"
                   "1700000000.0\tC1\t10.0.0.5\t51000\t10.0.0.53\t53\tudp\tdns\t0.01\t40\t90\tSF\t1\t1\n")
    assert {"10.0.0.5", "10.0.0.53"} <= set(parse_file(log).nodes)
