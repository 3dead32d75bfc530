"""Where a first fit's time goes (issue 15): cold and warm whole calls of ``pmcgrad.fit`` and
``pm.sample`` on the diabetes spike-and-slab (10 predictors, unknown noise sd).

Each figure is one whole call in a fresh Python process, so nothing compiled in this process
helps it:

- **cold**: an empty compilation directory (PyTensor's ``base_compiledir``, which holds
  Numba's cache of PyTensor's functions too), as on a first install or after an upgrade;
- **warm**: a second fresh process sharing that directory (the code comes from the disk
  cache; PyTensor still rebuilds and rewrites the graph).

``pmcgrad.fit`` runs with its defaults for this model (``family="bit_conditioned"``,
``n_starts=4``, the stopping rule, the diagnostics); ``pm.sample`` with 2 chains of 1000 draws
on one core (``cores=1``, so the two sides use the same CPU). The ratio column is
``pm.sample / pmcgrad.fit``, each pair measured side by side, cold then warm.

Run: .venv/bin/python -m benchmarks.cold_start
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from benchmarks.common import write_rows
from benchmarks.harness import format_table

_CHILD = r"""
import json, sys, time, warnings
start = time.perf_counter()
import pymc as pm
import pmcgrad
from pmcgrad.problems.gallery import diabetes_data
imported = time.perf_counter() - start
X, y, names = diabetes_data()
with pm.Model(coords={"predictor": names}):
    z = pm.Bernoulli("z", p=0.5, dims="predictor")
    beta = pm.Normal("beta", 0.0, 1.0, dims="predictor")
    sigma = pm.HalfNormal("sigma", 1.0)
    pm.Normal("y", mu=X @ (z * beta), sigma=sigma, observed=y)
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    if sys.argv[1] == "fit":
        result = pmcgrad.fit(family="bit_conditioned", n_starts=4, random_seed=0,
                             progressbar=False)
        extra = {"steps": result.steps}
    else:
        pm.sample(1000, chains=2, cores=1, random_seed=4, progressbar=False)
        extra = {}
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "import_seconds": imported, **extra}))
"""


def _call(what: str, compiledir: str) -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}")
    out = subprocess.run([sys.executable, "-c", _CHILD, what], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> list[dict]:
    rows, table = [], []
    with tempfile.TemporaryDirectory() as fit_dir, tempfile.TemporaryDirectory() as mcmc_dir:
        for cache in ("cold", "warm"):
            fit = _call("fit", fit_dir)
            mcmc = _call("sample", mcmc_dir)
            ratio = mcmc["seconds"] / fit["seconds"]
            table.append([cache, f"{fit['seconds']:.1f}", str(fit["steps"]),
                          f"{mcmc['seconds']:.1f}", f"{ratio:.2f}"])
            note = (f"whole call in a fresh process, {cache} compilation cache; fit "
                    f"{fit['steps']} steps; import {fit['import_seconds']:.1f} s not included")
            rows += [
                {"name": f"cold_start_fit_seconds[{cache}]", "value": fit["seconds"],
                 "unit": "s", "note": note},
                {"name": f"cold_start_sample_seconds[{cache}]", "value": mcmc["seconds"],
                 "unit": "s", "note": f"pm.sample 2 x 1000 draws, cores=1, {cache} cache"},
                {"name": f"cold_start_ratio[{cache}]", "value": ratio, "unit": "ratio",
                 "note": "pm.sample seconds / pmcgrad.fit seconds"},
            ]
    print(format_table(["cache", "fit s", "steps", "pm.sample s", "ratio"], table))
    write_rows("cold_start", rows)
    return rows


if __name__ == "__main__":
    main()
