"""The chat's way into the learned topology: "what sits between my laptop and the DNS server?",
"what is connected to sw-core-1?", "what does our network look like?"."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from netcopilot.errors import NetcopilotError

log = logging.getLogger("netcopilot.topology")
_END = r"\s*[?.!]*\s*$"
PAIR = [re.compile(p + _END, re.I) for p in (r"\bbetween (.+?) and (.+?)", r"\bfrom (.+?) to (.+?)",
                                             r"\bpath (?:from )?(.+?) to (.+?)", r"\bhow does (.+?) reach (.+?)")]
ONE = re.compile(r"\b(?:neighbou?rs of|connected to|attached to|next to|plugged into|behind|linked to|around) (.+?)" + _END, re.I)
EMPTY = ("I have not learned the topology yet: run `netcopilot topology ingest FILE...` with traceroute, mtr, "
         "ip route, ip neigh / arp -a, lldpctl or show cdp/lldp neighbors output.")


def analyse(text: str, store: Any, plots_dir: Path) -> dict[str, Any]:
    from netcopilot.topology import graph as topo

    result: dict[str, Any] = {"kind": "topology", "source": "the learned topology", "summary": [], "png": None, "error": None}
    try:
        g = topo.load_graph(store)
        if g.number_of_nodes() == 0:
            result["error"] = EMPTY
            return result
        for pattern in PAIR:
            m = pattern.search(text)
            if m:
                found = topo.path(g, m.group(1), m.group(2))
                ends = f"{topo.label(g, found['from'])} and {topo.label(g, found['to'])}"
                if not found["found"]:
                    result["summary"] = [f"The learned topology does not connect {ends}."]
                else:
                    between = ", ".join(topo.label(g, n) for n in found["between"]) or "nothing: they are directly linked"
                    result["summary"] = [f"Between {ends} ({found['hop_count']} hops): {between}."]
                    result["summary"] += [f"  {topo.label(g, h['a'])} -> {topo.label(g, h['b'])} via {'/'.join(h['kinds'])}"
                                          + (f" ({' - '.join(p for p in (h['a_port'], h['b_port']) if p)})"
                                             if h["a_port"] or h["b_port"] else "")
                                          for h in found["hops"]]
                return result
        m = ONE.search(text)
        if m:
            near = topo.neighbours(g, m.group(1))
            who = topo.label(g, topo.require(g, m.group(1)))
            result["summary"] = [f"{who} is linked to {len(near)} node(s):"] + [
                f"  {topo.label(g, n['node'])} via {'/'.join(n['via'])}"
                + (f" on {n['local_port']}" if n["local_port"] else "") for n in near]
            return result
        s = topo.summary(g)
        result["summary"] = [f"{s['nodes']} nodes and {s['edges']} links; gateway {s['gateway'] or 'unknown'}, "
                             f"DNS {s['dns'] or 'unknown'}.",
                             "Most central: " + ", ".join(topo.label(g, c["node"]) for c in s["central"]) + "."]
        for p in s["articulation_points"][:5]:
            result["summary"].append(f"Single point of failure: {topo.label(g, p['node'])} "
                                     f"(cuts off {', '.join(map(str, p['cuts_off'][:5]))})")
        plots_dir.mkdir(parents=True, exist_ok=True)
        png = plots_dir / f"topology-{time.strftime('%Y%m%d-%H%M%S')}.png"
        result["png"] = str(topo.draw_png(g, png))
    except NetcopilotError as exc:
        result["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - a failed lookup must not cost the user the answer
        log.exception("topology query failed")
        result["error"] = f"the topology query failed ({type(exc).__name__}: {exc})"
    return result
