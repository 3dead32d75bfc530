"""``pmcgrad.fit``'s compiled step under Numba (the default) and under JAX
(``compile_kwargs={"mode": "JAX"}``): the same numbers, and the time as a ratio.

Two models:
- the digits sigmoid belief network (all 1797 images, k = 32 codes per image, local latents,
  DisARM, S = 4), 50 steps a call;
- spike-and-slab on an orthogonal design with k = 1000, n = 2000 (``bit_conditioned``,
  DisARM, S = 8), 10 steps a call.

Each model gets one fitter per backend; both start from the same state and seed, so their
losses must agree (to 1e-6) before anything is timed. Then ``Fitter.step`` blocks of the same
length run side by side (:func:`~benchmarks.harness.time_ratio`): the ratio is JAX seconds /
Numba seconds (below 1: JAX is faster). JAX compiles scans of a fixed length only; pmcgrad
compiles blocks of 50, 10 and 1 steps, so the block lengths here are ones JAX runs in one call.
JAX outputs are read back as NumPy arrays, which waits for the device.

On the CPU, XLA runs on one thread here (``XLA_FLAGS``, when jax was not imported before),
as Numba runs with one BLAS thread. On a GPU, install a CUDA build of jax in the project's
environment (``.venv/bin/pip install 'jax[cuda12]'``) and run the same command; JAX then
places the step on the GPU (the first line printed names the device).

Run: .venv/bin/python -m benchmarks.fit_backends [--quick]
"""

from __future__ import annotations

import os
import sys

if "jax" not in sys.modules:  # one XLA thread on the CPU, as Numba's one BLAS thread
    os.environ.setdefault("XLA_FLAGS",
                          "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np

from benchmarks.backends import jax_available
from benchmarks.common import write_rows
from benchmarks.fit_cost import block_call, fitted
from benchmarks.harness import Settings, format_table, single_threaded_blas, time_ratio
from pmcgrad.models import binarised_digits, sigmoid_belief_network, spike_slab_model
from pmcgrad.problems.orthogonal import simulate_orthogonal_spike_slab

__all__ = ["main", "same_numbers"]

SAME_TOLERANCE = 1e-6
SBN_CODES, SBN_SAMPLES, SBN_STEPS = 32, 4, 50
SPIKE_K, SPIKE_STEPS = 1000, 10
QUICK = {"images": 100, "codes": 4, "k": 20}


def cases(quick: bool) -> list[tuple[str, object, dict, int]]:
    """``(label, model factory, fit options, steps per call)`` per model."""
    train, test = binarised_digits(seed=0)
    images = np.concatenate([train, test])[: QUICK["images"] if quick else None]
    codes = QUICK["codes"] if quick else SBN_CODES
    k = QUICK["k"] if quick else SPIKE_K
    spike = simulate_orthogonal_spike_slab(2 * k, k, min(8, k // 2), 0, n_weak=k // 25)
    return [
        (f"SBN digits ({len(images)} images, k = {codes}), disarm S={SBN_SAMPLES}",
         lambda: sigmoid_belief_network(images, codes),
         {"family": "meanfield", "samples": SBN_SAMPLES}, SBN_STEPS),
        (f"spike-and-slab orthogonal k = {k}, n = {2 * k}, bit_conditioned disarm S=8",
         lambda: spike_slab_model(spike), {"family": "bit_conditioned", "samples": 8},
         SPIKE_STEPS),
    ]


def same_numbers(numba, jax, steps: int) -> float:
    """Largest difference of the losses of ``steps`` steps from the same initial state."""
    (numba_fitter, numba_state), (jax_fitter, jax_state) = numba, jax
    first = numba_fitter.step(numba_state, steps)[1].losses
    second = jax_fitter.step(jax_state, steps)[1].losses
    return float(np.max(np.abs(np.asarray(first) - np.asarray(second))))


@single_threaded_blas
def main(quick: bool = False) -> list[dict]:
    """Check and time each model under both backends; write ``fit_backends.csv``."""
    if not jax_available():
        print("fit_backends: jax is not installed (pip install 'pmcgrad[jax]'); skipped")
        return []
    import jax

    print(f"jax {jax.__version__} on {jax.devices()}")
    settings = Settings(warmup=1, repeats=2, block_seconds=0.01) if quick else Settings(
        warmup=2, repeats=7, block_seconds=2.0)
    rows, table = [], []
    for label, make_model, options, steps in cases(quick):
        model = make_model()
        numba = fitted(model, **options)
        jax_fit = fitted(model, compile_kwargs={"mode": "JAX"}, **options)
        difference = same_numbers(numba, jax_fit, steps)
        rows.append({"name": f"fit_backends_max_abs_diff[{label}]", "value": difference,
                     "unit": "abs",
                     "note": f"{'PASS' if difference <= SAME_TOLERANCE else 'FAIL'} (<= "
                             f"{SAME_TOLERANCE:g}); losses of {steps} steps from the same "
                             "state and seed, JAX against Numba"})
        ratio = time_ratio(block_call(*jax_fit, steps), block_call(*numba, steps), settings)
        rows.append({"name": f"fit_backends_ratio[JAX/NUMBA,{label}]", "value": ratio.median,
                     "unit": "ratio",
                     "note": f"IQR {ratio.iqr:.3f} over {ratio.rounds} rounds; "
                             f"{ratio.candidate / steps * 1e3:.4g} ms vs "
                             f"{ratio.reference / steps * 1e3:.4g} ms per step; {steps} steps "
                             f"a call; JAX on {jax.devices()[0].platform}"})
        table.append([label, ratio.reference / steps * 1e3, ratio.candidate / steps * 1e3,
                      ratio.median, ratio.iqr, difference])
    print(format_table(["model", "Numba ms/step", "JAX ms/step", "JAX/Numba", "IQR",
                        "max |diff|"], table))
    print(f"wrote {write_rows('fit_backends', rows)}")
    return rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
