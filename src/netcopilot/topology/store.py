"""The learned topology in the store, and the rules that merge new observations into it.

    summaries = record_observations(store, [parse_file("traceroute.txt")], seen_at)
    nodes, edges = topology_rows(store)

Merging: an observed node joins an existing one when they share an id, a host name or an address
(a short host name joins a full one when that is unambiguous); two stored nodes that one
observation shows to be the same device are merged, the survivor being `local`, else the one
whose id is an IP address, else the older one. Attributes are merged (lists united, dicts
merged, other values replaced), the kind only ever gets more specific, first_seen is the
earliest observation and last_seen the latest. Every edge is undirected (a < b); `sources`
counts the ingested outputs that showed it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from netcopilot.store.db import Store
from netcopilot.store.models import TopologyEdge, TopologyNode, TopologyObservation
from netcopilot.topology.parsers import LOCAL, Node, Observations, edge_key, is_ip, stronger_kind

EdgeKey = tuple[str, str, str]


def utc(when: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive datetimes, which are UTC here)."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def merge_attrs(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A new dict: lists united (order kept), dicts merged, other values replaced by the new ones."""
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_attrs(out[key], value)
        else:
            out[key] = value
    return out


def _short(name: str) -> str | None:
    if is_ip(name) or "/" in name or "." not in name:
        return None
    return name.split(".", 1)[0].lower() or None


def _tidy(node_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """No node lists its own id among its names or addresses."""
    for key in ("names", "addresses"):
        if isinstance(attrs.get(key), list) and node_id in attrs[key]:
            attrs = {**attrs, key: [v for v in attrs[key] if v != node_id]}
            if not attrs[key]:
                del attrs[key]
    return attrs


def _keys(node_id: str, attrs: dict[str, Any]) -> list[str]:
    keys = [node_id.lower()]
    keys += [str(n).lower() for n in attrs.get("names", [])]
    keys += [str(a).lower() for a in attrs.get("addresses", [])]
    return list(dict.fromkeys(keys))


def _rank(node_id: str) -> int:
    """Which id survives a merge: local, then an IP address, then anything else."""
    return 0 if node_id == LOCAL else 1 if is_ip(node_id) else 2


@dataclass
class TopologyState:
    """Nodes and edges as plain records, with the identity index; tracks what changed."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> kind, attrs, first_seen, last_seen
    edges: dict[EdgeKey, dict[str, Any]] = field(default_factory=dict)  # key -> attrs, first_seen, last_seen, sources
    dirty_nodes: set[str] = field(default_factory=set)
    dirty_edges: set[EdgeKey] = field(default_factory=set)
    removed_nodes: set[str] = field(default_factory=set)
    removed_edges: set[EdgeKey] = field(default_factory=set)
    _strong: dict[str, str] = field(default_factory=dict)
    _short: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node_id in self.nodes:
            self._index(node_id)

    # identity ----------------------------------------------------------------------------

    def _index(self, node_id: str) -> None:
        record = self.nodes[node_id]
        for key in _keys(node_id, record["attrs"]):
            self._strong.setdefault(key, node_id)
        for name in [node_id, *record["attrs"].get("names", [])]:
            short = _short(str(name))
            if short:
                self._short.setdefault(short, set()).add(node_id)

    def _unindex(self, node_id: str) -> None:
        for key in [k for k, v in self._strong.items() if v == node_id]:
            del self._strong[key]
        for ids in self._short.values():
            ids.discard(node_id)

    def find(self, node: Node) -> list[str]:
        """Existing node ids the observed node is: those sharing an id, name or address; failing
        that, the one node whose host name matches a short name (sw1 ~ sw1.corp.example)."""
        found = [self._strong[k] for k in _keys(node.id, node.attrs) if k in self._strong]
        if found:
            return list(dict.fromkeys(found))
        for name in [node.id, *node.attrs.get("names", [])]:
            name = str(name)
            if is_ip(name) or "/" in name:
                continue
            ids = set(self._short.get(name.lower(), ()))
            short = _short(name)
            if short:
                ids |= self._short.get(short, set())
                if short in self._strong:
                    ids.add(self._strong[short])
            if len(ids) == 1:
                return list(ids)
        return []

    # merging -----------------------------------------------------------------------------

    def merge_node(self, old: str, into: str) -> None:
        """Fold node `old` into node `into`: attributes, kind, times and edges."""
        if old == into or old not in self.nodes or into not in self.nodes:
            return
        gone, keep = self.nodes.pop(old), self.nodes[into]
        self._unindex(old)
        self._unindex(into)
        alias = {"addresses": [old]} if is_ip(old) else {"names": [old]} if "/" not in old else {}
        keep["attrs"] = _tidy(into, merge_attrs(merge_attrs(keep["attrs"], gone["attrs"]), alias))
        keep["kind"] = stronger_kind(keep["kind"], gone["kind"])
        keep["first_seen"] = min(keep["first_seen"], gone["first_seen"])
        keep["last_seen"] = max(keep["last_seen"], gone["last_seen"])
        self.removed_nodes.add(old)
        self.dirty_nodes.discard(old)
        self.dirty_nodes.add(into)
        self._index(into)
        for key in [k for k in self.edges if old in k[:2]]:
            record = self.edges.pop(key)
            self.dirty_edges.discard(key)
            self.removed_edges.add(key)
            a, b = (into if x == old else x for x in key[:2])
            if a == b:
                continue
            ports = record["attrs"].get("ports")
            if isinstance(ports, dict) and old in ports:
                record = {**record, "attrs": {**record["attrs"], "ports": {(into if k == old else k): v for k, v in ports.items()}}}
            new_key = edge_key(a, b, key[2])
            existing = self.edges.get(new_key)
            if existing is not None:
                record = {
                    "attrs": merge_attrs(record["attrs"], existing["attrs"]),
                    "first_seen": min(record["first_seen"], existing["first_seen"]),
                    "last_seen": max(record["last_seen"], existing["last_seen"]),
                    "sources": max(record["sources"], existing["sources"]),
                }
            self.edges[new_key] = record
            self.removed_edges.discard(new_key)
            self.dirty_edges.add(new_key)

    def apply(self, obs: Observations, seen_at: datetime) -> dict[str, Any]:
        """Merge one file's observations; returns what was added, updated and merged."""
        seen_at = utc(seen_at)
        mapping: dict[str, str] = {}
        new_nodes: list[str] = []
        updated_nodes: set[str] = set()
        merged: dict[str, str] = {}
        for node in obs.nodes.values():
            candidates = self.find(node)
            if node.id == LOCAL or node.id in self.nodes:
                candidates = [node.id, *[c for c in candidates if c != node.id]]
            target = min(candidates, key=lambda c: (_rank(c), candidates.index(c))) if candidates else node.id
            if node.id == LOCAL:
                target = LOCAL
            mapping[node.id] = target
            if target != node.id:
                merged[node.id] = target
            attrs = node.attrs
            if target != node.id and node.id != LOCAL:
                alias = {"addresses": [node.id]} if is_ip(node.id) else {"names": [node.id]} if "/" not in node.id else {}
                attrs = merge_attrs(attrs, alias)
            record = self.nodes.get(target)
            if record is None:
                self.nodes[target] = {"kind": node.kind, "attrs": _tidy(target, dict(attrs)), "first_seen": seen_at,
                                      "last_seen": seen_at}
                self.removed_nodes.discard(target)
                new_nodes.append(target)
            else:
                self._unindex(target)
                record["attrs"] = _tidy(target, merge_attrs(record["attrs"], attrs))
                record["kind"] = stronger_kind(record["kind"], node.kind)
                record["first_seen"] = min(record["first_seen"], seen_at)
                record["last_seen"] = max(record["last_seen"], seen_at)
                updated_nodes.add(target)
            self.dirty_nodes.add(target)
            self._index(target)
            for other in candidates:  # stored nodes this observation shows to be the same device
                if other != target and other in self.nodes:
                    self.merge_node(other, target)
                    merged[other] = target
                    for observed, mapped in mapping.items():
                        if mapped == other:
                            mapping[observed] = target
        new_edges = updated_edges = 0
        for edge in obs.edges.values():
            a, b = mapping.get(edge.a, edge.a), mapping.get(edge.b, edge.b)
            if a == b or a not in self.nodes or b not in self.nodes:
                continue
            attrs = edge.attrs
            if isinstance(attrs.get("ports"), dict):
                attrs = {**attrs, "ports": {mapping.get(k, k): v for k, v in attrs["ports"].items()}}
            key = edge_key(a, b, edge.kind)
            record = self.edges.get(key)
            if record is None:
                self.edges[key] = {"attrs": dict(attrs), "first_seen": seen_at, "last_seen": seen_at, "sources": 1}
                new_edges += 1
            else:
                record["attrs"] = merge_attrs(record["attrs"], attrs)
                record["first_seen"] = min(record["first_seen"], seen_at)
                record["last_seen"] = max(record["last_seen"], seen_at)
                record["sources"] = record["sources"] + 1
                updated_edges += 1
            self.removed_edges.discard(key)
            self.dirty_edges.add(key)
        return {
            "source": obs.source, "format": obs.format, "local": mapping.get(obs.local or "", obs.local),
            "nodes": len(obs.nodes), "edges": len(obs.edges),
            "new_nodes": [n for n in new_nodes if n in self.nodes], "updated_nodes": len(updated_nodes - set(new_nodes)),
            "new_edges": new_edges, "updated_edges": updated_edges,
            "merged": {k: v for k, v in merged.items() if k != v}, "notes": list(obs.notes),
        }


# --- the store ---------------------------------------------------------------------------------


def _load(session: Any) -> tuple[TopologyState, dict[str, TopologyNode], dict[EdgeKey, TopologyEdge]]:
    node_rows = {row.node_id: row for row in session.scalars(select(TopologyNode))}
    edge_rows = {(row.a, row.b, row.kind): row for row in session.scalars(select(TopologyEdge))}
    state = TopologyState(
        nodes={nid: {"kind": row.kind, "attrs": dict(row.attrs or {}), "first_seen": utc(row.first_seen),
                     "last_seen": utc(row.last_seen)} for nid, row in node_rows.items()},
        edges={key: {"attrs": dict(row.attrs or {}), "first_seen": utc(row.first_seen), "last_seen": utc(row.last_seen),
                     "sources": row.sources} for key, row in edge_rows.items()},
    )
    return state, node_rows, edge_rows


def record_observations(store: Store, observations: Iterable[Observations], seen_at: datetime | None = None
                        ) -> list[dict[str, Any]]:
    """Merge parsed outputs into the stored topology in one transaction (retried once if another
    process wrote the same rows meanwhile); one summary per output."""
    observations = list(observations)
    seen_at = utc(seen_at or datetime.now(timezone.utc))
    for attempt in (1, 2):
        try:
            return _record(store, observations, seen_at)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _record(store: Store, observations: list[Observations], seen_at: datetime) -> list[dict[str, Any]]:
    with store.session() as s, s.begin():
        state, node_rows, edge_rows = _load(s)
        summaries = [state.apply(obs, seen_at) for obs in observations]
        for key in state.removed_edges:
            if key in edge_rows and key not in state.edges:
                s.delete(edge_rows.pop(key))
        s.flush()
        for node_id in state.removed_nodes:
            if node_id in node_rows and node_id not in state.nodes:
                s.delete(node_rows.pop(node_id))
        s.flush()
        for node_id in state.dirty_nodes:
            record = state.nodes[node_id]
            row = node_rows.get(node_id)
            if row is None:
                s.add(TopologyNode(node_id=node_id, kind=record["kind"], attrs=record["attrs"],
                                   first_seen=record["first_seen"], last_seen=record["last_seen"]))
            else:
                row.kind, row.attrs = record["kind"], record["attrs"]
                row.first_seen, row.last_seen = record["first_seen"], record["last_seen"]
        s.flush()
        for key in state.dirty_edges:
            record = state.edges[key]
            row = edge_rows.get(key)
            if row is None:
                s.add(TopologyEdge(a=key[0], b=key[1], kind=key[2], attrs=record["attrs"], first_seen=record["first_seen"],
                                   last_seen=record["last_seen"], sources=record["sources"]))
            else:
                row.attrs, row.sources = record["attrs"], record["sources"]
                row.first_seen, row.last_seen = record["first_seen"], record["last_seen"]
        for obs in observations:
            s.add(TopologyObservation(source=obs.source[:500], format=obs.format, seen_at=seen_at, nodes=len(obs.nodes),
                                      edges=len(obs.edges), notes=list(obs.notes)[:200]))
        return summaries


def topology_rows(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All nodes and edges as dicts (times as aware UTC datetimes)."""
    with store.session() as s:
        nodes = [{"node_id": r.node_id, "kind": r.kind, "attrs": dict(r.attrs or {}), "first_seen": utc(r.first_seen),
                  "last_seen": utc(r.last_seen)} for r in s.scalars(select(TopologyNode).order_by(TopologyNode.node_id))]
        edges = [{"a": r.a, "b": r.b, "kind": r.kind, "attrs": dict(r.attrs or {}), "first_seen": utc(r.first_seen),
                  "last_seen": utc(r.last_seen), "sources": r.sources}
                 for r in s.scalars(select(TopologyEdge).order_by(TopologyEdge.a, TopologyEdge.b, TopologyEdge.kind))]
    return nodes, edges


def observation_rows(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        return [{"source": r.source, "format": r.format, "seen_at": utc(r.seen_at), "nodes": r.nodes, "edges": r.edges,
                 "notes": list(r.notes or [])}
                for r in s.scalars(select(TopologyObservation).order_by(TopologyObservation.seen_at, TopologyObservation.id))]


def network_of(address: str, prefixes: Iterable[str]) -> str | None:
    """The longest of `prefixes` (like 10.0.0.0/24) containing `address`, or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    best, best_len = None, -1
    for prefix in prefixes:
        try:
            net = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            continue
        if net.version == ip.version and ip in net and net.prefixlen > best_len:
            best, best_len = prefix, net.prefixlen
    return best
