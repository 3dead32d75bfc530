"""Same seed, same bytes: whether Numba compiles a graph afresh or loads it from its disk cache.

The study promises byte-identical tables when a job is rerun. With PyTensor's fastmath flags,
Numba's freshly compiled code and the code it loads from its on-disk cache can differ in the
last bits (seen with a vectorised logarithm, which was dropped for it), so the first run of a
job on a fresh machine and its rerun would disagree. Each run here is a separate process with
its own PyTensor compile directory: the first compiles everything, the second loads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# Estimators whose draws differ in kind: the exponential pair (a log per coordinate), a noise
# quantile, one uniform per coordinate with a pair of evaluations.
ESTIMATORS = ("exp_score", "antithetic_exp", "noise_score", "disarm")

SCRIPT = """
import sys
import numpy as np
from pmcgrad.study.estimates import estimate_function
from pmcgrad.study.gradient import logit_setting
from pmcgrad.study.objectives import Problem, make_objective

out, estimators = sys.argv[1], sys.argv[2:]
objective = make_objective(Problem("spike_slab"), 1, 2026)  # coefficients far from round numbers
results = []
for name in estimators:
    function = estimate_function(name, 1, 1)  # one draw per estimate, as in the study
    for setting in ("random", "saturated"):
        logits = np.tile(logit_setting(setting, 1, 0), (5000, 1))
        results.append(function(logits, objective, np.random.SeedSequence(4)))
np.save(out, np.concatenate(results))
"""


def _run(tmp_path: Path, out: Path) -> None:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'compiledir'}")
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(out), *ESTIMATORS], env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]


def test_estimates_are_the_same_bytes_compiled_afresh_or_loaded_from_numbas_cache(tmp_path):
    fresh, cached = tmp_path / "fresh.npy", tmp_path / "cached.npy"
    _run(tmp_path, fresh)
    assert any((tmp_path / "compiledir" / "numba").glob("*.nbi")), "nothing was cached"
    _run(tmp_path, cached)
    first, second = np.load(fresh), np.load(cached)
    assert first.shape == (len(ESTIMATORS) * 2 * 5000, 1)
    differ = int((first != second).sum())
    assert differ == 0, f"{differ} of {first.size} estimates differ between fresh and cached code"
