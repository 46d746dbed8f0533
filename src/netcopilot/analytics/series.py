"""Time series as the analytics modules see them, and reading them from CSV files.

A CSV has a timestamp column and one or more numeric columns. Both are auto-detected (a column
whose first values parse as dates; columns whose values are mostly numbers), or named.

What real exports contain, and what happens to it:
- empty cells, `NaN`, `null`: missing (NaN), skipped by the detectors;
- text in a numeric column: missing, with a note naming the first lines;
- rows whose timestamp does not parse: dropped, with a note;
- unsorted rows: sorted; duplicate timestamps: the last value wins; both noted;
- an empty file, no numeric column, fewer than 2 rows: a DataFormatError naming the file;
- large files (over `STREAM_ABOVE` bytes) are read in chunks (`iter_csv_chunks`), so memory stays
  bounded; there rows out of order are dropped with a note, since they cannot be sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from netcopilot.errors import DataFormatError

STREAM_ABOVE = 64 << 20  # bytes
CHUNK_ROWS = 200_000
TIME_NAMES = ("timestamp", "time", "date", "datetime", "ts", "when", "_time")


@dataclass
class Series:
    """One metric: sorted, unique timestamps (numpy datetime64[s]) and float values (NaN = missing)."""

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def step(self) -> np.timedelta64:
        """The typical sampling interval (median difference)."""
        if len(self.timestamps) < 2:
            return np.timedelta64(60, "s")
        return np.median(np.diff(self.timestamps).astype("timedelta64[s]").astype(np.int64)).astype("timedelta64[s]")


@dataclass
class Layout:
    """Which columns of a CSV hold the time and the metrics."""

    timestamp: str
    columns: list[str]
    epoch_unit: str | None = None  # "s" or "ms" when timestamps are numbers


def _read(path: Path, **kwargs):  # noqa: ANN202 - a pandas reader
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, "the file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataFormatError(path, f"not a readable CSV ({str(exc).strip().splitlines()[-1]})") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text (byte {exc.start})") from None


def _as_numbers(column) -> np.ndarray:  # noqa: ANN001 - a pandas Series of str
    import pandas as pd

    return pd.to_numeric(column.str.strip().replace({"": None, "NaN": None, "nan": None, "null": None, "NULL": None,
                                                      "None": None, "-": None}), errors="coerce").to_numpy(dtype=float)


def _as_times(column, epoch_unit: str | None) -> np.ndarray:  # noqa: ANN001
    import pandas as pd

    if epoch_unit:
        numbers = pd.to_numeric(column, errors="coerce")
        parsed = pd.to_datetime(numbers, unit=epoch_unit, errors="coerce", utc=True)
    else:
        parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None).to_numpy().astype("datetime64[s]")


def sniff(path: Path, timestamp: str | None = None, columns: list[str] | None = None) -> Layout:
    """Find the timestamp column and the numeric columns from the first rows."""
    head = _read(path, nrows=500)
    if head.empty and not len(head.columns):
        raise DataFormatError(path, "the file is empty")
    names = [str(c).strip() for c in head.columns]
    head.columns = names
    if head.empty:
        raise DataFormatError(path, "no data rows after the header")
    if timestamp is not None and timestamp not in names:
        raise DataFormatError(path, f"no column named {timestamp!r} (columns: {', '.join(names)})", line=1, field=timestamp)
    for name in columns or []:
        if name not in names:
            raise DataFormatError(path, f"no column named {name!r} (columns: {', '.join(names)})", line=1, field=name)
    ts_col, epoch = timestamp, None
    if ts_col is None:
        ranked = sorted(names, key=lambda n: (n.lower() not in TIME_NAMES, names.index(n)))
        for name in ranked:
            if _looks_like_time(head[name], name):
                ts_col = name
                break
        if ts_col is None:
            raise DataFormatError(path, f"no timestamp column found (columns: {', '.join(names)}); name it with --timestamp", line=1)
    numbers = _as_numbers(head[ts_col])
    if np.isfinite(numbers).mean() > 0.9:
        epoch = "ms" if np.nanmedian(numbers) > 1e11 else "s"
    if columns:
        chosen = list(columns)
    else:
        chosen = [n for n in names if n != ts_col and np.isfinite(_as_numbers(head[n])).mean() >= 0.5]
        if not chosen:
            raise DataFormatError(path, f"no numeric column found besides {ts_col!r}; name them with --columns", line=2)
    return Layout(ts_col, chosen, epoch)


def _looks_like_time(column, name: str) -> bool:  # noqa: ANN001
    sample = column.head(50)
    numbers = _as_numbers(sample)
    if np.isfinite(numbers).mean() > 0.9:
        # epoch seconds (or ms) between 2000 and 2100, in a column named like time
        med = float(np.nanmedian(numbers))
        return name.lower() in TIME_NAMES and (9.4e8 < med < 4.2e9 or 9.4e11 < med < 4.2e12)
    return bool((~np.isnat(_as_times(sample, None))).mean() > (0.5 if name.lower() in TIME_NAMES else 0.8))


def _clean(path: Path, frame, layout: Layout, first_line: int, notes: list[str], last_time: np.datetime64 | None,
           sort: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # noqa: ANN001
    times = _as_times(frame[layout.timestamp], layout.epoch_unit)
    bad_times = np.flatnonzero(np.isnat(times))
    if len(bad_times):
        lines = ", ".join(str(first_line + int(i)) for i in bad_times[:3])
        notes.append(f"{path}: {len(bad_times)} row(s) with an unreadable {layout.timestamp!r} dropped (line {lines}{', ...' if len(bad_times) > 3 else ''})")
    keep = ~np.isnat(times)
    values = {}
    for name in layout.columns:
        raw = frame[name]
        numbers = _as_numbers(raw)
        text = np.flatnonzero(~np.isfinite(numbers) & raw.str.strip().str.len().gt(0).to_numpy()
                              & ~raw.str.strip().isin(["NaN", "nan", "null", "NULL", "None", "-"]).to_numpy())
        if len(text):
            where = first_line + int(text[0])
            notes.append(f"{path}:{where}: field '{name}': {raw.iloc[int(text[0])]!r} is not a number; "
                         f"{len(text)} such value(s) treated as missing")
        values[name] = numbers[keep]
    times = times[keep]
    if sort:
        if len(times) > 1 and (np.diff(times.astype(np.int64)) < 0).any():
            notes.append(f"{path}: rows were not in time order; sorted")
        order = np.argsort(times, kind="stable")
        times = times[order]
        values = {k: v[order] for k, v in values.items()}
    else:
        # streaming: a row older than the newest seen cannot be placed any more
        newest = np.maximum.accumulate(times.astype(np.int64))
        if last_time is not None:
            newest = np.maximum(newest, last_time.astype(np.int64))
        late = times.astype(np.int64) < np.concatenate([[last_time.astype(np.int64) if last_time is not None else np.iinfo(np.int64).min], newest[:-1]])
        if late.any():
            notes.append(f"{path}: {int(late.sum())} row(s) out of time order near line {first_line + int(np.flatnonzero(late)[0])} dropped")
            times = times[~late]
            values = {k: v[~late] for k, v in values.items()}
    # duplicate timestamps: the last value wins
    if len(times) > 1:
        dup = np.concatenate([times[1:] == times[:-1], [False]])
        if last_time is not None and len(times) and times[0] == last_time:
            notes.append(f"{path}: duplicate timestamp {times[0]} across a chunk boundary; both kept")
        if dup.any():
            notes.append(f"{path}: {int(dup.sum())} duplicate timestamp(s); the last value of each kept")
            times = times[~dup]
            values = {k: v[~dup] for k, v in values.items()}
    return times, values


def read_series(path: Path, timestamp: str | None = None, columns: list[str] | None = None) -> list[Series]:
    """Every numeric column of one CSV as a Series (whole file in memory; see iter_csv_chunks)."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "no such file")
    layout = sniff(path, timestamp, columns)
    frame = _read(path, usecols=lambda c: str(c).strip() in {layout.timestamp, *layout.columns})
    frame.columns = [str(c).strip() for c in frame.columns]
    notes: list[str] = []
    times, values = _clean(path, frame, layout, 2, notes, None, sort=True)
    if len(times) < 2:
        raise DataFormatError(path, f"{len(times)} usable data row(s); at least 2 are needed")
    return [Series(f"{path.stem}:{name}" if len(layout.columns) > 1 else path.stem, times, values[name],
                   source=str(path), notes=list(notes)) for name in layout.columns]


def iter_csv_chunks(path: Path, timestamp: str | None = None, columns: list[str] | None = None,
                    rows: int = CHUNK_ROWS) -> Iterator[tuple[Layout, np.ndarray, dict[str, np.ndarray], list[str]]]:
    """Read a large CSV in chunks of `rows`: (layout, timestamps, {column: values}, new notes)."""
    path = Path(path)
    layout = sniff(path, timestamp, columns)
    last: np.datetime64 | None = None
    line = 2
    for frame in _read(path, chunksize=rows, usecols=lambda c: str(c).strip() in {layout.timestamp, *layout.columns}):
        frame.columns = [str(c).strip() for c in frame.columns]
        notes: list[str] = []
        times, values = _clean(path, frame, layout, line, notes, last, sort=False)
        line += len(frame)
        if len(times):
            last = times[-1]
            yield layout, times, values, notes


def find_csvs(target: Path) -> list[Path]:
    """A file, or every *.csv in a folder (sorted, not recursive)."""
    target = Path(target)
    if target.is_dir():
        files = sorted(p for p in target.glob("*.csv") if p.is_file())
        if not files:
            raise DataFormatError(target, "no .csv files in this folder")
        return files
    if not target.exists():
        raise DataFormatError(target, "no such file or folder")
    return [target]
