"""The scale study: wall time to a given accuracy against k, for ``pmcgrad.fit`` and for
``pm.sample``, on spike-and-slab regressions with k predictors and ``n = rows_per_predictor k``
rows.

Two kinds of design:

* ``orthogonal``: ``X^T X = n I`` (:func:`pmcgrad.problems.orthogonal.
  simulate_orthogonal_spike_slab`), with strong and weak effects; the exact inclusion
  probabilities have a closed form at any k (:func:`~pmcgrad.problems.orthogonal.
  orthogonal_inclusion`).
* ``correlated``: equicorrelated columns (:func:`pmcgrad.problems.simulate_spike_slab`); the
  reference is one long ``pm.sample`` run (:func:`run_reference_job`, its own rule, so it is
  computed once and kept), with the Monte Carlo standard error of each of its probabilities.

One job times one method on one data set (:func:`run_scale_job`). Every timed call is a whole
call on a freshly built model, so each side builds and compiles its functions inside it. With
``scale.warmup`` (``config/full.yaml``), one untimed warm-up call on the same data before it
fills the disk caches of compiled code
(PyTensor's and Numba's), so the timed call finds its compiled modules there and pays for
building the graph and loading them, not for compiling C or Numba code from nothing. That first
call's time, cold caches for this graph, is recorded as ``warmup_seconds``; on a rerun of the
study the caches are warm for both calls. Without it (the default config, to stay inside the
study's time budget), the timed call compiles whatever the caches lack, on both sides alike,
and ``warmup_seconds`` is NaN. The model is :func:`pmcgrad.models.spike_slab_model`
with the response ``y`` as ``pm.Data`` too (:func:`scale_model`), as a user who refits new data
with ``pm.set_data`` writes it: data sets of the same size then share their compiled code, so
the correlated design at k reuses the orthogonal one's disk cache. A fit runs with
``pmcgrad.fit``'s own stopping rule (``max_steps`` its cap) and ``diagnostics=False``, as
``pm.sample`` runs with ``compute_convergence_checks=False``: neither side's checks are timed.
It reaches the target when the raw answer it returns does. ``pm.sample`` (``cores=1``,
BinaryGibbsMetropolis for z, NUTS for beta) is grown in draws, doubling from ``mcmc.draws``,
until one call's inclusion probabilities are within the target; its time is that call's.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pymc as pm
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.problems import SpikeSlabData, simulate_spike_slab
from pmcgrad.problems.orthogonal import orthogonal_inclusion, simulate_orthogonal_spike_slab
from pmcgrad.study.columns import MCMC, SCALE, SCALE_REFERENCE
from pmcgrad.study.seeds import job_seed, job_seed_int
from pmcgrad.study.settings import ScaleJob, ScaleSettings
from pmcgrad.study.tables import read_table, write_table

__all__ = [
    "DESIGNS",
    "effect_counts",
    "error_row",
    "reference_inclusion",
    "run_reference_job",
    "run_scale_job",
    "scale_data",
    "scale_model",
]

log = logging.getLogger(__name__)

DESIGNS = ("orthogonal", "correlated")


def effect_counts(k: int, settings: ScaleSettings, design: str) -> tuple[int, int]:
    """``(strong, weak)`` effects of a design with k predictors: ``max(1, round(true_share k))``
    strong ones and, on orthogonal designs, ``round(weak_share k)`` weak ones (t about 2.5),
    whose inclusion probabilities are neither 0 nor 1."""
    strong = min(k, max(1, round(settings.true_share * k)))
    weak = min(k - strong, round(settings.weak_share * k)) if design == "orthogonal" else 0
    return strong, weak


def scale_data(design: str, k: int, settings: ScaleSettings) -> SpikeSlabData:
    """The data set of one design at k; drawn from (design_seed, design, k) only."""
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; designs: {', '.join(DESIGNS)}")
    n = settings.rows_per_predictor * k
    strong, weak = effect_counts(k, settings, design)
    rng = np.random.default_rng(job_seed(settings.design_seed, design, k))
    if design == "orthogonal":
        return simulate_orthogonal_spike_slab(n, k, strong, rng, n_weak=weak)
    return simulate_spike_slab(n, k, strong, rng, correlation=settings.correlation)


def scale_model(data: SpikeSlabData) -> pm.Model:
    """Spike-and-slab regression ``y ~ N(X (z * beta), sigma)`` as
    :func:`pmcgrad.models.spike_slab_model` writes it (known sigma), with ``y`` as ``pm.Data``
    beside ``X``: the compiled graph then depends on the data's shape only."""
    n, k = data.X.shape
    coords = {"predictor": [f"x{j}" for j in range(k)], "obs": list(range(n))}
    with pm.Model(coords=coords) as model:
        X = pm.Data("X", data.X, dims=("obs", "predictor"))
        y = pm.Data("y_obs", data.y, dims="obs")
        z = pm.Bernoulli("z", p=data.prior_inclusion, dims="predictor")
        beta = pm.Normal("beta", 0.0, data.slab_sd, dims="predictor")
        pm.Normal("y", mu=X @ (z * beta), sigma=data.sigma, observed=y, dims="obs")
    return model


def reference_inclusion(design: str, k: int, settings: ScaleSettings,
                        reference_table: str | None) -> tuple[NDArray, float, str]:
    """``(inclusion, reference_error, reference)``: the closed form of an orthogonal design
    (error 0), or the long MCMC run of a correlated one (its largest standard error)."""
    if design == "orthogonal":
        return orthogonal_inclusion(scale_data(design, k, settings)), 0.0, "closed_form"
    if reference_table is None:
        raise ValueError(f"a correlated design (k={k}) is measured against its MCMC reference "
                         "table, and none was given")
    table = read_table(reference_table, SCALE_REFERENCE, rows=k).sort_values("predictor")
    return (table["inclusion"].to_numpy(dtype=float), float(table["mcse"].max()),
            "mcmc_reference")


def error_row(job: ScaleJob, n: int, inclusion: NDArray, reference: NDArray, *,
              reference_name: str, reference_error: float, target: float, seconds: float,
              warmup_seconds: float, steps: int, attempts: int, converged: bool
              ) -> dict[str, object]:
    """The scale.csv row of one timed method."""
    error = np.abs(np.asarray(inclusion, dtype=float) - reference)
    return {"design": job.design, "k": job.k, "method": job.method, "family": job.family,
            "n": n, "reference": reference_name, "reference_error": reference_error,
            "target": target, "seconds": seconds, "warmup_seconds": warmup_seconds,
            "steps": steps, "attempts": attempts, "converged": converged,
            "max_abs_error": float(error.max()), "mean_abs_error": float(error.mean()),
            "reached": bool(error.max() <= target)}


def run_scale_job(job: ScaleJob, settings: ScaleSettings, *, out: str,
                  reference_table: str | None = None) -> None:
    """Time one method on one data set and write its scale.csv row to ``out``."""
    data = scale_data(job.design, job.k, settings)
    reference, reference_error, reference_name = reference_inclusion(
        job.design, job.k, settings, reference_table)
    common = {"reference_name": reference_name, "reference_error": reference_error,
              "target": settings.target}
    n = data.X.shape[0]
    if job.method == MCMC:
        row = _time_mcmc(job, data, reference, settings, common, n)
    else:
        row = _time_fit(job, data, reference, settings, common, n)
    log.info("%s: %s", job, row)
    write_table([row], out, SCALE)


def _time_fit(job, data, reference, settings, common, n) -> dict[str, object]:
    options = {"estimator": job.method, "family": job.family, "samples": settings.samples,
               "progressbar": False, "diagnostics": False}
    warmup = float("nan")
    if settings.warmup:
        start = time.perf_counter()
        pmcgrad.fit(1, model=scale_model(data), final_samples=2 * settings.samples,
                    random_seed=0, **options)
        warmup = time.perf_counter() - start
    model = scale_model(data)  # fresh: its graph is compiled inside the timed call
    start = time.perf_counter()
    result = pmcgrad.fit(settings.max_steps, model=model,
                         random_seed=job_seed_int(settings.seed, "scale_fit", job.design,
                                                  job.k, job.family, job.method),
                         **options)
    seconds = time.perf_counter() - start
    inclusion = result.inclusion_probabilities["z"].values
    return error_row(job, n, inclusion, reference, seconds=seconds, warmup_seconds=warmup,
                     steps=result.steps, attempts=1, converged=result.converged, **common)


def _time_mcmc(job, data, reference, settings, common, n) -> dict[str, object]:
    mcmc = settings.mcmc
    warmup = float("nan")
    if settings.warmup:
        start = time.perf_counter()
        with scale_model(data):
            pm.sample(draws=10, tune=10, chains=1, cores=1, progressbar=False,
                      compute_convergence_checks=False, random_seed=0)
        warmup = time.perf_counter() - start
    row = None
    for attempt, draws in enumerate(settings.mcmc_draws(), start=1):
        with scale_model(data):  # fresh each time: pm.sample compiles inside the call
            start = time.perf_counter()
            tree = pm.sample(draws=draws, tune=mcmc.tune, chains=mcmc.chains, cores=1,
                             progressbar=False, compute_convergence_checks=False,
                             random_seed=job_seed_int(settings.seed, "scale_mcmc", job.design,
                                                      job.k, draws))
            seconds = time.perf_counter() - start
        inclusion = tree.posterior["z"].mean(dim=("chain", "draw")).values
        row = error_row(job, n, inclusion, reference, seconds=seconds, warmup_seconds=warmup,
                        steps=draws, attempts=attempt, converged=False, **common)
        log.info("pm.sample draws=%d: %.1f s, max error %.4f", draws, seconds,
                 row["max_abs_error"])
        if row["reached"]:
            break
    return row


def run_reference_job(k: int, settings: ScaleSettings, out: str) -> None:
    """The long ``pm.sample`` run of the correlated design at k: inclusion probabilities and
    their Monte Carlo standard errors (ArviZ), one row per predictor."""
    import arviz as az

    data = scale_data("correlated", k, settings)
    reference = settings.reference
    start = time.perf_counter()
    with scale_model(data):
        tree = pm.sample(draws=reference.draws, tune=reference.tune, chains=reference.chains,
                         cores=1, progressbar=False, compute_convergence_checks=False,
                         random_seed=job_seed_int(settings.seed, "scale_reference", k))
    seconds = time.perf_counter() - start
    z = tree.posterior["z"].astype(float)
    inclusion = z.mean(dim=("chain", "draw")).values
    mcse = np.asarray(az.mcse(z.to_dataset(name="z"))["z"].values, dtype=float)
    # A predictor whose draws never change has no spread to estimate: its error is nil only
    # if the probability is 0 or 1 in truth, which a finite run cannot tell; say so with the
    # binomial bound of one more draw.
    floor = 1.0 / (reference.draws * reference.chains + 1)
    mcse = np.where(np.isfinite(mcse), mcse, floor)
    rows = [{"k": k, "predictor": j, "inclusion": float(inclusion[j]),
             "mcse": float(max(mcse[j], 0.0)), "draws": reference.draws,
             "chains": reference.chains, "seconds": seconds} for j in range(k)]
    write_table(rows, out, SCALE_REFERENCE)
