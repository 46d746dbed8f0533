"""Confirmed threats: records an analyst labelled after a scan, kept for the next training run.

`netcopilot threats confirm FILE --label LABEL [--rows N,M]` takes the records of a file the
analyst scanned (all of them, or the listed ones, numbered as the scan numbers them: ``#N`` in
`netcopilot threats FILE`, ``index`` in its ``--jsonl``, from 0), computes their 41 NSL-KDD
features exactly as the scan did (`connection_features` over the same chunks for a conn.log or a
capture, since the window features depend on the neighbouring connections; the fields as written
for an NSL-KDD file), and appends them with the label to <home>/learned/threats.csv.

The file is NSL-KDD's own 43-field format (41 features, label, difficulty), so
`nslkdd.read_records` reads it back. The difficulty, how many of NSL-KDD's 21 learners got a record
right, means nothing for a record an analyst labelled and is written as missing (``?``). A record
already there with the same features and label is not added again.

`netcopilot train threats` adds these rows to the training side only (`train_threat_model`), so
the gate still compares every candidate with production on the same held-out records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from netcopilot.errors import InputError
from netcopilot.threats.nslkdd import CATEGORIES, COLUMNS, SYMBOLIC, category_of

LEARNED_NAME = "threats.csv"


@dataclass(frozen=True)
class Confirmed:
    path: Path  # the learned file
    label: str
    selected: int  # records of the scanned file that were confirmed
    added: int  # rows appended (the others were already there, or repeated a row of this batch)


def learned_file(home: Path) -> Path:
    return Path(home) / "learned" / LEARNED_NAME


def existing_learned_file(home: Path) -> Path | None:
    """The learned file if an analyst has confirmed anything yet (what training folds in)."""
    path = learned_file(home)
    return path if path.is_file() else None


def normalise_label(label: str) -> str:
    """The label as NSL-KDD writes it (lower case, no trailing dot); refuses anything that is not
    ``normal``, a category or an attack name of the NSL-KDD taxonomy, which training would ignore."""
    name = label.strip().lower().rstrip(".")
    if category_of(name) == "unknown":
        raise InputError(f"--label: {label!r} is not an NSL-KDD label: use normal (a false alarm), a category "
                         f"({', '.join(c for c in CATEGORIES if c != 'normal')}) or an attack name such as neptune")
    return name


def parse_rows(text: str | None) -> list[int] | None:
    """``"3,17"`` -> [3, 17]; None (every record) when no rows are given."""
    if text is None:
        return None
    rows = []
    for part in text.split(","):
        part = part.strip().lstrip("#")
        if not (part.isascii() and part.isdigit()):
            raise InputError(f"--rows: {part!r} is not a record number (the #N that `netcopilot threats FILE` shows)")
        rows.append(int(part))
    return rows


def feature_chunks(path: Path) -> Iterator[pd.DataFrame]:
    """The 41 NSL-KDD features of every record of `path`, in the chunks and order the scan
    (`service.analyse_file`) scores them, so row numbers and values are the scan's."""
    from netcopilot.threats import service

    kind = service.sniff_kind(path)
    if kind == "records":
        from netcopilot.threats.nslkdd import iter_records

        for frame, _labels in iter_records(path):
            yield frame
        return
    from netcopilot.pipeline.features import connection_features

    for connections, _events in service._connection_chunks(path, kind, []):
        if len(connections):
            yield connection_features(connections)


def select_records(path: Path, rows: list[int] | None) -> pd.DataFrame:
    """The features of the records numbered `rows` (all when None), in the order given."""
    wanted = None if rows is None else set(rows)
    picked: list[pd.DataFrame] = []
    start = 0
    for frame in feature_chunks(path):
        frame = frame.reset_index(drop=True)
        if wanted is None:
            picked.append(frame)
        else:
            here = [r - start for r in sorted(wanted) if start <= r < start + len(frame)]
            picked.append(frame.iloc[here].set_axis([start + i for i in here]))
        start += len(frame)
    if wanted is not None and (missing := sorted(r for r in wanted if r >= start)):
        raise InputError(f"{path}: --rows: no record #{missing[0]} (the file has {start} records, #0 to #{start - 1})")
    if not picked:
        raise InputError(f"{path}: no records to confirm")
    selected = pd.concat(picked)
    return selected if rows is None else selected.loc[rows]


def _field(value: object, symbolic: bool) -> str:
    """One field as NSL-KDD writes it, read back to the same value: integers without a decimal
    point, other numbers in their shortest exact form, a missing value as ``?``."""
    if symbolic:
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return "?"
    return str(int(number)) if number.is_integer() else repr(number)


def format_rows(features: pd.DataFrame, label: str) -> list[str]:
    """Lines of features + label, without the difficulty field (the part records are deduplicated on)."""
    columns = [[_field(v, name in SYMBOLIC) for v in features[name].tolist()] for name in COLUMNS]
    return [",".join(fields) + f",{label}" for fields in zip(*columns)]


def confirm(home: Path, path: Path, label: str, rows: list[int] | None) -> Confirmed:
    """Append the selected records of `path` with `label` to the learned file (see the module docstring)."""
    label = normalise_label(label)
    lines = format_rows(select_records(Path(path), rows), label)
    target = learned_file(home)
    seen = set()
    if target.is_file():
        seen = {line.rsplit(",", 1)[0] for line in target.read_text().splitlines() if line.strip()}
    new = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            new.append(line + ",?\n")
    if new:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a") as f:
            f.write("".join(new))
    return Confirmed(target, label, len(lines), len(new))
