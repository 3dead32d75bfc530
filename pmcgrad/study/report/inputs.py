"""The report's inputs: the study's tidy tables, its saved DataTrees and provenance files.

Every input is optional here: a missing table becomes ``None`` and its section says so. A table
that exists but lacks a contract column (``pmcgrad.study.columns``) is an error, so a change of
contract cannot pass silently.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pmcgrad.study.columns import (
    CHAIN_COLUMNS,
    GRADIENT_COLUMNS,
    MODEL_COLUMNS,
    MODEL_TRACE_COLUMNS,
    OPTIMISATION_COLUMNS,
    RUNTIME_COLUMNS,
    SBN_COLUMNS,
)

__all__ = ["TABLES", "StudyInputs", "load_inputs", "read_benchmarks"]

# The tables under results/: name -> (file name, contract columns).
TABLES: dict[str, tuple[str, list[str]]] = {
    "gradient": ("gradient.csv", GRADIENT_COLUMNS),
    "chain": ("chain.csv", CHAIN_COLUMNS),
    "optimisation": ("optimisation.csv", OPTIMISATION_COLUMNS),
    "model": ("model.csv", MODEL_COLUMNS),
    "model_traces": ("model_traces.csv", MODEL_TRACE_COLUMNS),
    "runtimes": ("runtimes.csv", RUNTIME_COLUMNS),
    "sbn": ("sbn.csv", SBN_COLUMNS),
}


@dataclass
class StudyInputs:
    """The loaded inputs. Tables are ``None`` when absent or empty."""

    gradient: pd.DataFrame | None = None
    chain: pd.DataFrame | None = None
    optimisation: pd.DataFrame | None = None
    model: pd.DataFrame | None = None
    model_traces: pd.DataFrame | None = None
    runtimes: pd.DataFrame | None = None
    sbn: pd.DataFrame | None = None
    benchmarks: pd.DataFrame | None = None  # Snakemake benchmark files, one row per job
    bench: pd.DataFrame | None = None  # the benchmark suite's tables, with a source column
    config: Mapping | None = None
    files: dict[str, Path] = field(default_factory=dict)  # label -> path, for provenance
    notes: list[str] = field(default_factory=list)  # problems met while loading

    def table(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)


def read_table(path: Path, columns: list[str], name: str) -> pd.DataFrame | None:
    """Read one CSV; ``None`` when it is absent or has no rows."""
    if not path.exists():
        return None
    frame = pd.read_csv(path, keep_default_na=True)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} ({name}) lacks the contract columns {missing}; "
            f"see pmcgrad.study.columns (it has {list(frame.columns)})"
        )
    if frame.empty:
        return None
    for column in ("unbiased", "bias_within_error"):
        if column in frame.columns and frame[column].dtype == object:
            frame[column] = frame[column].astype(str).str.lower().isin(["true", "1", "yes"])
    if "family" in frame.columns:
        frame["family"] = frame["family"].fillna("").astype(str)
    if "netcdf" in frame.columns:
        frame["netcdf"] = frame["netcdf"].fillna("").astype(str)
    return frame


def resolve_netcdf(relative: str, table_path: Path) -> Path | None:
    """Find a DataTree named in model.csv: relative to the workflow's root (the folder above
    ``results/``), to the table's folder, or to the working directory."""
    if not relative:
        return None
    candidate = Path(relative)
    for base in (table_path.parent.parent, table_path.parent, Path.cwd()):
        path = candidate if candidate.is_absolute() else base / candidate
        if path.exists():
            return path
    return None


def read_benchmarks(paths: Iterable[Path]) -> pd.DataFrame | None:
    """Snakemake ``benchmark:`` TSV files -> one row per file (rule, wildcards, seconds, RSS)."""
    rows = []
    for path in sorted(Path(p) for p in paths):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (OSError, ValueError, pd.errors.EmptyDataError) as error:
            warnings.warn(f"skipping benchmark file {path}: {error}", stacklevel=2)
            continue
        if "s" not in frame.columns or frame.empty:
            continue
        rows.append(
            {
                "file": path.as_posix(),
                "rule": benchmark_rule(path),
                "job": benchmark_job(path),
                "seconds": float(frame["s"].mean()),
                "max_rss_mb": float(frame["max_rss"].mean())
                if "max_rss" in frame.columns and pd.api.types.is_numeric_dtype(frame["max_rss"])
                else float("nan"),
            }
        )
    return pd.DataFrame(rows) if rows else None


def benchmark_rule(path: Path) -> str:
    """The rule a benchmark file belongs to: the folder right under ``benchmarks/`` (the
    study's layout ``results/benchmarks/<rule>/...``), else the file's folder."""
    parts = Path(path).parts
    for index, part in enumerate(parts[:-2]):
        if part == "benchmarks":
            return parts[index + 1]
    return Path(path).parent.name or Path(path).stem


def benchmark_job(path: Path) -> str:
    """A job's name: the benchmark file's path under ``benchmarks/``, without ``.tsv``."""
    parts = Path(path).with_suffix("").parts
    for index, part in enumerate(parts[:-2]):
        if part == "benchmarks":
            return "/".join(parts[index + 1:])
    return Path(path).stem


def read_bench_tables(paths: Iterable[Path]) -> pd.DataFrame | None:
    """The benchmark suite's CSVs (``benchmarks/out/<module>.csv``, the runtimes.csv columns)
    in one frame with a ``source`` column (the module); ``None`` when there are none."""
    frames = []
    for path in sorted(Path(p) for p in paths):
        frame = read_table(path, RUNTIME_COLUMNS, f"benchmark table {path.name}")
        if frame is not None:
            frames.append(frame.assign(source=path.stem))
    return pd.concat(frames, ignore_index=True) if frames else None


def load_inputs(
    tables: Mapping[str, str | Path | None],
    *,
    benchmarks: Iterable[str | Path] = (),
    bench_tables: Iterable[str | Path] = (),
    config: Mapping | None = None,
) -> StudyInputs:
    """Load the named tables (keys of :data:`TABLES`; missing keys count as absent).

    The DataTrees named in model.csv's ``netcdf`` column are resolved to paths in a column
    ``netcdf_path`` (``None`` where the file is absent).
    """
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown tables {sorted(unknown)}; expected some of {list(TABLES)}")
    inputs = StudyInputs(config=config)
    for name, (_, columns) in TABLES.items():
        raw = tables.get(name)
        if raw is None:
            continue
        path = Path(raw)
        frame = read_table(path, columns, name)
        if frame is not None:
            inputs.files[name] = path
        setattr(inputs, name, frame)
    if inputs.model is not None:
        table_path = inputs.files["model"]
        resolved = {
            rel: resolve_netcdf(rel, table_path) for rel in inputs.model["netcdf"].unique()
        }
        inputs.model["netcdf_path"] = inputs.model["netcdf"].map(resolved)
        absent = sorted(rel for rel, path in resolved.items() if rel and path is None)
        if absent:
            inputs.notes.append(
                f"{len(absent)} DataTree file(s) named in model.csv were not found, e.g. "
                f"<code>{absent[0]}</code>."
            )
        for rel, path in resolved.items():
            if path is not None:
                inputs.files[f"DataTree {rel}"] = path
    inputs.benchmarks = read_benchmarks([Path(p) for p in benchmarks])
    bench_paths = [Path(p) for p in bench_tables]
    inputs.bench = read_bench_tables(bench_paths)
    for path in bench_paths:
        inputs.files[f"benchmark suite {path.stem}"] = path
    return inputs


def file_digest(path: Path, length: int = 12) -> str:
    """The first ``length`` hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]
