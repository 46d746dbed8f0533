"""CommandClassifier: type, purpose, risk, root and family of real command lines, from the catalog
and the declared verb rules (no trained model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netcopilot.errors import InputError
from netcopilot.history.classify import CommandClassifier, damerau
from netcopilot.recommend.catalog import load_catalog

CATALOG = Path(__file__).resolve().parents[2] / "knowledge_base" / "commands"


@pytest.fixture(scope="module")
def classifier() -> CommandClassifier:
    return CommandClassifier(load_catalog(CATALOG))


@pytest.mark.parametrize("line, kind, risk", [
    ("ping -c 4 8.8.8.8", "diagnostic", "safe"),
    ("ip addr show", "diagnostic", "safe"),
    ("ip -br a", "diagnostic", "safe"),
    ("ip r", "diagnostic", "safe"),
    ("sudo ip addr add 10.0.0.5/24 dev eth0", "configuration", "caution"),
    ("ip link set eth0 down", "configuration", "dangerous"),
    ("sudo ip link set dev eth0 up", "configuration", "caution"),
    ("ip route del 10.0.0.0/8", "configuration", "dangerous"),
    ("ip ro replace default via 10.0.0.1", "configuration", "dangerous"),
    ("ip neigh flush dev eth0", "configuration", "caution"),
    ("ip monitor link", "monitoring", "safe"),
    ("iptables -L -n -v", "diagnostic", "safe"),
    ("sudo iptables -A INPUT -p tcp --dport 22 -j ACCEPT", "configuration", "caution"),
    ("iptables -F", "configuration", "dangerous"),
    ("iptables -P INPUT DROP", "configuration", "dangerous"),
    ("sudo nft list ruleset", "diagnostic", "safe"),
    ("ufw reset", "configuration", "dangerous"),
    ("sudo tcpdump -i eth0 -nn port 53", "monitoring", "safe"),
    ("sudo tcpdump -i any -w /tmp/cap.pcap", "monitoring", "caution"),
    ("tcpdump -nn -r cap.pcap", "diagnostic", "safe"),
    ("scp backup.tgz admin@10.0.0.9:/srv/", "transfer", "caution"),
    ("rsync -avz --delete src/ host:/dst/", "transfer", "dangerous"),
    ("curl -O https://example.com/file.tgz", "transfer", "safe"),
    ("curl -sI https://example.com", "diagnostic", "safe"),
    ("wget https://example.com/a.iso", "transfer", "safe"),
    ("wget --spider -S https://example.com", "diagnostic", "safe"),
    ("sftp -P 2222 bob@files", "transfer", "safe"),
    ("nmap -sV -p 443 10.0.0.1", "security", "caution"),
    ("openssl s_client -connect h:443 -servername h </dev/null", "security", "safe"),
    ("ssh-keygen -R web01", "security", "caution"),
    ("sudo fail2ban-client status sshd", "security", "safe"),
    ("watch -n 1 ss -s", "monitoring", "safe"),
    ("journalctl -u sshd -f", "monitoring", "safe"),
    ("reboot", "configuration", "dangerous"),
    ("sudo rm -rf /etc/netplan", "configuration", "dangerous"),
    ("sudo systemctl restart NetworkManager", "configuration", "dangerous"),
    ("ss -K dst 10.0.0.9", "configuration", "dangerous"),
    ("show ip route", "diagnostic", "safe"),
])
def test_type_and_risk(classifier: CommandClassifier, line: str, kind: str, risk: str) -> None:
    result = classifier.classify(line)
    assert (result.type, result.risk) == (kind, risk), result


@pytest.mark.parametrize("line, utility, first_match, intent", [
    ("ping -c 4 8.8.8.8", "ping", "ping-count", "connectivity"),
    ("sudo ping -f -c 1000 10.0.0.1", "ping", "ping-flood", "packet_loss"),
    ("traceroute -n 8.8.8.8", "traceroute", "traceroute-numeric", "routing"),
    ("dig +short example.com MX", "dig", "dig-short", "dns"),
    ("ip a", "ip", "ip-addr-show", "interface"),
    ("sudo ss -tulpn | grep 22", "ss", "ss-tcp-udp-listening", "port_check"),
    ("nc -zv -w 3 db 5432", "nc", "nc-tcp-check", "port_check"),
    ("sudo -u root env LANG=C iptables -L -n -v --line-numbers", "iptables", "iptables-list-verbose", "firewall"),
])
def test_purpose_from_the_catalog(classifier: CommandClassifier, line: str, utility: str, first_match: str,
                                  intent: str) -> None:
    result = classifier.classify(line)
    assert result.utility == utility and result.matched[0] == first_match and intent in result.purpose
    assert not result.guess


@pytest.mark.parametrize("line, family", [
    ("pnig -c 3 gw", "ping"), ("tracerout 8.8.8.8", "traceroute"), ("nsloookup example.com", "nslookup"),
    ("fping 10.0.0.1", "ping"), ("hping3 -S -p 80 host", "ping"), ("drill example.com", "dig"),
    ("kdig example.com", "dig"), ("tcptraceroute host 443", "traceroute"),
])
def test_unknown_commands_get_a_family_marked_as_a_guess(classifier: CommandClassifier, line: str, family: str) -> None:
    result = classifier.classify(line)
    assert result.guess and result.family == family
    assert result.type != "unknown" and result.purpose


def test_nothing_close_is_unknown_and_not_vouched_for(classifier: CommandClassifier) -> None:
    result = classifier.classify("frobnicate --all")
    assert result.guess and result.family is None and result.type == "unknown" and result.risk == "caution"
    assert classifier.classify("cd /tmp").guess is False  # short names are never fuzzy-matched


def test_pipelines_take_the_worst_risk_and_the_first_real_stage(classifier: CommandClassifier) -> None:
    result = classifier.classify("ss -tlnp | grep :22 && sudo ip link set eth0 down")
    assert result.utility == "ss" and result.risk == "dangerous" and result.needs_root
    assert [s.utility for s in result.stages] == ["ss", "grep", "ip"]
    assert "takes the interface down, cutting its traffic" in result.notes
    written = classifier.classify("echo nameserver 1.1.1.1 > /etc/resolv.conf")
    assert written.risk == "dangerous" and any("/etc/resolv.conf" in n for n in written.notes)
    assert classifier.classify("dig example.com 2>/dev/null | head").risk == "safe"


def test_wrappers_are_stripped_and_sudo_means_root(classifier: CommandClassifier) -> None:
    for line in ("sudo ping -c 1 x", "time nice -n 5 ping -c 1 x", "timeout 5 ping -c 1 x", "sh -c 'ping -c 1 x'"):
        assert classifier.classify(line).utility == "ping", line
    assert classifier.classify("sudo ping -c 1 x").needs_root
    assert not classifier.classify("ping -c 1 x").needs_root
    assert classifier.classify("iptables -L").needs_root  # firewall tables are root-only


@pytest.mark.parametrize("bad", ["", "   ", "ping 'unterminated", "| |"])
def test_bad_input_is_an_input_error(classifier: CommandClassifier, bad: str) -> None:
    with pytest.raises(InputError):
        classifier.classify(bad)


def test_edit_distance() -> None:
    assert damerau("pnig", "ping") == 1 and damerau("nsloookup", "nslookup") == 1 and damerau("ping", "ping") == 0
    assert damerau("", "abc") == 3
