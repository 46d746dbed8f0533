from __future__ import annotations

from pathlib import Path

import pytest

from netcopilot.errors import DataFormatError
from netcopilot.knowledge import load_knowledge
from netcopilot.recommend.catalog import load_catalog
from netcopilot.recommend.slots import render

REPO = Path(__file__).resolve().parents[2]
REQUIRED_UTILITIES = {
    "ip", "ping", "traceroute", "tracepath", "mtr", "dig", "nslookup", "host", "curl", "wget", "nc", "ncat", "socat",
    "ss", "netstat", "lsof", "tcpdump", "tshark", "ethtool", "nmcli", "iw", "iptables", "nft", "ufw", "openssl",
    "nmap", "iperf3", "arping", "whois", "ssh", "ssh-keygen", "ssh-copy-id", "scp", "rsync", "hostname",
    "hostnamectl", "resolvectl", "dhclient", "show",
}  # fmt: skip


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(REPO / "intents", REPO / "knowledge_base")


def test_catalog_covers_the_required_tools(knowledge) -> None:
    catalog = knowledge.catalog
    assert len(catalog) >= 60
    assert REQUIRED_UTILITIES <= {spec.utility for spec in catalog}
    assert {"macos", "cisco-ios", "junos"} <= {spec.platform for spec in catalog}
    assert {"safe", "caution", "dangerous"} == {spec.risk for spec in catalog}
    assert all(spec.examples and spec.why and spec.description for spec in catalog)


def test_every_template_renders_with_placeholders_only(knowledge) -> None:
    for spec in knowledge.catalog:
        out = render(spec.template, spec.param_dicts, {})
        assert "{" not in out.command.replace("%{", ""), spec.id
        assert set(out.missing) <= {p.name for p in spec.params}


def test_root_commands_use_sudo_on_hosts(knowledge) -> None:
    for spec in knowledge.catalog:
        if spec.platform in ("linux", "macos", "any"):
            assert spec.root == spec.template.startswith("sudo "), spec.id


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GOOD = """commands:
  - id: ping-x
    utility: ping
    platform: linux
    description: d
    intents: [connectivity]
    params: [{name: host, type: host, required: true}]
    template: "ping {host}"
    examples: [ping it]
    why: w
    risk: safe
"""


@pytest.mark.parametrize(
    "mutation, message",
    [
        (("risk: safe", "risk: spicy"), "field 'risk'"),
        (('template: "ping {host}"', 'template: "ping {host} {port}"'), "placeholders not declared as params: port"),
        (("intents: [connectivity]", "intents: [astrology]"), "unknown intent(s) astrology"),
        (("type: host", "type: planet"), "field 'params'"),
        (("    why: w\n", ""), "field 'why': command 'ping-x': is missing"),
    ],
)
def test_mistakes_name_file_line_and_field(tmp_path: Path, mutation: tuple[str, str], message: str) -> None:
    path = write(tmp_path / "ping.yml", GOOD.replace(*mutation))
    with pytest.raises(DataFormatError) as info:
        load_catalog(tmp_path, {"connectivity"})
    assert str(path) in str(info.value) and message in str(info.value)
    assert ":2:" in str(info.value)  # the line of the entry's id


def test_bad_yaml_reports_the_line(tmp_path: Path) -> None:
    write(tmp_path / "x.yml", "commands:\n  - id: a\n    utility: [unclosed\n")
    with pytest.raises(DataFormatError, match=r"x\.yml:\d+: not valid YAML"):
        load_catalog(tmp_path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "a.yml", GOOD)
    write(tmp_path / "b.yml", GOOD)
    with pytest.raises(DataFormatError, match="already used in a.yml"):
        load_catalog(tmp_path, {"connectivity"})
