"""The learned topology as one networkx graph: ingest, load, query, draw.

    ingest(store, ["traceroute.txt", "lldpctl.txt"])            # parse + merge into the store
    g = load_graph(store)                                        # networkx.Graph
    path(g, "my laptop", "the dns server")["between"]            # what sits between them
    single_points_of_failure(g); central(g, k=5); neighbours(g, "sw-core-1")
    changes_since(store, parse_when("7d"))
    draw_png(g, "topology.png"); to_dot(g, "topology.dot")

The graph is simple and undirected: one edge per pair of nodes, whose `kinds` lists every kind of
evidence for it (lldp, cdp, l2, hop, route, flow; the first is `kind`), `by_kind` keeps each one's
attributes and times, `ports` maps each endpoint to its interface. Nodes carry kind, names,
addresses, mac, platform, first_seen and last_seen. g.graph["local"] is the user's machine and
g.graph["gateways"] its default-route next hops. Flow-only edges (conversations, not links) are
left out of paths, single points of failure and centrality.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import networkx as nx

from netcopilot.errors import InputError
from netcopilot.topology.parsers import LOCAL, Observations, is_ip, parse_file
from netcopilot.topology.store import TopologyState, network_of, record_observations, topology_rows, utc

EDGE_ORDER = ("lldp", "cdp", "l2", "hop", "route", "flow")  # strongest evidence of a physical link first
KIND_COLOURS = {
    "local": "#2ca02c", "gateway": "#d62728", "router": "#ff7f0e", "switch": "#1f77b4", "dns": "#9467bd",
    "host": "#8fbce6", "ap": "#17becf", "phone": "#bcbd22", "network": "#d9d9d9", "unknown": "#b0b0b0",
}


# --- building ----------------------------------------------------------------------------------


def ingest(store: Any, paths: Iterable[str | Path | Observations], seen_at: datetime | None = None,
           local: str | None = None) -> list[dict[str, Any]]:
    """Parse every file (all before anything is written: one bad file writes nothing), merge them
    into the store as observed at `seen_at` (default now); one summary per file: format, new
    nodes, updated counts, merged aliases and notes. Parsed Observations (e.g. from
    from_connections) may be passed instead of paths."""
    parsed = [p if isinstance(p, Observations) else parse_file(p, local=local) for p in paths]
    return record_observations(store, parsed, seen_at)


def build_graph(observations: Iterable[Observations], seen_at: datetime | None = None) -> nx.Graph:
    """The graph of some parsed outputs without a store (same merge rules)."""
    state = TopologyState()
    when = seen_at or datetime.now(timezone.utc)
    for obs in observations:
        state.apply(obs, when)
    nodes = [{"node_id": nid, **rec} for nid, rec in sorted(state.nodes.items())]
    edges = [{"a": a, "b": b, "kind": kind, **rec} for (a, b, kind), rec in sorted(state.edges.items())]
    return graph_from_rows(nodes, edges)


def load_graph(store: Any) -> nx.Graph:
    """The stored topology as a networkx.Graph."""
    nodes, edges = topology_rows(store)
    return graph_from_rows(nodes, edges)


def graph_from_rows(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> nx.Graph:
    g = nx.Graph()
    for row in nodes:
        attrs = {k: v for k, v in row["attrs"].items() if k not in ("kind", "first_seen", "last_seen")}
        g.add_node(row["node_id"], **attrs, kind=row["kind"], first_seen=row["first_seen"], last_seen=row["last_seen"])
    for row in edges:
        a, b, kind = row["a"], row["b"], row["kind"]
        if a not in g or b not in g:
            continue
        if not g.has_edge(a, b):
            g.add_edge(a, b, kinds=[], by_kind={}, ports={}, first_seen=row["first_seen"], last_seen=row["last_seen"],
                       sources=0)
        data = g.edges[a, b]
        data["by_kind"][kind] = {**row["attrs"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                                 "sources": row["sources"]}
        data["kinds"] = sorted(data["by_kind"], key=lambda k: EDGE_ORDER.index(k) if k in EDGE_ORDER else len(EDGE_ORDER))
        data["kind"] = data["kinds"][0]
        data["first_seen"] = min(data["first_seen"], row["first_seen"])
        data["last_seen"] = max(data["last_seen"], row["last_seen"])
        data["sources"] += row["sources"]
    for a, b, data in g.edges(data=True):
        ports: dict[str, str] = {}
        for kind in reversed(data["kinds"]):  # the strongest evidence names the ports
            ports.update(data["by_kind"][kind].get("ports") or {})
        data["ports"] = ports
        hop = data["by_kind"].get("hop", {})
        if "rtt_ms" in hop:
            data["rtt_ms"] = hop["rtt_ms"]
        hidden = int(hop.get("hidden_hops", 0) or 0) if data["kinds"] == ["hop"] else 0
        if hidden:
            data["hidden_hops"] = hidden
        # hops first; among equally short paths prefer links with stronger and more frequent evidence
        rank = EDGE_ORDER.index(data["kind"]) if data["kind"] in EDGE_ORDER else len(EDGE_ORDER)
        data["weight"] = 1 + hidden + 0.001 * rank + 0.0001 / max(1, data["sources"])
    g.graph["local"] = LOCAL if LOCAL in g else next((n for n, d in g.nodes(data=True) if d.get("local")), None)
    g.graph["gateways"] = _gateways(g)
    return g


def _gateways(g: nx.Graph) -> list[str]:
    local = g.graph.get("local")
    found = []
    for a, b, data in g.edges(data=True):
        route = data["by_kind"].get("route")
        if route and route.get("default"):
            other = b if a == local else a if b == local else None
            if other is not None:
                found.append((route["last_seen"], other))
    return [node for _, node in sorted(found, reverse=True)]


def physical(g: nx.Graph) -> nx.Graph:
    """A view without the flow-only edges (conversations are not links)."""
    return nx.subgraph_view(g, filter_edge=lambda a, b: g.edges[a, b]["kinds"] != ["flow"])


# --- resolving a user's words to a node -----------------------------------------------------------

_ME = re.compile(
    r"^(?:me|myself|i|here|local|localhost|us|this (?:machine|host|computer|box|laptop|pc|server|device|workstation)"
    r"|my (?:own )?(?:laptop|machine|computer|pc|host|workstation|desktop|mac|macbook|box|device|server|vm))$"
)
_GATEWAY = re.compile(r"^(?:(?:my|our|the) )?(?:default[ -])?(?:gateway|gw|router|default route|internet router)$")
_DNS = re.compile(r"^(?:(?:my|our|the) )?(?:dns(?: server| resolver)?s?|name ?servers?|resolvers?)$")


def _clean(text: str) -> str:
    text = re.sub(r"[?!,;\"'`]+", " ", text.strip().lower())
    text = re.sub(r"\s+", " ", text).strip(" .")
    return re.sub(r"^the ", "", text)


def gateway(g: nx.Graph) -> str | None:
    """The default-route next hop; else a node of kind gateway (one next to the local node first)."""
    if g.graph.get("gateways"):
        return g.graph["gateways"][0]
    local = g.graph.get("local")
    candidates = [n for n, d in g.nodes(data=True) if d.get("kind") == "gateway"]
    candidates.sort(key=lambda n: (not (local and g.has_edge(local, n)), n))
    return candidates[0] if candidates else None


def dns_server(g: nx.Graph) -> str | None:
    """A node known to serve DNS (kind dns or the dns role): the most recently seen, then the best connected."""
    found = [n for n, d in g.nodes(data=True) if d.get("kind") == "dns" or "dns" in (d.get("roles") or [])]
    found.sort(key=lambda n: (g.nodes[n]["last_seen"], g.degree(n)), reverse=True)
    return found[0] if found else None


def resolve(g: nx.Graph, text: str) -> str | None:
    """The node a user means: an exact id, host name (full or short), IP address (or the network
    holding it), 'me' / 'my laptop' / 'this machine' (the local node), 'gateway' / 'default
    gateway' (the default-route next hop), 'dns server' (a node of kind dns); None if unknown."""
    if not text or not text.strip():
        return None
    if text in g:
        return text
    cleaned = _clean(text)
    if _ME.match(cleaned):
        return g.graph.get("local")
    if _GATEWAY.match(cleaned):
        return gateway(g)
    if _DNS.match(cleaned):
        return dns_server(g)
    found = _lookup(g, cleaned)
    if found:
        return found
    for token in re.findall(r"[\w.:/-]+", cleaned):  # "the switch sw-core-1", "server 203.0.113.53"
        token = token.strip(".:-/")
        if len(token) >= 2 and token not in ("the", "my", "switch", "router", "server", "host"):
            found = _lookup(g, token)
            if found:
                return found
    return None


def _lookup(g: nx.Graph, word: str) -> str | None:
    ip = None
    try:
        ip = str(ipaddress.ip_address(word.split("%", 1)[0]))
    except ValueError:
        pass
    exact: list[str] = []
    short: list[str] = []
    for node, data in g.nodes(data=True):
        keys = [str(node).lower(), *(str(n).lower() for n in data.get("names", [])),
                *(str(a).lower() for a in data.get("addresses", []))]
        if word in keys or (ip and ip in keys):
            exact.append(node)
        elif not ip and any(k.split(".", 1)[0] == word for k in keys if not is_ip(k) and "/" not in k):
            short.append(node)
    for candidates in (exact, short):
        if candidates:
            return sorted(candidates, key=lambda n: (n != LOCAL, not is_ip(n), n))[0]
    if ip:
        return network_of(ip, [n for n, d in g.nodes(data=True) if d.get("kind") == "network"])
    return None


def require(g: nx.Graph, text: str) -> str:
    """resolve() or an InputError naming the closest known nodes."""
    node = resolve(g, text)
    if node is not None:
        return node
    if g.number_of_nodes() == 0:
        raise InputError("no topology learned yet: ingest some outputs first (netcopilot topology ingest FILE...)")
    labels = {str(n).lower(): str(n) for n in g}
    for n, d in g.nodes(data=True):
        for name in d.get("names", []):
            labels.setdefault(str(name).lower(), str(name))
    close = difflib.get_close_matches(_clean(text), list(labels), n=3, cutoff=0.5)
    hint = f" (closest: {', '.join(labels[c] for c in close)})" if close else ""
    cleaned = _clean(text)
    for pattern, what in ((_ME, "no local machine"), (_GATEWAY, "no default gateway"), (_DNS, "no DNS server")):
        if pattern.match(cleaned):
            raise InputError(f"{what} is known in the learned topology (ingest ip route / traceroute output){hint}")
    raise InputError(f"no node in the learned topology matches {text!r}{hint}")


def label(g: nx.Graph, node: str) -> str:
    """'10.0.0.2 (sw-access-3.corp.example)', 'local (laptop-ana)', or the id alone."""
    names = g.nodes[node].get("names") or []
    return f"{node} ({names[0]})" if names else str(node)


# --- queries -----------------------------------------------------------------------------------


def neighbours(g: nx.Graph, node: str) -> list[dict[str, Any]]:
    """The nodes linked to `node` (any words resolve() understands), with how and on which ports."""
    me = require(g, node)
    out = []
    for other in g.neighbors(me):
        data = g.edges[me, other]
        out.append({
            "node": other, "kind": g.nodes[other].get("kind"), "names": list(g.nodes[other].get("names", [])),
            "via": list(data["kinds"]), "local_port": data["ports"].get(me), "remote_port": data["ports"].get(other),
            "rtt_ms": data.get("rtt_ms"), "last_seen": data["last_seen"],
        })
    out.sort(key=lambda r: (EDGE_ORDER.index(r["via"][0]) if r["via"][0] in EDGE_ORDER else 9, str(r["node"])))
    return out


def path(g: nx.Graph, a: str, b: str, include_flows: bool = False) -> dict[str, Any]:
    """The shortest path by hops (silent traceroute hops count) between two nodes, with each
    link's kinds and ports; `between` is what sits in the middle. found=False when the learned
    topology does not connect them."""
    src, dst = require(g, a), require(g, b)
    view = g if include_flows else physical(g)
    result: dict[str, Any] = {"from": src, "to": dst, "found": False, "nodes": [], "between": [], "hops": [],
                              "hop_count": 0}
    try:
        nodes = nx.shortest_path(view, src, dst, weight="weight")
    except nx.NetworkXNoPath:
        return result
    hops = []
    for x, y in zip(nodes, nodes[1:]):
        data = g.edges[x, y]
        hops.append({"a": x, "b": y, "kinds": list(data["kinds"]), "a_port": data["ports"].get(x),
                     "b_port": data["ports"].get(y), "rtt_ms": data.get("rtt_ms"),
                     "hidden_hops": data.get("hidden_hops", 0)})
    result.update(found=True, nodes=nodes, between=nodes[1:-1], hops=hops,
                  hop_count=sum(1 + h["hidden_hops"] for h in hops))
    return result


def _simple(g: nx.Graph) -> nx.Graph:
    h = nx.Graph()
    h.add_nodes_from(g.nodes)
    h.add_edges_from(physical(g).edges)
    return h


def single_points_of_failure(g: nx.Graph) -> dict[str, list[dict[str, Any]]]:
    """Articulation points and bridges of the physical topology (flows left out), each with the
    devices its failure cuts off from the rest of its part of the network. Trivialities are left
    out: network prefixes (routing entries, not devices) are never reported, nor a node whose
    failure strands only prefixes, nor a bridge that cuts off a single device (that is just the
    device's only link), nor the local machine and its own links (what only it observed hangs
    off it by construction)."""
    h = _simple(g)
    local = g.graph.get("local")
    is_net = {n: g.nodes[n].get("kind") == "network" for n in h}
    points = []
    for node in nx.articulation_points(h):
        if is_net[node] or node == local:
            continue
        component = nx.node_connected_component(h, node) - {node}
        parts = sorted(nx.connected_components(h.subgraph(component)), key=lambda c: (local in c, len(c)), reverse=True)
        cut = sorted(n for part in parts[1:] for n in part if not is_net[n])
        if cut:
            points.append({"node": node, "kind": g.nodes[node].get("kind"), "cuts_off": cut})
    bridges = []
    for a, b in nx.bridges(h):
        if local in (a, b):
            continue
        h.remove_edge(a, b)
        side_a, side_b = nx.node_connected_component(h, a), nx.node_connected_component(h, b)
        h.add_edge(a, b)
        cut_side = side_b if local in side_a else side_a if local in side_b else min(side_a, side_b, key=len)
        devices = sorted(n for n in cut_side if not is_net[n])
        if len(devices) >= 2:
            bridges.append({"a": a, "b": b, "kinds": list(g.edges[a, b]["kinds"]), "cuts_off": devices})
    points.sort(key=lambda p: (-len(p["cuts_off"]), str(p["node"])))
    bridges.sort(key=lambda p: (-len(p["cuts_off"]), str(p["a"]), str(p["b"])))
    return {"articulation_points": points, "bridges": bridges}


def central(g: nx.Graph, k: int = 5) -> list[dict[str, Any]]:
    """The k most central devices: betweenness centrality on the physical topology (sampled above
    300 nodes), ties broken by degree."""
    h = _simple(g)
    if h.number_of_nodes() == 0:
        return []
    n = h.number_of_nodes()
    between = nx.betweenness_centrality(h, k=300 if n > 300 else None, seed=0, normalized=True)
    ranked = sorted((node for node in h if g.nodes[node].get("kind") != "network"),
                    key=lambda node: (-between[node], -h.degree(node), str(node)))
    return [{"node": node, "kind": g.nodes[node].get("kind"), "names": list(g.nodes[node].get("names", [])),
             "betweenness": round(between[node], 4), "degree": h.degree(node)} for node in ranked[:k]]


def summary(g: nx.Graph, k: int = 5) -> dict[str, Any]:
    edge_kinds: Counter[str] = Counter()
    for _, _, data in g.edges(data=True):
        edge_kinds.update(data["kinds"])
    return {
        "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
        "node_kinds": dict(Counter(d.get("kind", "unknown") for _, d in g.nodes(data=True)).most_common()),
        "edge_kinds": dict(edge_kinds.most_common()),
        "local": g.graph.get("local"), "gateway": gateway(g), "dns": dns_server(g),
        "central": central(g, k), **single_points_of_failure(g),
    }


_SINCE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.I)


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """'7d', '48h', '2w', '90m' (ago), 'today', 'yesterday' (UTC midnight) or a date / ISO time
    ('2026-03-01', '2026-03-01T12:00+01:00'; naive times are UTC) -> aware UTC."""
    now = utc(now or datetime.now(timezone.utc))
    word = (text or "").strip().lower()
    if word in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1 if word == "yesterday" else 0)
    m = _SINCE.match(text or "")
    if m:
        amount, unit = int(m[1]), m[2].lower()
        step = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1),
                "d": timedelta(days=1), "w": timedelta(weeks=1)}[unit]
        return now - amount * step
    try:
        when = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--since {text!r}: expected a duration like 7d, 48h, 2w, 'yesterday' or a date like 2026-03-01") from None
    return utc(when)


def changes_since(store: Any, when: datetime) -> dict[str, Any]:
    """Nodes and edges first seen after `when`, and those not seen since `when` (meaningful when
    something was ingested after it: see `observations`)."""
    from netcopilot.topology.store import observation_rows

    when = utc(when)
    nodes, edges = topology_rows(store)
    observed = [o for o in observation_rows(store) if o["seen_at"] > when]

    def node(r: dict[str, Any]) -> dict[str, Any]:
        return {"node": r["node_id"], "kind": r["kind"], "names": list(r["attrs"].get("names", [])),
                "first_seen": r["first_seen"], "last_seen": r["last_seen"]}

    def edge(r: dict[str, Any]) -> dict[str, Any]:
        return {"a": r["a"], "b": r["b"], "kind": r["kind"], "first_seen": r["first_seen"], "last_seen": r["last_seen"]}

    return {
        "since": when, "observations": len(observed),
        "new_nodes": [node(r) for r in nodes if r["first_seen"] > when],
        "new_edges": [edge(r) for r in edges if r["first_seen"] > when],
        "unseen_nodes": [node(r) for r in nodes if r["last_seen"] <= when],
        "unseen_edges": [edge(r) for r in edges if r["last_seen"] <= when],
    }


def to_jsonable(value: Any) -> Any:
    """datetimes to ISO text, sets/tuples to lists, recursively."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return value


def graph_to_dict(g: nx.Graph) -> dict[str, Any]:
    return to_jsonable({
        "nodes": [{"id": n, **d} for n, d in g.nodes(data=True)],
        "edges": [{"a": a, "b": b, **{k: v for k, v in d.items() if k != "weight"}} for a, b, d in g.edges(data=True)],
        "local": g.graph.get("local"), "gateways": g.graph.get("gateways", []),
    })


# --- drawing -----------------------------------------------------------------------------------


def _display(g: nx.Graph, node: str) -> str:
    names = g.nodes[node].get("names") or []
    if node == LOCAL:
        return f"local\n{names[0]}" if names else "local"
    if names:
        short = str(names[0]) if is_ip(str(names[0])) else str(names[0]).split(".", 1)[0]
        return f"{short}\n{node}" if is_ip(str(node)) else short
    return str(node)


def _colour(g: nx.Graph, node: str) -> str:
    kind = "local" if node == g.graph.get("local") else g.nodes[node].get("kind", "unknown")
    return KIND_COLOURS.get(kind, KIND_COLOURS["unknown"])


def _port_label(data: dict[str, Any], a: str, b: str) -> str:
    pa, pb = data["ports"].get(a), data["ports"].get(b)
    return " - ".join(p for p in (pa, pb) if p) if (pa or pb) else ""


def draw_png(g: nx.Graph, path: str | Path, title: str | None = None) -> Path:
    """Draw the topology to a PNG: nodes coloured by kind, single points of failure ringed in red,
    flows dashed, interface names on the links when there are few."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    path = Path(path)
    n = g.number_of_nodes()
    size = min(22.0, 7.0 + 0.18 * n)
    fig = Figure(figsize=(size, size * 0.75), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    ax.set_title(title or f"netcopilot topology: {n} nodes, {g.number_of_edges()} links", fontsize=12)
    if n == 0:
        ax.text(0.5, 0.5, "no topology learned yet", ha="center", va="center", fontsize=14, transform=ax.transAxes)
        fig.savefig(path, format="png")
        return path
    pos = _layout(g)
    spof = {p["node"] for p in single_points_of_failure(g)["articulation_points"]}
    nodes = list(g.nodes)
    nx.draw_networkx_nodes(
        g, pos, ax=ax, nodelist=nodes, node_color=[_colour(g, v) for v in nodes],
        node_size=[260 + 70 * min(g.degree(v), 12) for v in nodes],
        edgecolors=["#c00000" if v in spof else "#404040" for v in nodes],
        linewidths=[3.0 if v in spof else 0.8 for v in nodes],
        node_shape="o",
    )
    styles = {"flow": ("dashed", "#9e9e9e", 1.0), "route": ("dotted", "#7f7f7f", 1.2), "hop": ("solid", "#8c8c8c", 1.4),
              "l2": ("solid", "#5b8db8", 1.4), "lldp": ("solid", "#333333", 2.4), "cdp": ("solid", "#333333", 2.4)}
    by_style: dict[str, list[tuple[str, str]]] = {}
    for a, b, data in g.edges(data=True):
        by_style.setdefault(data["kind"], []).append((a, b))
    for kind, edgelist in by_style.items():
        style, colour, width = styles.get(kind, ("solid", "#8c8c8c", 1.0))
        nx.draw_networkx_edges(g, pos, ax=ax, edgelist=edgelist, style=style, edge_color=colour, width=width,
                               node_size=400)
    nx.draw_networkx_labels(g, pos, ax=ax, labels={v: _display(g, v) for v in nodes}, font_size=7 if n > 40 else 8)
    ports = {(a, b): _port_label(d, a, b) for a, b, d in g.edges(data=True) if _port_label(d, a, b)}
    if 0 < len(ports) <= 30:
        nx.draw_networkx_edge_labels(g, pos, ax=ax, edge_labels=ports, font_size=6, rotate=False,
                                     bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    kinds = sorted({"local" if v == g.graph.get("local") else g.nodes[v].get("kind", "unknown") for v in nodes})
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=KIND_COLOURS.get(k, "#b0b0b0"),
                      markeredgecolor="#404040", label=k) for k in kinds]
    if spof:
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor="white",
                              markeredgecolor="#c00000", markeredgewidth=2.5, label="single point of failure"))
    handles += [Line2D([], [], linestyle=styles[k][0], color=styles[k][1], linewidth=styles[k][2], label=k)
                for k in EDGE_ORDER if k in by_style]
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False, ncol=2)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _layout(g: nx.Graph) -> dict[str, Any]:
    if g.number_of_nodes() <= 150:
        try:
            import scipy  # noqa: F401  (kamada-kawai needs it)

            if nx.is_connected(g):
                return nx.kamada_kawai_layout(g)
            return nx.kamada_kawai_layout(g, pos=nx.spring_layout(g, seed=7))
        except ImportError:
            pass
    return nx.spring_layout(g, seed=7, k=1.5 / max(1, g.number_of_nodes()) ** 0.5)


def _dot_quote(text: Any) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: nx.Graph, path: str | Path | None = None) -> str:
    """Graphviz DOT text of the topology (written to `path` when given); render with
    `dot -Tsvg` or `neato -Tpng`."""
    spof = {p["node"] for p in single_points_of_failure(g)["articulation_points"]}
    shapes = {"router": "ellipse", "gateway": "doubleoctagon", "switch": "box", "network": "note", "dns": "cylinder"}
    lines = [
        "graph topology {",
        "  graph [overlap=false, splines=true];",
        '  node [style=filled, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    for node, data in sorted(g.nodes(data=True), key=lambda item: str(item[0])):
        attrs = {"label": _display(g, node), "fillcolor": _colour(g, node),
                 "shape": shapes.get(data.get("kind", ""), "ellipse"), "tooltip": data.get("kind", "unknown")}
        if node in spof:
            attrs.update(color="#c00000", penwidth="3")
        lines.append(f"  {_dot_quote(node)} [" + ", ".join(f"{k}={_dot_quote(v)}" for k, v in attrs.items()) + "];")
    for a, b, data in sorted(g.edges(data=True), key=lambda item: (str(item[0]), str(item[1]))):
        attrs = {"tooltip": ", ".join(data["kinds"])}
        port = _port_label(data, a, b)
        if port:
            attrs["label"] = port
        if data["kind"] == "flow":
            attrs["style"] = "dashed"
        elif data["kind"] == "route":
            attrs["style"] = "dotted"
        elif data["kind"] in ("lldp", "cdp"):
            attrs["penwidth"] = "2"
        lines.append(f"  {_dot_quote(a)} -- {_dot_quote(b)} [" + ", ".join(f"{k}={_dot_quote(v)}" for k, v in attrs.items())
                     + "];")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
