"""The model study: spike-and-slab regression fitted with ``pmcgrad.fit`` and with PyMC MCMC.

Three kinds of job per data set (k, design_seed):

* :func:`run_exact_job` -- the references: the exact posterior inclusion probabilities by
  enumeration (rows with ``method = "exact_posterior"``) and the best optimum of the mean-field
  family by multi-start coordinate ascent (``method = "meanfield_optimum"``), both with
  ``family = "not_a_fit"``; every other job reads the exact values from this table.
* :func:`run_fit_job` -- one ``pmcgrad.fit`` with one estimator, one variational family and
  one seed, with the fitter's own optimiser and stopping rule (``max_steps`` its cap); records
  the steps it ran, whether it converged and the wall time of the whole call, saves
  ``result.sample(draws)`` as netcdf and the thinned ELBO trace of the steps it ran. A fit
  whose logit gradients come from the ``exact`` estimator has ``method = "exact"``: it is a fit
  like any other, not the enumerated posterior.
* :func:`run_mcmc_job` -- ``pm.sample`` (BinaryGibbsMetropolis for ``z``, NUTS for ``beta``);
  saves its DataTree as netcdf.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import numpy as np
import pymc as pm
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.problems import (
    SpikeSlabData,
    best_meanfield_optimum,
    exact_posterior_inclusion,
    simulate_spike_slab,
)
from pmcgrad.study.columns import (
    EXACT_POSTERIOR,
    MCMC,
    MEANFIELD_OPTIMUM,
    MODEL,
    MODEL_TRACES,
    NOT_A_FIT,
)
from pmcgrad.study.seeds import job_seed_int
from pmcgrad.study.settings import Dataset, FitJob, ModelSettings
from pmcgrad.study.tables import (
    TableError,
    concat_tables,
    read_table,
    write_atomically,
    write_table,
)

__all__ = [
    "concat_traces",
    "expected_trace_rows",
    "make_dataset",
    "model_rows",
    "reference_rows",
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


def model_rows(k: int, design_seed: int, method: str, family: str, seed: int,
               inclusion: NDArray, exact_inclusion: NDArray, *, elbo: float, seconds: float,
               netcdf: str, steps: int = 0, converged: bool = False,
               inclusion_corrected: NDArray | None = None, pareto_k: float = math.nan
               ) -> list[dict[str, object]]:
    """One ``model.csv`` row per predictor; ``abs_error`` is NaN where there is no exact value.
    ``steps``, ``converged``, ``inclusion_corrected`` (importance-corrected inclusion
    probabilities) and ``pareto_k`` (PSIS k-hat) describe a fit (0, False, NaN and NaN for the
    other rows)."""
    corrected = (np.full(k, math.nan) if inclusion_corrected is None
                 else np.asarray(inclusion_corrected, dtype=float))
    return [
        {"k": k, "design_seed": design_seed, "method": method, "family": family, "seed": seed,
         "predictor": j, "inclusion": float(inclusion[j]),
         "exact_inclusion": float(exact_inclusion[j]),
         "abs_error": float(abs(inclusion[j] - exact_inclusion[j])),
         "inclusion_corrected": float(corrected[j]), "pareto_k": float(pareto_k),
         "elbo": elbo, "seconds": seconds, "steps": int(steps), "converged": bool(converged),
         "netcdf": netcdf}
        for j in range(k)
    ]


def traced_steps(steps: int, thin: int) -> list[int]:
    """The 0-based steps a trace keeps: every ``thin``-th step and the last."""
    return sorted(set(range(0, steps, thin)) | ({steps - 1} if steps else set()))


def trace_rows(job: FitJob, loss: NDArray, seconds: NDArray, thin: int
               ) -> list[dict[str, object]]:
    """Thinned ELBO trace (``elbo = -loss``) of the steps a fit ran: every ``thin``-th step and
    the last, so a fit that stopped early has fewer rows (:func:`traced_steps`)."""
    return [{"k": job.k, "design_seed": job.design_seed, "estimator": job.estimator,
             "family": job.family, "seed": job.seed, "step": i + 1,
             "seconds": float(seconds[i]), "elbo": float(-loss[i])}
            for i in traced_steps(len(loss), thin)]


def expected_trace_rows(fit_table: str, k: int, thin: int) -> int:
    """The rows a fit's trace must have: those :func:`traced_steps` keeps of the ``steps`` its
    row of ``model.csv`` records (read from the fit's own table, checked)."""
    steps = read_table(fit_table, MODEL, rows=k)["steps"].unique()
    if len(steps) != 1:
        raise ValueError(f"table {fit_table!r}: one fit with several step counts {steps}")
    return len(traced_steps(int(steps[0]), thin))


def concat_traces(traces: Sequence[str], fit_tables: Sequence[str], ks: Sequence[int],
                  thin: int, out: str) -> None:
    """``model_traces.csv`` from each fit's trace, each checked first to have the rows of the
    steps its fit ran (:func:`expected_trace_rows`, from ``fit_tables[i]``, the fit's own
    ``model.csv`` rows) and to end at that step; nothing is written if one does not."""
    rows = []
    for path, table, k in zip(traces, fit_tables, ks, strict=True):
        rows.append(expected_trace_rows(table, int(k), thin))
        steps = read_table(path, MODEL_TRACES, rows=rows[-1])["step"]
        ran = traced_steps(int(read_table(table, MODEL, rows=int(k))["steps"].iloc[0]), thin)
        if steps.tolist() != [step + 1 for step in ran]:
            raise TableError(f"table {path!r}: its steps end at {steps.iloc[-1]}, not at those "
                             f"of the {len(ran)} traced steps its fit ({table!r}) ran")
    frame = concat_tables(traces, out, MODEL_TRACES, rows=rows)
    log.info("concatenated %d traces, %d rows", len(traces), len(frame))


def run_exact_job(data: Dataset, settings: ModelSettings, out: str) -> None:
    """Write the references of one data set: the exact posterior inclusion probabilities
    (NaN above the enumeration limit, :data:`pmcgrad.ops.DEFAULT_EXACT_LIMIT` predictors), then
    the best mean-field optimum's (multi-start coordinate ascent, seeded from the first seed),
    with its exact ELBO."""
    spike_slab = make_dataset(data, settings)
    start = time.perf_counter()
    exact = (exact_posterior_inclusion(spike_slab, max_k=DEFAULT_EXACT_LIMIT)
             if data.k <= DEFAULT_EXACT_LIMIT else np.full(data.k, math.nan))
    seconds = time.perf_counter() - start
    rows = model_rows(data.k, data.design_seed, EXACT_POSTERIOR, NOT_A_FIT, settings.seed,
                      exact, exact, elbo=math.nan, seconds=seconds, netcdf="")
    start = time.perf_counter()
    optimum = best_meanfield_optimum(spike_slab, seed=settings.seed)
    seconds = time.perf_counter() - start
    rows += model_rows(data.k, data.design_seed, MEANFIELD_OPTIMUM, NOT_A_FIT, settings.seed,
                       optimum.inclusion, exact, elbo=optimum.elbo, seconds=seconds, netcdf="")
    write_table(rows, out, MODEL)


def reference_rows(k: int) -> int:
    """The rows of one data set's reference table: exact posterior and mean-field optimum."""
    return 2 * k


def run_fit_job(job: FitJob, settings: ModelSettings, *, exact_table: str, out: str,
                traces: str, netcdf: str) -> None:
    """Fit one estimator x family x seed; write its model rows, its trace and its draws.

    The fit uses ``pmcgrad.fit``'s defaults (its optimiser and its stopping rule), with
    ``settings.max_steps`` as the cap. ``seconds`` in ``model.csv`` is the whole
    ``pmcgrad.fit`` call, compile and final ELBO included; in the trace it is wall time since
    the end of the first block of steps, so compile is excluded there. ``netcdf`` is recorded
    in the table as given (the workflow passes a relative path).
    """
    data = settings.dataset(job.k, job.design_seed)
    exact = _exact_inclusion(exact_table, job.k)
    model = spike_slab_model(make_dataset(data, settings))
    stamps: dict[int, float] = {}

    def clock(result, loss, step):
        if not stamps:  # the log says when the compile is over and the steps run
            log.info("first block of steps done (step %d)", step)
        stamps[step] = time.perf_counter()

    start = time.perf_counter()
    log.info("fitting %s", job)
    result = pmcgrad.fit(settings.max_steps, model=model, estimator=job.estimator,
                         samples=settings.samples, family=job.family,
                         random_seed=job_seed_int(job.seed, "fit", job.k, job.design_seed,
                                                  job.estimator, job.family),
                         progressbar=False, callbacks=[clock])
    seconds = time.perf_counter() - start
    log.info("%s after %d steps (%.1f s): %s", "converged" if result.converged else "stopped",
             result.steps, seconds, result.stop_reason)
    inclusion = result.inclusion_probabilities["z"].values
    corrected, pareto_k = _corrected(result, job.k)
    tree = result.sample(settings.draws,
                         random_seed=job_seed_int(job.seed, "draws", job.k, job.design_seed,
                                                  job.estimator, job.family))
    _write_netcdf(tree, netcdf)
    write_table(model_rows(job.k, job.design_seed, job.estimator, job.family, job.seed,
                           inclusion, exact, elbo=result.elbo, seconds=seconds, netcdf=netcdf,
                           steps=result.steps, converged=result.converged,
                           inclusion_corrected=corrected, pareto_k=pareto_k), out, MODEL)
    # Seconds at every step, interpolated between the callbacks (every block of steps).
    loss = np.asarray(result.hist, dtype=float)
    steps, times = np.array([0, *stamps]), np.array([start, *stamps.values()])
    elapsed = np.interp(np.arange(1, len(loss) + 1), steps, times) - times[1 if len(
        times) > 1 else 0]
    write_table(trace_rows(job, loss, elapsed, settings.trace_thin), traces, MODEL_TRACES)


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
    write_table(model_rows(data.k, data.design_seed, MCMC, NOT_A_FIT, settings.seed, inclusion,
                           exact, elbo=math.nan, seconds=seconds, netcdf=netcdf), out, MODEL)


def _corrected(result, k: int) -> tuple[NDArray[np.float64], float]:
    """The fit's importance-corrected inclusion probabilities and its PSIS k-hat (NaN where
    the diagnostics could not compute them; the reason is logged)."""
    diagnostics = result.diagnostics
    if diagnostics is None:  # pmcgrad.fit warned why (a FitWarning in the job's log)
        return np.full(k, math.nan), math.nan
    corrected = diagnostics.inclusion_probabilities_corrected
    if not diagnostics.available or corrected is None:
        log.warning("no importance-corrected answer: %s", diagnostics.unavailable_reason)
        return np.full(k, math.nan), float(diagnostics.pareto_k)
    corrected = np.asarray(corrected, dtype=np.float64).reshape(-1)
    if corrected.shape != (k,):
        raise ValueError(f"corrected inclusion probabilities of shape {corrected.shape}, "
                         f"expected ({k},)")
    return corrected, float(diagnostics.pareto_k)


def _exact_inclusion(path: str, k: int) -> NDArray[np.float64]:
    table = read_table(path, MODEL, rows=reference_rows(k))
    table = table[table["method"] == EXACT_POSTERIOR].sort_values("predictor")
    if len(table) != k:
        raise ValueError(f"table {path!r} has {len(table)} {EXACT_POSTERIOR} rows, expected {k}")
    return table["exact_inclusion"].to_numpy(dtype=np.float64)


def _write_netcdf(tree, path: str) -> None:
    # Beside the target, then renamed: an interrupted job never leaves a truncated DataTree.
    write_atomically(path, lambda temporary: tree.to_netcdf(temporary, engine="h5netcdf"))
