"""The same estimator graphs under PyTensor's Numba (default), C ("CVM") and, when jax is
importable, JAX backends: are the numbers right, and how do the times compare?

Correctness (the module raises, so exits non-zero, when a backend is wrong), on the toy f with
random logits:
- Every backend draws from pmcgrad's counter-based stream (SplitMix64 computed in the graph,
  ``pmcgrad.estimators.streams``), so from the same seed Numba, C and JAX must give the same
  numbers call for call (to 1e-9).
- For every backend the mean gradient over many calls must lie within 4 standard errors of the
  closed-form gradient (``uniform_naive``: of its own biased mean, ``(1 - p) E[f]``), and the
  mean value within 4 SE of ``E[f]``. Backends on different random streams (a shared PyTensor
  ``Generator`` under JAX) would be compared by their means, within 4 SE of each other.

Timing: the ratio of each backend's value-and-gradient call to Numba's, side by side.

GPU throughput (``--jax-only``): gradient estimates and f-evaluations per second under JAX, for
``disarm`` and ``reinforce_loo`` at a large size, next to Numba on this machine's CPU, after a
small-k correctness check of JAX against Numba and the exact gradient:

    python -m benchmarks.backends --jax-only --k 65536 --samples 256 [--dtype float32]

Run: .venv/bin/python -m benchmarks.backends [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence

import numpy as np

import pmcgrad
from benchmarks.common import write_rows
from benchmarks.harness import (
    Settings,
    Toy,
    format_table,
    max_z,
    sigmoid,
    single_threaded_blas,
    size_settings,
    time_ratio,
    value_and_gradient_call,
)

__all__ = ["BackendError", "check_backends", "jax_available", "main", "throughput"]

Z_LIMIT = 4.0
SAME_NUMBERS_TOLERANCE = 1e-9
SHARED_RNG_MODES = ("NUMBA", "CVM", "JAX")  # all three compute pmcgrad's stream in the graph
CHECK_K, CHECK_SAMPLES, CHECK_CALLS = 8, 32, 400
TIMING_K, TIMING_SAMPLES, EXACT_TIMING_K = 1024, 32, 12
QUICK = {"k": 4, "calls": 100, "timing_k": 8, "estimators": ("reinforce_loo", "disarm")}
GPU_ESTIMATORS = ("disarm", "reinforce_loo")


class BackendError(AssertionError):
    """A backend gave numbers that disagree with another backend or with the exact gradient."""


def jax_available() -> bool:
    return importlib.util.find_spec("jax") is not None


def default_modes() -> tuple[str, ...]:
    return ("NUMBA", "CVM", "JAX") if jax_available() else ("NUMBA", "CVM")


def check_backends(modes: Sequence[str], estimators: Sequence[str], *, k: int = CHECK_K,
                   samples: int = CHECK_SAMPLES, calls: int = CHECK_CALLS, seed: int = 3
                   ) -> tuple[list[dict], list[str]]:
    """Run every estimator ``calls`` times under every mode from one seed and compare.

    Returns ``(rows, failures)``: one CSV row per check, and a message per failed check.
    """
    logits = np.random.default_rng(seed).normal(size=k)
    problem = Toy(k)
    draws = {
        (mode, name): _draws(value_and_gradient_call(problem, k, name, samples, seed=seed,
                                                     mode=mode, logits=logits), calls)
        for name in estimators for mode in modes
    }
    rows, failures = [], []

    def record(label: str, value: float, limit: float, unit: str, note: str) -> None:
        ok = bool(value <= limit)
        rows.append({"name": label, "value": value, "unit": unit,
                     "note": f"{'PASS' if ok else 'FAIL'} (<= {limit:g}); {note}"})
        if not ok:
            failures.append(f"{label} = {value:.3g} > {limit:g}: {note}")

    for name in estimators:
        expected_gradient = _expected_gradient(name, problem, logits)
        for mode in modes:
            values, gradients = draws[mode, name]
            record(f"backend_gradient_vs_expected_max_z[{mode},{name}]",
                   max_z(gradients.mean(0) - expected_gradient, _se(gradients)), Z_LIMIT, "z",
                   f"{calls} calls, k={k}, S={samples}")
            record(f"backend_value_vs_mean_max_z[{mode},{name}]",
                   max_z(values.mean() - problem.mean(logits), _se(values)), Z_LIMIT, "z",
                   f"{calls} calls")
        for position, first in enumerate(modes):
            for second in modes[position + 1:]:
                (values_1, gradients_1), (values_2, gradients_2) = (draws[first, name],
                                                                    draws[second, name])
                if first in SHARED_RNG_MODES and second in SHARED_RNG_MODES:
                    difference = float(max(np.abs(gradients_1 - gradients_2).max(),
                                           np.abs(values_1 - values_2).max()))
                    record(f"backend_same_numbers_max_abs_diff[{second} vs {first},{name}]",
                           difference, SAME_NUMBERS_TOLERANCE, "abs",
                           "same seed, same pmcgrad stream: must match call for call")
                else:
                    se = np.hypot(_se(gradients_1), _se(gradients_2))
                    record(f"backend_means_max_z[{second} vs {first},{name}]",
                           max_z(gradients_1.mean(0) - gradients_2.mean(0), se), Z_LIMIT, "z",
                           "different random streams: means compared")
    return rows, failures


def _draws(call, calls: int) -> tuple[np.ndarray, np.ndarray]:
    outputs = [call() for _ in range(calls)]
    return (np.array([float(value) for value, _ in outputs]),
            np.array([np.asarray(gradient) for _, gradient in outputs]))


def _se(draws: np.ndarray) -> np.ndarray:
    return draws.std(axis=0, ddof=1) / np.sqrt(len(draws))


def _expected_gradient(name: str, problem: Toy, logits: np.ndarray) -> np.ndarray:
    if name == "uniform_naive":
        # E[(1 - p_i) f(b)] = (1 - p_i) E[f]: the biased estimator's own mean (docs/math.md).
        return (1 - sigmoid(logits)) * problem.mean(logits)
    return problem.exact_gradient(logits)


def time_backends(modes: Sequence[str], estimators: Sequence[str], k: int, samples: int,
                  settings: Settings) -> tuple[list[dict], list[list]]:
    """Each mode's call time as a ratio to the first mode's, per estimator."""
    rows, table = [], []
    base = modes[0]
    for name in estimators:
        est = pmcgrad.get_estimator(name)
        size = min(k, EXACT_TIMING_K) if est.enumerates else k
        calls = {mode: value_and_gradient_call(Toy(size), size, name, samples, mode=mode)
                 for mode in modes}
        line = [name, size]
        for mode in modes[1:]:
            ratio = time_ratio(calls[mode], calls[base], settings)
            rows.append({"name": f"backend_time_ratio[{mode}/{base},{name}]",
                         "value": ratio.median, "unit": "ratio",
                         "note": f"IQR {ratio.iqr:.3f} over {ratio.rounds} rounds; "
                                 f"{ratio.candidate * 1e3:.4g} ms vs {ratio.reference * 1e3:.4g}"
                                 f" ms; k={size}, S={samples}, toy f"})
            line += [ratio.reference * 1e3, ratio.candidate * 1e3, ratio.median]
        table.append(line)
    header = ["estimator", "k"]
    for mode in modes[1:]:
        header += [f"{base} ms", f"{mode} ms", f"{mode}/{base}"]
    return rows, [header, *table]


@single_threaded_blas
def main(quick: bool = False, modes: Sequence[str] | None = None,
         estimators: Sequence[str] | None = None) -> list[dict]:
    """Check every backend's numbers, then time them; raises ``BackendError`` on wrong numbers."""
    modes = tuple(modes or default_modes())
    if estimators is None:
        estimators = QUICK["estimators"] if quick else pmcgrad.estimator_names()
    print(f"backends: {', '.join(modes)}" + ("" if jax_available() else " (jax not installed)"))
    rows, failures = check_backends(modes, estimators, k=QUICK["k"] if quick else CHECK_K,
                                    calls=QUICK["calls"] if quick else CHECK_CALLS)
    worst = {}
    for row in rows:
        kind = row["name"].split("[")[0]
        worst[kind] = max(worst.get(kind, 0.0), row["value"])
    print(format_table(["check", "worst value", "limit"],
                       [[kind, value, SAME_NUMBERS_TOLERANCE if "same" in kind else Z_LIMIT]
                        for kind, value in worst.items()]))
    if not failures:
        timing_rows, table = time_backends(modes, estimators,
                                           QUICK["timing_k"] if quick else TIMING_K,
                                           TIMING_SAMPLES, size_settings(quick))
        rows += timing_rows
        print(format_table(table[0], table[1:]))
    path = write_rows("backends", rows)
    print(f"wrote {path}")
    if failures:
        raise BackendError("backends gave wrong numbers:\n" + "\n".join(failures))
    return rows


@single_threaded_blas
def throughput(k: int, samples: int, *, dtype: str = "float64",
               estimators: Sequence[str] = GPU_ESTIMATORS, quick: bool = False) -> list[dict]:
    """JAX throughput at a large size next to Numba's, after a small correctness check."""
    import jax  # only this mode needs it

    print(f"jax {jax.__version__} on {jax.devices()}")
    check_rows, failures = check_backends(("NUMBA", "JAX"), estimators,
                                          calls=QUICK["calls"] if quick else CHECK_CALLS)
    if failures:
        raise BackendError("JAX gave wrong numbers:\n" + "\n".join(failures))
    print(f"JAX agrees with Numba and the exact gradient at k={CHECK_K} ({len(check_rows)} "
          "checks)")
    settings = size_settings(quick)
    rows, table = [], []
    logits = np.random.default_rng(0).normal(size=k)
    for name in estimators:
        evaluations = samples * pmcgrad.get_estimator(name).evaluations(k)
        calls = {mode: value_and_gradient_call(Toy(k), k, name, samples, mode=mode, dtype=dtype,
                                               logits=logits) for mode in ("NUMBA", "JAX")}
        ratio = time_ratio(calls["NUMBA"], calls["JAX"], settings)  # Numba / JAX: the speed-up
        for mode, seconds in (("JAX", ratio.reference), ("NUMBA", ratio.candidate)):
            per_second = {"calls": 1 / seconds, "gradient_estimates": samples / seconds,
                          "f_evaluations": evaluations / seconds}
            rows += [{"name": f"throughput[{mode},{name},{what}]", "value": value,
                      "unit": "per second",
                      "note": f"k={k}, S={samples}, {dtype}; a call returns the value and the "
                              f"mean of S gradient estimates; {evaluations} f-evaluations"}
                     for what, value in per_second.items()]
            table.append([name, mode, seconds * 1e3, *per_second.values()])
        rows.append({"name": f"throughput_speedup[JAX over NUMBA,{name}]", "value": ratio.median,
                     "unit": "ratio", "note": f"Numba seconds / JAX seconds, IQR {ratio.iqr:.3f} "
                                              f"over {ratio.rounds} rounds"})
        table.append([name, "JAX speed-up", ratio.median, "", "", ""])
    print(format_table(["estimator", "backend", "ms per call", "calls/s", "gradient estimates/s",
                        "f-evaluations/s"], table))
    path = write_rows("backends_throughput", rows)
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few rounds")
    parser.add_argument("--jax-only", action="store_true",
                        help="JAX throughput at --k and --samples (with a Numba figure)")
    parser.add_argument("--k", type=int, default=65536)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    if args.jax_only:
        throughput(args.k, args.samples, dtype=args.dtype, quick=args.quick)
    else:
        main(quick=args.quick)
