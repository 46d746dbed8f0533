"""`netcopilot topology ...`: learn the network from outputs people already have, then ask it
questions. Registered by the main CLI with app.add_typer(topology_app, name="topology").

Heavy modules (networkx, matplotlib, SQLAlchemy) are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

topology_app = typer.Typer(
    help=(
        "Learn the network topology from traceroute, mtr, ip route / route -n, ip neigh / arp -a, lldpctl and "
        "Cisco show cdp/lldp neighbors outputs (and flow CSVs), then ask for paths, neighbours, single points "
        "of failure and what changed."
    ),
    epilog=(
        "Examples:\n\n"
        "  traceroute 203.0.113.53 > trace.txt; ip route > routes.txt; lldpctl > lldp.txt\n\n"
        "  netcopilot topology ingest trace.txt routes.txt lldp.txt\n\n"
        "  netcopilot topology show --png topology.png\n\n"
        "  netcopilot topology path me 'dns server'\n\n"
        "  netcopilot topology changes --since 7d"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _store():  # noqa: ANN202
    from netcopilot.settings import Settings
    from netcopilot.store.db import Store

    return Store(Settings.load().database_url)


def _with_store(fn, *args: Any, **kwargs: Any) -> Any:
    """fn(store, *args, **kwargs) on a freshly opened store, closed afterwards."""
    store = _store()
    try:
        return fn(store, *args, **kwargs)
    finally:
        store.close()


def _console():  # noqa: ANN202
    from rich.console import Console

    return Console(highlight=False)


def _json(payload: Any) -> None:
    from netcopilot.topology.graph import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(payload)) + "\n")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value or "")


def _name(node: str, names: list[str] | None) -> str:
    return f"{node} ({names[0]})" if names else str(node)


@topology_app.command("ingest", epilog=(
    "Examples:\n\n"
    "  netcopilot topology ingest trace.txt routes.txt neigh.txt lldp.txt\n\n"
    "  netcopilot topology ingest sw-core-1-cdp.txt --from sw-core-1\n\n"
    "  netcopilot topology ingest flows.csv --at 2026-03-01T09:00\n\n"
    "Formats are detected from the content: traceroute, mtr --report, ip route, route -n, ip neigh, arp -a "
    "(Linux, macOS, Windows), lldpctl (also -f keyvalue), show cdp neighbors [detail], show lldp neighbors "
    "[detail], and CSV flow records with src,dst[,proto,dport,ts,bytes] columns."
))
def ingest_cmd(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Files holding command outputs, one command's output per file."),
    source: Optional[str] = typer.Option(None, "--from", help="The machine that ran the commands (default: this "
                                         "machine, 'local'; for Cisco outputs, the device in the prompt)."),
    at: Optional[str] = typer.Option(None, "--at", help="When the outputs were taken (ISO date/time; default now)."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-file summaries as JSON."),
) -> None:
    """Parse the outputs and merge them into the stored topology (nothing is written if any file is unreadable)."""
    from netcopilot.topology.graph import ingest, parse_when

    seen_at = parse_when(at) if at else None
    summaries = _with_store(ingest, files, seen_at=seen_at, local=source)
    if as_json:
        _json(summaries)
        return
    console = _console()
    for s in summaries:
        console.print(
            f"[bold]{s['source']}[/]: {s['format']}, {s['nodes']} nodes ({len(s['new_nodes'])} new, {s['updated_nodes']} "
            f"updated), {s['edges']} links ({s['new_edges']} new, {s['updated_edges']} updated)"
        )
        if s["new_nodes"]:
            shown = ", ".join(s["new_nodes"][:12]) + (f" and {len(s['new_nodes']) - 12} more" if len(s["new_nodes"]) > 12 else "")
            console.print(f"  added: {shown}", markup=False)
        for old, new in list(s["merged"].items())[:8]:
            console.print(f"  same device: {old} -> {new}", markup=False)
        for note in s["notes"][:10]:
            console.print(f"  [yellow]note:[/] {note}")
        if len(s["notes"]) > 10:
            console.print(f"  [yellow]note:[/] ... and {len(s['notes']) - 10} more")


@topology_app.command("show", epilog=(
    "Examples:\n\n"
    "  netcopilot topology show\n\n"
    "  netcopilot topology show --png topology.png --dot topology.dot\n\n"
    "  netcopilot topology show --json > topology.json"
))
def show_cmd(
    png: Optional[Path] = typer.Option(None, "--png", help="Also draw the topology to this PNG file."),
    dot: Optional[Path] = typer.Option(None, "--dot", help="Also write Graphviz DOT text to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary and the whole graph as JSON."),
    top: int = typer.Option(5, "--top", min=1, max=50, help="How many central nodes to list."),
) -> None:
    """Summarise the learned topology: counts, central nodes, single points of failure, and a table of nodes."""
    from rich.markup import escape
    from rich.table import Table

    from netcopilot.topology.graph import draw_png, graph_to_dict, load_graph, summary, to_dot

    g = _with_store(load_graph)
    info = summary(g, top)
    if png:
        draw_png(g, png)
    if dot:
        to_dot(g, dot)
    if as_json:
        _json({"summary": info, "graph": graph_to_dict(g)})
        return
    console = _console()
    if g.number_of_nodes() == 0:
        console.print("No topology learned yet: netcopilot topology ingest FILE...")
        return
    kinds = ", ".join(f"{n} {k}" for k, n in info["node_kinds"].items())
    links = ", ".join(f"{n} {k}" for k, n in info["edge_kinds"].items())
    console.print(f"[bold]{info['nodes']} nodes[/] ({kinds}); [bold]{info['edges']} links[/] (evidence: {links})",
                  markup=True)
    console.print(f"local machine: {info['local'] or '?'}   gateway: {info['gateway'] or '?'}   dns: {info['dns'] or '?'}",
                  markup=False)
    console.print("central: " + ", ".join(f"{_name(c['node'], c['names'])} ({c['betweenness']:.2f})" for c in info["central"]),
                  markup=False)
    if info["articulation_points"] or info["bridges"]:
        console.print("[bold]single points of failure[/]:")
        for p in info["articulation_points"]:
            console.print(f"  node {_name(p['node'], g.nodes[p['node']].get('names'))} ({p['kind']}): cuts off "
                          f"{len(p['cuts_off'])} - {', '.join(p['cuts_off'][:6])}{' ...' if len(p['cuts_off']) > 6 else ''}",
                          markup=False)
        for b in info["bridges"]:
            console.print(f"  link {b['a']} -- {b['b']} ({', '.join(b['kinds'])}): cuts off {len(b['cuts_off'])}", markup=False)
    else:
        console.print("single points of failure: none found")
    table = Table(title="Nodes", title_justify="left")
    for col in ("node", "kind", "names", "links", "first seen", "last seen"):
        table.add_column(col, justify="right" if col == "links" else "left")
    for node, data in sorted(g.nodes(data=True), key=lambda item: (item[1].get("kind") == "network", str(item[0]))):
        table.add_row(escape(str(node)), str(data.get("kind", "")), escape(", ".join(data.get("names", [])[:2])), str(g.degree(node)),
                      _when(data.get("first_seen")), _when(data.get("last_seen")))
    console.print(table)
    for written in (png, dot):
        if written:
            console.print(f"written to {written}", markup=False)


@topology_app.command("path", epilog=(
    "Examples:\n\n"
    "  netcopilot topology path me 'dns server'\n\n"
    "  netcopilot topology path 'my laptop' sw-core-1\n\n"
    "  netcopilot topology path gateway 203.0.113.53 --json"
))
def path_cmd(
    a: str = typer.Argument(..., help="From: an IP, host name, 'me' / 'my laptop', 'gateway', 'dns server'."),
    b: str = typer.Argument(..., help="To: the same kinds of names."),
    flows: bool = typer.Option(False, "--flows", help="Also walk flow edges (conversations, not links)."),
    as_json: bool = typer.Option(False, "--json", help="Print the path as JSON."),
) -> None:
    """The shortest known path between two nodes, hop by hop, with how each link was learned."""
    from netcopilot.topology.graph import label, load_graph, path

    g = _with_store(load_graph)
    result = path(g, a, b, include_flows=flows)
    if as_json:
        _json(result)
        raise typer.Exit(0 if result["found"] else 1)
    console = _console()
    if not result["found"]:
        console.print(f"No known path between {label(g, result['from'])} and {label(g, result['to'])}: the outputs "
                      "ingested so far do not connect them.", markup=False)
        raise typer.Exit(1)
    console.print(f"{len(result['hops'])} links ({result['hop_count']} hops) from {label(g, result['from'])} "
                  f"to {label(g, result['to'])}:", markup=False)
    console.print(f"  {label(g, result['nodes'][0])}", markup=False)
    for hop in result["hops"]:
        ports = " -> ".join(p for p in (hop["a_port"], hop["b_port"]) if p)
        extra = [", ".join(hop["kinds"])]
        if ports:
            extra.append(ports)
        if hop["rtt_ms"] is not None:
            extra.append(f"{hop['rtt_ms']:.1f} ms")
        if hop["hidden_hops"]:
            extra.append(f"{hop['hidden_hops']} silent hop(s)")
        console.print(f"  -> {label(g, hop['b'])}   [{'; '.join(extra)}]", markup=False)


@topology_app.command("neighbours", epilog=(
    "Examples:\n\n  netcopilot topology neighbours sw-core-1\n\n  netcopilot topology neighbours me --json"
))
def neighbours_cmd(
    node: str = typer.Argument(..., help="An IP, host name, 'me', 'gateway' or 'dns server'."),
    as_json: bool = typer.Option(False, "--json", help="Print the neighbours as JSON."),
) -> None:
    """The nodes linked to NODE, with how each link was learned and on which ports."""
    _neighbours(node, as_json)


@topology_app.command("neighbors", hidden=True)
def neighbors_cmd(node: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Same as `neighbours`."""
    _neighbours(node, as_json)


def _neighbours(node: str, as_json: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    from netcopilot.topology.graph import label, load_graph, neighbours, require

    g = _with_store(load_graph)
    rows = neighbours(g, node)
    me = require(g, node)
    if as_json:
        _json({"node": me, "neighbours": rows})
        return
    table = Table(title=escape(f"Neighbours of {label(g, me)}"), title_justify="left")
    for col in ("neighbour", "kind", "via", "local port", "remote port", "last seen"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(_name(r["node"], r["names"])), str(r["kind"]), ", ".join(r["via"]),
                      escape(r["local_port"] or ""), escape(r["remote_port"] or ""), _when(r["last_seen"]))
    _console().print(table)


@topology_app.command("changes", epilog=(
    "Examples:\n\n  netcopilot topology changes --since 7d\n\n  netcopilot topology changes --since 2026-03-01 --json"
))
def changes_cmd(
    since: str = typer.Option("7d", "--since", help="A duration back from now (90m, 48h, 7d, 2w), 'today', 'yesterday' or a date/time."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """What appeared since a time, and what has not been seen since then."""
    from netcopilot.topology.graph import changes_since, parse_when

    when = parse_when(since)
    changes = _with_store(changes_since, when)
    if as_json:
        _json(changes)
        return
    console = _console()
    console.print(f"Since {_when(when)} UTC ({changes['observations']} outputs ingested since then):", markup=False)
    sections = (("new nodes", changes["new_nodes"]), ("new links", changes["new_edges"]),
                ("nodes not seen since", changes["unseen_nodes"]), ("links not seen since", changes["unseen_edges"]))
    for title, items in sections:
        console.print(f"  {title}: {len(items)}", markup=False)
        for item in items[:20]:
            if "node" in item:
                text = f"{_name(item['node'], item['names'])} ({item['kind']}), last seen {_when(item['last_seen'])}"
            else:
                text = f"{item['a']} -- {item['b']} ({item['kind']}), last seen {_when(item['last_seen'])}"
            console.print(f"    {text}", markup=False)
        if len(items) > 20:
            console.print(f"    ... and {len(items) - 20} more", markup=False)
    if changes["observations"] == 0 and (changes["unseen_nodes"] or changes["unseen_edges"]):
        console.print("  (nothing was ingested since then, so 'not seen since' covers everything older)", markup=False)
