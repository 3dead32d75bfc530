"""pmcgrad's compiled estimators against straightforward vectorised NumPy versions of the same
estimators, written here as the reference (they are not part of the library).

Both sides compute the value and the gradient estimate for the same f, k and S = 32, each with
its own random generator; the figure is pmcgrad seconds / NumPy seconds, timed side by side.
The target is a ratio <= 1.0 at k >= 256. A wrong reference would make the ratio meaningless,
so both sides' mean gradients over many calls are first checked against each other and against
the closed-form gradient (every |z| below 5); the module raises if they disagree.

Run: .venv/bin/python -m benchmarks.against_numpy [--quick]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import numpy as np

from benchmarks.common import write_rows
from benchmarks.harness import (
    DenseQuadratic,
    Toy,
    format_table,
    max_z,
    sigmoid,
    single_threaded_blas,
    size_settings,
    time_ratio,
    value_and_gradient_call,
    verdict,
)

__all__ = ["NUMPY_ESTIMATORS", "TARGET", "agreement", "main"]

TARGET = 1.0
TARGET_MIN_K = 256
Z_LIMIT = 5.0
SAMPLES = 32
KS = (16, 256, 4096)
AGREEMENT_KS = (16, 256)
AGREEMENT_CALLS = 400
QUICK = {"ks": (8,), "agreement_ks": (8,), "calls": 60, "estimators": ("reinforce_loo", "disarm")}

NumpyEstimator = Callable[[Callable, np.ndarray, np.random.Generator, int],
                          tuple[float, np.ndarray]]


# --- the NumPy reference estimators (docs/math.md's table, one draw per row of the noise)


def reinforce(f, logits, rng, samples):
    """``f(b) (b - p)``: returns ``(value, gradient (k,))`` averaged over ``samples`` draws."""
    p = sigmoid(logits)
    bits = (rng.random((samples, logits.size)) < p).astype(float)  # [S, k]
    fvals = f(bits)  # [S]
    return fvals.mean(), (fvals[:, None] * (bits - p)).mean(axis=0)


def reinforce_loo(f, logits, rng, samples):
    """``(f(b_s) - mean_{r != s} f(b_r)) (b_s - p)``."""
    p = sigmoid(logits)
    bits = (rng.random((samples, logits.size)) < p).astype(float)  # [S, k]
    fvals = f(bits)  # [S]
    baseline = (fvals.sum() - fvals) / (samples - 1)  # leave-one-out mean
    return fvals.mean(), ((fvals - baseline)[:, None] * (bits - p)).mean(axis=0)


def ar(f, logits, rng, samples):
    """``f(b) (1 - 2 w)``, ``b = 1{w < p}``."""
    p = sigmoid(logits)
    w = rng.random((samples, logits.size))  # [S, k]
    fvals = f((w < p).astype(float))
    return fvals.mean(), (fvals[:, None] * (1 - 2 * w)).mean(axis=0)


def arm(f, logits, rng, samples):
    """``(f(b1) - f(b2)) (1/2 - w)``, ``b1 = 1{w < p}``, ``b2 = 1{1 - w < p}``."""
    p = sigmoid(logits)
    w = rng.random((samples, logits.size))  # [S, k]
    fvals = f(np.concatenate([w < p, 1 - w < p]).astype(float))  # [2S]: f(b1), f(b2)
    f1, f2 = fvals[:samples], fvals[samples:]
    return fvals.mean(), ((f1 - f2)[:, None] * (0.5 - w)).mean(axis=0)


def disarm(f, logits, rng, samples):
    """``1/2 (f(b1) - f(b2)) (-1)^b2 1{b1 != b2} sigmoid(|phi|)``."""
    p = sigmoid(logits)
    w = rng.random((samples, logits.size))  # [S, k]
    b1, b2 = (w < p).astype(float), (1 - w < p).astype(float)
    fvals = f(np.concatenate([b1, b2]))  # [2S]
    f1, f2 = fvals[:samples], fvals[samples:]
    weight = (1 - 2 * b2) * (b1 != b2) * sigmoid(np.abs(logits))
    return fvals.mean(), (0.5 * (f1 - f2)[:, None] * weight).mean(axis=0)


NUMPY_ESTIMATORS: dict[str, NumpyEstimator] = {
    "reinforce": reinforce,
    "reinforce_loo": reinforce_loo,
    "ar": ar,
    "arm": arm,
    "disarm": disarm,
}


def agreement(first: np.ndarray, second: np.ndarray, exact: np.ndarray) -> dict[str, float]:
    """Largest |z| between two sets of gradient draws ``(R, k)`` and against ``exact (k,)``.

    Each z uses the standard error of the mean over the R draws.
    """
    mean_1, mean_2 = first.mean(axis=0), second.mean(axis=0)
    se_1 = first.std(axis=0, ddof=1) / np.sqrt(len(first))
    se_2 = second.std(axis=0, ddof=1) / np.sqrt(len(second))
    return {
        "pmcgrad_vs_numpy": max_z(mean_1 - mean_2, np.hypot(se_1, se_2)),
        "pmcgrad_vs_exact": max_z(mean_1 - exact, se_1),
        "numpy_vs_exact": max_z(mean_2 - exact, se_2),
    }


@single_threaded_blas
def main(quick: bool = False, ks: Sequence[int] | None = None,
         estimators: Sequence[str] | None = None) -> list[dict]:
    """Check agreement, then time pmcgrad against NumPy; print a table; write the CSV."""
    settings = size_settings(quick)
    ks = tuple(ks or (QUICK["ks"] if quick else KS))
    agreement_ks = QUICK["agreement_ks"] if quick else AGREEMENT_KS
    calls = QUICK["calls"] if quick else AGREEMENT_CALLS
    estimators = tuple(estimators or (QUICK["estimators"] if quick else NUMPY_ESTIMATORS))
    rows, timing_table, agreement_table, disagreements = [], [], [], []
    for k in sorted(set(ks) | set(agreement_ks)):
        logits = np.random.default_rng(k).normal(size=k)
        for problem in (DenseQuadratic(k), Toy(k)):
            for name in estimators:
                pmcgrad_call = value_and_gradient_call(problem, k, name, SAMPLES, seed=1,
                                                       logits=logits)
                numpy_rng = np.random.default_rng(2)
                reference = NUMPY_ESTIMATORS[name]

                def numpy_call(reference=reference, rng=numpy_rng, f=problem.numpy,
                               logits=logits):
                    return reference(f, logits, rng, SAMPLES)

                label = f"{problem.name},k={k},{name}"
                if k in agreement_ks:
                    z = agreement(np.array([pmcgrad_call()[1] for _ in range(calls)]),
                                  np.array([numpy_call()[1] for _ in range(calls)]),
                                  problem.exact_gradient(logits))
                    ok = max(z.values()) < Z_LIMIT
                    if not ok:
                        disagreements.append(f"{label}: {z}")
                    rows.append({"name": f"numpy_agreement_max_z[{label}]",
                                 "value": max(z.values()), "unit": "z",
                                 "note": f"{'PASS' if ok else 'FAIL'} (|z| < {Z_LIMIT}); "
                                         + ", ".join(f"{key} {v:.2f}" for key, v in z.items())
                                         + f"; {calls} calls of S={SAMPLES}"})
                    agreement_table.append([problem.name, k, name, *z.values(),
                                            "PASS" if ok else "FAIL"])
                if k not in ks:
                    continue
                ratio = time_ratio(pmcgrad_call, numpy_call, settings)
                if k >= TARGET_MIN_K:
                    target = f"target <= {TARGET}: {verdict(ratio, TARGET)}"
                else:
                    target = f"no target below k={TARGET_MIN_K}"
                rows.append({"name": f"numpy_ratio[{label}]", "value": ratio.median,
                             "unit": "ratio",
                             "note": f"{target}; IQR {ratio.iqr:.3f} over {ratio.rounds} "
                                     f"rounds; pmcgrad {ratio.candidate * 1e3:.4g} ms vs NumPy "
                                     f"{ratio.reference * 1e3:.4g} ms; S={SAMPLES}"})
                timing_table.append([problem.name, k, name, ratio.candidate * 1e3,
                                     ratio.reference * 1e3, ratio.median, ratio.iqr, target])
    print(format_table(["f", "k", "estimator", "max|z| pm-np", "pm-exact", "np-exact",
                        f"|z| < {Z_LIMIT}"], agreement_table))
    print()
    print(format_table(["f", "k", "estimator", "pmcgrad ms", "numpy ms", "ratio", "IQR",
                        "target"], timing_table))
    path = write_rows("against_numpy", rows)
    print(f"wrote {path}")
    if disagreements:
        raise AssertionError("pmcgrad and the NumPy reference disagree:\n"
                             + "\n".join(disagreements))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few rounds")
    main(quick=parser.parse_args().quick)
