"""What an estimator costs on top of f: one compiled value-and-gradient call, as a ratio to one
compiled call that only evaluates f on as many bit vectors (S x f-evaluations per draw, random
bits passed in as an input), timed side by side.

Two functions f: the dense quadratic ``b^T Q b + c^T b`` (f dominates: the target is a ratio
<= 1.5 for every sampling estimator) and the separable toy ``sum (b - t)^2`` (f is as cheap as
the estimator's own arithmetic, so the ratio shows the estimator's overhead; no target).
``exact`` runs only at k <= 16. ``uniform_boundary`` needs k + 1 evaluations per draw, so at
k = 4096 it runs with S = 1 (4097 vectors; its dense f alone is then about 137 GFLOP a call).

Run: .venv/bin/python -m benchmarks.estimator_overhead [--quick]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pmcgrad
from benchmarks.common import write_rows
from benchmarks.harness import (
    DenseQuadratic,
    Toy,
    fonly_call,
    format_table,
    random_bits,
    single_threaded_blas,
    size_settings,
    time_ratio,
    value_and_gradient_call,
    verdict,
)

__all__ = ["DENSE_TARGET", "main", "samples_for"]

DENSE_TARGET = 1.5
SAMPLES = 32
KS = (16, 256, 4096)
QUICK_KS = (4,)
QUICK_ESTIMATORS = ("exact", "reinforce_loo", "disarm", "uniform_boundary")
EXACT_MAX_K = 16
# Above this many bit-vector entries a call's uniform_boundary draws drop to S = 1.
BOUNDARY_MAX_ENTRIES = 32 * 1025 * 1024


def samples_for(estimator: str, k: int, samples: int = SAMPLES) -> tuple[int, str]:
    """Draws used for ``estimator`` at ``k``, and a note when they were capped."""
    est = pmcgrad.get_estimator(estimator)
    if est.enumerates:
        return 1, "enumerates 2^k vectors"
    if samples * est.evaluations(k) * k > BOUNDARY_MAX_ENTRIES:
        return max(1, est.min_samples), f"S capped at 1 from {samples}: k + 1 evaluations per draw"
    return max(samples, est.min_samples), ""


@single_threaded_blas
def main(quick: bool = False, ks: Sequence[int] | None = None,
         estimators: Sequence[str] | None = None) -> list[dict]:
    """Time every (f, k, estimator); print a table; write ``estimator_overhead.csv``."""
    settings = size_settings(quick)
    ks = tuple(ks or (QUICK_KS if quick else KS))
    estimators = tuple(estimators or (QUICK_ESTIMATORS if quick else pmcgrad.estimator_names()))
    rows, table = [], []
    for k in ks:
        for problem in (DenseQuadratic(k), Toy(k)):
            references = {}
            for name in estimators:
                est = pmcgrad.get_estimator(name)
                if est.enumerates and k > EXACT_MAX_K:
                    continue
                samples, cap = samples_for(name, k)
                vectors = samples * est.evaluations(k)
                if vectors not in references:
                    references[vectors] = fonly_call(problem, random_bits(vectors, k))
                candidate = value_and_gradient_call(problem, k, name, samples)
                ratio = time_ratio(candidate, references[vectors], settings)
                row = _row(problem.name, k, name, samples, vectors, ratio, cap)
                rows.append(row)
                table.append([problem.name, k, name, samples, vectors,
                              ratio.candidate * 1e3, ratio.reference * 1e3, ratio.median,
                              ratio.iqr, row["note"].split(";")[0]])
    print(format_table(["f", "k", "estimator", "S", "vectors", "call ms", "f-only ms",
                        "ratio", "IQR", "target"], table))
    path = write_rows("estimator_overhead", rows)
    print(f"wrote {path}")
    return rows


def _row(f_name, k, name, samples, vectors, ratio, cap) -> dict:
    est = pmcgrad.get_estimator(name)
    if f_name == "dense" and not est.enumerates:
        target = f"target <= {DENSE_TARGET}: {verdict(ratio, DENSE_TARGET)}"
    else:
        target = "no target"
    details = [target, f"IQR {ratio.iqr:.3f} over {ratio.rounds} rounds",
               f"{ratio.candidate * 1e3:.4g} ms vs f-only {ratio.reference * 1e3:.4g} ms",
               f"S={samples}, {vectors} vectors"]
    if cap:
        details.append(cap)
    return {"name": f"overhead_ratio[{f_name},k={k},{name}]", "value": ratio.median,
            "unit": "ratio", "note": "; ".join(details)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few rounds")
    main(quick=parser.parse_args().quick)
