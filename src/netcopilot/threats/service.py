"""What the CLI and the chat call: threats in a file, whatever it is.

- NSL-KDD-style records (.txt, .csv, .gz; 41 features, optionally label and difficulty): the
  supervised model scores every record.
- A packet capture (pcap or pcapng) or a Zeek conn.log: connection records, scored by the same
  model through their NSL-KDD features, plus the rules (scans, sweeps, floods, brute force, ARP
  spoofing, DNS) and the threat-intelligence lists loaded with `netcopilot intel load`.

Everything is read in chunks, so a large capture or record file keeps memory bounded; with
`records_out` the per-record lines are written as they are scored (`threats --jsonl`).
"""

from __future__ import annotations

import json
import shlex
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from netcopilot.errors import DataFormatError

SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}
CATEGORY_SEVERITY = {"u2r": "critical", "r2l": "high", "dos": "high", "probe": "medium"}
TOP_RECORDS = 5
MIN_FROM_ONE_HOST = 20  # flagged connections from one source before the model alone makes a finding


@dataclass
class ThreatReport:
    source: str
    kind: str  # "records" | "capture" | "conn.log"
    records: int = 0
    by_category: Counter = field(default_factory=Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)  # the most suspicious records, explained
    notes: list[str] = field(default_factory=list)
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "records": self.records, "model": self.model,
                "by_category": dict(self.by_category), "findings": self.findings, "top": self.top, "notes": self.notes}


def sniff_kind(path: Path) -> str:
    from netcopilot.threats.pcap import is_capture
    from netcopilot.threats.zeek import looks_like_conn_log

    if not path.is_file():
        raise DataFormatError(path, "no such file")
    with path.open("rb") as f:
        head = f.read(4096)
    if not head:
        raise DataFormatError(path, "the file is empty")
    if is_capture(head):
        return "capture"
    if head[:2] == b"\x1f\x8b":  # gzip: records or a compressed conn.log
        import gzip

        try:
            with gzip.open(path, "rb") as f:
                head = f.read(4096)
        except (OSError, EOFError):
            raise DataFormatError(path, "a gzip file that cannot be read (truncated or corrupt)") from None
    return "conn.log" if looks_like_conn_log(head) else "records"


def load_model(models_dir: Path | None) -> Any:
    """The model `netcopilot train threats` wrote, else the one shipped with the package."""
    from netcopilot.threats.model import ThreatModel, load_default

    trained = Path(models_dir) / "threats" if models_dir else None
    if trained is not None and (trained / "threat_model.npz").is_file():
        model = ThreatModel.load(trained)
        model.origin_ = str(trained)
        return model
    model = load_default()
    model.origin_ = "default (shipped with netcopilot)"
    return model


def _connection_chunks(path: Path, kind: str, notes: list[str]) -> Iterator[tuple[Any, list[dict]]]:
    if kind == "capture":
        from netcopilot.threats.pcap import PcapStream

        stream = PcapStream(path)
        yield from stream.chunks()
        notes.extend(stream.notes)
    else:
        from netcopilot.threats.zeek import iter_conn_log

        for frame in iter_conn_log(path):
            yield frame, []


def analyse_file(path: Path, model: Any, indicators: Any = None, records_out: IO[str] | None = None) -> ThreatReport:
    """Score every record of `path` and collect findings; see the module docstring."""
    path = Path(path)
    kind = sniff_kind(path)
    report = ThreatReport(str(path), kind, model=getattr(model, "origin_", ""))
    candidates: list[tuple[float, dict[str, Any]]] = []
    attackers: dict[str, Counter] = defaultdict(Counter)  # category -> source hosts (captures, logs)
    if kind == "records":
        from netcopilot.threats.nslkdd import iter_records

        for frame, _labels in iter_records(path):
            _score_chunk(model, frame, frame, report, candidates, attackers, records_out)
    else:
        from netcopilot.pipeline.features import connection_features
        from netcopilot.threats.rules import detect_rules

        findings = []
        for connections, events in _connection_chunks(path, kind, report.notes):
            if len(connections):
                _score_chunk(model, connection_features(connections), connections, report, candidates, attackers, records_out)
            findings.extend(detect_rules(connections, events, indicators=indicators))
        report.findings = [_finding_dict(f) for f in findings]
    report.findings += _model_findings(report, attackers)
    report.findings.sort(key=lambda f: (SEVERITY.get(f["severity"], 9), -f["score"]))
    candidates.sort(key=lambda c: -c[0])
    report.top = [c[1] for c in candidates[:TOP_RECORDS]]
    for record in report.top:
        record["why"] = [text for _, text in model.explain(_frame([record.pop("features")]), top=3)]
    return report


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows)


def _score_chunk(model: Any, kdd: Any, original: Any, report: ThreatReport, candidates: list, attackers: dict,
                 out: IO[str] | None) -> None:
    proba = model.predict_proba(kdd)
    scores = 1.0 - proba[:, 0]
    categories = model.categories(proba)
    start = report.records
    report.records += len(kdd)
    report.by_category.update(categories.tolist())
    if out is not None:
        out.write("".join(json.dumps({"index": start + i, "attack": c != "normal", "category": c, "score": round(float(s), 4)}) + "\n"
                          for i, (c, s) in enumerate(zip(categories.tolist(), scores.tolist()))))
    has_hosts = "src" in original.columns
    flagged = np.flatnonzero(categories != "normal")
    if has_hosts:
        src = original["src"].astype(str).to_numpy()
        for i in flagged:
            attackers[categories[i]][src[i]] += 1
    # keep the strongest few of this chunk for the explained "top" list
    for i in flagged[np.argsort(-scores[flagged])][:TOP_RECORDS]:
        record: dict[str, Any] = {"index": start + int(i), "category": categories[i], "score": round(float(scores[i]), 4),
                                  "features": kdd.iloc[int(i)].to_dict()}
        if has_hosts:
            row = original.iloc[int(i)]
            record["connection"] = f"{row['src']}:{row.get('sport', '')} -> {row['dst']}:{row.get('dport', '')} {row.get('proto', '')}"
        candidates.append((float(scores[i]), record))


def _model_findings(report: ThreatReport, attackers: dict[str, Counter]) -> list[dict[str, Any]]:
    from netcopilot.threats.rules import safe_ip

    out = []
    total = max(report.records, 1)
    for category, count in report.by_category.items():
        if category == "normal":
            continue
        hosts = [h for h, _ in attackers.get(category, Counter()).most_common(5)]
        if report.kind != "records":
            # The model learned NSL-KDD's traffic; on a capture one odd connection is not a
            # finding. It takes MIN_FROM_ONE_HOST flagged connections from one source.
            hosts = [h for h, n in attackers.get(category, Counter()).most_common(5) if n >= MIN_FROM_ONE_HOST]
            if not hosts:
                continue
        steps = [f"sudo tcpdump -nn host {ip}" for ip in (safe_ip(h) for h in hosts[:2]) if ip]
        steps.append(f"netcopilot threats {shlex.quote(report.source)} --jsonl   # every record's category and score")
        out.append({
            "kind": f"model_{category}", "severity": CATEGORY_SEVERITY.get(category, "medium"),
            "score": round(min(1.0, 0.5 + count / total), 4), "hosts": hosts,
            "summary": f"{count:,} of {report.records:,} records look like {category} attacks ({count / total:.1%})",
            "evidence": [f"classified by the threat model ({report.model})"]
                        + ([f"most from {', '.join(hosts[:3])}"] if hosts else []),
            "next_steps": steps, "records": [],
        })
    return out


def _finding_dict(f: Any) -> dict[str, Any]:
    return {"kind": f.kind, "severity": f.severity, "score": round(float(f.score), 4), "hosts": list(f.hosts),
            "summary": f.summary, "evidence": list(f.evidence), "next_steps": list(f.next_steps),
            "records": [int(r) for r in f.records[:50]]}
