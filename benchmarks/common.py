"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import csv
import pathlib
import time
from collections.abc import Callable

import numpy as np

__all__ = ["OUT", "Timing", "time_call", "write_rows"]

OUT = pathlib.Path(__file__).resolve().parent / "out"


class Timing:
    """Median and spread (interquartile range) of repeated timings, in seconds per call."""

    def __init__(self, seconds: np.ndarray):
        self.median = float(np.median(seconds))
        self.iqr = float(np.subtract(*np.percentile(seconds, [75, 25])))

    def __str__(self) -> str:
        return f"{self.median * 1e3:.3f} ms (IQR {self.iqr * 1e3:.3f})"


def time_call(fn: Callable[[], object], *, calls: int, repeats: int = 7, warmup: int = 3
              ) -> Timing:
    """Seconds per call of ``fn``: ``repeats`` blocks of ``calls`` calls after a warm-up."""
    for _ in range(warmup):
        fn()
    blocks = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        blocks.append((time.perf_counter() - start) / calls)
    return Timing(np.array(blocks))


def write_rows(name: str, rows: list[dict]) -> pathlib.Path:
    """Write ``rows`` (name, value, unit, note) to ``benchmarks/out/<name>.csv``."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["name", "value", "unit", "note"])
        writer.writeheader()
        writer.writerows(rows)
    return path
