"""The report's inputs: the study's tables, its image grids and saved DataTrees, the jobs'
benchmark files and the benchmark suite's tables, each passed in by name.

The workflow's report rule names every file (nothing here looks for files by their layout).
Every input is optional: a missing table becomes ``None`` and its chapter says so. A table that
exists is read with :func:`pmcgrad.study.tables.read_table`, so one that breaks its contract
stops the build naming the file, the line and the column; a DataTree that does not open stops
it naming the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pmcgrad.study import columns
from pmcgrad.study.runtimes import job_times
from pmcgrad.study.tables import read_table

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "INPUT_KINDS",
    "ReportInputError",
    "ReportInputs",
    "file_digest",
    "load_inputs",
    "open_datatree",
]

#: Every input a chapter may declare: a table (one CSV, by its contract) or a list of files.
INPUT_KINDS: dict[str, str] = {
    "gradient": "table", "chain": "table", "optimisation": "table", "model": "table",
    "model_traces": "table", "runtimes": "table", "sbn": "table", "scale": "table",
    "categorical": "table",
    "sbn_images": "files",  # results/sbn/.../s{seed}.npz: the SBN image grids
    "models": "files",  # results/models/**.nc: the saved DataTrees that model.csv names
    "benchmarks": "files",  # Snakemake benchmark files (TSV), one per heavy job
    "benchmark_suite": "files",  # benchmarks/out/*.csv from `make bench`
}


class ReportInputError(ValueError):
    """An input the report cannot use; the message names the file."""


@dataclass
class ReportInputs:
    """The loaded inputs. Tables are ``None`` when absent or empty."""

    gradient: pd.DataFrame | None = None
    chain: pd.DataFrame | None = None
    optimisation: pd.DataFrame | None = None
    model: pd.DataFrame | None = None  # with ``netcdf_path``: the DataTree file, or None
    model_traces: pd.DataFrame | None = None
    runtimes: pd.DataFrame | None = None
    sbn: pd.DataFrame | None = None
    scale: pd.DataFrame | None = None
    categorical: pd.DataFrame | None = None
    sbn_images: list[Path] = field(default_factory=list)
    models: list[Path] = field(default_factory=list)
    job_times: pd.DataFrame | None = None  # from the benchmark files, one row per job
    benchmark_suite: pd.DataFrame | None = None  # the suite's tables, with a source column
    config: Mapping | None = None
    provenance: dict[str, object] = field(default_factory=dict)  # versions, date, commit
    files: dict[str, Path] = field(default_factory=dict)  # label -> path, for provenance
    notes: list[str] = field(default_factory=list)  # problems met while loading


def load_inputs(paths: Mapping[str, str | os.PathLike | Iterable | None], *,
                config: Mapping | None = None) -> ReportInputs:
    """Load the named inputs (keys of :data:`INPUT_KINDS`; absent keys count as absent).

    Model rows whose ``netcdf`` names one of the ``models`` files get it in ``netcdf_path``;
    every such file is opened once here, so a damaged one fails now, naming itself.
    """
    unknown = set(paths) - set(INPUT_KINDS)
    if unknown:
        raise ValueError(f"unknown report inputs {sorted(unknown)}; expected some of "
                         f"{list(INPUT_KINDS)}")
    inputs = ReportInputs(config=config)
    for name, kind in INPUT_KINDS.items():
        given = paths.get(name)
        if given is None:
            continue
        if kind == "files":
            setattr(inputs, name, [Path(p) for p in given])
            continue
        path = Path(given)
        if not path.exists():
            continue
        frame = read_table(path, columns.CONTRACTS[name])
        inputs.files[name] = path
        setattr(inputs, name, frame if len(frame) else None)
    if inputs.model is not None:
        _attach_datatrees(inputs)
    for path in inputs.sbn_images:
        inputs.files[f"SBN images {path.as_posix()}"] = path
    benchmarks = paths.get("benchmarks")
    inputs.job_times = job_times(list(benchmarks)) if benchmarks else None
    suite = []
    for path in inputs.benchmark_suite or []:
        frame = read_table(path, columns.BENCHMARK_SUITE)
        inputs.files[f"benchmark suite {path.stem}"] = path
        if len(frame):
            suite.append(frame.assign(source=path.stem))
    inputs.benchmark_suite = pd.concat(suite, ignore_index=True) if suite else None
    return inputs


def open_datatree(path: str | os.PathLike) -> xr.DataTree:
    """Open a saved fit (an ``xarray.DataTree`` in netcdf); ReportInputError naming the file
    when it is damaged or truncated (h5py's own message says neither)."""
    import xarray as xr

    try:
        return xr.open_datatree(path, engine="h5netcdf")
    except (OSError, ValueError, KeyError) as error:
        raise ReportInputError(
            f"DataTree {os.fspath(path)!r} cannot be read (damaged or truncated?): {error}. "
            "Delete it and rerun the workflow to refit it."
        ) from error


def file_digest(path: Path, length: int = 12) -> str:
    """The first ``length`` hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def _attach_datatrees(inputs: ReportInputs) -> None:
    """``netcdf_path`` for each model row: the given file whose path ends with the row's
    ``netcdf`` (the workflow writes relative paths), or None."""
    given = {path: path.parts for path in inputs.models}
    resolved: dict[str, Path | None] = {}
    for name in inputs.model["netcdf"].unique():
        parts = Path(name).parts
        matches = [path for path, own in given.items() if name and own[-len(parts):] == parts]
        resolved[name] = matches[0] if matches else None
    inputs.model["netcdf_path"] = inputs.model["netcdf"].map(resolved)
    missing = sorted(name for name, path in resolved.items() if name and path is None)
    if missing:
        inputs.notes.append(
            f"{len(missing)} DataTree file(s) named in model.csv were not given, e.g. "
            f"<code>{missing[0]}</code>."
        )
    for name, path in resolved.items():
        if path is not None:
            open_datatree(path).close()  # fail here, naming the file, if it is damaged
            inputs.files[f"DataTree {name}"] = path

