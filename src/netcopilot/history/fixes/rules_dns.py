"""Rules for name resolution: unknown names, an unreachable resolver, NXDOMAIN, SERVFAIL/REFUSED,
`dig` finding no server, and curl (6)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .model import Fix, Raw, Suggestion, sh
from .packages import Platform
from .parse import Failure, _valid
from .registry import rule

FIRST_NAMESERVER = Raw("\"$(awk '/^nameserver/{print $2; exit}' /etc/resolv.conf)\"")
PUBLIC_RESOLVER = "1.1.1.1"


def lookup_steps(f: Failure) -> list[str]:
    """How to see what DNS says about the target, from the cheapest check on."""
    host = f.target()
    return [sh("getent", "hosts", host), sh("dig", host), sh("dig", "+trace", host),
            sh("grep", "-E", "^(nameserver|search|domain)", "/etc/resolv.conf")]


def _pasted_host(raw: str) -> tuple[str | None, str | None]:
    """(host, port) when a URL or host:port was typed where a bare host name belongs."""
    text = raw if "://" in raw else f"//{raw}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None, None
    if not parts.hostname or parts.hostname == raw.lower():
        return None, None
    return _valid("host", parts.hostname), _valid("port", port)


def _pasted_fix(f: Failure) -> list[Suggestion]:
    host, port = _pasted_host(f.raw_target) if f.raw_target and f.utility not in ("curl", "wget") else (None, None)
    if not host:
        return []
    fixes = [Suggestion(f.rebuilt(replace={f.raw_target: host}), "safe",
                        f"{f.utility} takes a bare host name, not a URL or host:port")]
    if port:
        fixes.append(Suggestion(sh("nc", "-zv", "-w", 3, host, port), "safe", f"test TCP port {port} instead"))
    return fixes


@rule("unknown_host", r"Name or service not known|unknown host|Could not resolve hostname|nodename nor servname "
      r"provided|Unknown host|No address associated with hostname|Name does not resolve|Cannot handle \"host\"",
      statuses={"ping": {2}}, priority=60)
def unknown_host(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    name = f.host or f.raw_target or "the host"
    fixes = _pasted_fix(f)
    if f.host:
        fixes.append(Suggestion(
            sh(Raw("printf '%s %s\\n' '<ip>'"), f.host, Raw("| sudo tee -a /etc/hosts")), "caution",
            "pins the name to an address in /etc/hosts (a system file): only for a lab name DNS cannot know; "
            "remove the line afterwards"))
    short = f.host and "." not in f.host and not re.fullmatch(r"[\d.:]+", f.host)
    diagnosis = (f"The name {name} does not resolve: a typo, a record that does not exist, or a name only your "
                 "internal DNS knows." + (" It is a short name, so it only resolves through the search domains in "
                                          "/etc/resolv.conf." if short else ""))
    return Fix("unknown_host", diagnosis, fixes, lookup_steps(f))


@rule("temporary_dns_failure", r"Temporary failure in name resolution|Resolving timed out",
      priority=70, supersedes=("unknown_host",))
def temporary_dns_failure(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host = f.target()
    return Fix(
        "temporary_dns_failure",
        "The resolver could not be asked: no network, or the DNS server in /etc/resolv.conf does not answer. "
        "This says nothing about whether the name exists.",
        [Suggestion(sh("dig", "@" + PUBLIC_RESOLVER, host), "safe",
                    "ask another resolver: if it answers, the configured DNS server is the problem"),
         Suggestion(p.privileged(sh("resolvectl", "dns", Raw("<interface>"), PUBLIC_RESOLVER)), "caution",
                    "switch this interface to another DNS server (systemd-resolved; until the next DHCP lease)"),
         Suggestion(sh(Raw("sudo cp /etc/resolv.conf /etc/resolv.conf.bak &&"), "printf", "nameserver %s\\n",
                       PUBLIC_RESOLVER, Raw("| sudo tee /etc/resolv.conf")), "dangerous",
                    "replaces the resolver of every program on this machine (NetworkManager or systemd-resolved may "
                    "overwrite it; the copy in resolv.conf.bak restores it)")],
        ["cat /etc/resolv.conf", sh("ping", "-c", 3, FIRST_NAMESERVER), "ip route", "resolvectl status"],
    )


@rule("curl_could_not_resolve", r"curl: \(6\)|Could not resolve host:", statuses={"curl": {6}}, priority=75,
      supersedes=("unknown_host",))
def curl_could_not_resolve(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host, port = f.target(), f.port_or("443")
    fixes = [Suggestion(sh("curl", "-sS", "--resolve", Raw(f"{sh(host)}:{sh(port)}:<ip>"), f.url or Raw("<url>")),
                        "safe", "reach the server at a known address, bypassing DNS (tells DNS from server problems)")]
    return Fix("curl_could_not_resolve",
               f"curl could not resolve {f.host or 'the host name'}: the name does not exist, is misspelt, or the "
               "resolver is unreachable (with a proxy set, curl error 5 names the proxy instead).",
               fixes, lookup_steps(f)[:3] + [sh(Raw("env | grep -i"), "_proxy")])


@rule("dns_nxdomain", r"status: NXDOMAIN|\bNXDOMAIN\b", priority=65, supersedes=("unknown_host",))
def dns_nxdomain(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host = f.target()
    fixes = [Suggestion(sh("dig", "+search", host), "safe",
                        "dig ignores the search domains that ping and ssh use: +search applies them")]
    if f.server:
        fixes.append(Suggestion(sh("dig", host), "safe", f"ask your own resolver instead of {f.server}"))
    return Fix("dns_nxdomain",
               f"The DNS server says {f.host or 'the name'} does not exist (NXDOMAIN): a typo, a missing record, the "
               "wrong domain, or a name only an internal (split-horizon) resolver knows.",
               fixes, [sh("dig", "+trace", host), sh("dig", host, "SOA", "+noall", "+authority"),
                       sh("dig", "@" + PUBLIC_RESOLVER, host)])


@rule("dns_servfail", r"status: (?P<code>SERVFAIL|REFUSED)|\b(?P<code2>SERVFAIL|REFUSED)\b", priority=65,
      supersedes=("unknown_host",), flags=re.MULTILINE)
def dns_servfail(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    host = f.target()
    code = (m and (m.group("code") or m.group("code2"))) or "SERVFAIL"
    if code == "REFUSED":
        return Fix("dns_servfail",
                   f"The DNS server {f.server or ''} refused the query: it does not serve recursion to your address "
                   "(an ACL) or is not authoritative for that zone.".replace("  ", " "),
                   [Suggestion(sh("dig", host), "safe", "ask the resolver this machine is configured with")],
                   [sh("dig", host, "NS"), sh("dig", "+trace", host)])
    return Fix("dns_servfail",
               "The resolver failed to get an answer (SERVFAIL): DNSSEC validation failed, the zone's name servers are "
               "down or lame, or the resolver cannot reach them.",
               [Suggestion(sh("dig", "+cd", host), "safe",
                           "checking disabled: if this answers, DNSSEC validation is what fails"),
                Suggestion(sh("dig", "@" + PUBLIC_RESOLVER, host), "safe", "ask another resolver")],
               [sh("dig", "+trace", "+dnssec", host), sh("delv", host), sh("dig", host, "NS")])


@rule("dig_no_servers", r"no servers could be reached", statuses={"dig": {9}}, priority=80,
      supersedes=("timed_out", "connection_refused", "network_unreachable", "temporary_dns_failure"))
def dig_no_servers(f: Failure, m: re.Match | None, p: Platform) -> Fix:
    server = f.server or FIRST_NAMESERVER
    text = f.output.lower()
    if "refused" in text:
        why = "the server is reachable but nothing listens on port 53 there (it answered 'port unreachable')"
    elif "unreachable" in text:
        why = "this machine has no route to the server"
    else:
        why = "no answer at all: the server is down, or UDP/TCP port 53 is filtered on the way"
    return Fix("dig_no_servers", f"dig got no reply from the DNS server {f.server or '(from /etc/resolv.conf)'}: {why}.",
               [Suggestion(sh("dig", "@" + PUBLIC_RESOLVER, f.target()), "safe", "try another resolver"),
                Suggestion(sh("dig", "+tcp", Raw("@" + (sh(f.server) if f.server else server.text)), f.target()),
                           "safe", "over TCP: works when only UDP 53 is blocked")],
               [sh("ping", "-c", 3, server), sh("nc", "-zv", "-w", 3, server, 53), sh("ip", "route", "get", server),
                "cat /etc/resolv.conf"])
