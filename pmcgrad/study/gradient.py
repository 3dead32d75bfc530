"""The gradient study: bias, variance and cost of every estimator against the exact gradient.

One job covers one problem at one k: every estimator x logit setting x seed, written as rows of
``results/gradient.csv`` (columns: :data:`pmcgrad.study.columns.GRADIENT_COLUMNS`).

A "draw" in the table is one gradient estimate from the estimator's minimum number of samples
(2 for ``reinforce_loo``, 1 otherwise), so ``variance`` is the variance of one such estimate,
``evaluations_per_draw`` its cost in f-evaluations, and ``variance_x_evaluations`` the variance
that estimator reaches per f-evaluation (averaging ``n`` estimates divides it by ``n`` and
multiplies the cost by ``n``): the fair comparison at equal cost. ``uniform_boundary`` costs
``k + 1`` evaluations per draw, ``exact`` ``2^k`` (one "draw", zero variance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

import pmcgrad
from pmcgrad.study.columns import GRADIENT
from pmcgrad.study.estimates import EstimateFunction, estimate_function
from pmcgrad.study.objectives import Problem, QuadraticObjective, make_objective
from pmcgrad.study.seeds import job_seed
from pmcgrad.study.settings import GradientSettings
from pmcgrad.study.tables import write_table

__all__ = [
    "BIAS_ABS",
    "BIAS_FALSE_FLAG_RATE",
    "BIAS_Z",
    "LOGIT_SETTINGS",
    "SATURATED_LOGIT",
    "bias_statistics",
    "bias_threshold",
    "gradient_rows",
    "logit_setting",
    "rows_per_job",
    "run_gradient_job",
]

LOGIT_SETTINGS = ("zero", "random", "saturated")

#: |logit| of the "saturated" setting: p = sigmoid(6) = 0.9975, alternating +6, -6, +6, ...
SATURATED_LOGIT = 6.0

#: A row is "within error" when every coordinate has |mean - exact| <= z_k se + BIAS_ABS, where
#: z_k = bias_threshold(k) is BIAS_Z at k = 1, corrected for the k coordinates tested at once.
BIAS_Z = 4.0
BIAS_ABS = 1e-9
#: The chance that an unbiased row is flagged, at every k: one normal coordinate beyond BIAS_Z.
BIAS_FALSE_FLAG_RATE = float(2 * norm.sf(BIAS_Z))

_ROUNDING = 1e-12


def logit_setting(name: str, k: int, seed: int) -> NDArray[np.float64]:
    """The logits ``(k,)`` of a setting.

    ``zero``: all 0 (p = 1/2). ``random``: iid N(0, 1), drawn from (seed, k) only, so every
    problem and estimator is measured at the same point. ``saturated``: +6, -6, +6, ...
    (p = 0.9975 or 0.0025), where the baseline-free estimators' rare events dominate.
    """
    if name == "zero":
        return np.zeros(k)
    if name == "random":
        return np.random.default_rng(job_seed(seed, k, "random_logits")).standard_normal(k)
    if name == "saturated":
        return SATURATED_LOGIT * np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    raise ValueError(f"unknown logit setting {name!r}; valid settings: {', '.join(LOGIT_SETTINGS)}")


def bias_threshold(k: int) -> float:
    """The z-score a row's coordinates must stay under: 4 at k = 1, 4.9 at k = 64.

    Bonferroni over the k coordinates, so that an unbiased row is flagged with the same
    probability at every k, that of one normal coordinate beyond 4 se (6.3e-5). A plain 4 se
    on each coordinate flags about 0.4% of unbiased rows at k = 64 by chance, a few rows of
    every default study.
    """
    return float(norm.isf(BIAS_FALSE_FLAG_RATE / (2 * k)))


def bias_statistics(estimates: NDArray, exact: NDArray) -> dict[str, float | int | bool]:
    """Bias and variance columns of one row from estimates ``(R, k)`` and the exact ``(k,)``.

    ``bias`` is the mean over coordinates of ``|mean - exact|``, ``bias_se`` the root mean
    square of the coordinates' standard errors, ``max_bias_z`` the largest ``|mean - exact| /
    se`` (NaN where every se is 0), ``bias_within_error`` whether every coordinate is within
    :func:`bias_threshold` se (plus 1e-9), ``variance`` the mean over coordinates of the variance of
    one estimate (0 for a single deterministic estimate) and ``mse = variance + bias^2``
    averaged over coordinates.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    draws = estimates.shape[0]
    mean = estimates.mean(axis=0)
    variance = estimates.var(axis=0, ddof=1) if draws > 1 else np.zeros_like(mean)
    se = np.sqrt(variance / draws)
    diff = np.abs(mean - exact)
    # A spread at the level of float rounding (DisARM at k = 1, phi = 0 is exact up to 1e-17)
    # is no standard error: z-scores against it would be meaningless.
    positive = se > _ROUNDING * max(float(np.max(np.abs(exact), initial=0.0)), 1.0)
    max_z = float(np.max(diff[positive] / se[positive])) if positive.any() else math.nan
    return {
        "draws": draws,
        "bias": float(diff.mean()),
        "bias_se": float(np.sqrt(np.mean(se**2))),
        "max_bias_z": max_z,
        "bias_within_error": bool(np.all(diff <= bias_threshold(diff.size) * se + BIAS_ABS)),
        "variance": float(variance.mean()),
        "mse": float(np.mean(variance + diff**2)),
    }


def gradient_rows(
    objective: QuadraticObjective,
    function: EstimateFunction,
    logit_names: Sequence[str],
    seeds: Sequence[int],
    replicates: int,
) -> list[dict[str, object]]:
    """One row per logit setting x seed for one compiled estimator on one objective.

    Each row uses ``replicates`` independent estimates (one for ``exact``).
    """
    est = pmcgrad.get_estimator(function.estimator)
    k = objective.k
    # exact is deterministic: one "draw" says everything, and 2^k evaluations per row suffice.
    rows_per_call = 1 if est.enumerates else replicates
    rows = []
    for logit_name in logit_names:
        for seed in seeds:
            logits = logit_setting(logit_name, k, seed)
            exact = objective.exact_gradient(logits)
            noise_seed = job_seed(seed, objective.name, k, logit_name, est.name)
            estimates = function(np.tile(logits, (rows_per_call, 1)), objective, noise_seed)
            stats = bias_statistics(estimates, exact)
            rows.append({
                "problem": objective.name,
                "estimator": est.name,
                "k": k,
                "logits": logit_name,
                "seed": seed,
                "evaluations_per_draw": function.evaluations,
                "unbiased": est.unbiased,
                **stats,
                "variance_x_evaluations": stats["variance"] * function.evaluations,
                "exact_gradient_norm": float(np.linalg.norm(exact)),
            })
    return rows


def rows_per_job(settings: GradientSettings, k: int) -> int:
    """The rows one job at ``k`` writes: estimator x logit setting x seed."""
    return len(settings.estimators_at(k)) * len(settings.logits) * len(settings.seeds)


def run_gradient_job(problem: Problem, k: int, settings: GradientSettings, out: str) -> None:
    """Write ``out`` (a per-job slice of ``gradient.csv``) for one problem at one ``k``.

    ``exact`` is skipped above ``settings.exact_max_k`` (it enumerates ``2^k`` vectors). A row
    spends at most ``settings.max_evaluations`` f-evaluations: an estimator whose estimate costs
    more than ``max_evaluations / replicates`` (``uniform_boundary`` at large k) gets fewer
    replicates, never fewer than 2; the ``draws`` column records how many.
    """
    objective = make_objective(problem, k, settings.instance_seed)
    rows = []
    for name in settings.estimators_at(k):
        est = pmcgrad.get_estimator(name)
        function = estimate_function(name, k, max(1, est.min_samples),
                                     exact_limit=settings.exact_max_k)
        affordable = max(2, min(settings.replicates,
                                settings.max_evaluations // function.evaluations))
        rows += gradient_rows(objective, function, settings.logits, settings.seeds, affordable)
    write_table(rows, out, GRADIENT)
