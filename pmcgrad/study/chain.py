"""The coupling chain of MATH.md at equal f-evaluations: exp_score -> ar -> arm -> disarm.

``exp_score`` scores the exponential pair; ``ar`` Rao-Blackwellises it given ``w``; the swap
``e1 <-> e2`` alone is ``antithetic_exp``; swap plus conditioning is ``arm``; conditioning on
the pair of bits is ``disarm``. ``reinforce`` and ``reinforce_loo`` are the reference. Every
estimate costs the same number of f-evaluations: a 1-evaluation estimator averages
``evaluations`` draws, a 2-evaluation one ``evaluations / 2`` pairs.

The problem is the toy ``f(b) = sum_i (b_i - t)^2`` at ``phi = 0``. At ``k = 1`` the table
carries the exact variance of each estimate (:func:`closed_form_variance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from pmcgrad.study.columns import CHAIN_COLUMNS
from pmcgrad.study.estimates import estimate_function, samples_for_cost
from pmcgrad.study.io import job_seed, write_table
from pmcgrad.study.objectives import make_objective

__all__ = ["chain_rows", "closed_form_variance", "run_chain_job", "variance_with_error"]


def closed_form_variance(estimator: str, t: float, evaluations: int) -> float:
    """Exact variance of one estimate costing ``evaluations`` f-evaluations (k = 1, phi = 0).

    Per draw, with ``mu = (1 - 2t) / 4`` the exact gradient and ``m4 = (1 - t)^4``, ``n4 = t^4``
    (MATH.md, "Exact variances for tests"):

    * reinforce ``(m4 + n4) / 8 - mu^2``; ar ``(m4 + n4) / 6 - mu^2``;
    * reinforce_loo with S = 2 ``(1 - 2t)^2 / 16``; arm ``(1 - 2t)^2 / 48``; disarm 0.

    Two more are derived here and checked against 10^6 draws in the tests:

    * exp_score ``(3 m4 + n4) / 4 - mu^2``: at ``phi = 0``, ``b = 1{e1 > e2}`` and
      ``E[(e1 - 1)^2 1{e2 < e1}] = E[(e1 - 1)^2 (1 - e^{-e1})] = 1 - 1/4``.
    * antithetic_exp ``(V_exp - mu^2) / 2``: the swap gives ``b' = 1 - b``, so
      ``f(b) f(b') = t^2 (1 - t)^2`` is constant and ``E[g g'] = 0``; the pair's two terms
      are anti-correlated by exactly ``-mu^2``. At ``t = 0.49`` it is 3.26e-2 (MATH.md: "about
      3e-2"), the same as two independent ``exp_score`` draws: the swap alone gains nothing.

    A 1-evaluation estimator averages ``evaluations`` independent draws, dividing its variance
    by that; reinforce_loo's formula is for its S = 2 estimate (2 evaluations). NaN for any
    other estimator or cost.
    """
    mu2 = ((1.0 - 2.0 * t) / 4.0) ** 2
    m4, n4 = (1.0 - t) ** 4, t**4
    v_exp = (3.0 * m4 + n4) / 4.0 - mu2
    per_draw = {"reinforce": (m4 + n4) / 8.0 - mu2, "ar": (m4 + n4) / 6.0 - mu2,
                "exp_score": v_exp}
    if estimator in per_draw:
        return per_draw[estimator] / evaluations
    per_pair = {"reinforce_loo": (1.0 - 2.0 * t) ** 2 / 16.0, "arm": (1.0 - 2.0 * t) ** 2 / 48.0,
                "disarm": 0.0, "antithetic_exp": (v_exp - mu2) / 2.0}
    if estimator in per_pair and evaluations == 2:
        return per_pair[estimator]
    return math.nan


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


def chain_rows(k: int, t: float, estimators: Sequence[str], seeds: Sequence[int],
               evaluations: int, replicates: int) -> list[dict[str, object]]:
    """One row per estimator x seed at ``k``, every estimate costing ``evaluations``."""
    objective = make_objective(f"toy_t{t}", k, instance_seed=0)
    logits = np.zeros((replicates, k))
    rows = []
    for name in estimators:
        function = estimate_function(name, k, samples_for_cost(name, k, evaluations))
        for seed in seeds:
            estimates = function(logits, objective, job_seed(seed, "chain", k, name))
            variance, se = variance_with_error(estimates)
            closed = closed_form_variance(name, t, function.evaluations) if k == 1 else math.nan
            rows.append({"estimator": name, "k": k, "t": t, "seed": seed,
                         "evaluations": function.evaluations, "variance": variance,
                         "variance_se": se, "closed_form": closed})
    return rows


def run_chain_job(k: int, *, t: float, estimators: Sequence[str], seeds: Sequence[int],
                  evaluations: int, replicates: int, out: str) -> None:
    """Write ``out`` (the chain rows at one ``k``)."""
    write_table(chain_rows(k, t, estimators, seeds, evaluations, replicates), out, CHAIN_COLUMNS)
