"""Training the digits sigmoid belief network: time per pmcgrad.fit step against the time of the
log-density evaluations that step needs, measured side by side in this process.

All 1797 images, k = 32 codes, DisARM (2 evaluations per draw) with S = 4 draws: a step
evaluates the per-row log density of 2 S = 8 configurations of all codes, and differentiates
it for W and c. The reference is a compiled function doing exactly that, value and gradient,
without the estimator, the entropy, the optimiser or the RNG. Target ratio: at most 2.

Run: .venv/bin/python -m benchmarks.sbn_step
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt

import pmcgrad
from benchmarks.common import write_rows
from benchmarks.fit_cost import block_call
from benchmarks.harness import Settings, single_threaded_blas, time_ratio
from pmcgrad.models import binarised_digits, sigmoid_belief_network

CODES, SAMPLES = 32, 4


@single_threaded_blas
def main(quick: bool = False) -> list[dict]:
    train, test = binarised_digits(seed=0)
    images = np.concatenate([train, test])[: 200 if quick else None]
    with sigmoid_belief_network(images, CODES):
        result = pmcgrad.fit(0, estimator="disarm", samples=SAMPLES, random_seed=0,
                             progressbar=False, final_samples=2 * SAMPLES)
    structure = result.structure
    evaluations = 2 * SAMPLES
    bits = pt.matrix("bits")  # [evaluations, K]
    reals = pt.matrix("reals")  # [evaluations, D]
    log_p = structure.log_density_rows(bits, reals).sum()
    reference = pytensor.function([bits, reals], [log_p, pytensor.grad(log_p, reals)])
    rng = np.random.default_rng(0)
    bits_value = (rng.random((evaluations, structure.n_bits)) < 0.5).astype("float64")
    reals_value = rng.normal(size=(evaluations, structure.n_reals)) * 0.1
    # Ten compiled steps a call (Fitter.step, as fit runs blocks), against ten evaluations.
    steps = 10
    block = block_call(result.fitter, result.state, steps)

    def ten_references():
        for _ in range(steps):
            reference(bits_value, reals_value)

    ratio = time_ratio(block, ten_references,
                       Settings(repeats=3 if quick else 7, warmup=2, block_seconds=0.5))
    print(f"SBN step ({len(images)} images, k = {CODES}): {ratio.candidate / steps * 1e3:.2f} "
          f"ms; log-density value+gradient for {evaluations} configurations: "
          f"{ratio.reference / steps * 1e3:.2f} ms; ratio {ratio.median:.2f} "
          f"(IQR {ratio.iqr:.2f}), target <= 2")
    rows = [
        {"name": "sbn_step_ms", "value": ratio.candidate / steps * 1e3, "unit": "ms",
         "note": f"{len(images)} images, k={CODES}, disarm, S={SAMPLES}"},
        {"name": "sbn_step_ratio_vs_log_density", "value": ratio.median, "unit": "ratio",
         "note": f"IQR {ratio.iqr:.2f}; reference: value and gradient of the log density at "
                 f"{evaluations} configurations; target <= 2"},
    ]
    write_rows("sbn_step", rows)
    return rows


if __name__ == "__main__":
    main()
