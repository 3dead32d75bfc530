"""The model study: spike-and-slab regression fitted with ``pmcgrad.fit`` and with PyMC MCMC.

Three kinds of job per data set (k, design_seed):

* :func:`run_exact_job` -- the exact posterior inclusion probabilities by enumeration (rows with
  ``method = "exact_posterior"``, ``family = "not_a_fit"``); every other job reads its reference
  from this table.
* :func:`run_fit_job` -- one ``pmcgrad.fit`` with one estimator and one variational family;
  saves ``result.sample(draws)`` as netcdf and the thinned ELBO trace. A fit whose logit
  gradients come from the ``exact`` estimator has ``method = "exact"``: it is a fit like any
  other, not the enumerated posterior.
* :func:`run_mcmc_job` -- ``pm.sample`` (BinaryGibbsMetropolis for ``z``, NUTS for ``beta``);
  saves its DataTree as netcdf.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pymc as pm
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.problems import SpikeSlabData, exact_posterior_inclusion, simulate_spike_slab
from pmcgrad.study.columns import EXACT_POSTERIOR, MCMC, MODEL, MODEL_TRACES, NOT_A_FIT
from pmcgrad.study.seeds import job_seed_int
from pmcgrad.study.settings import Dataset, FitJob, ModelSettings
from pmcgrad.study.tables import read_table, write_atomically, write_table

__all__ = [
    "make_dataset",
    "model_rows",
    "run_exact_job",
    "run_fit_job",
    "run_mcmc_job",
    "trace_rows",
    "traced_steps",
]

log = logging.getLogger(__name__)


def make_dataset(data: Dataset, settings: ModelSettings) -> SpikeSlabData:
    """The simulated regression of one data set: ``settings.n`` rows, ``min(n_true, k)`` true
    effects, equicorrelated design (:func:`pmcgrad.problems.simulate_spike_slab`)."""
    return simulate_spike_slab(settings.n, data.k, min(settings.n_true, data.k), data.design_seed,
                               correlation=data.correlation)


def model_rows(k: int, design_seed: int, method: str, family: str, inclusion: NDArray,
               exact_inclusion: NDArray, *, elbo: float, seconds: float, netcdf: str
               ) -> list[dict[str, object]]:
    """One ``model.csv`` row per predictor; ``abs_error`` is NaN where there is no exact value."""
    return [
        {"k": k, "design_seed": design_seed, "method": method, "family": family,
         "predictor": j, "inclusion": float(inclusion[j]),
         "exact_inclusion": float(exact_inclusion[j]),
         "abs_error": float(abs(inclusion[j] - exact_inclusion[j])),
         "elbo": elbo, "seconds": seconds, "netcdf": netcdf}
        for j in range(k)
    ]


def traced_steps(steps: int, thin: int) -> list[int]:
    """The 0-based steps a trace keeps: every ``thin``-th step and the last."""
    return sorted(set(range(0, steps, thin)) | ({steps - 1} if steps else set()))


def trace_rows(k: int, design_seed: int, estimator: str, family: str, loss: NDArray,
               seconds: NDArray, thin: int) -> list[dict[str, object]]:
    """Thinned ELBO trace (``elbo = -loss``): every ``thin``-th step and the last."""
    return [{"k": k, "design_seed": design_seed, "estimator": estimator, "family": family,
             "step": i + 1, "seconds": float(seconds[i]), "elbo": float(-loss[i])}
            for i in traced_steps(len(loss), thin)]


def run_exact_job(data: Dataset, settings: ModelSettings, out: str) -> None:
    """Write the exact posterior inclusion probabilities (NaN above the enumeration limit,
    :data:`pmcgrad.ops.DEFAULT_EXACT_LIMIT` predictors)."""
    spike_slab = make_dataset(data, settings)
    start = time.perf_counter()
    exact = (exact_posterior_inclusion(spike_slab, max_k=DEFAULT_EXACT_LIMIT)
             if data.k <= DEFAULT_EXACT_LIMIT else np.full(data.k, math.nan))
    seconds = time.perf_counter() - start
    write_table(model_rows(data.k, data.design_seed, EXACT_POSTERIOR, NOT_A_FIT, exact, exact,
                           elbo=math.nan, seconds=seconds, netcdf=""), out, MODEL)


def run_fit_job(job: FitJob, settings: ModelSettings, *, exact_table: str, out: str,
                traces: str, netcdf: str) -> None:
    """Fit one estimator x family; write its model rows, its trace and its draws (netcdf).

    ``seconds`` in ``model.csv`` is the whole ``pmcgrad.fit`` call, compile included; in the
    trace it is wall time since the end of the first step, so compile is excluded there.
    ``netcdf`` is recorded in the table as given (the workflow passes a relative path).
    """
    data = settings.dataset(job.k, job.design_seed)
    exact = _exact_inclusion(exact_table, job.k)
    model = spike_slab_model(make_dataset(data, settings))
    stamps: dict[int, float] = {}

    def clock(result, loss, step):
        if not stamps:  # the log says when the compile is over and the steps run
            log.info("first block of steps done; %d to go", settings.steps - step)
        stamps[step] = time.perf_counter()

    start = time.perf_counter()
    log.info("fitting %s", job)
    result = pmcgrad.fit(settings.steps, model=model, estimator=job.estimator,
                         samples=settings.samples, family=job.family,
                         optimizer=pm.adam(learning_rate=settings.learning_rate),
                         random_seed=job_seed_int(settings.seed, "fit", job.k, job.design_seed,
                                                  job.estimator, job.family),
                         progressbar=False, callbacks=[clock], convergence=False,
                         callback_every=settings.trace_thin)
    seconds = time.perf_counter() - start
    inclusion = result.inclusion_probabilities["z"].values
    tree = result.sample(settings.draws,
                         random_seed=job_seed_int(settings.seed, "draws", job.k, job.design_seed,
                                                  job.estimator, job.family))
    _write_netcdf(tree, netcdf)
    write_table(model_rows(job.k, job.design_seed, job.estimator, job.family, inclusion, exact,
                           elbo=result.elbo, seconds=seconds, netcdf=netcdf), out, MODEL)
    # Seconds at every step, interpolated between the callbacks (every trace_thin steps).
    steps, times = np.array([0, *stamps]), np.array([start, *stamps.values()])
    elapsed = np.interp(np.arange(1, len(result.hist) + 1), steps, times) - times[1 if len(
        times) > 1 else 0]
    write_table(trace_rows(job.k, job.design_seed, job.estimator, job.family, result.hist,
                           elapsed, settings.trace_thin), traces, MODEL_TRACES)


def run_mcmc_job(data: Dataset, settings: ModelSettings, *, exact_table: str, out: str,
                 netcdf: str) -> None:
    """``pm.sample`` with ``cores=1`` (one process per job); write the rows and the DataTree."""
    exact = _exact_inclusion(exact_table, data.k)
    mcmc = settings.mcmc
    start = time.perf_counter()
    with spike_slab_model(make_dataset(data, settings)):
        tree = pm.sample(draws=mcmc.draws, tune=mcmc.tune, chains=mcmc.chains, cores=1,
                         progressbar=False,
                         random_seed=job_seed_int(settings.seed, "mcmc", data.k,
                                                  data.design_seed))
    seconds = time.perf_counter() - start
    inclusion = tree.posterior["z"].mean(dim=("chain", "draw")).values
    _write_netcdf(tree, netcdf)
    write_table(model_rows(data.k, data.design_seed, MCMC, NOT_A_FIT, inclusion, exact,
                           elbo=math.nan, seconds=seconds, netcdf=netcdf), out, MODEL)


def _exact_inclusion(path: str, k: int) -> NDArray[np.float64]:
    table = read_table(path, MODEL, rows=k).sort_values("predictor")
    return table["exact_inclusion"].to_numpy(dtype=np.float64)


def _write_netcdf(tree, path: str) -> None:
    # Beside the target, then renamed: an interrupted job never leaves a truncated DataTree.
    write_atomically(path, lambda temporary: tree.to_netcdf(temporary, engine="h5netcdf"))
