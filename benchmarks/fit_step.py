"""Milliseconds per pmcgrad.fit step on spike-and-slab (k = 12, n = 200, S = 8), as a ratio to
pm.fit ADVI's step on the same model with z fixed to the truth, measured in this process.

pmcgrad's step is ``Fitter.step`` in blocks of 100 steps (one compiled call, as ``fit`` runs
them), divided by 100; ADVI's is its compiled step function, one call a step.

ADVI is timed twice: with its default single Monte Carlo draw, and with as many draws as the
pmcgrad step evaluates the log density (equal work). The ratio target (<= 1.5 for the
2-evaluation estimators) is read against the equal-work reference.

Run: .venv/bin/python -m benchmarks.fit_step
"""

from __future__ import annotations

import os

import pymc as pm

import pmcgrad
from benchmarks.common import time_call, write_rows
from benchmarks.fit_cost import block_call, fitted
from benchmarks.harness import single_threaded_blas
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import simulate_spike_slab

K, N, SAMPLES = 12, 200, 8
BLOCK = 100  # steps per compiled call, as pmcgrad.fit's loop runs them


def fixed_z_model(data):
    """The same regression with z fixed to the truth: continuous only, so pm.fit accepts it."""
    with pm.Model() as model:
        beta = pm.Normal("beta", 0.0, data.slab_sd, shape=K)
        pm.Normal("y", mu=data.X @ (data.z_true * beta), sigma=data.sigma, observed=data.y)
    return model


def advi_step_seconds(model, draws: int) -> float:
    with model:
        inference = pm.ADVI(random_seed=0)
    step = inference.objective.step_function(score=True, obj_n_mc=draws)
    return time_call(step, calls=300).median


@single_threaded_blas  # as pmcgrad.fit's loop runs, and for ADVI alike
def main() -> list[dict]:
    data = simulate_spike_slab(n=N, k=K, n_true=3, seed=0, correlation=0.3)
    reference = fixed_z_model(data)
    rows = []
    advi_default = advi_step_seconds(reference, 1)
    rows.append({"name": "advi_step_ms", "value": advi_default * 1e3, "unit": "ms",
                 "note": "pm.fit ADVI, 1 draw per step, z fixed to truth"})
    print(f"pm.fit ADVI (1 draw): {advi_default * 1e3:.3f} ms/step")
    for name in pmcgrad.estimator_names():
        if name == "exact":
            continue
        estimator = pmcgrad.get_estimator(name)
        evaluations = SAMPLES * estimator.evaluations(K)
        fitter, state = fitted(spike_slab_model(data), estimator=name, samples=SAMPLES)
        seconds = time_call(block_call(fitter, state, BLOCK), calls=10).median / BLOCK
        equal_work = advi_step_seconds(reference, evaluations)
        ratio = seconds / equal_work
        rows += [
            {"name": f"fit_step_ms[{name}]", "value": seconds * 1e3, "unit": "ms",
             "note": f"{evaluations} log-density evaluations per step"},
            {"name": f"fit_step_ratio_vs_advi_equal_work[{name}]", "value": ratio,
             "unit": "ratio", "note": f"ADVI with {evaluations} draws per step"},
            {"name": f"fit_step_ratio_vs_advi_default[{name}]", "value": seconds / advi_default,
             "unit": "ratio", "note": "ADVI with 1 draw per step"},
        ]
        print(f"{name:18s} {seconds * 1e3:7.3f} ms/step  {evaluations:4d} evals  "
              f"ratio {ratio:5.2f} (equal work)  {seconds / advi_default:6.2f} (ADVI default)")
    path = write_rows("fit_step", rows)
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
