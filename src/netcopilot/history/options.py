"""Options of the common network utilities: which take a value and what each means, and a parser
that reads a stage's arguments the way the utility would.

The catalog's `flags:` explain the flags of its templates; this table covers the rest of what
people type (timeouts, counts, numeric output, ...) so `netcopilot explain` and the optimiser can
read any command line. A key is the flag, optionally with other spellings after `/`, and a
metavariable after a space when the flag takes a value: `"-c/--count N"`.

    parse_args(utility, args) -> list[Arg]
    meaning(utility, flag) -> str | None
    known_flags(utility) -> set[str]        every spelling (for typo checks)
    COMPLETE_LONG                           utilities whose long options are listed in full
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

_TABLE: dict[str, dict[str, str]] = {
    "ping": {
        "-c N": "stop after sending N echo requests", "-W SEC": "seconds to wait for each reply",
        "-w SEC": "stop after SEC seconds in total, whatever was sent", "-i SEC": "seconds between requests",
        "-I IFACE": "send from this interface or source address", "-s BYTES": "payload bytes per request",
        "-t TTL": "IP time-to-live of the requests", "-n": "numeric output only, no reverse DNS of replies",
        "-q": "print only the summary", "-4": "IPv4 only", "-6": "IPv6 only", "-f": "flood: send as fast as replies come back",
        "-M MODE": "path MTU discovery: do (don't fragment), want or dont", "-D": "timestamp each line",
        "-O": "report missing replies as they happen", "-a": "audible ping", "-v": "verbose output",
        "-b": "allow pinging a broadcast address", "-R": "record route", "-p PATTERN": "fill the payload with this pattern",
        "-Q TOS": "type-of-service bits", "-l N": "send N packets at once before waiting (preload)",
        "-A": "adaptive interval, as fast as the round trip allows",
    },
    "traceroute": {
        "-n": "numeric hops, no reverse DNS", "-w SEC": "seconds to wait for each probe's answer",
        "-q N": "probes per hop (default 3)", "-m HOPS": "maximum number of hops", "-f HOP": "first hop to probe",
        "-p PORT": "destination port (UDP base port, or the TCP port with -T)", "-T": "probe with TCP SYN",
        "-I": "probe with ICMP echo", "-U": "probe with UDP", "-i IFACE": "send through this interface",
        "-s ADDR": "source address", "-4": "IPv4 only", "-6": "IPv6 only", "-A": "look up each hop's AS number",
        "-N N": "probes sent at the same time", "-z SEC": "pause between probes", "-e": "show ICMP extensions (MPLS)",
        "--mtu": "discover the path MTU", "-F": "don't fragment",
    },
    "tracepath": {"-n": "numeric hops, no reverse DNS", "-m HOPS": "maximum number of hops", "-p PORT": "destination port",
                  "-l BYTES": "initial packet length", "-b": "print both names and addresses", "-4": "IPv4 only", "-6": "IPv6 only"},
    "mtr": {
        "-r/--report": "run a fixed number of cycles and print a report", "-w/--report-wide": "don't truncate host names in the report",
        "-c/--report-cycles N": "number of probe cycles", "-n/--no-dns": "numeric hops, no reverse DNS",
        "-b/--show-ips": "show names and addresses", "-T/--tcp": "probe with TCP SYN", "-u/--udp": "probe with UDP",
        "-P/--port PORT": "destination port for TCP/UDP probes", "-i/--interval SEC": "seconds between probes",
        "-z/--aslookup": "show each hop's AS number", "-4": "IPv4 only", "-6": "IPv6 only", "-m/--max-ttl HOPS": "maximum hops",
        "--timeout SEC": "seconds to keep a TCP probe's socket open", "-s/--psize BYTES": "packet size",
        "-j/--json": "JSON output", "-C/--csv": "CSV output", "-t/--curses": "full-screen display",
        "-e/--mpls": "show MPLS labels", "-o/--order FIELDS": "columns to show",
    },
    "dig": {
        "+short": "print only the answers", "+trace": "follow the delegation from the root servers",
        "+time=SEC": "seconds to wait for each answer", "+tries=N": "attempts per server", "+retry=N": "extra retries per server",
        "+tcp": "query over TCP", "+dnssec": "request DNSSEC records", "+noall": "turn off every output section",
        "+answer": "show the answer section", "+nssearch": "ask every authoritative server for the SOA",
        "+norecurse": "ask without recursion (what this server itself knows)", "+stats": "show query statistics",
        "+multiline": "long records on several lines", "+cd": "disable DNSSEC checking", "+identify": "name the answering server",
        "+noall +answer": "only the answer section", "+search": "use the search list from resolv.conf",
        "+ttlunits": "TTLs with units", "+nocmd": "omit the header line", "+comments": "show comment lines",
        "+subnet=ADDR": "send an EDNS client-subnet", "+https": "query over DNS-over-HTTPS", "+tls": "query over DNS-over-TLS",
        "-x ADDR": "reverse lookup of an address", "-t TYPE": "record type", "-p PORT": "server port",
        "-4": "IPv4 transport only", "-6": "IPv6 transport only", "-f FILE": "read queries from a file",
        "@": "ask this DNS server instead of the system resolver",
    },
    "nslookup": {"-type=TYPE": "record type to ask for", "-query=TYPE": "record type to ask for",
                 "-timeout=SEC": "seconds to wait for an answer", "-retry=N": "number of retries", "-port=PORT": "server port",
                 "-debug": "show the full responses"},
    "host": {"-t TYPE": "record type", "-a": "all records, verbose", "-v": "verbose output", "-W SEC": "seconds to wait",
             "-R N": "number of retries", "-4": "IPv4 transport only", "-6": "IPv6 transport only", "-T": "query over TCP"},
    "curl": {
        "-v/--verbose": "show the request, response headers and TLS handshake", "-s/--silent": "no progress meter or errors",
        "-S/--show-error": "show errors even with -s", "-I/--head": "fetch the headers only (HEAD)",
        "-i/--include": "include response headers in the output", "-L/--location": "follow redirects",
        "-o/--output FILE": "write the body to FILE", "-O/--remote-name": "save under the remote file's name",
        "-k/--insecure": "don't verify the TLS certificate", "-m/--max-time SEC": "give up after SEC seconds in total",
        "--connect-timeout SEC": "give up connecting after SEC seconds", "-w/--write-out FORMAT": "print these variables when done",
        "-x/--proxy URL": "go through this proxy", "--noproxy HOSTS": "don't use a proxy for these hosts",
        "--resolve HOST:PORT:ADDR": "use this address for the host name (skip DNS)", "-H/--header LINE": "add a request header",
        "-X/--request METHOD": "HTTP method to use", "-d/--data DATA": "send DATA in a POST body",
        "-u/--user USER:PASS": "credentials for the server", "-A/--user-agent NAME": "User-Agent header",
        "-4/--ipv4": "IPv4 only", "-6/--ipv6": "IPv6 only", "--http1.1": "use HTTP/1.1", "--http2": "use HTTP/2",
        "--retry N": "retry transient failures N times", "--retry-delay SEC": "seconds between retries",
        "-f/--fail": "exit non-zero on HTTP errors", "--cacert FILE": "trust this CA bundle",
        "-T/--upload-file FILE": "upload FILE", "-F/--form FIELD": "send a multipart form field",
        "-C/--continue-at OFFSET": "resume a transfer", "--compressed": "ask for a compressed response",
        "-b/--cookie DATA": "send cookies", "-c/--cookie-jar FILE": "save cookies to FILE", "--tlsv1.2": "TLS 1.2 or later",
        "--tlsv1.3": "TLS 1.3 or later", "--interface NAME": "send from this interface", "-N/--no-buffer": "don't buffer output",
        "--trace-ascii FILE": "full trace of the transfer", "-D/--dump-header FILE": "write the headers to FILE",
        "--limit-rate RATE": "cap the transfer speed", "-r/--range RANGE": "fetch only this byte range",
        "--data-binary DATA": "POST data exactly as given", "--json DATA": "send JSON", "-G/--get": "put -d data in the URL",
    },
    "wget": {
        "--spider": "check the URL exists without downloading", "-S/--server-response": "print the server's headers",
        "-O/--output-document FILE": "write the download to FILE (- for stdout)", "-q/--quiet": "no output",
        "-T/--timeout SEC": "network timeout in seconds", "-t/--tries N": "number of attempts (0 = forever)",
        "-c/--continue": "resume a partial download", "--no-check-certificate": "don't verify the TLS certificate",
        "-P/--directory-prefix DIR": "save into DIR", "-r/--recursive": "follow links recursively",
        "--limit-rate RATE": "cap the download speed", "-4/--inet4-only": "IPv4 only", "-6/--inet6-only": "IPv6 only",
        "--connect-timeout SEC": "seconds to wait for the connection", "--read-timeout SEC": "seconds of idle before giving up",
        "--dns-timeout SEC": "seconds to wait for DNS", "-U/--user-agent NAME": "User-Agent header",
        "--header LINE": "add a request header", "-nv/--no-verbose": "one line per download", "-b/--background": "run in the background",
    },
    "nc": {
        "-z": "only check whether the port is open, send no data", "-v": "verbose: report the connection result",
        "-w SEC": "give up after SEC seconds without a connection or data", "-u": "UDP instead of TCP",
        "-l": "listen for an incoming connection", "-p PORT": "local port", "-n": "numeric addresses, no DNS",
        "-k": "keep listening after a client leaves", "-4": "IPv4 only", "-6": "IPv6 only", "-s ADDR": "source address",
        "-N": "close the connection at end of input", "-q SEC": "quit SEC seconds after end of input",
        "-X PROTO": "proxy protocol", "-x ADDR": "proxy address", "-e PROG": "run PROG after connecting",
    },
    "ss": {
        "-t/--tcp": "TCP sockets", "-u/--udp": "UDP sockets", "-l/--listening": "listening sockets only",
        "-a/--all": "listening and connected sockets", "-n/--numeric": "numeric ports and addresses, no name lookup",
        "-p/--processes": "show the owning process", "-e/--extended": "extended details (uid, inode)",
        "-i/--info": "TCP internals (rtt, cwnd, retransmits)", "-m/--memory": "socket memory use", "-s/--summary": "totals per protocol",
        "-o/--options": "timer information", "-x/--unix": "Unix domain sockets", "-w/--raw": "raw sockets",
        "-4/--ipv4": "IPv4 only", "-6/--ipv6": "IPv6 only", "-r/--resolve": "resolve names", "-H/--no-header": "no header line",
        "-K/--kill": "forcibly close the matching sockets", "-Z/--context": "SELinux context", "-O/--oneline": "one line per socket",
        "-b/--bpf": "show BPF filters", "-E/--events": "follow socket events", "-M/--mptcp": "MPTCP sockets",
        "-N/--net NETNS": "look in this network namespace", "-f/--family FAMILY": "address family",
        "-A/--query QUERY": "socket tables to list", "-D/--diag FILE": "dump raw info to FILE", "-F/--filter FILE": "read filter from FILE",
    },
    "netstat": {"-t": "TCP", "-u": "UDP", "-l": "listening sockets only", "-a": "all sockets", "-n": "numeric, no name lookup",
                "-p": "owning process (on macOS: -p PROTO selects a protocol)", "-r": "routing table", "-i": "interface counters",
                "-s": "per-protocol statistics", "-e": "extended details", "-c": "repeat every second", "-b": "bytes per interface (macOS)",
                "-g": "multicast group memberships", "-W": "don't truncate addresses"},
    "tcpdump": {
        "-i IFACE": "capture on this interface (any = all)", "-n": "don't resolve addresses", "-nn": "don't resolve addresses or ports",
        "-c N": "stop after N packets", "-w FILE": "write raw packets to FILE", "-r FILE": "read packets from FILE",
        "-s SNAPLEN": "bytes captured per packet (0 = all)", "-v": "more detail", "-vv": "even more detail", "-e": "show link-level headers",
        "-X": "hex and ASCII of each packet", "-A": "ASCII of each packet", "-D": "list capture interfaces", "-q": "brief lines",
        "-t": "no timestamps", "-tttt": "full date and time", "-l": "line-buffered output", "-G SEC": "rotate the file every SEC seconds",
        "-C MB": "rotate the file every MB megabytes", "-W N": "number of rotated files to keep", "-p": "not in promiscuous mode",
        "-Q DIR": "direction: in, out or inout", "-U": "write each packet as it arrives", "-Z USER": "drop privileges to USER",
        "-B KB": "capture buffer size", "-F FILE": "read the filter from FILE",
    },
    "tshark": {"-i IFACE": "capture on this interface", "-n": "no name resolution", "-c N": "stop after N packets",
               "-r FILE": "read packets from FILE", "-w FILE": "write packets to FILE", "-Y FILTER": "display filter",
               "-f FILTER": "capture filter", "-q": "quiet; with -z print only statistics", "-z STAT": "statistics to compute",
               "-T FORMAT": "output format", "-e FIELD": "field to print with -T fields", "-a COND": "stop condition (duration:SEC, ...)",
               "-V": "full packet details", "-D": "list capture interfaces"},
    "ip": {"-br": "brief, one line per object", "-s": "statistics (twice for more)", "-4": "IPv4 only", "-6": "IPv6 only",
           "-d": "details", "-c": "colour output", "-j": "JSON output", "-p": "pretty JSON", "-o": "one line per record",
           "-n NETNS": "run in this network namespace", "-h": "human-readable numbers", "-r": "resolve names",
           "dev": "the interface that follows", "via": "next-hop gateway", "table": "routing table to use", "addr": "addresses",
           "address": "addresses", "link": "interfaces (layer 2)", "route": "routing table", "neigh": "neighbour (ARP/NDP) table",
           "rule": "policy routing rules", "show": "list", "add": "add", "del": "delete", "flush": "remove all matching",
           "set": "change a setting", "get": "which route a packet would take", "up": "bring up", "down": "take down",
           "mtu": "maximum packet size", "default": "the default route", "replace": "add or overwrite", "monitor": "watch for changes",
           "metric": "route preference (lower wins)", "src": "preferred source address", "scope": "address scope"},
    "iptables": {"-L/--list": "list rules", "-S/--list-rules": "print rules as commands", "-n/--numeric": "numeric, no DNS",
                 "-v/--verbose": "packet and byte counters", "-t/--table TABLE": "table (filter, nat, mangle, raw)",
                 "-A/--append CHAIN": "append a rule to CHAIN", "-I/--insert CHAIN": "insert a rule at the top of CHAIN",
                 "-D/--delete CHAIN": "delete a rule from CHAIN", "-F/--flush": "delete every rule (of the chain)",
                 "-X/--delete-chain": "delete user chains", "-P/--policy CHAIN": "set the chain's default policy",
                 "-N/--new-chain CHAIN": "create a chain", "-Z/--zero": "reset counters", "-C/--check CHAIN": "check a rule exists",
                 "-p/--protocol PROTO": "match protocol", "-s/--source ADDR": "match source", "-d/--destination ADDR": "match destination",
                 "--dport PORT": "match destination port", "--sport PORT": "match source port", "-j/--jump TARGET": "what to do with a match",
                 "-i/--in-interface IFACE": "match incoming interface", "-o/--out-interface IFACE": "match outgoing interface",
                 "-m/--match MODULE": "use a match extension", "--line-numbers": "number the rules", "-x/--exact": "exact counters",
                 "--state STATES": "match connection states", "--ctstate STATES": "match conntrack states", "-w/--wait SEC": "wait for the lock"},
    "nmap": {"-p PORTS": "ports to scan (- for all)", "-sn": "host discovery only, no port scan", "-sS": "TCP SYN scan",
             "-sT": "TCP connect scan", "-sU": "UDP scan", "-sV": "probe services for their versions", "-O": "guess the OS",
             "-A": "OS, versions, scripts and traceroute", "-Pn": "skip host discovery, treat hosts as up", "-n": "no DNS resolution",
             "-T4": "faster timing", "-T3": "normal timing", "-v": "verbose", "--top-ports N": "scan the N most common ports",
             "--script NAME": "run these NSE scripts", "-oN FILE": "normal output to FILE", "-oX FILE": "XML output to FILE",
             "-oG FILE": "greppable output to FILE", "--open": "show only open ports", "-F": "fast: the 100 most common ports",
             "--host-timeout TIME": "give up on a host after TIME", "--max-retries N": "probe retransmissions",
             "-sC": "run the default scripts", "-6": "IPv6 scan", "--reason": "say why a port has its state"},
    "ssh": {"-v": "verbose: show the connection and authentication steps", "-vvv": "most verbose", "-p PORT": "server port",
            "-i FILE": "private key to use", "-o OPTION": "a config option (e.g. ConnectTimeout=5)", "-L SPEC": "forward a local port",
            "-R SPEC": "forward a remote port", "-D PORT": "SOCKS proxy on this local port", "-N": "no remote command (forwarding only)",
            "-J HOST": "jump through this host", "-G": "print the effective configuration and exit", "-l USER": "login name",
            "-t": "force a terminal", "-T": "no terminal", "-A": "forward the agent", "-X": "forward X11", "-q": "quiet",
            "-4": "IPv4 only", "-6": "IPv6 only", "-C": "compress", "-F FILE": "config file", "-f": "go to background"},
    "scp": {"-P PORT": "server port", "-r": "copy directories recursively", "-i FILE": "private key", "-p": "keep times and modes",
            "-C": "compress", "-o OPTION": "ssh option", "-v": "verbose", "-q": "quiet", "-l KBIT": "bandwidth limit", "-3": "copy via this host"},
    "rsync": {"-a/--archive": "recursive, keeping permissions, times, links", "-v/--verbose": "list files", "-z/--compress": "compress in transit",
              "-P": "progress and keep partial files", "--progress": "show progress", "-n/--dry-run": "show what would change, change nothing",
              "--delete": "delete files on the receiver that the sender doesn't have", "-e/--rsh CMD": "remote shell (e.g. 'ssh -p 2222')",
              "-h/--human-readable": "human-readable sizes", "-r/--recursive": "recurse into directories", "--exclude PATTERN": "skip matching files",
              "--partial": "keep partially transferred files", "-c/--checksum": "compare by checksum", "--bwlimit RATE": "bandwidth limit",
              "-u/--update": "skip files newer on the receiver", "--timeout SEC": "I/O timeout", "--contimeout SEC": "connection timeout"},
    "arp": {"-a": "show all entries (BSD style)", "-n": "numeric, no DNS", "-d": "delete an entry", "-s": "add a static entry",
            "-i IFACE": "only this interface", "-e": "Linux style output", "-v": "verbose"},
    "lsof": {"-i": "network files (optionally -i :PORT, -iTCP)", "-n": "no host names", "-P": "numeric ports", "-nP": "no host or port names",
             "-p PID": "only this process", "-u USER": "only this user", "-t": "only PIDs", "-sTCP:LISTEN": "only listening TCP sockets"},
    "iperf3": {"-c HOST": "client: connect to this server", "-s": "server: wait for clients", "-p PORT": "server port",
               "-t SEC": "test length in seconds", "-R": "reverse: the server sends", "-u": "UDP test", "-b RATE": "target bitrate",
               "-P N": "parallel streams", "--bidir": "both directions at once", "-J": "JSON output", "-i SEC": "report interval",
               "-4": "IPv4 only", "-6": "IPv6 only", "--connect-timeout MS": "connection timeout in milliseconds", "-1": "serve one client, then exit"},
    "arping": {"-c N": "stop after N requests", "-I IFACE": "interface to send on", "-D": "duplicate address detection",
               "-U": "unsolicited (gratuitous) ARP", "-w SEC": "stop after SEC seconds", "-f": "stop at the first reply", "-q": "quiet"},
    "ethtool": {"-S": "NIC statistics", "-i": "driver information", "-k": "offload settings", "-K": "change offload settings",
                "-g": "ring buffer sizes", "-G": "change ring buffer sizes", "-s": "change speed/duplex/autonegotiation",
                "-m": "read the transceiver module", "-p": "blink the port LED", "-a": "pause settings", "-A": "change pause settings",
                "-l": "channel counts", "-L": "change channel counts", "-c": "interrupt coalescing", "-C": "change coalescing"},
    "journalctl": {"-u UNIT": "this unit's messages", "-f": "follow new messages", "-n N": "last N lines", "-b": "this boot only",
                   "-k": "kernel messages", "--since TIME": "from this time", "--until TIME": "up to this time",
                   "--no-pager": "print without a pager", "-g PATTERN": "only lines matching", "-p PRIORITY": "minimum priority",
                   "-e": "jump to the end", "-x": "add explanations", "-o FORMAT": "output format", "-r": "newest first"},
    "openssl": {"s_client": "open a TLS connection and show the handshake", "x509": "read a certificate",
                "-connect HOST:PORT": "server to connect to", "-servername NAME": "SNI name to send",
                "-showcerts": "print the whole chain", "-brief": "short summary", "-noout": "don't print the encoded certificate",
                "-dates": "validity dates", "-text": "everything in readable form", "-in FILE": "input file",
                "-tls1_2": "TLS 1.2 only", "-tls1_3": "TLS 1.3 only", "-starttls PROTO": "upgrade this protocol to TLS first",
                "-CAfile FILE": "trust this CA bundle", "-verify_return_error": "fail on verification errors",
                "-checkend SEC": "fail if the certificate expires within SEC seconds", "-subject": "certificate subject",
                "-issuer": "certificate issuer", "-enddate": "expiry date", "-alpn PROTOS": "offer these ALPN protocols"},
    "whois": {"-h HOST": "ask this whois server", "-p PORT": "server port", "-H": "hide legal disclaimers"},
    "sysctl": {"-w": "write a setting", "-a": "all settings", "-p FILE": "load settings from a file", "-n": "value only",
               "--system": "load every system settings file", "--pattern REGEX": "only settings matching"},
    "dhclient": {"-v": "verbose", "-r": "release the lease", "-x": "stop the client without releasing", "-4": "IPv4", "-6": "IPv6"},
}
_TABLE["ping6"] = _TABLE["ping"]
_TABLE["traceroute6"] = _TABLE["traceroute"]
_TABLE["ncat"] = {**_TABLE["nc"], "--ssl": "wrap the connection in TLS", "-lvk": "listen, verbose, keep open"}
_TABLE["ip6tables"] = _TABLE["iptables"]
_TABLE["sftp"] = _TABLE["scp"]
_TABLE["iperf"] = _TABLE["iperf3"]

# getopt-style utilities: `-tulpn` is five flags and `-c4` is `-c 4`
GETOPT = {"ping", "ping6", "traceroute", "traceroute6", "tracepath", "mtr", "curl", "wget", "nc", "ncat", "ss", "netstat",
          "tcpdump", "tshark", "ssh", "scp", "sftp", "rsync", "arp", "iperf3", "iperf", "arping", "journalctl", "host",
          "sysctl", "dhclient", "whois", "ethtool", "dmesg", "last", "lastb", "ls", "grep", "iftop"}
# getopt_long accepts any unambiguous prefix of a long option (`--spid` is `--spider`)
ABBREVIATING = {"wget", "mtr", "ss", "rsync", "iperf3", "tcpdump", "journalctl"}
# utilities whose long options this table lists in full, so a near miss is surely a typo
COMPLETE_LONG = {"curl", "wget", "mtr", "rsync", "ss", "iptables", "ip6tables", "dig"}
# the complete long option lists that are too long to explain one by one (names only)
_MORE_LONG: dict[str, str] = {
    "curl": "--anyauth --basic --digest --ntlm --negotiate --cert --key --pass --capath --crlfile --pinnedpubkey "
            "--ciphers --tls-max --tlsv1 --tlsv1.0 --tlsv1.1 --sslv3 --ssl --ssl-reqd --http1.0 --http2-prior-knowledge "
            "--http3 --ipv4 --ipv6 --dns-servers --doh-url --local-port --keepalive-time --no-keepalive --max-filesize "
            "--max-redirs --post301 --post302 --proto --proto-redir --referer --url --globoff --create-dirs --output-dir "
            "--remote-header-name --remote-name-all --trace --trace-time --stderr --progress-bar --no-progress-meter "
            "--fail-with-body --retry-max-time --retry-connrefused --retry-all-errors --speed-limit --speed-time "
            "--unix-socket --abstract-unix-socket --socks5 --socks5-hostname --socks4 --proxy-user --proxy-insecure "
            "--proxytunnel --data-urlencode --data-raw --form-string --oauth2-bearer --netrc --netrc-file --config "
            "--disable --libcurl --path-as-is --raw --tcp-nodelay --tcp-fastopen --happy-eyeballs-timeout-ms "
            "--expect100-timeout --parallel --parallel-max --write-out --variable --ca-native --etag-save --etag-compare",
    "wget": "--input-file --base --bind-address --no-clobber --progress --timestamping --no-proxy --quota "
            "--random-wait --wait --waitretry --user --password --ask-password --no-cache --cookies --load-cookies "
            "--save-cookies --post-data --post-file --method --body-data --content-disposition --ca-certificate "
            "--ca-directory --certificate --private-key --https-only --secure-protocol --mirror --level --no-parent "
            "--accept --reject --domains --page-requisites --convert-links --output-file --append-output --debug "
            "--verbose --no-host-directories --cut-dirs --max-redirect --retry-connrefused --prefer-family --inet4-only",
    "mtr": "--address --first-ttl --max-unknown --bitpattern --tos --gracetime --displaymode --split --raw --xml "
           "--no-dns --show-ips --ipinfo --filename --version --help --sctp --localport --mark --interval",
    "rsync": "--archive --links --perms --times --group --owner --devices --specials --hard-links --acls --xattrs "
             "--sparse --whole-file --one-file-system --existing --ignore-existing --remove-source-files --delete-before "
             "--delete-during --delete-after --delete-excluded --force --max-size --min-size --partial-dir --backup "
             "--backup-dir --suffix --size-only --modify-window --include --include-from --exclude-from --files-from "
             "--stats --itemize-changes --info --port --password-file --list-only --log-file --chmod --chown --inplace "
             "--append --append-verify --mkpath --relative --no-implied-dirs --safe-links --copy-links --numeric-ids",
    "ss": "--tcp --udp --listening --all --numeric --processes --extended --info --memory --summary --options --unix "
          "--raw --ipv4 --ipv6 --resolve --no-header --kill --context --oneline --bpf --events --mptcp --net --family "
          "--query --diag --filter --dccp --sctp --vsock --tipc --packet --threads --cgroup --tos --xdp --help --version",
    "iptables": "--table --append --check --delete --insert --replace --list --list-rules --flush --zero --new-chain "
                "--delete-chain --policy --rename-chain --protocol --source --destination --jump --goto --in-interface "
                "--out-interface --fragment --set-counters --verbose --wait --numeric --exact --line-numbers --modprobe "
                "--dport --sport --dports --sports --state --ctstate --to-destination --to-source --to-ports --comment "
                "--icmp-type --tcp-flags --syn --limit --limit-burst --log-prefix --log-level --reject-with --uid-owner "
                "--mac-source --src-range --dst-range --match-set --set --update --seconds --hitcount --rcheck --name",
    "dig": "+all +additional +authority +question +cmd +nocmd +nocomments +nostats +noquestion +noauthority "
           "+noadditional +norecurse +recurse +notcp +vc +novc +nodnssec +adflag +noadflag +cdflag +nocdflag +bufsize "
           "+edns +noedns +ednsopt +nsid +cookie +nocookie +expire +fail +nofail +ignore +keepopen +ndots +nssearch "
           "+onesoa +padding +qr +rrcomments +nosearch +defname +showsearch +split +ttlid +nottlid +unknownformat "
           "+yaml +zflag +besteffort +crypto +nocrypto +class +noclass +domain +header-only +opcode +sigchase +topdown "
           "+trusted-key +notrace +noshort +nomultiline +nottlunits +noidentify +badcookie +dns64prefix +rdflag +nordflag",
}
_MORE_LONG["ip6tables"] = _MORE_LONG["iptables"]


@dataclass(frozen=True)
class _Flag:
    name: str
    takes_value: bool
    meaning: str


@dataclass(frozen=True)
class Arg:
    """One parsed argument: a flag (`name` is its canonical spelling, `value` its value if any)
    or a positional word (`flag` False, `name` the word). `text` is what was typed."""
    text: str
    flag: bool
    name: str
    value: str | None = None


@lru_cache(maxsize=None)
def _flags(utility: str) -> dict[str, _Flag]:
    out: dict[str, _Flag] = {}
    for key, text in _TABLE.get(utility, {}).items():
        spellings, _, metavar = key.partition(" ")
        names = spellings.split("/")
        if "=" in names[0]:  # +time=SEC, -type=TYPE: the value is attached
            names, metavar = [n.split("=")[0] for n in names], "attached"
        flag = _Flag(names[0], bool(metavar) and metavar != "attached", text)
        for name in names:
            out.setdefault(name, flag)
    return out


@lru_cache(maxsize=None)
def known_flags(utility: str) -> frozenset[str]:
    """Every spelling of every option this module knows for `utility`."""
    return frozenset(_flags(utility)) | frozenset(_MORE_LONG.get(utility, "").split())


def meaning(utility: str, flag: str) -> str | None:
    found = _flags(utility).get(flag)
    return found.meaning if found else None


def _expand_abbreviation(utility: str, name: str) -> str:
    if utility not in ABBREVIATING or name in known_flags(utility):
        return name
    matches = sorted(f for f in known_flags(utility) if f.startswith(name) and f.startswith("--"))
    return matches[0] if len(matches) == 1 else name


def parse_args(utility: str, args: tuple[str, ...] | list[str]) -> list[Arg]:
    """Flags and positionals of one stage, read as `utility` would (unknown flags take no value)."""
    flags = _flags(utility)
    out: list[Arg] = []
    i, options_done = 0, False
    while i < len(args):
        word = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if options_done or word in ("-", "") or word[0] not in "-+@" or word[0] == "+" and utility != "dig" \
                or word[0] == "@" and utility not in ("dig", "delv", "kdig"):
            out.append(Arg(word, False, word))
        elif word == "--":
            options_done = True
        elif word[0] == "@":
            out.append(Arg(word, True, "@", word[1:]))
        elif word[0] == "+" or "=" in word:
            name, eq, value = word.partition("=")
            name = _expand_abbreviation(utility, name)
            out.append(Arg(word, True, flags[name].name if name in flags else name, value if eq else None))
        elif word.startswith("--") or utility not in GETOPT or word in flags:
            name = _expand_abbreviation(utility, word)
            known = flags.get(name)
            if known is None and not word.startswith("--"):
                known = next((f for n, f in flags.items() if f.takes_value and len(n) == 2 and word.startswith(n)), None)
                if known is not None:  # `-p80`, `-T4` on utilities that don't bundle
                    out.append(Arg(word, True, known.name, word[2:]))
                    i += 1
                    continue
            if known is not None and known.takes_value and nxt is not None:
                out.append(Arg(f"{word} {nxt}", True, known.name, nxt))
                i += 1
            else:
                out.append(Arg(word, True, known.name if known else name))
        else:
            i += _bundle(word, nxt, flags, out)
        i += 1
    return out


def _bundle(word: str, nxt: str | None, flags: dict[str, _Flag], out: list[Arg]) -> int:
    """`-tulpn` or `-c4`: getopt letters; returns 1 when the next word was consumed as a value."""
    for pos, letter in enumerate(word[1:], start=1):
        known = flags.get(f"-{letter}")
        if known is not None and known.takes_value:
            rest = word[pos + 1:]
            if rest:
                out.append(Arg(f"-{letter}{rest}", True, known.name, rest))
                return 0
            if nxt is not None:
                out.append(Arg(f"-{letter} {nxt}", True, known.name, nxt))
                return 1
        out.append(Arg(f"-{letter}", True, known.name if known else f"-{letter}"))
    return 0
