"""Captures -> connection records -> KDD features and rule findings, on the real captures in
/work/shared/data/pcaps plus small files written here (truncated copies, other link types, Zeek
conn.log samples)."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import dpkt
import numpy as np
import pandas as pd
import pytest

from netcopilot.errors import DataFormatError
from netcopilot.threats.features import KDD_COLUMNS, to_kdd
from netcopilot.threats.pcap import COLUMNS, iter_connections, iter_events, read_pcap
from netcopilot.threats.rules import Finding, detect_rules, safe_ip
from netcopilot.threats.zeek import iter_conn_log, read_conn_log

DATA = Path("/work/shared/data/pcaps/captures")
KDD_COLUMNS_CSV = Path("/work/shared/data/nsl-kdd/columns.csv")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared capture data not available")

ORDINARY = ["dns_query_response", "dns_recursivequery_client", "http_google", "http_post",
            "icmp_echo", "dhcp_inlease_renewal", "dhcp_nolease_initialization", "tcp_handshake"]
# what every capture in the folder must raise (anything not listed: nothing at all)
EXPECTED = {"synscan": {"port_scan"}, "arppoison": {"arp_spoof"},
            "activeosfingerprinting": {"os_fingerprinting"}, "dns_axfr": {"dns_zone_transfer"}}


def cap(name: str):
    return read_pcap(DATA / f"{name}.pcapng")


def findings(name: str) -> list[Finding]:
    c = cap(name)
    return detect_rules(c.connections, c.events)


# ------------------------------------------------------------------ connection records
def test_records_columns_and_start_order():
    c = cap("arppoison")
    df = c.connections
    assert list(df.columns) == COLUMNS
    assert df["ts"].is_monotonic_increasing
    assert list(df.index) == list(range(len(df)))
    assert c.packets == 165 and c.notes == []


@pytest.mark.parametrize("name,state,flags", [
    ("tcp_handshake", "S1", "SA"), ("tcp_teardown", "SF", None),
    ("tcp_refuseconnection", "REJ", None), ("passiveosfingerprinting", "S0", "S")])
def test_tcp_states(name, state, flags):
    df = cap(name).connections
    assert len(df) == 1
    row = df.iloc[0]
    assert row["state"] == state and row["proto"] == "tcp"
    if flags:
        assert row["flags"] == flags


def test_synscan_records():
    df = cap("synscan").connections
    assert len(df) > 1900
    assert (df["state"] == "S0").mean() > 0.95
    assert df["dport"].nunique() == 1000
    assert set(df["src"]) == {"172.16.0.8"}


def test_http_bytes_and_service():
    row = cap("http_google").connections.iloc[0]
    assert row["service"] == "http" and row["dport"] == 80
    assert row["src_bytes"] > 0 and row["dst_bytes"] > row["src_bytes"]
    assert row["src_pkts"] + row["dst_pkts"] == 12


def test_icmp_echo_pairs_requests_and_replies():
    df = cap("icmp_echo").connections
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["proto"], r["sport"], r["dport"], r["src_pkts"], r["dst_pkts"]) == ("icmp", 8, 0, 4, 4)


def test_dns_fields_udp_tcp_and_nxdomain():
    r = cap("dns_query_nonexistent").connections.iloc[0]
    assert r["dns_rcode"] == "NXDOMAIN" and r["dns_query"] and r["service"] == "dns"
    axfr = cap("dns_axfr")
    r = axfr.connections.iloc[0]
    # the query arrives split in two TCP segments (length prefix, then message): reassembled
    assert (r["proto"], r["dns_qtype"], r["dns_query"], r["dns_rcode"]) == \
        ("tcp", "AXFR", "contoso.local", "NOERROR")
    dns = [e for e in axfr.events if e["kind"] == "dns"]
    assert [e["qr"] for e in dns] == [False, True] and dns[1]["answers"] == 21


def test_arp_and_l2_events():
    ev = list(iter_events(DATA / "arppoison.pcapng"))
    arps = [e for e in ev if e["kind"] == "arp"]
    assert len(arps) == 4 and {e["op"] for e in arps} == {"request", "reply"}
    assert any(e["kind"] == "l2_change" and e["new_mac"] == "00:25:b3:bf:91:ee" for e in ev)


def test_ipv6_flows():
    df = cap("dhcp6_outlease_acquisition").connections
    assert len(df) >= 1 and all(":" in s for s in df["src"])
    assert set(df["proto"]) == {"udp"}


def test_chunks_equal_whole_read():
    whole = cap("synscan").connections
    evs: list = []
    notes: list = []
    parts = list(iter_connections(DATA / "synscan.pcapng", chunk=300, events=evs, notes=notes))
    assert len(parts) >= 6 and all(len(p) <= 300 for p in parts)
    joined = pd.concat(parts)
    assert list(joined.index) == list(whole.index)
    pd.testing.assert_frame_equal(joined, whole)
    assert notes == []


def _to_classic_pcap(src: Path, dst: Path, linktype: int = 1, strip: int = 0,
                     prefix=None) -> int:
    n = 0
    with open(src, "rb") as f, open(dst, "wb") as out:
        w = dpkt.pcap.Writer(out, linktype=linktype, snaplen=65535)
        for ts, buf in dpkt.pcapng.Reader(f):
            if struct.unpack("!H", buf[12:14])[0] not in (0x0800, 0x86DD):
                continue
            body = buf[strip:]
            if prefix is not None:
                body = prefix(buf) + body
            w.writepkt(body, ts=ts)
            n += 1
    return n


def test_truncated_pcapng_and_pcap(tmp_path):
    raw = (DATA / "synscan.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(raw[: len(raw) // 2 + 37])
    c = read_pcap(cut)
    assert 0 < c.packets < 2011 and len(c.connections) > 500
    assert any(n.startswith(f"truncated after packet {c.packets}") for n in c.notes)
    assert len(detect_rules(c.connections, c.events)) == 1          # the scan is still seen

    classic = tmp_path / "full.pcap"
    _to_classic_pcap(DATA / "http_post.pcapng", classic)
    data = classic.read_bytes()
    (tmp_path / "cut.pcap").write_bytes(data[:-25])
    c = read_pcap(tmp_path / "cut.pcap")
    assert c.packets == 20 and "truncated after packet 20" in c.notes[0]
    (tmp_path / "hdr.pcap").write_bytes(data[:30])                 # cut inside a packet header
    c = read_pcap(tmp_path / "hdr.pcap")
    assert c.packets == 0 and c.connections.empty and "truncated" in c.notes[0]


def test_not_a_capture(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is not a capture\n")
    with pytest.raises(DataFormatError) as e:
        read_pcap(bad)
    assert str(bad) in str(e.value)
    assert "not a pcap or pcapng capture (starts with 68 65 6c 6c)" in str(e.value)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty"):
        read_pcap(empty)
    with pytest.raises(DataFormatError, match="no such file"):
        read_pcap(tmp_path / "missing.pcap")


def test_other_link_types_give_same_records(tmp_path):
    ref = cap("http_dvwa_sqlinjection").connections
    raw = tmp_path / "raw.pcap"
    _to_classic_pcap(DATA / "http_dvwa_sqlinjection.pcapng", raw, linktype=101, strip=14)
    sll = tmp_path / "sll.pcap"
    _to_classic_pcap(DATA / "http_dvwa_sqlinjection.pcapng", sll, linktype=113, strip=14,
                     prefix=lambda b: struct.pack("!HHH", 0, 1, 6) + b[6:12] + b"\0\0" + b[12:14])
    for p in (raw, sll):
        df = read_pcap(p).connections
        pd.testing.assert_frame_equal(df.reset_index(drop=True), ref.reset_index(drop=True))


# ------------------------------------------------------------------ rules on the real captures
def test_synscan_port_scan():
    fs = findings("synscan")
    scan = [f for f in fs if f.kind == "port_scan"]
    assert len(scan) == 1
    f = scan[0]
    assert f.hosts[:2] == ["172.16.0.8", "64.13.134.52"] and f.severity == "high"
    assert len(f.records) > 1900 and 0 < f.score <= 1
    assert any("1000 distinct" in e for e in f.evidence)
    assert any(s.startswith("sudo tcpdump -nn") and "172.16.0.8" in s for s in f.next_steps)


def test_arppoison_arp_spoof():
    fs = findings("arppoison")
    assert [f.kind for f in fs] == ["arp_spoof"]
    f = fs[0]
    assert "172.16.0.1" in f.hosts and "172.16.0.107" in f.hosts
    assert f.hosts[0] == "172.16.0.105"                          # the attacker's own address
    assert "arp -an" in f.next_steps and "ip neigh show" in f.next_steps


def test_active_os_fingerprinting():
    kinds = {f.kind for f in findings("activeosfingerprinting")}
    assert kinds & {"os_fingerprinting", "port_scan"}


def test_zone_transfer_and_single_nxdomain():
    fs = findings("dns_axfr")
    assert [f.kind for f in fs] == ["dns_zone_transfer"]
    assert "contoso.local" in fs[0].summary and any("dig axfr" in s for s in fs[0].next_steps)
    assert findings("dns_query_nonexistent") == []                # one NXDOMAIN is not a burst


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_captures_raise_nothing(name):
    assert findings(name) == []


def test_every_capture_in_the_folder():
    got = {}
    for p in sorted(DATA.glob("*.pcapng")):
        c = read_pcap(p)
        got[p.stem] = {f.kind for f in detect_rules(c.connections, c.events)}
    assert len(got) >= 40
    for name, kinds in got.items():
        assert kinds == EXPECTED.get(name, set()), name


# ------------------------------------------------------------------ features
def test_to_kdd_columns_match_nsl_kdd():
    with KDD_COLUMNS_CSV.open() as f:
        names = [r["name"] for r in csv.DictReader(f)][:41]
    assert KDD_COLUMNS == names
    k = to_kdd(cap("synscan").connections)
    assert list(k.columns) == names and len(k) > 1900
    assert set(k["flag"]) <= {"S0", "REJ", "S1"} and (k["serror_rate"].iloc[-100:] == 1.0).all()
    assert k["count"].max() == 511 and k["dst_host_count"].max() == 255
    assert k["protocol_type"].iloc[0] == "tcp" and k["service"].iloc[0] == "http_443"
    h = to_kdd(cap("http_google").connections)
    assert h.loc[0, "service"] == "http" and h.loc[0, "count"] == 1
    e = to_kdd(cap("icmp_echo").connections)
    assert (e.loc[0, "protocol_type"], e.loc[0, "service"], e.loc[0, "flag"]) == \
        ("icmp", "eco_i", "SF")
    assert to_kdd(cap("synscan").connections.iloc[:0]).columns.tolist() == names


def test_to_kdd_on_many_connections():
    """One KDD record per connection on a large input (its speed is measured by bench_pcap.py,
    not asserted here: tests assert behaviour, never timings)."""
    base = cap("synscan").connections
    big = pd.concat([base] * 30, ignore_index=True)
    big["ts"] = big["ts"] + np.repeat(np.arange(30) * 30.0, len(base))
    assert len(to_kdd(big)) == len(big)


# ------------------------------------------------------------------ synthetic rule checks
def conns(rows: list[dict]) -> pd.DataFrame:
    base = {"duration": 0.0, "sport": 40000, "proto": "tcp", "service": "other", "state": "S0",
            "flags": "S", "src_bytes": 0, "dst_bytes": 0, "src_pkts": 1, "dst_pkts": 0,
            "wrong_fragment": 0, "urgent": 0, "dns_query": None, "dns_qtype": None,
            "dns_rcode": None}
    return pd.DataFrame([{**base, **r} for r in rows])[COLUMNS]


def test_syn_flood_many_sources():
    rows = [{"ts": 1000 + i * 0.01, "src": f"198.51.{i // 250}.{i % 250 + 1}",
             "sport": 1024 + i, "dst": "192.0.2.10", "dport": 443} for i in range(600)]
    fs = detect_rules(conns(rows))
    assert [f.kind for f in fs] == ["syn_flood"] and fs[0].severity == "critical"
    assert fs[0].hosts[-1] == "192.0.2.10"


def test_host_sweep_and_brute_force():
    sweep = [{"ts": 10 + i, "src": "10.0.0.66", "dst": f"10.0.1.{i + 1}", "dport": 445}
             for i in range(30)]
    brute = [{"ts": 100 + 5 * i, "src": "203.0.113.9", "dst": "10.0.0.5", "dport": 22,
              "state": "SF", "flags": "SAFP", "duration": 2.5, "src_bytes": 1500,
              "dst_bytes": 2100, "src_pkts": 14, "dst_pkts": 12, "service": "ssh"}
             for i in range(40)]
    fs = detect_rules(conns(sweep + brute))
    kinds = {f.kind: f for f in fs}
    assert set(kinds) == {"host_sweep", "brute_force"}
    assert kinds["host_sweep"].hosts[0] == "10.0.0.66"
    assert kinds["brute_force"].hosts == ["203.0.113.9", "10.0.0.5"]
    assert any("auth.log" in s for s in kinds["brute_force"].next_steps)


def test_nxdomain_burst_from_events():
    ev = [{"kind": "dns", "ts": 50 + i, "src": "192.0.2.53", "sport": 53, "dst": "10.0.0.7",
           "dport": 5000 + i, "proto": "udp", "id": i, "qr": True, "opcode": 0,
           "query": f"x{i}qz.badexample.net", "qtype": "A", "rcode": "NXDOMAIN", "answers": 0,
           "record": None} for i in range(40)]
    fs = detect_rules(None, ev)
    assert [f.kind for f in fs] == ["dns_nxdomain_burst"] and fs[0].hosts == ["10.0.0.7"]
    assert detect_rules(None, ev[:5]) == []


def test_unusual_flow_only_for_strong_outliers():
    rng = np.random.default_rng(1)
    rows = [{"ts": i, "src": "10.0.0.2", "dst": "10.0.0.80", "sport": 30000 + i, "dport": 80,
             "service": "http", "state": "SF", "src_bytes": int(rng.integers(300, 900)),
             "dst_bytes": int(rng.integers(2_000, 60_000)), "src_pkts": 8, "dst_pkts": 10,
             "duration": float(rng.uniform(0.05, 2))} for i in range(200)]
    assert detect_rules(conns(rows)) == []
    rows.append({**rows[0], "ts": 500, "sport": 29999, "src_bytes": 900_000_000,
                 "src_pkts": 700_000, "duration": 3000.0})
    fs = detect_rules(conns(rows))
    assert [f.kind for f in fs] == ["unusual_flow"] and fs[0].records == [200]


def test_next_steps_never_carry_untrusted_text():
    evil = "10.0.0.66; rm -rf /"
    sweep = [{"ts": 10 + i, "src": evil, "dst": f"10.0.1.{i + 1}", "dport": 445}
             for i in range(30)]
    fs = detect_rules(conns(sweep))
    assert fs and all("rm -rf" not in s for f in fs for s in f.next_steps)
    assert safe_ip(evil) is None and safe_ip(" 10.0.0.1 ") == "10.0.0.1"


# ------------------------------------------------------------------ Zeek conn.log
ZEEK_HEADER = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2024-03-11-09-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
"""
ZEEK_ROWS = [
    "1710147601.204311\tCq1fJd3XJrj0MlwxW6\t10.20.0.15\t51544\t93.184.216.34\t443\ttcp\tssl\t"
    "0.412877\t517\t4873\tSF\tT\tF\t0\tShADadFf\t12\t1149\t10\t5405\t-",
    "1710147601.981004\tC2Xk1n2bX6w6YdGmYe\t10.20.0.15\t60211\t10.20.0.2\t53\tudp\tdns\t"
    "0.001233\t33\t97\tSF\tT\tT\t0\tDd\t1\t61\t1\t125\t-",
    "1710147603.550127\tCvDq7w1Yxk8b5Q2c0j\t10.20.0.33\t49822\t10.20.0.9\t3389\ttcp\t-\t"
    "-\t-\t-\tS0\tT\tT\t0\tS\t1\t52\t0\t0\t-",
    "1710147604.100000\tCfmT0k2h3qzvYV5Cqa\t10.20.0.15\t8\t1.1.1.1\t0\ticmp\t-\t"
    "0.013207\t56\t56\tOTH\tT\tF\t0\t-\t1\t84\t1\t84\t-",
]


def test_zeek_tsv_and_json(tmp_path):
    tsv = tmp_path / "conn.log"
    tsv.write_text(ZEEK_HEADER + "\n".join(ZEEK_ROWS) + "\n#close\t2024-03-11-10-00-00\n")
    df = read_conn_log(tsv)
    assert list(df.columns)[:len(COLUMNS)] == COLUMNS and len(df) == 4
    r = df.iloc[0]
    assert (r["src"], r["sport"], r["dst"], r["dport"], r["service"], r["state"], r["flags"],
            r["src_bytes"], r["dst_pkts"]) == \
        ("10.20.0.15", 51544, "93.184.216.34", 443, "https", "SF", "SAFP", 517, 10)
    s0 = df.iloc[2]
    assert (s0["service"], s0["duration"], s0["src_bytes"], s0["state"]) == ("rdp", 0.0, 0, "S0")
    json_path = tmp_path / "conn.json"
    with json_path.open("w") as f:
        for _, row in df.iterrows():
            f.write(json.dumps({"ts": row["ts"], "uid": row["uid"], "id.orig_h": row["src"],
                                "id.orig_p": int(row["sport"]), "id.resp_h": row["dst"],
                                "id.resp_p": int(row["dport"]), "proto": row["proto"],
                                "duration": row["duration"], "orig_bytes": int(row["src_bytes"]),
                                "resp_bytes": int(row["dst_bytes"]), "conn_state": row["state"],
                                "orig_pkts": int(row["src_pkts"]),
                                "resp_pkts": int(row["dst_pkts"])}) + "\n")
    dj = read_conn_log(json_path)
    cols = ["ts", "src", "sport", "dst", "dport", "proto", "state", "src_bytes", "dst_pkts"]
    pd.testing.assert_frame_equal(dj[cols], df[cols])
    assert list(to_kdd(df).columns) == KDD_COLUMNS
    assert detect_rules(df) == []


def test_zeek_brute_force_log(tmp_path):
    rows = [f"{1710150000 + 7 * i:.6f}\tCb{i:016d}\t185.220.101.7\t{40000 + i}\t10.20.0.4\t22\t"
            f"tcp\tssh\t3.{i % 9}1\t1{i % 7}44\t2{i % 5}61\tSF\tF\tT\t0\tShAdDaFf\t15\t2400\t13\t"
            "3100\t-" for i in range(25)]
    p = tmp_path / "ssh.conn.log"
    p.write_text(ZEEK_HEADER + "\n".join(rows) + "\n")
    fs = detect_rules(read_conn_log(p))
    assert [f.kind for f in fs] == ["brute_force"]
    assert fs[0].hosts == ["185.220.101.7", "10.20.0.4"] and len(fs[0].records) == 25


@pytest.mark.parametrize("row,line,field", [
    (ZEEK_ROWS[0].replace("51544", "51x44"), 10, "id.orig_p"),
    (ZEEK_ROWS[0].replace("10.20.0.15", "10.20.0.999"), 10, "id.orig_h"),
    (ZEEK_ROWS[0].replace("\tSF\t", "\tXX\t"), 10, "conn_state"),
    ("1710147601.2\tshort", 10, None),
])
def test_zeek_bad_line(tmp_path, row, line, field):
    p = tmp_path / "conn.log"
    p.write_text(ZEEK_HEADER + ZEEK_ROWS[1] + "\n" + row + "\n")
    with pytest.raises(DataFormatError) as e:
        read_conn_log(p)
    assert e.value.line == line and e.value.field == field
    assert str(e.value).startswith(f"{p}:{line}")


def test_zeek_bad_json_and_not_zeek(tmp_path):
    p = tmp_path / "conn.json"
    p.write_text('{"ts": 1.5, "id.orig_h": "10.0.0.1", "id.orig_p": 1, "id.resp_h": "10.0.0.2",'
                 ' "id.resp_p": 80, "proto": "tcp"}\n{"ts": 2.0, "id.orig_h": "10.0.0.1"}\n')
    with pytest.raises(DataFormatError) as e:
        read_conn_log(p)
    assert (e.value.line, e.value.field) == (2, "id.orig_p")
    q = tmp_path / "x.log"
    q.write_text("hello\n")
    with pytest.raises(DataFormatError, match="not a Zeek conn.log"):
        list(iter_conn_log(q))


def test_traceroute_and_broken_connectivity_are_not_scans():
    # UDP traceroute: 90 probes to consecutive ports from 33434, no UDP answer
    trace = [{"ts": 5 + i * 0.05, "src": "10.0.0.8", "dst": "192.0.2.200", "proto": "udp",
              "dport": 33434 + i, "sport": 45000, "src_bytes": 32, "state": "S0"}
             for i in range(90)]
    # a laptop without internet: SYNs to 25 web servers spread over the internet, all unanswered
    web = [{"ts": 20 + i, "src": "10.0.0.9", "dst": f"{30 + i * 7}.{i * 13 % 250}.7.9",
            "dport": 443} for i in range(25)]
    assert detect_rules(conns(trace + web)) == []


def _eth_udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    import socket
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=17, data=udp)
    ip.len = 20 + len(udp)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))


def test_idle_timeout_splits_flows_and_dns_query_on_udp(tmp_path):
    q = bytes(dpkt.dns.DNS(id=7, qd=[dpkt.dns.DNS.Q(name="example.org", type=dpkt.dns.DNS_A)]))
    p = tmp_path / "udp.pcap"
    with p.open("wb") as f:
        w = dpkt.pcap.Writer(f)
        for t in (0.0, 1.0, 200.0):                   # 199 s idle > UDP_TIMEOUT (60 s)
            w.writepkt(_eth_udp("10.0.0.1", "10.0.0.53", 5555, 53, q), ts=1_600_000_000 + t)
    df = read_pcap(p).connections
    assert list(df["src_pkts"]) == [2, 1] and list(df["state"]) == ["S0", "S0"]
    assert list(df["dns_query"]) == ["example.org", "example.org"]
    assert list(df["dns_qtype"]) == ["A", "A"]
