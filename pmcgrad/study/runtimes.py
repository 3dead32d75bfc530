"""The jobs' wall times: Snakemake's ``benchmark:`` files, read by one parser for
``results/runtimes.csv`` and for the report alike.

Each heavy rule writes ``results/benchmarks/<rule>/<job>.tsv``: a header (``s``, ``max_rss``,
``cpu_time``, ...) and one line per repeat. A job is named by that path under
``results/benchmarks/`` (:func:`benchmark_name`), and its rule is the first part of the name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pmcgrad.study.columns import RUNTIMES
from pmcgrad.study.tables import TableError, write_table

__all__ = [
    "BENCHMARK_ROOT",
    "benchmark_name",
    "job_times",
    "read_benchmark",
    "runtime_rows",
    "write_runtimes",
]

#: Where the workflow's rules write their benchmark files.
BENCHMARK_ROOT = "results/benchmarks"

_MEASURES = ("s", "max_rss", "cpu_time")


def benchmark_name(path: str | os.PathLike) -> str:
    """A job's name: its benchmark file's path under the last ``benchmarks/`` folder (the
    workflow's ``results/benchmarks/``), without ``.tsv``: ``gradient/qubo/k2``. The file's
    own stem when no such folder holds it."""
    parts = Path(path).with_suffix("").parts
    folders = [index for index, part in enumerate(parts[:-1]) if part == "benchmarks"]
    if not folders:
        return Path(path).stem
    return "/".join(parts[folders[-1] + 1:])


def read_benchmark(path: str | os.PathLike) -> pd.DataFrame:
    """One benchmark file: a row per repeat with ``s`` (wall time), ``max_rss`` (MB) and
    ``cpu_time`` (s) as floats (NaN where Snakemake could not measure, ``NA`` or ``-``).

    Raises :class:`~pmcgrad.study.tables.TableError` naming the file when it cannot be read,
    has no ``s`` column, no repeat, or a wall time that is not a number.
    """
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:  # pandas' EmptyDataError is a ValueError
        raise TableError(f"benchmark file {os.fspath(path)!r} cannot be read: {error}"
                         ) from error
    if "s" not in frame.columns or frame.empty:
        raise TableError(f"benchmark file {os.fspath(path)!r} has no wall time (column 's' and "
                         f"one line per repeat); it has columns {list(frame.columns)}")
    out = pd.DataFrame(index=frame.index)
    for measure in _MEASURES:
        text = frame[measure] if measure in frame.columns else pd.Series("", index=frame.index)
        out[measure] = pd.to_numeric(text, errors="coerce")
    bad = out["s"].isna()
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise TableError(f"benchmark file {os.fspath(path)!r}, line {line}, column 's': "
                         f"{frame['s'].iloc[line - 2]!r} is not a number")
    return out


def runtime_rows(benchmarks: Sequence[str | os.PathLike]) -> list[dict[str, object]]:
    """Rows of ``runtimes.csv``: one per benchmark file and repeat, named by
    :func:`benchmark_name`, with the wall time in seconds and memory and CPU time in the note."""
    rows = []
    for path in benchmarks:
        for record in read_benchmark(path).itertuples(index=False):
            note = f"max_rss {_number(record.max_rss)} MB; cpu {_number(record.cpu_time)} s"
            rows.append({"name": benchmark_name(path), "value": float(record.s), "unit": "s",
                         "note": note})
    return rows


def write_runtimes(benchmarks: Sequence[str | os.PathLike], out: str | os.PathLike
                   ) -> pd.DataFrame:
    """Write ``runtimes.csv`` (:data:`~pmcgrad.study.columns.RUNTIMES`)."""
    return write_table(runtime_rows(benchmarks), out, RUNTIMES)


def job_times(benchmarks: Sequence[str | os.PathLike]) -> pd.DataFrame | None:
    """One row per benchmark file: ``file``, ``rule``, ``job``, ``seconds`` and ``max_rss_mb``
    (means over repeats); ``None`` without files."""
    rows = []
    for path in sorted(Path(p) for p in benchmarks):
        frame = read_benchmark(path)
        name = benchmark_name(path)
        rows.append({"file": path.as_posix(), "rule": name.split("/")[0], "job": name,
                     "seconds": float(frame["s"].mean()),
                     "max_rss_mb": float(frame["max_rss"].mean())})
    return pd.DataFrame(rows) if rows else None


def _number(value: float) -> str:
    return "NA" if math.isnan(value) else f"{value:g}"
