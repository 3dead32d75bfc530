"""Reading and writing the study's tidy tables, and the seeds every job derives from its config.

Every table is a CSV whose columns are exactly one of the lists in
:mod:`pmcgrad.study.columns`; :func:`write_table` refuses anything else, so the workflow and
the report cannot drift apart.
"""

from __future__ import annotations

import csv
import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pmcgrad.study.columns import RUNTIME_COLUMNS

__all__ = [
    "concat_tables",
    "job_seed",
    "read_table",
    "runtime_rows",
    "write_runtimes",
    "write_table",
]


def job_seed(*parts: int | str) -> np.random.SeedSequence:
    """A ``SeedSequence`` from the config's seed and the names that identify one piece of work.

    Strings enter through CRC-32 rather than ``hash()``, which Python salts per process: the
    same (seed, problem, k, estimator, ...) must give the same draws in every job, on every
    machine, so a rerun of one job reproduces its rows exactly.
    """
    entropy = [
        zlib.crc32(part.encode()) if isinstance(part, str) else int(part) for part in parts
    ]
    if any(value < 0 for value in entropy):
        raise ValueError(f"seed parts must be non-negative, got {parts!r}")
    return np.random.SeedSequence(entropy)


def write_table(rows: Iterable[Mapping] | pd.DataFrame, path: str | os.PathLike,
                columns: Sequence[str]) -> pd.DataFrame:
    """Write ``rows`` as a CSV with exactly ``columns``, in that order; returns the frame.

    Raises ``ValueError`` naming the missing or unexpected columns.
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty and not len(frame.columns):
        frame = pd.DataFrame(columns=list(columns))
    missing = [name for name in columns if name not in frame.columns]
    extra = [name for name in frame.columns if name not in columns]
    if missing or extra:
        raise ValueError(
            f"table {os.fspath(path)!r} does not follow its column contract: "
            f"missing {missing}, unexpected {extra}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # repr-exact floats, so that a rerun from the same seeds writes a byte-identical file;
    # NaN spelled out, so that it cannot be confused with an empty string ("" family of mcmc).
    frame[list(columns)].to_csv(path, index=False, float_format="%.17g", na_rep="NaN")
    return frame


def read_table(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_table`, checking its header against ``columns``.

    String columns keep ``""`` as the empty string rather than NaN (``family`` of mcmc rows).
    """
    frame = pd.read_csv(path, keep_default_na=False, na_values=["NaN", "nan"])
    if list(frame.columns) != list(columns):
        raise ValueError(
            f"table {os.fspath(path)!r} has columns {list(frame.columns)}, expected {list(columns)}"
        )
    return frame


def concat_tables(paths: Sequence[str | os.PathLike], out: str | os.PathLike,
                  columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate per-job tables (in the given order) into one table at ``out``."""
    frames = [read_table(path, columns) for path in paths]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return write_table(frame, out, columns)


def runtime_rows(benchmarks: Sequence[str | os.PathLike], names: Sequence[str]
                 ) -> list[dict[str, object]]:
    """Rows of ``runtimes.csv`` from Snakemake ``benchmark:`` files, one name per file.

    Each file is a TSV with a header (``s``, ``max_rss``, ``cpu_time``, ...) and one line per
    repeat; each line gives a row with the wall time in seconds, and memory and CPU time in
    the note.
    """
    if len(benchmarks) != len(names):
        raise ValueError(f"{len(benchmarks)} benchmark files but {len(names)} names")
    rows = []
    for path, name in zip(benchmarks, names, strict=True):
        with open(path, newline="") as handle:
            for record in csv.DictReader(handle, delimiter="\t"):
                note = (f"max_rss {record.get('max_rss', 'NA')} MB; "
                        f"cpu {record.get('cpu_time', 'NA')} s")
                rows.append({"name": name, "value": float(record["s"]), "unit": "s",
                             "note": note})
    return rows


def write_runtimes(benchmarks: Sequence[str | os.PathLike], names: Sequence[str],
                   out: str | os.PathLike) -> pd.DataFrame:
    """Write ``runtimes.csv`` (:data:`~pmcgrad.study.columns.RUNTIME_COLUMNS`)."""
    return write_table(runtime_rows(benchmarks, names), out, RUNTIME_COLUMNS)
