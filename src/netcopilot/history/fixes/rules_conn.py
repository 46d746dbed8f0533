"""Rules for reaching a host and port: refused, no route, unreachable network, timeouts,
packet loss, silent traceroute hops, resets, and curl's connect errors (7, 28)."""

from __future__ import annotations

import re

from .model import Fix, Raw, Suggestion, sh
from .packages import Platform
from .parse import Failure
from .registry import rule

_TRACE_HOP = re.compile(r"^\s*(\d+)\s+(.*?)\s*$", re.MULTILINE)
_ADDRESS = re.compile(r"\(?(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:]+)\)?", re.I)


def _open_port(p: Platform, port: int | Raw) -> Suggestion:
    return Suggestion(p.privileged(sh("ufw", "allow", Raw(f"{sh(port)}/tcp"))), "caution",
                      "on the server, if its firewall should allow this port (firewalld: firewall-cmd "
                      "--add-port=PORT/tcp)")


def probe_steps(f: Failure, p: Platform) -> list[str]:
    """Is the host up, and what answers on the port: the usual first three checks."""
    host, port = f.target(), f.port_or()
    return [sh("ping", "-c", 3, host), sh("nc", "-zv", "-w", 3, host, port), sh("nmap", "-Pn", "-p", port, host)]


def _server_side(port: int | Raw) -> list[str]:
    return [sh("ss", "-ltnp", Raw(f"'sport = :{sh(port)}'")) + "    # on the server: is it listening, on which address"]


@rule("connection_refused", r"Connection refused|ECONNREFUSED|\[Errno 111\]", priority=50)
def connection_refused(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    port = f.port_or()
    return Fix("connection_refused",
               f"{f.host or 'The host'} answered, but nothing accepts connections on port {f.port or 'that port'}: "
               "the service is stopped, listens on another port or only on 127.0.0.1, or a firewall rejects "
               "with a reset.",
               [Suggestion(p.privileged(sh("systemctl", "start", Raw("<service>"))), "caution",
                           "on the server: start the service that should listen there"), _open_port(p, port)],
               [sh("nc", "-zv", "-w", 3, f.target(), port), *_server_side(port),
                sh("nmap", "-Pn", "--top-ports", 20, f.target())])


@rule("ssh_connection_refused", r"ssh: connect to host \S+ port (?P<port>\d+): Connection refused", priority=70,
      supersedes=("connection_refused",))
def ssh_connection_refused(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    port = int(m.group("port")) if m else f.port or 22
    login = Raw(f"{sh(f.user)}@{sh(f.target())}") if f.user else f.target()
    return Fix("ssh_connection_refused",
               f"No SSH server listens on {f.host or 'the host'} port {port}: sshd is stopped, not installed, or "
               "runs on another port.",
               [Suggestion(sh("ssh", "-p", Raw("<port>"), login), "safe",
                           "if sshd was moved to another port (2222 is common)"),
                Suggestion(p.privileged(sh("systemctl", "start", "ssh")), "caution",
                           "on the server's console: start sshd (the unit is sshd on RHEL)")],
               [sh("nc", "-zv", "-w", 3, f.target(), port), sh("nmap", "-Pn", "-p", "22,2222", f.target()),
                *_server_side(port)])


@rule("curl_failed_to_connect", r"curl: \(7\)", statuses={"curl": {7}}, priority=70,
      supersedes=("connection_refused", "no_route_to_host", "network_unreachable"))
def curl_failed_to_connect(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    url = f.url or Raw("<url>")
    return Fix("curl_failed_to_connect",
               f"curl reached no server on {f.host or 'the host'} port {f.port or '?'}: nothing listens there "
               "(refused), or there is no route (curl 8 does not say which: nc below does).",
               [Suggestion(sh("curl", "-4", "-sS", url), "safe", "IPv4 only, when the name also has a broken IPv6 "
                                                                "address"),
                Suggestion(sh("curl", "--noproxy", "*", "-sS", url), "safe",
                           "skip a proxy from http_proxy/https_proxy, if one is set and down")],
               [sh("nc", "-zv", "-w", 3, f.target(), f.port_or()), sh("curl", "-v", url),
                sh("ip", "route", "get", f.target()), sh(Raw("env | grep -i"), "_proxy")])


@rule("no_route_to_host", r"No route to host|EHOSTUNREACH|\[Errno 113\]", priority=55)
def no_route_to_host(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host = f.target()
    return Fix("no_route_to_host",
               f"{f.host or 'The host'} cannot be reached: it is down or not answering ARP on its LAN, a route "
               "marks it unreachable, or a firewall rejects with 'host unreachable' (icmp-host-prohibited).",
               [_open_port(p, f.port_or())],
               [sh("ip", "route", "get", host), sh("ip", "neigh", "show", host), sh("ping", "-c", 3, host),
                sh("traceroute", "-n", host)])


@rule("network_unreachable", r"Network is unreachable|network unreachable|ENETUNREACH|\[Errno 101\]", priority=55)
def network_unreachable(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    fixes = []
    ipv4_literal = bool(f.host and re.fullmatch(r"[\d.]+", f.host))
    if f.utility in ("ping", "curl", "ssh", "nc", "traceroute", "wget") and not ipv4_literal \
            and not {"-4", "-6"} & f.flags:
        fixes.append(Suggestion(f.rebuilt(insert=("-4",)), "safe",
                                "force IPv4: a name with an IPv6 address fails when this machine has no IPv6 route"))
    fixes += [Suggestion(p.privileged(sh("ip", "route", "add", "default", "via", Raw("<gateway>"))), "caution",
                         "add the missing default route (until reboot; use your network manager to keep it)"),
              Suggestion(p.privileged(sh("ip", "link", "set", Raw("<interface>"), "up")), "caution",
                         "bring the interface up")]
    return Fix("network_unreachable",
               "This machine has no route to that network: no default gateway, the interface is down, or an IPv6 "
               "address without IPv6 connectivity.",
               fixes, ["ip route", sh("ip", "route", "get", f.target()), "ip -br addr", "ip -br link"])


@rule("timed_out", r"Connection timed out|timed out|Operation now in progress|ETIMEDOUT|\[Errno 110\]", priority=45)
def timed_out(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host, port = f.target(), f.port_or()
    return Fix("timed_out",
               f"No answer at all from {f.host or 'the host'}{f' port {f.port}' if f.port else ''}: packets are "
               "dropped on the way. A closed port answers at once ('refused'); silence means a filtering firewall "
               "(DROP) or a host that is down. If ping answers, the host is up and the port is filtered.",
               [_open_port(p, port)],
               [sh("ping", "-c", 3, host), sh("nmap", "-Pn", "-p", port, host),
                p.privileged(sh("traceroute", "-T", "-p", port, "-n", host))])


@rule("curl_timed_out", r"curl: \(28\)", statuses={"curl": {28}}, priority=70, supersedes=("timed_out",))
def curl_timed_out(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    url = f.url or Raw("<url>")
    text = f.output.lower()
    timing = sh("curl", "-sS", "-o", "/dev/null", "-w",
                "dns %{time_namelookup}s connect %{time_connect}s tls %{time_appconnect}s "
                "first byte %{time_starttransfer}s total %{time_total}s\\n", url)
    if "bytes received" in text or ("operation timed out" in text and "connect" not in text):
        return Fix("curl_timed_out",
                   "curl connected but the transfer did not finish in time: the server is slow or the response is "
                   "large for the time limit.",
                   [Suggestion(f.rebuilt(drop=("-m", "--max-time"), insert=("--max-time", "120")), "safe",
                               "allow more time")], [timing])
    return Fix("curl_timed_out",
               f"curl timed out before connecting to {f.host or 'the host'}: nothing answered (a filtering firewall "
               "or a host that is down; 'Resolving timed out' means the DNS server did not answer).",
               [Suggestion(f.rebuilt(drop=("--connect-timeout",), insert=("--connect-timeout", "5")), "safe",
                           "fail fast while you test"), _open_port(p, f.port_or())],
               [*probe_steps(f, p)[:2], timing])


@rule("packet_loss", r"\b(?!0% )(?P<pct>\d+(?:\.\d+)?)% packet loss", statuses={"ping": {1}}, priority=50)
def packet_loss(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host = f.target()
    if m and float(m.group("pct")) < 100:
        return Fix("packet_loss",
                   f"{m.group('pct')}% of the pings to {f.host or 'the host'} were lost: congestion, a flaky link or "
                   "Wi-Fi, or routers rate-limiting ICMP.",
                   [], [sh("mtr", "-rwc", 100, "-n", host), sh("ping", "-c", 100, "-i", "0.2", host),
                        sh(Raw("ip -s link show"), Raw("<interface>"))])
    return Fix("packet_loss",
               f"No echo reply from {f.host or 'the host'}: it is down, ICMP echo is filtered (common on cloud VMs and "
               "Windows), or replies have no route back. Test a TCP port before concluding it is down.",
               [Suggestion(p.privileged(sh("iptables", "-I", "INPUT", "-p", "icmp", "--icmp-type", "echo-request",
                                           "-j", "ACCEPT")), "caution",
                           "on the target, if you administer it and want it to answer ping")],
               [sh("nc", "-zv", "-w", 3, host, 22), sh("nc", "-zv", "-w", 3, host, 443), sh("ip", "neigh", "show", host),
                sh("traceroute", "-n", host)])


def _hops(output: str) -> list[tuple[int, str]]:
    return [(int(n), rest) for n, rest in _TRACE_HOP.findall(output)]


@rule("traceroute_silent_hops", r"^\s*\d+\s+\*(?:\s+\*)*\s*$", priority=50)
def traceroute_silent_hops(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    hops = _hops(f.output)
    silent = [n for n, rest in hops if set(rest.replace(" ", "")) <= {"*"}]
    answered = [(n, _ADDRESS.search(rest)) for n, rest in hops if n not in silent]
    last = next(((n, a.group(1)) for n, a in reversed(answered) if a), None)
    host = f.target()
    if hops and hops[-1][0] in silent:
        where = f"after hop {last[0]} ({last[1]})" if last else "from the first hop"
        diagnosis = (f"The trace never reached {f.host or 'the destination'}: probes go unanswered {where}. "
                     "Either that is where packets are dropped, or the routers after it filter traceroute's probes "
                     "(UDP to high ports) while real traffic passes.")
    else:
        diagnosis = (f"Hop(s) {', '.join(map(str, silent))} did not answer, but later hops did: those routers only "
                     "ignore or rate-limit traceroute probes. This is harmless.")
    next_steps = [sh("mtr", "-rwc", 50, "-n", host)]
    if last:
        next_steps.append(sh("ping", "-c", 3, last[1]))
    return Fix("traceroute_silent_hops", diagnosis,
               [Suggestion(p.privileged(sh("traceroute", "-T", "-p", 443, "-n", host)), "caution",
                           "TCP SYN probes to port 443 pass most firewalls that drop UDP probes (needs root)"),
                Suggestion(p.privileged(sh("traceroute", "-I", "-n", host)), "caution", "ICMP echo probes (needs root)")],
               next_steps)


@rule("connection_reset", r"Connection reset by peer|kex_exchange_identification|Connection closed by remote host|"
      r"ECONNRESET|\[Errno 104\]", priority=50)
def connection_reset(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    verbose = f.rebuilt(insert=("-v",)) if f.utility in ("ssh", "curl", "nc") else sh("curl", "-v", f.url or Raw("<url>"))
    return Fix("connection_reset",
               f"{f.host or 'The server'} accepted the connection, then tore it down: a protocol mismatch (TLS to a "
               "plain port), a middlebox (IPS, proxy), or the server refusing you (sshd MaxStartups, fail2ban, "
               "hosts.deny).",
               [Suggestion(verbose, "safe", "see at which step the connection is dropped")],
               [p.privileged("journalctl -u ssh -n 50") + "    # on the server, for ssh",
                p.privileged("fail2ban-client status sshd") + "    # on the server: is your address banned?"])
