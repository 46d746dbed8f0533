"""`netcopilot.history.fixes`: every rule against the real error text of the tool.

Two layers: live tests run the tool here (loopback servers, a closed port, a network namespace,
a fake SSH/DNS server) and feed its real output to `diagnose`; CAPTURED keeps the exact texts
of real runs on this machine (Debian 12: iputils 20221126, curl 8 with OpenSSL 3.0, DiG 9.18,
OpenBSD nc, OpenSSH 9.2), so every rule stays tested where live reproduction is impossible.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from pathlib import Path

import pytest

from netcopilot.history.fixes import RULES, Platform, diagnose, near_misses, parse_failure, rerun_argv

APT = Platform("apt-get", root=False)

# (expected first rule, command, output, exit status). The comment before each says how it was produced.
CAPTURED = [
    # ping -c 1 nosuch.invalid
    ("unknown_host", "ping -c 1 nosuch.invalid", "ping: nosuch.invalid: Name or service not known", 2),
    # ssh -o BatchMode=yes nosuch.invalid
    ("unknown_host", "ssh -o BatchMode=yes nosuch.invalid",
     "ssh: Could not resolve hostname nosuch.invalid: Name or service not known", 255),
    # nc -zv nosuch.invalid 80
    ("unknown_host", "nc -zv nosuch.invalid 80",
     'nc: getaddrinfo for host "nosuch.invalid" port 80: Name or service not known', 1),
    # traceroute nosuch.invalid
    ("unknown_host", "traceroute nosuch.invalid",
     "nosuch.invalid: Name or service not known\nCannot handle \"host\" cmdline arg `nosuch.invalid' on position 1 "
     "(argc 1)", 2),
    # iputils before 2016 (quoted, not run here): the historical `ping: unknown host` wording
    ("unknown_host", "ping web01", "ping: unknown host web01", 2),
    # ping -c 1 -W 1 example.com, inside `unshare -n` (no network at all)
    ("temporary_dns_failure", "ping -c 1 -W 1 example.com", "ping: example.com: Temporary failure in name resolution", 2),
    # curl -sS http://nosuch.invalid/
    ("curl_could_not_resolve", "curl -sS http://nosuch.invalid/", "curl: (6) Could not resolve host: nosuch.invalid", 6),
    # dig nosuch.invalid (the machine's resolver)
    ("dns_nxdomain", "dig nosuch.invalid",
     ";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 56994\n;; flags: qr rd ra; QUERY: 1, ANSWER: 0", 0),
    # host nosuch.invalid
    ("dns_nxdomain", "host nosuch.invalid", "Host nosuch.invalid not found: 3(NXDOMAIN)", 1),
    # nslookup nosuch.invalid
    ("dns_nxdomain", "nslookup nosuch.invalid", "** server can't find nosuch.invalid: NXDOMAIN", 1),
    # dig @127.0.0.1 -p PORT corp.example against the fake DNS server below answering SERVFAIL
    ("dns_servfail", "dig @127.0.0.1 corp.example",
     ";; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 4242", 0),
    # dig +time=1 +tries=1 @10.9.0.2 example.com, inside a namespace whose tun0 drops everything
    ("dig_no_servers", "dig +time=1 +tries=1 @10.9.0.2 example.com",
     ";; communications error to 10.9.0.2#53: timed out\n\n; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +time=1 "
     "+tries=1 @10.9.0.2 example.com\n; (1 server found)\n;; global options: +cmd\n;; no servers could be reached", 9),
    # BIND 9.16 and older (quoted): the classic one-line wording
    ("dig_no_servers", "dig @10.0.0.53 corp.example", ";; connection timed out; no servers could be reached", 9),
    # nc -zv 127.0.0.1 1
    ("connection_refused", "nc -zv 127.0.0.1 1", "nc: connect to 127.0.0.1 port 1 (tcp) failed: Connection refused", 1),
    # ssh -o BatchMode=yes 127.0.0.1
    ("ssh_connection_refused", "ssh -o BatchMode=yes 127.0.0.1",
     "ssh: connect to host 127.0.0.1 port 22: Connection refused", 255),
    # curl -sS http://127.0.0.1:1/
    ("curl_failed_to_connect", "curl -sS http://127.0.0.1:1/",
     "curl: (7) Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server", 7),
    # nc -zv -w 2 10.77.0.5 80, in a namespace with `ip route add unreachable 10.77.0.0/16`
    ("no_route_to_host", "nc -zv -w 2 10.77.0.5 80",
     "nc: connect to 10.77.0.5 port 80 (tcp) failed: No route to host", 1),
    # ping -c 1 -W 1 10.77.0.5, same namespace
    ("no_route_to_host", "ping -c 1 -W 1 10.77.0.5", "ping: connect: No route to host", 2),
    # ssh -o BatchMode=yes -o ConnectTimeout=2 172.31.0.5, in a namespace without routes
    ("network_unreachable", "ssh -o BatchMode=yes -o ConnectTimeout=2 172.31.0.5",
     "ssh: connect to host 172.31.0.5 port 22: Network is unreachable", 255),
    # ssh -o BatchMode=yes -o ConnectTimeout=2 10.9.0.2, routed into a tun device nobody reads
    ("timed_out", "ssh -o BatchMode=yes -o ConnectTimeout=2 10.9.0.2",
     "ssh: connect to host 10.9.0.2 port 22: Connection timed out", 255),
    # nc -zv -w 2 10.9.0.2 80, same
    ("timed_out", "nc -zv -w 2 10.9.0.2 80", "nc: connect to 10.9.0.2 port 80 (tcp) timed out: Operation now in progress", 1),
    # curl -sS --connect-timeout 2 http://10.9.0.2/, same
    ("curl_timed_out", "curl -sS --connect-timeout 2 http://10.9.0.2/",
     "curl: (28) Failed to connect to 10.9.0.2 port 80 after 2001 ms: Timeout was reached", 28),
    # curl -sS --max-time 2 http://10.9.0.2/, same
    ("curl_timed_out", "curl -sS --max-time 2 http://10.9.0.2/", "curl: (28) Connection timed out after 2001 milliseconds", 28),
    # ping -c 2 -W 1 10.9.0.2, same
    ("packet_loss", "ping -c 2 -W 1 10.9.0.2",
     "PING 10.9.0.2 (10.9.0.2) 56(84) bytes of data.\n\n--- 10.9.0.2 ping statistics ---\n2 packets transmitted, "
     "0 received, 100% packet loss, time 1026ms\n", 1),
    # traceroute -n -m 3 -w 1 10.9.0.2, same
    ("traceroute_silent_hops", "traceroute -n -m 3 -w 1 10.9.0.2",
     "traceroute to 10.9.0.2 (10.9.0.2), 3 hops max, 60 byte packets\n 1  * * *\n 2  * * *\n 3  * * *\n", 0),
    # curl -sS https://127.0.0.1:PORT/ against python ssl with an `openssl req -x509` certificate
    ("tls_certificate_problem", "curl -sS https://127.0.0.1:45705/",
     "curl: (60) SSL certificate problem: self-signed certificate\nMore details here: https://curl.se/docs/sslcerts.html", 60),
    # curl -sS https://127.0.0.1:PORT/ against `python3 -m http.server` (plain HTTP)
    ("tls_handshake_failed", "curl -sS https://127.0.0.1:46165/",
     "curl: (35) OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number", 35),
    # OpenSSH's text (quoted from its sshconnect2.c; no sshd with keys on this machine)
    ("ssh_permission_denied", "ssh deploy@web01", "deploy@web01: Permission denied (publickey).", 255),
    # ssh -o StrictHostKeyChecking=yes against the fake SSH server below, empty known_hosts
    ("ssh_host_key_unknown", "ssh -p 2222 -o StrictHostKeyChecking=yes 127.0.0.1",
     "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\n"
     "Host key verification failed.\r\n", 255),
    # the same with another key for [127.0.0.1]:PORT in known_hosts (abridged)
    ("ssh_host_key_changed", "ssh -p 2222 127.0.0.1",
     "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS "
     "CHANGED!     @\r\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n  remove with:\r\n  ssh-keygen -f "
     "\"/root/.ssh/known_hosts\" -R \"[127.0.0.1]:2222\"\r\nHost key for [127.0.0.1]:2222 has changed and you have "
     "requested strict checking.\r\nHost key verification failed.\r\n", 255),
    # /tmp/ping-nocap -c 1 127.0.0.1 as nobody (setpriv), a copy of ping without its file capability
    ("operation_not_permitted", "ping -c 1 127.0.0.1",
     "ping: socktype: SOCK_RAW\nping: socket: Operation not permitted\nping: => missing cap_net_raw+p capability or "
     "setuid?", 2),
    # ip link set lo mtu 1400 as nobody
    ("operation_not_permitted", "ip link set lo mtu 1400", "RTNETLINK answers: Operation not permitted", 2),
    # traceroute -T -m 1 127.0.0.1 as nobody
    ("operation_not_permitted", "traceroute -T -m 1 127.0.0.1",
     "You do not have enough privileges to use this traceroute method.\nsocket: Operation not permitted", 1),
    # nc -l 127.0.0.1 80 as nobody
    ("privileged_port", "nc -l 127.0.0.1 80", "nc: Permission denied", 1),
    # OpenSSH (quoted): a local forward to a low port as a normal user
    ("privileged_port", "ssh -L 80:localhost:8080 web01", "bind [127.0.0.1]:80: Permission denied", 255),
    # nc -l 127.0.0.1 PORT while `python3 -m http.server` holds PORT
    ("address_in_use", "nc -l 127.0.0.1 46165", "nc: Address already in use", 1),
    # nc -s 192.0.2.99 -zv 127.0.0.1 80
    ("cannot_assign_address", "nc -s 192.0.2.99 -zv 127.0.0.1 80", "nc: bind failed: Cannot assign requested address", 1),
    # bash -c 'mtr example.com'
    ("command_not_found", "mtr example.com", "bash: line 1: mtr: command not found", 127),
    # zsh and dash wordings (quoted)
    ("command_not_found", "tcpdump -i any", "zsh: command not found: tcpdump", 127),
    ("command_not_found", "dig example.com", "sh: 1: dig: not found", 127),
    # sudo's own wording (quoted from sudo; sudo is not installed here)
    ("sudo_command_not_found", "sudo mtr example.com", "sudo: mtr: command not found", 1),
    # ssh -v to a host that drops it (quoted from OpenSSH)
    ("connection_reset", "ssh web01", "kex_exchange_identification: read: Connection reset by peer", 255),
    # curl -f on a 404 page: no rule reads the text, the exit status does
    ("exit_status", "curl -sSf http://127.0.0.1:8000/missing", "curl: (22) The requested URL returned error: 404", 22),
]


@pytest.mark.parametrize("expected, command, output, status", CAPTURED, ids=[f"{c[0]}:{c[1]}" for c in CAPTURED])
def test_captured_text_is_diagnosed(expected: str, command: str, output: str, status: int) -> None:
    fixes = diagnose(command, output, status, APT)
    assert fixes and fixes[0].rule == expected, [f.rule for f in fixes]
    assert fixes[0].diagnosis and (fixes[0].fixes or fixes[0].next_steps)


def test_every_rule_has_a_captured_text() -> None:
    assert {r.name for r in RULES} <= {c[0] for c in CAPTURED}


def test_values_from_the_command_are_validated_and_quoted() -> None:
    fix = diagnose("ssh -p 2222 admin@web01.example.com", "admin@web01.example.com: Permission denied (publickey).",
                   255, APT)[0]
    assert any(s.command == "ssh -p 2222 -i ~/.ssh/id_ed25519 admin@web01.example.com" for s in fix.fixes)
    evil = diagnose("ping 'x;rm -rf ~'", "ping: x;rm -rf ~: Name or service not known", 2, APT)[0]
    assert all("rm -rf" not in line for line in [s.command for s in evil.fixes] + evil.next_steps)
    assert "<host>" in evil.next_steps[0]


def test_pasted_url_is_corrected() -> None:
    fix = diagnose("ping -c 3 https://example.com:8443/x", "ping: https://example.com:8443/x: Name or service not "
                   "known", 2, APT)[0]
    assert fix.fixes[0].command == "ping -c 3 example.com"
    assert fix.fixes[1].command == "nc -zv -w 3 example.com 8443"


def test_risky_fixes_are_labelled() -> None:
    changed = next(c for c in CAPTURED if c[0] == "ssh_host_key_changed")
    fix = diagnose(*changed[1:], APT)[0]
    assert fix.fixes[0].command == "ssh-keygen -f /root/.ssh/known_hosts -R '[127.0.0.1]:2222'"
    assert fix.risk == "dangerous" and "SECURITY WARNING" in fix.diagnosis
    cert = diagnose("curl https://intranet.example.com/", "curl: (60) SSL certificate problem: self-signed certificate",
                    60, APT)[0]
    assert {s.command: s.risk for s in cert.fixes}["curl -k https://intranet.example.com/"] == "dangerous"
    dns = diagnose("ping -c 1 example.com", "ping: example.com: Temporary failure in name resolution", 2, APT)[0]
    assert any(s.risk == "dangerous" and "resolv.conf" in s.command for s in dns.fixes)


def test_command_not_found_maps_packages_for_this_machine_first() -> None:
    fix = diagnose("mtr example.com", "bash: line 1: mtr: command not found", 127, APT)[0]
    assert [s.command for s in fix.fixes[:2]] == ["sudo apt-get install -y mtr-tiny", "sudo dnf install -y mtr"]
    assert diagnose("dig x", "", 127, Platform("apk", root=True))[0].fixes[0].command == "apk add bind-tools"
    assert diagnose("nc -zv h 1", "", 127, Platform("brew", root=False))[0].fixes[0].command == "brew install netcat"
    typo = diagnose("tracerout -n 10.0.0.1", "bash: tracerout: command not found", 127, APT)[0]
    assert typo.fixes[0].command == "traceroute -n 10.0.0.1"
    assert near_misses("dgi") == ["dig"]


def test_status_only_diagnoses_when_no_text() -> None:
    for command, status, rule in [("curl -sS https://x.example.com", 60, "tls_certificate_problem"),
                                  ("curl -sS http://x.example.com", 7, "curl_failed_to_connect"),
                                  ("dig @10.0.0.53 x.example.com", 9, "dig_no_servers"),
                                  ("ssh web01", 255, "exit_status"), ("nmapp -sn 10.0.0.0/24", 127, "command_not_found")]:
        fix = diagnose(command, "", status, APT)[0]
        assert (fix.rule, fix.from_status_only) == (rule, True)


def test_rerun_allow_list_is_conservative() -> None:
    ok = {"ping web01": ["ping", "-c", "3", "web01"], "dig example.com": ["dig", "example.com"],
          "curl -sSI https://example.com": ["curl", "-sSI", "https://example.com"],
          "nc -zv -w 2 web01 443": ["nc", "-zv", "-w", "2", "web01", "443"],
          "ssh -o BatchMode=yes web01": ["ssh", "-o", "BatchMode=yes", "web01"]}
    for command, argv in ok.items():
        assert rerun_argv(parse_failure(command)) == argv
    for command in ["curl -X POST https://example.com", "curl -o out.html https://example.com", "sudo ping web01",
                    "ping web01; rm x", "nc -l 8080", "ssh web01", "ssh -o BatchMode=yes web01 reboot",
                    "ping -f web01", "tcpdump -i any", "dig $(whoami).example.com"]:
        assert rerun_argv(parse_failure(command)) is None, command


# --- live runs of the real tools ---------------------------------------------------------------

def _run(argv: list[str], timeout: float = 30) -> tuple[str, int]:
    if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
        pytest.skip(f"{argv[0]} is not installed")
    done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return (done.stderr + done.stdout).decode("utf-8", "replace"), done.returncode


def _live(argv: list[str], expected: str, timeout: float = 30) -> None:
    output, status = _run(argv, timeout)
    fixes = diagnose(shlex.join(argv), output, status, APT)
    assert fixes and fixes[0].rule == expected, (output, [f.rule for f in fixes])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("argv, expected", [
    (["ping", "-c", "1", "nosuch.invalid"], "unknown_host"),
    (["ssh", "-o", "BatchMode=yes", "nosuch.invalid"], "unknown_host"),
    (["nc", "-zv", "nosuch.invalid", "80"], "unknown_host"),
    (["curl", "-sS", "http://nosuch.invalid/"], "curl_could_not_resolve"),
])
def test_live_unresolvable_names(argv: list[str], expected: str) -> None:
    _live(argv, expected)


def test_live_closed_port() -> None:
    port = str(_closed_port())
    _live(["nc", "-zv", "127.0.0.1", port], "connection_refused")
    _live(["ssh", "-o", "BatchMode=yes", "-p", port, "127.0.0.1"], "ssh_connection_refused")
    _live(["curl", "-sS", f"http://127.0.0.1:{port}/"], "curl_failed_to_connect")
    _live(["dig", "+time=1", "+tries=1", "-p", port, "@127.0.0.1", "example.com"], "dig_no_servers")


def test_live_local_addresses(listener: int) -> None:
    _live(["nc", "-l", "127.0.0.1", str(listener)], "address_in_use")
    _live(["nc", "-s", "203.0.113.77", "-zv", "127.0.0.1", str(listener)], "cannot_assign_address")
    output, status = _run(["bash", "-c", "nosuchtool-xyz --version"])
    assert diagnose("nosuchtool-xyz --version", output, status, APT)[0].rule == "command_not_found"


def _as_nobody(argv: list[str]) -> list[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a command as nobody")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]


def test_live_unprivileged(tmp_path: Path) -> None:
    ping = shutil.which("ping") or pytest.skip("ping is not installed")
    tmp_path.chmod(0o755)
    plain = tmp_path / "ping"
    shutil.copy(ping, plain)  # a copy has no file capability: ping needs privileges again
    output, status = _run(_as_nobody([str(plain), "-c", "1", "127.0.0.1"]))
    if "Operation not permitted" not in output:
        pytest.skip(f"ping as nobody did not fail here: {output!r}")
    assert diagnose("ping -c 1 127.0.0.1", output, status, APT)[0].rule == "operation_not_permitted"
    output, status = _run(_as_nobody(["nc", "-l", "127.0.0.1", "80"]), timeout=5)
    fix = diagnose("nc -l 127.0.0.1 80", output, status, APT)[0]
    assert fix.rule == "privileged_port" and fix.fixes[0].command == "nc -l 127.0.0.1 8080"


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory):
    """A local HTTPS server with a certificate made by `openssl req -x509`, and a plain HTTP port."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder / "key.pem",
                    "-out", folder / "cert.pem", "-days", "1", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    tls, plain = socket.create_server(("127.0.0.1", 0)), socket.create_server(("127.0.0.1", 0))

    def serve(sock: socket.socket, wrap: bool) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                if wrap:
                    context.wrap_socket(conn, server_side=True).close()
                else:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nplain http\n")
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    for sock, wrap in ((tls, True), (plain, False)):
        threading.Thread(target=serve, args=(sock, wrap), daemon=True).start()
    yield tls.getsockname()[1], plain.getsockname()[1]
    tls.close()
    plain.close()


def test_live_tls(self_signed: tuple[int, int]) -> None:
    tls_port, plain_port = self_signed
    _live(["curl", "-sS", "--max-time", "10", f"https://127.0.0.1:{tls_port}/"], "tls_certificate_problem")
    _live(["curl", "-sS", "--max-time", "10", f"https://127.0.0.1:{plain_port}/"], "tls_handshake_failed")


NAMESPACE_SETUP = (
    "ip link set lo up && ip route add unreachable 10.77.0.0/16 && ip tuntap add tun0 mode tun && "
    "ip link set tun0 up && ip addr add 10.9.0.1/24 dev tun0"
)  # a tun device nobody reads: packets routed into it vanish, as behind a dropping firewall


@pytest.mark.parametrize("argv, expected", [
    (["ping", "-c", "1", "-W", "1", "10.77.0.5"], "no_route_to_host"),
    (["nc", "-zv", "-w", "2", "172.31.0.5", "80"], "network_unreachable"),
    (["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "10.9.0.2"], "timed_out"),
    (["curl", "-sS", "--connect-timeout", "2", "http://10.9.0.2/"], "curl_timed_out"),
    (["ping", "-c", "2", "-W", "1", "10.9.0.2"], "packet_loss"),
    (["traceroute", "-n", "-m", "2", "-w", "1", "10.9.0.2"], "traceroute_silent_hops"),
    (["dig", "+time=1", "+tries=1", "@10.9.0.2", "example.com"], "dig_no_servers"),
    (["ping", "-c", "1", "-W", "1", "example.com"], "temporary_dns_failure"),
])
def test_live_in_a_network_namespace(argv: list[str], expected: str) -> None:
    """Run inside `unshare -n`: a fresh network namespace, so the machine's own network is untouched."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which(argv[0]) is None:
        pytest.skip("needs root, unshare and " + argv[0])
    script = f"{NAMESPACE_SETUP} || exit 99; exec {shlex.join(argv)}"
    done = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True, timeout=30)
    if done.returncode == 99:
        pytest.skip("cannot build the test namespace here: " + done.stderr.decode()[:200])
    output = (done.stderr + done.stdout).decode("utf-8", "replace")
    fixes = diagnose(shlex.join(argv), output, done.returncode, APT)
    assert fixes and fixes[0].rule == expected, (output, [f.rule for f in fixes])


def _dns_server(rcode: int) -> tuple[socket.socket, int]:
    """A UDP DNS server on loopback answering every query with `rcode` (3 NXDOMAIN, 2 SERVFAIL)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                query, peer = sock.recvfrom(4096)
            except OSError:
                return
            end = query.index(b"\x00", 12) + 5  # the question: labels, then type and class
            sock.sendto(query[:2] + struct.pack(">HHHHH", 0x8180 | rcode, 1, 0, 0, 0) + query[12:end], peer)

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("rcode, expected", [(3, "dns_nxdomain"), (2, "dns_servfail")])
def test_live_dns_status(rcode: int, expected: str) -> None:
    sock, port = _dns_server(rcode)
    try:
        _live(["dig", "+time=2", "+tries=1", "-p", str(port), "@127.0.0.1", "corp.example"], expected)
    finally:
        sock.close()


def _ssh_packet(payload: bytes) -> bytes:
    padding = 8 - (len(payload) + 5) % 8
    padding += 8 if padding < 4 else 0
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + b"\x00" * padding


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _fake_sshd(host_key_blob: bytes) -> tuple[socket.socket, int]:
    """Just enough SSH to present a host key: the client checks it against known_hosts before it
    verifies any signature, so no cryptography is needed to reach `Host key verification failed`."""
    server = socket.create_server(("127.0.0.1", 0))
    names = [b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr", b"hmac-sha2-256", b"hmac-sha2-256",
             b"none", b"none", b"", b""]
    kexinit = b"\x14" + b"\x00" * 16 + b"".join(_string(n) for n in names) + b"\x00" + b"\x00" * 4

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2 netcopilot-test\r\n" + _ssh_packet(kexinit))
                    received = b""
                    while received.count(b"\x1e") == 0 or len(received) < 200:  # client KEXINIT then ECDH_INIT
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        received += chunk
                    reply = b"\x1f" + _string(host_key_blob) + _string(b"\x00" * 32) + _string(
                        _string(b"ssh-ed25519") + _string(b"\x00" * 64))
                    conn.sendall(_ssh_packet(reply))
                    conn.recv(4096)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def _ed25519(folder: Path, name: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", folder / name], check=True)
    return (folder / f"{name}.pub").read_text().split()[1]


@pytest.mark.parametrize("known, expected", [(False, "ssh_host_key_unknown"), (True, "ssh_host_key_changed")])
def test_live_ssh_host_keys(tmp_path: Path, known: bool, expected: str) -> None:
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("ssh is not installed")
    presented, trusted = _ed25519(tmp_path, "server"), _ed25519(tmp_path, "old")
    server, port = _fake_sshd(base64.b64decode(presented))
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} ssh-ed25519 {trusted}\n" if known else "")
    try:
        _live(["ssh", "-p", str(port), "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
               "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "127.0.0.1"],
              expected, timeout=20)
    finally:
        server.close()


def test_root_without_sudo_drops_sudo_and_its_options() -> None:
    (fix,) = [d for d in diagnose("sudo -u netops env LANG=C mtr -r example.com", "bash: sudo: command not found", 127,
                                  Platform("apt-get", root=True)) if d.rule == "command_not_found"]
    assert fix.fixes[0].command == "env LANG=C mtr -r example.com"
