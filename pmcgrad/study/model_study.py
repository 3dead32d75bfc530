"""The model study: spike-and-slab regression fitted with ``pmcgrad.fit`` and with PyMC MCMC.

Three kinds of job per data set (k, design_seed):

* :func:`run_exact_job` -- the exact posterior inclusion probabilities by enumeration (rows with
  ``method = "exact"``, ``family = ""``); every other job reads its reference from this table.
* :func:`run_fit_job` -- one ``pmcgrad.fit`` with one estimator and one family; saves
  ``result.sample(draws)`` as netcdf and the thinned ELBO trace.
* :func:`run_mcmc_job` -- ``pm.sample`` (BinaryGibbsMetropolis for ``z``, NUTS for ``beta``);
  saves its DataTree as netcdf.

Note: ``method = "exact"`` with ``family = ""`` is the enumerated posterior; ``method = "exact"``
with a family is a fit whose logit gradients come from the ``exact`` estimator.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pymc as pm
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import SpikeSlabData, exact_posterior_inclusion, simulate_spike_slab
from pmcgrad.study.columns import MODEL_COLUMNS, MODEL_TRACE_COLUMNS
from pmcgrad.study.io import job_seed, read_table, write_table

__all__ = [
    "EXACT_MAX_K",
    "make_dataset",
    "model_rows",
    "run_exact_job",
    "run_fit_job",
    "run_mcmc_job",
    "seed_int",
    "trace_rows",
]

#: Largest k whose posterior is enumerated (2^k small Cholesky factorisations).
EXACT_MAX_K = 20


def make_dataset(k: int, design_seed: int, *, n: int, n_true: int, correlation: float
                 ) -> SpikeSlabData:
    """The simulated regression of one data set: ``n`` rows, ``min(n_true, k)`` true effects,
    equicorrelated design (:func:`pmcgrad.problems.simulate_spike_slab`)."""
    return simulate_spike_slab(n, k, min(n_true, k), design_seed, correlation=correlation)


def seed_int(*parts: int | str) -> int:
    """A 32-bit int seed for APIs that want one (``pm.sample``, ``fit``), from :func:`job_seed`."""
    return int(job_seed(*parts).generate_state(1)[0])


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


def trace_rows(k: int, design_seed: int, estimator: str, family: str, loss: NDArray,
               seconds: NDArray, thin: int) -> list[dict[str, object]]:
    """Thinned ELBO trace (``elbo = -loss``): every ``thin``-th step and the last."""
    steps = len(loss)
    keep = sorted(set(range(0, steps, thin)) | ({steps - 1} if steps else set()))
    return [{"k": k, "design_seed": design_seed, "estimator": estimator, "family": family,
             "step": i + 1, "seconds": float(seconds[i]), "elbo": float(-loss[i])} for i in keep]


def run_exact_job(k: int, design_seed: int, *, n: int, n_true: int, correlation: float,
                  out: str) -> None:
    """Write the exact posterior inclusion probabilities (NaN above :data:`EXACT_MAX_K`)."""
    data = make_dataset(k, design_seed, n=n, n_true=n_true, correlation=correlation)
    start = time.perf_counter()
    exact = exact_posterior_inclusion(data) if k <= EXACT_MAX_K else np.full(k, math.nan)
    seconds = time.perf_counter() - start
    write_table(model_rows(k, design_seed, "exact", "", exact, exact, elbo=math.nan,
                           seconds=seconds, netcdf=""), out, MODEL_COLUMNS)


def run_fit_job(k: int, design_seed: int, estimator: str, family: str, *, n: int, n_true: int,
                correlation: float, steps: int, samples: int, learning_rate: float, seed: int,
                draws: int, thin: int, exact_table: str, out: str, traces: str, netcdf: str
                ) -> None:
    """Fit one estimator x family; write its model rows, its trace and its draws (netcdf).

    ``seconds`` in ``model.csv`` is the whole ``pmcgrad.fit`` call, compile included; in the
    trace it is wall time since the end of the first step, so compile is excluded there.
    ``netcdf`` is recorded in the table as given (the workflow passes a relative path).
    """
    data = make_dataset(k, design_seed, n=n, n_true=n_true, correlation=correlation)
    exact = _exact_inclusion(exact_table, k)
    model = spike_slab_model(data)
    stamps: list[float] = []

    def clock(result, loss, step):
        stamps.append(time.perf_counter())

    start = time.perf_counter()
    result = pmcgrad.fit(steps, model=model, estimator=estimator, samples=samples, family=family,
                         optimizer=pm.adam(learning_rate=learning_rate),
                         random_seed=seed_int(seed, "fit", k, design_seed, estimator, family),
                         progressbar=False, callbacks=[clock])
    seconds = time.perf_counter() - start
    inclusion = result.inclusion_probabilities["z"].values
    tree = result.sample(draws, random_seed=seed_int(seed, "draws", k, design_seed, estimator,
                                                     family))
    _write_netcdf(tree, netcdf)
    write_table(model_rows(k, design_seed, estimator, family, inclusion, exact, elbo=result.elbo,
                           seconds=seconds, netcdf=netcdf), out, MODEL_COLUMNS)
    elapsed = np.asarray(stamps) - stamps[0] if stamps else np.zeros(0)
    write_table(trace_rows(k, design_seed, estimator, family, result.hist, elapsed, thin),
                traces, MODEL_TRACE_COLUMNS)


def run_mcmc_job(k: int, design_seed: int, *, n: int, n_true: int, correlation: float,
                 draws: int, tune: int, chains: int, seed: int, exact_table: str, out: str,
                 netcdf: str) -> None:
    """``pm.sample`` with ``cores=1`` (one process per job); write the rows and the DataTree."""
    data = make_dataset(k, design_seed, n=n, n_true=n_true, correlation=correlation)
    exact = _exact_inclusion(exact_table, k)
    start = time.perf_counter()
    with spike_slab_model(data):
        tree = pm.sample(draws=draws, tune=tune, chains=chains, cores=1, progressbar=False,
                         random_seed=seed_int(seed, "mcmc", k, design_seed))
    seconds = time.perf_counter() - start
    inclusion = tree.posterior["z"].mean(dim=("chain", "draw")).values
    _write_netcdf(tree, netcdf)
    write_table(model_rows(k, design_seed, "mcmc", "", inclusion, exact, elbo=math.nan,
                           seconds=seconds, netcdf=netcdf), out, MODEL_COLUMNS)


def _exact_inclusion(path: str, k: int) -> NDArray[np.float64]:
    table = read_table(path, MODEL_COLUMNS).sort_values("predictor")
    values = table["exact_inclusion"].to_numpy(dtype=np.float64)
    if values.shape != (k,):
        raise ValueError(f"{path!r} holds {values.shape[0]} exact PIPs, expected k={k}")
    return values


def _write_netcdf(tree, path: str | os.PathLike) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tree.to_netcdf(path, engine="h5netcdf")
