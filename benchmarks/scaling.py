"""Time per gradient against k, and the log-log slope of that curve.

Each sampling estimator computes value and gradient for the separable toy f (O(k) per vector)
with S = 32 at k = 16 ... 16384 (powers of 4). Every time is measured as a ratio to one fixed
reference workload (f alone on 64 random bit vectors of length 4096) timed side by side, so a
load change between two k's cannot bend the curve; "ms" columns are that ratio times the
reference's median. The least-squares slope of log(time) on log(k) should be <= 1.1: it is
reported over the whole range (a fixed per-call cost flattens the small-k end) and over the
upper half of the k's (1024 ... 16384), and the target is read on the latter.

``uniform_boundary`` costs k + 1 evaluations of f per draw, so O(k^2): it runs to k = 1024 and
is reported apart. ``exact`` enumerates 2^k vectors: its time ratio per added bit is reported,
with the k at which one call passes a second (extrapolated from the largest k's measured; the
library's default ``exact_limit`` is 20).

Run: .venv/bin/python -m benchmarks.scaling [--quick]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

import pmcgrad
from benchmarks.common import write_rows
from benchmarks.harness import (
    Toy,
    fonly_call,
    format_table,
    random_bits,
    single_threaded_blas,
    size_settings,
    time_ratio,
    value_and_gradient_call,
)

__all__ = ["SLOPE_TARGET", "log_log_slope", "main"]

SLOPE_TARGET = 1.1
SAMPLES = 32
KS = (16, 64, 256, 1024, 4096, 16384)
BOUNDARY_KS = (16, 64, 256, 1024)
EXACT_KS = (12, 13, 14, 15, 16, 17, 18, 19, 20)
EXACT_FIT_MIN_K = 15
QUICK = {"ks": (8, 32), "boundary_ks": (8, 32), "exact_ks": (4, 5, 6),
         "estimators": ("reinforce_loo", "disarm")}
REFERENCE_SHAPE = (64, 4096)
ONE_SECOND = 1.0


def log_log_slope(ks: Sequence[int], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) on log(k)."""
    return float(np.polyfit(np.log(ks), np.log(times), 1)[0])


@single_threaded_blas
def main(quick: bool = False, ks: Sequence[int] | None = None,
         estimators: Sequence[str] | None = None) -> list[dict]:
    """Time every estimator over k; print the curves and slopes; write ``scaling.csv``."""
    settings = size_settings(quick)
    ks = tuple(ks or (QUICK["ks"] if quick else KS))
    boundary_ks = QUICK["boundary_ks"] if quick else BOUNDARY_KS
    exact_ks = QUICK["exact_ks"] if quick else EXACT_KS
    if estimators is None:
        estimators = QUICK["estimators"] if quick else [
            name for name in pmcgrad.estimator_names()
            if name not in ("exact", "uniform_boundary")]
    reference_shape = (8, 64) if quick else REFERENCE_SHAPE
    reference = fonly_call(Toy(reference_shape[1]), random_bits(*reference_shape))
    reference_seconds = []

    def curve(name: str, curve_ks: Sequence[int], samples: int) -> np.ndarray:
        ratios = []
        for k in curve_ks:
            ratio = time_ratio(value_and_gradient_call(Toy(k), k, name, samples), reference,
                               settings)
            reference_seconds.append(ratio.reference)
            ratios.append(ratio.median)
        return np.array(ratios)

    rows, slope_table, curves = [], [], {}
    for name in [*estimators, "uniform_boundary"]:
        boundary = name == "uniform_boundary"
        curve_ks = boundary_ks if boundary else ks
        ratios = curves[name] = curve(name, curve_ks, SAMPLES)
        slope = log_log_slope(curve_ks, ratios)
        large = slice(min(len(curve_ks) // 2, len(curve_ks) - 2), None)  # upper half of the k
        large_slope = log_log_slope(curve_ks[large], ratios[large])
        if boundary:
            verdict = "O(k^2) by construction (k + 1 evaluations per draw): no target"
        else:
            verdict = (f"target <= {SLOPE_TARGET} on k >= {curve_ks[large][0]}: "
                       + ("PASS" if large_slope <= SLOPE_TARGET else "FAIL"))
        rows += [
            {"name": f"scaling_slope[{name}]", "value": slope, "unit": "log-log slope",
             "note": f"k = {curve_ks[0]}..{curve_ks[-1]}, S={SAMPLES}, toy f"},
            {"name": f"scaling_slope_large_k[{name}]", "value": large_slope,
             "unit": "log-log slope", "note": verdict},
        ]
        rows += [{"name": f"scaling_time_ratio[{name},k={k}]", "value": r, "unit": "ratio",
                  "note": "time per value-and-gradient call / fixed f-only reference "
                          f"{reference_shape}"} for k, r in zip(curve_ks, ratios, strict=True)]
        slope_table.append([name, slope, large_slope, verdict.split(":")[-1].strip()])

    reference_ms = float(np.median(reference_seconds)) * 1e3
    rows.append({"name": "scaling_reference_ms", "value": reference_ms, "unit": "ms",
                 "note": f"toy f alone on {reference_shape} random bits, median over all rounds"})
    _print_curves(curves, ks, boundary_ks, reference_ms)
    print(format_table(["estimator", "slope (all k)", "slope (upper half of k)", "verdict"],
                       slope_table))
    rows += _exact_rows(exact_ks, reference, settings, reference_ms)
    path = write_rows("scaling", rows)
    print(f"wrote {path}")
    return rows


def _print_curves(curves, ks, boundary_ks, reference_ms) -> None:
    print(f"ms per value-and-gradient call (toy f, S={SAMPLES}; ratio to the reference "
          f"x its median {reference_ms:.4g} ms)")
    for name, curve_ks in (("sampling", ks), ("uniform_boundary", boundary_ks)):
        names = [n for n in curves if (n == "uniform_boundary") == (name != "sampling")]
        table = [[n, *(curves[n] * reference_ms)] for n in names]
        print(format_table(["estimator", *(f"k={k}" for k in curve_ks)], table))
        print()


def _exact_rows(exact_ks, reference, settings, reference_ms) -> list[dict]:
    ratios = []
    for k in exact_ks:
        call = value_and_gradient_call(Toy(k), k, "exact", 1, exact_limit=max(exact_ks))
        ratios.append(time_ratio(call, reference, settings).median)
    ratios = np.array(ratios)
    per_bit = ratios[1:] / ratios[:-1]
    fit = [i for i, k in enumerate(exact_ks) if k >= min(EXACT_FIT_MIN_K, exact_ks[-2])]
    slope = np.polyfit(np.take(exact_ks, fit), np.log2(ratios[fit]), 1)[0]
    seconds = ratios * reference_ms / 1e3
    # log2 seconds(k) = log2 seconds(k_max) + slope (k - k_max): solve for one second.
    limit_k = exact_ks[-1] + np.log2(ONE_SECOND / seconds[-1]) / slope
    print(format_table(["k", "ms per call", "ratio to k - 1"],
                       [[k, s * 1e3, "" if i == 0 else per_bit[i - 1]]
                        for i, (k, s) in enumerate(zip(exact_ks, seconds, strict=True))]))
    print(f"exact: x{2**slope:.2f} per added bit (fit on k >= {exact_ks[fit[0]]}); "
          f"one call takes 1 s at k ~ {limit_k:.1f} (library default limit 20)\n")
    rows = [{"name": f"exact_time_ratio[k={k}]", "value": r, "unit": "ratio",
             "note": "time per call / fixed f-only reference"}
            for k, r in zip(exact_ks, ratios, strict=True)]
    rows += [
        {"name": "exact_factor_per_bit", "value": float(2**slope), "unit": "ratio",
         "note": f"2^(slope of log2 time on k) fitted on k = {exact_ks[fit[0]]}..{exact_ks[-1]}; "
                 f"median consecutive ratio {np.median(per_bit[fit[0]:]):.3f}"},
        {"name": "exact_k_at_one_second", "value": float(limit_k), "unit": "k",
         "note": f"{'extrapolated' if seconds[-1] < ONE_SECOND else 'measured'} from "
                 f"{seconds[-1] * 1e3:.4g} ms at k={exact_ks[-1]}; library default limit 20"},
    ]
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few rounds")
    main(quick=parser.parse_args().quick)
