"""Speed and memory of the capture pipeline: pcap -> connection records -> KDD features -> rules.

    python benchmarks/bench_pcap.py [--sizes 10,100] [--chunk 50000] [--keep DIR]

Builds classic pcap files of the given sizes (MB) by replaying the real captures in
/work/shared/data/pcaps/captures over and over: every replay is shifted in time (laid after the
previous one) and its IPv4 addresses are remapped (2nd/3rd octet = replay number), so every replay
is a new set of flows, scans, ARP exchanges... Each file is then processed in a fresh Python
process with ``PcapStream.chunks()`` + ``to_kdd`` + ``detect_rules`` on every chunk, and the run
reports packets/s, connection records/s, the time split between the three stages and the peak RSS
(``resource.getrusage``). A tiny capture is run the same way first: it shows the fixed cost of the
interpreter and its libraries. If memory is bounded the peak RSS does not grow with the file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

CAPTURES = Path("/work/shared/data/pcaps/captures")


def load_packets() -> list[list[tuple[float, bytes]]]:
    import dpkt
    caps = []
    for p in sorted(CAPTURES.glob("*.pcapng")):
        with p.open("rb") as f:
            pkts = [(float(ts), bytes(buf)) for ts, buf in dpkt.pcapng.Reader(f)]
        if pkts:
            t0 = pkts[0][0]
            caps.append([(ts - t0, buf) for ts, buf in pkts])
    return caps


def remap(buf: bytes, r: int) -> bytes:
    """Ethernet/IPv4 frame with the 2nd and 3rd octets of both addresses set from replay r."""
    if len(buf) < 34 or buf[12:14] != b"\x08\x00":
        return buf
    b = bytearray(buf)
    hi, lo = (r >> 8) & 0xFF, r & 0xFF
    for off in (26, 30):
        if b[off] not in (0, 255) and b[off] < 224:          # keep 0.0.0.0, broadcast, multicast
            b[off + 1] ^= lo
            b[off + 2] ^= hi
    return bytes(b)


def build(path: Path, megabytes: float, caps) -> tuple[int, int]:
    import dpkt
    start = 1_700_000_000.0
    cursor = start
    n = r = 0
    with path.open("wb") as f:
        w = dpkt.pcap.Writer(f, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
        while f.tell() < megabytes * 1e6:
            for pkts in caps:
                for ts, buf in pkts:
                    w.writepkt(remap(buf, r) if r else buf, ts=cursor + ts)
                    n += 1
                cursor += pkts[-1][0] + 2.0
            r += 1
    return n, r


def measure(path: str, chunk: int) -> dict:
    """Run in a fresh process: the whole pipeline on one file."""
    from netcopilot.threats.features import to_kdd
    from netcopilot.threats.pcap import PcapStream
    from netcopilot.threats.rules import detect_rules

    t_start = time.perf_counter()
    stream = PcapStream(path, chunk=chunk)
    parse = kdd = rules = 0.0
    records = 0
    kinds: Counter = Counter()
    mark = time.perf_counter()
    for df, events in stream.chunks():
        now = time.perf_counter()
        parse += now - mark
        if len(df):
            records += len(df)
            to_kdd(df)
            t = time.perf_counter()
            kdd += t - now
            now = t
        for f in detect_rules(df, events):
            kinds[f.kind] += 1
        mark = time.perf_counter()
        rules += mark - now
    total = time.perf_counter() - t_start
    return {"file": path, "mb": os.path.getsize(path) / 1e6, "packets": stream.packets,
            "records": records, "seconds": total, "parse_s": parse, "kdd_s": kdd,
            "rules_s": rules, "findings": dict(kinds), "notes": stream.notes,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(path: Path, chunk: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), "--chunk", str(chunk)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100", help="file sizes in MB (default 10,100)")
    ap.add_argument("--chunk", type=int, default=50_000, help="records per chunk")
    ap.add_argument("--keep", help="write the files to this directory and keep them")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.chunk)))
        return
    caps = load_packets()
    tmp = tempfile.TemporaryDirectory() if not args.keep else None
    folder = Path(args.keep or tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = [("baseline (tcp_handshake, 3 packets)",
                    run_child(CAPTURES / "tcp_handshake.pcapng", args.chunk))]
        for size in (float(s) for s in args.sizes.split(",")):
            path = folder / f"bench_{size:g}mb.pcap"
            t = time.perf_counter()
            n, reps = build(path, size, caps)
            print(f"built {path.name}: {n:,} packets, {reps} replays of {len(caps)} captures "
                  f"in {time.perf_counter() - t:.1f} s", flush=True)
            results.append((f"{size:g} MB", run_child(path, args.chunk)))
            if not args.keep:
                path.unlink()
    finally:
        if tmp:
            tmp.cleanup()
    print(f"\n{'file':38s} {'packets':>9s} {'records':>8s} {'s':>6s} {'pkt/s':>8s} {'rec/s':>7s}"
          f" {'parse':>6s} {'kdd':>5s} {'rules':>6s} {'RSS MB':>7s}")
    for label, r in results:
        s = max(r["seconds"], 1e-9)
        print(f"{label:38s} {r['packets']:9,d} {r['records']:8,d} {r['seconds']:6.1f} "
              f"{r['packets'] / s:8,.0f} {r['records'] / s:7,.0f} {r['parse_s']:6.1f} "
              f"{r['kdd_s']:5.1f} {r['rules_s']:6.1f} {r['rss_mb']:7.0f}")
    for label, r in results[1:]:
        print(f"{label}: findings {r['findings']}; notes {r['notes']}")
    big = results[1:]
    if len(big) >= 2:
        print(f"peak RSS {big[0][1]['rss_mb']:.0f} MB -> {big[-1][1]['rss_mb']:.0f} MB for a "
              f"{big[-1][1]['mb'] / big[0][1]['mb']:.0f}x larger file "
              f"(interpreter + libraries alone: {results[0][1]['rss_mb']:.0f} MB)")
        r = big[-1][1]
        share = {k: r[k] / r["seconds"] for k in ("parse_s", "kdd_s", "rules_s")}
        top = max(share, key=share.get)
        print(f"dominant stage on the largest file: {top[:-2]} ({share[top]:.0%} of the time)")


if __name__ == "__main__":
    main()
