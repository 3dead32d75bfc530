"""The coupling chain at equal f-evaluations: exp_score -> ar -> arm -> disarm.

``exp_score`` scores the exponential pair; ``ar`` Rao-Blackwellises it given ``w``; the swap
``e1 <-> e2`` alone is ``antithetic_exp``; swap plus conditioning is ``arm``; conditioning on
the pair of bits is ``disarm`` (docs/math.md, "the coupling chain"). ``reinforce`` and
``reinforce_loo`` are the reference. Every estimate costs the same number of f-evaluations: a
1-evaluation estimator averages ``evaluations`` draws, a 2-evaluation one ``evaluations / 2``
pairs.

The problem is the toy ``f(b) = sum_i (b_i - t)^2`` at ``phi = 0``. At ``k = 1`` the table
carries the exact variance of each estimate (:func:`pmcgrad.problems.k1_variance_at_cost`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from pmcgrad.problems import k1_variance_at_cost
from pmcgrad.study.columns import CHAIN
from pmcgrad.study.estimates import estimate_function, samples_for_cost
from pmcgrad.study.objectives import Problem, make_objective
from pmcgrad.study.seeds import job_seed
from pmcgrad.study.settings import ChainSettings
from pmcgrad.study.tables import write_table

__all__ = ["chain_rows", "rows_per_job", "run_chain_job", "variance_with_error"]


def variance_with_error(estimates: NDArray) -> tuple[float, float]:
    """Variance of one estimate, averaged over coordinates, and its Monte Carlo standard error.

    ``estimates (R, k)``. With ``v_r = mean_i (g_ri - mean_i)^2`` per replicate, the variance
    is ``sum_r v_r / (R - 1)`` and its standard error ``sd(v_r) / sqrt(R)`` (the replicates are
    independent; the plug-in mean adds an O(1/R) correction that is ignored).
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    replicates = estimates.shape[0]
    per_replicate = ((estimates - estimates.mean(axis=0)) ** 2).mean(axis=1)  # [R]
    variance = per_replicate.sum() / (replicates - 1)
    se = per_replicate.std(ddof=1) / math.sqrt(replicates) * replicates / (replicates - 1)
    return float(variance), float(se)


def chain_rows(k: int, settings: ChainSettings) -> list[dict[str, object]]:
    """One row per estimator x seed at ``k``, every estimate costing ``settings.evaluations``."""
    objective = make_objective(Problem.toy(settings.t), k, instance_seed=0)
    logits = np.zeros((settings.replicates, k))
    rows = []
    for name in settings.estimators:
        function = estimate_function(name, k, samples_for_cost(name, k, settings.evaluations))
        for seed in settings.seeds:
            estimates = function(logits, objective, job_seed(seed, "chain", k, name))
            variance, se = variance_with_error(estimates)
            closed = (k1_variance_at_cost(name, settings.t, function.evaluations) if k == 1
                      else math.nan)
            rows.append({"estimator": name, "k": k, "t": settings.t, "seed": seed,
                         "evaluations": function.evaluations, "variance": variance,
                         "variance_se": se, "closed_form": closed})
    return rows


def rows_per_job(settings: ChainSettings) -> int:
    """The rows one chain job writes: estimator x seed."""
    return len(settings.estimators) * len(settings.seeds)


def run_chain_job(k: int, settings: ChainSettings, out: str) -> None:
    """Write ``out`` (the chain rows at one ``k``)."""
    write_table(chain_rows(k, settings), out, CHAIN)
