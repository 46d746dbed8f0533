"""Threat-intelligence lists: formats, fast matching, persisting, findings on a real capture."""

from __future__ import annotations

import ipaddress
import random
import time
from pathlib import Path

import pytest

from netcopilot.errors import DataFormatError, InputError
from netcopilot.threats.intel import (Indicator, IndicatorSet, intel_findings, load_indicators,
                                      load_saved, parse_indicator, save_indicators)
from netcopilot.threats.pcap import read_pcap
from netcopilot.threats.rules import detect_rules

CAPTURE = Path("/work/shared/data/pcaps/captures/arppoison.pcapng")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_plain_list_with_comments_cidrs_and_junk(tmp_path):
    p = write(tmp_path, "mixed.txt", """# my blocklist
; another comment style
198.51.100.7
203.0.113.0/24   # a whole network
2001:db8:bad::/48
2001:db8::1
evil.example
http://malware.example.net:8080/payload.exe
0.0.0.0 ads.tracker.example
192.0.2.10-192.0.2.13
this is not an indicator
300.1.2.3
hxxp://defanged[.]example/x
""")
    s = load_indicators(p)
    assert s.counts() == {"ip": 2, "cidr": 4, "domain": 4}
    assert s.skipped == 2 and s.skipped_lines == [11, 12]
    assert s.match_ip("203.0.113.77").value == "203.0.113.0/24"
    assert s.match_ip("192.0.2.12") is not None and s.match_ip("192.0.2.14") is None
    assert s.match_ip("2001:db8:bad:1::5").value == "2001:db8:bad::/48"
    assert s.match_ip("2001:db8::1").kind == "ip" and s.match_ip("2001:db8::2") is None
    assert s.match_domain("malware.example.net").value == "malware.example.net"
    assert s.match_domain("defanged.example") is not None
    assert s.match_ip("not-an-ip") is None and s.match_domain("") is None
    ind = s.match_ip("198.51.100.7")
    assert (ind.source, ind.line) == ("mixed", 3)


def test_firehol_netset(tmp_path):
    p = write(tmp_path, "firehol_level1.netset", """#
# firehol_level1
#
# ipv4 hash:net ipset
#
# Maintainer      : FireHOL
# Entries         : 5 subnets, 3 unique IPs
#
0.0.0.0/8
10.0.0.0/8
10.2.0.0/16
100.64.0.0/10
185.220.101.0/24
""")
    s = load_indicators(p)
    assert len(s) == 5 and s.skipped == 0
    assert s.match_ip("10.2.3.4").value == "10.2.0.0/16"          # most specific
    assert s.match_ip("10.3.3.4").value == "10.0.0.0/8"           # walks up past 10.2/16
    assert s.match_ip("11.0.0.1") is None


def test_urlhaus_csv_with_commented_header(tmp_path):
    p = write(tmp_path, "urlhaus.csv", """################################################################
# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"2891003","2024-06-01 10:12:04","http://45.95.147.236/bins/x86","online","2024-06-01 10:12:04","malware_download","elf,mirai","https://urlhaus.abuse.ch/url/2891003/","geenensp"
"2891002","2024-06-01 10:11:58","https://bad-cdn.example.org/load.php?id=3","offline","","malware_download","js","https://urlhaus.abuse.ch/url/2891002/","anonymous"
"2891001","2024-06-01 10:11:40","not a url at all","online","","malware_download","","https://urlhaus.abuse.ch/url/2891001/","x"
""")
    s = load_indicators(p)
    assert {i.value for i in s} == {"45.95.147.236", "bad-cdn.example.org"}
    assert s.skipped == 1 and s.skipped_lines == [8]


def test_feodo_and_header_csv(tmp_path):
    feodo = write(tmp_path, "feodo.csv", """# Feodo Tracker
# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware
"2024-05-30 08:01:11","162.243.103.246","8080","online","2024-06-01","Pikabot"
"2024-05-30 09:15:40","51.161.81.190","13721","offline","2024-05-31","QakBot"
""")
    s = load_indicators(feodo)
    assert {i.value for i in s} == {"162.243.103.246", "51.161.81.190"}
    plain = write(tmp_path, "ioc.csv", "first_seen,malware,indicator\n"
                  "2024-01-01,emotet,evil-c2.example\n2024-01-02,emotet,198.51.100.99:443\n"
                  "2024-01-03,emotet,???\n")
    s = load_indicators(plain)
    assert {i.value for i in s} == {"evil-c2.example", "198.51.100.99"}
    assert s.skipped_lines == [4]


def test_nothing_valid_is_an_error(tmp_path):
    p = write(tmp_path, "junk.txt", "# header\nhello world\nfoo\n")
    with pytest.raises(DataFormatError) as e:
        load_indicators(p)
    assert str(p) in str(e.value) and e.value.line == 2
    with pytest.raises(DataFormatError):
        load_indicators(tmp_path / "missing.txt")


def test_parse_indicator_edge_cases():
    assert parse_indicator("10.0.0.1/32") == ("ip", "10.0.0.1")
    assert parse_indicator("10.0.0.5/24") == ("cidr", "10.0.0.0/24")
    assert parse_indicator("[2001:db8::1]:443") == ("ip", "2001:db8::1")
    assert parse_indicator("Evil.Example.") == ("domain", "evil.example")
    assert parse_indicator("2024-01-01") is None and parse_indicator("online") is None


def test_matching_is_fast_with_100k_entries():
    rng = random.Random(7)
    inds = [Indicator(str(ipaddress.IPv4Address(rng.getrandbits(32))), "ip")
            for _ in range(100_000)]
    inds += [Indicator(f"{rng.randrange(1, 223)}.{rng.randrange(256)}.0.0/16", "cidr")
             for _ in range(2_000)]
    inds += [Indicator("10.0.0.0/8", "cidr")]
    s = IndicatorSet(inds)
    probe = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(100_000)]
    t = time.perf_counter()
    s.match_ip("1.1.1.1")                                   # builds the index
    hits = sum(1 for ip in probe if s.match_ip(ip))
    elapsed = time.perf_counter() - t
    assert elapsed < 5.0, elapsed          # typically ~0.4 s
    assert hits > 0 and s.match_ip(inds[123].value) is not None
    assert s.match_ip("10.200.1.1").value == "10.0.0.0/8"


def test_save_and_load_saved(tmp_path):
    a = load_indicators(write(tmp_path, "a.txt", "198.51.100.7\nevil.example\n"))
    b = load_indicators(write(tmp_path, "b.txt", "203.0.113.0/24\nevil.example\n"))
    home = tmp_path / "home"
    pa = save_indicators(a, home, "list-a")
    save_indicators(b, home, "list_b")
    assert pa == home / "intel" / "list-a.txt"
    assert pa.read_text().splitlines()[1:] == ["198.51.100.7", "evil.example"]
    merged = load_saved(home)
    assert len(merged) == 3 and merged.match_ip("203.0.113.9").source == "list_b"
    assert load_saved(tmp_path / "nowhere").counts() == {"ip": 0, "cidr": 0, "domain": 0}
    for bad in ("../escape", "a/b", "", "x" * 80):
        with pytest.raises(InputError):
            save_indicators(a, home, bad)


@pytest.mark.skipif(not CAPTURE.exists(), reason="shared capture data not available")
def test_intel_findings_on_a_capture(tmp_path):
    c = read_pcap(CAPTURE)
    s = load_indicators(write(tmp_path, "intel.txt", "12.153.20.0/24\nwikipedia.org\n"))
    dns = [e for e in c.events if e["kind"] == "dns"]
    fs = intel_findings(c.connections, dns, s)
    assert len(fs) == 2 and all(f.kind == "intel_match" for f in fs)
    ip_f = next(f for f in fs if f.hosts[0] == "12.153.20.41")
    assert "172.16.0.107" in ip_f.hosts and len(ip_f.records) == 27
    assert any("sudo tcpdump -nn -c 200 host 12.153.20.41" == s for s in ip_f.next_steps)
    dom_f = next(f for f in fs if "wikipedia.org" in f.summary)
    assert dom_f.hosts == ["172.16.0.107"] and dom_f.records
    both = detect_rules(c.connections, c.events, indicators=s)
    assert {f.kind for f in both} == {"arp_spoof", "intel_match"}
    assert intel_findings(c.connections, dns, IndicatorSet()) == []
