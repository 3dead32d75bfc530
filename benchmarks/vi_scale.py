"""Where VI should win: time to max |PIP - exact| <= 0.02 against k, ``pmcgrad.fit`` against
``pm.sample``, on orthogonal spike-and-slab designs (and a correlated one with an MCMC reference).

**Orthogonal designs** (``simulate_orthogonal_spike_slab``: ``X^T X = n I``, n = 2k, 8 strong
effects and k/25 weak ones, known noise): the exact inclusion probabilities have a closed form
at any k (``orthogonal_inclusion``), and ``family="bit_conditioned"`` contains the exact
posterior. For each k in {30, 100, 300, 1000}, in one process:

1. **Warm-up, untimed**: one short ``pmcgrad.fit`` of every method and one tiny ``pm.sample``
   on a throwaway model of the same data, so that both sides then load their compiled code
   from the disk caches (Numba's) instead of one of them paying for a cold compilation. The
   tiny ``pm.sample`` also measures MCMC's cost per iteration before any long run.
2. **pmcgrad.fit**, whole calls on a *fresh* model object (so the fitter cache does not help:
   every call builds its graph and loads its compiled code, as a user's first fit of a model in
   a new process with a warm disk cache), at its defaults (``n`` = 100,000 is only the cap;
   the stopping rule ends the fit): ``bit_conditioned`` + DisARM over 3 seeds, and one seed of
   ``bit_conditioned`` + ``reinforce_loo`` and of mean-field + DisARM (capped at 20,000
   steps: its family cannot reach 0.02, see below). Its time to 0.02 is the median whole-call
   time of the seeds whose answer is within 0.02.
3. **pm.sample** (NUTS for ``beta``, ``BinaryGibbsMetropolis`` for ``z``, one chain,
   ``cores=1``, one BLAS thread, as pmcgrad), each attempt a whole call on a fresh model,
   grown in draws (100, 200, 400, ... from ``--mcmc-start-draws``; ``tune = min(draws,
   500)``) until its max PIP error is within 0.02. ``BinaryGibbsMetropolis`` evaluates the
   whole log density once per bit per draw, so an iteration costs O(k n k) = O(k^3) here: at
   k = 300 and 1000 the growth stops when the next attempt would pass the MCMC time budget
   (``--mcmc-budget``, 20 minutes by default). The MCMC time is then a **lower bound**: the
   measured time of the largest attempt, which was still above 0.02 (any attempt that gets
   there needs more draws; its own running error, recorded on a doubling grid of draws, shows
   no prefix of the chain got there either). The draws it would need are extrapolated from
   that attempt's error curve, and labelled as such. An attempt of 3200 draws or more is kept
   under ``benchmarks/out/`` (named by a fingerprint of the data and PyMC's version) and
   reused by a later run with its measured seconds, so the hour an attempt takes at k = 1000
   is spent once.
   The pmcgrad runs are interleaved between the MCMC attempts, so a change of load on the
   shared machine falls on both sides.

Reported per k: the ratio pm.sample seconds / pmcgrad seconds (targets: >= 5 at k = 300 and
>= 20 at k = 1000), the max PIP error (target: <= 0.02 with ``bit_conditioned`` at every k), and
over the sweep, the log-log slope of each side's time against k. The mean-field family cannot
represent the slab posterior (q(beta_j) cannot be "at the prior when z_j = 0, on the slab when
z_j = 1"): its floor is measured by exact mean-field CAVI (``meanfield_cavi``) on the same data.

**Correlated designs** (``simulate_spike_slab(..., correlation=0.3)``, k = 30 and 100, n = 2k):
the reference is a long ``pm.sample`` run (4 chains, cached under ``benchmarks/out/``, with
its Monte Carlo standard error from the spread of the chains). VI's factorised ``q(z)`` has a
family floor there: the error each family converges to is measured (with the mean-field CAVI
optimum's for comparison), and ``pm.sample``'s time to 0.02 is measured as above.

Run: .venv/bin/python -m benchmarks.vi_scale [--quick] [--k 30 100] [--mcmc-budget 3600]
[--mcmc-start-draws 3200] (the README says how each row was run and what it took).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pymc as pm

import pmcgrad
from benchmarks import common
from benchmarks.common import write_rows
from benchmarks.harness import format_table, single_threaded_blas
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import simulate_spike_slab
from pmcgrad.problems.orthogonal import orthogonal_inclusion, simulate_orthogonal_spike_slab
from pmcgrad.problems.spike_slab import meanfield_cavi

__all__ = ["Method", "extrapolate_draws", "main", "mcmc_to_target", "methods_at",
           "orthogonal_design", "rows_for_k", "slope_rows", "vi_run"]

TARGET = 0.02
KS = (30, 100, 300, 1000)
QUICK_KS = (10,)
QUICK_CORRELATED = {"ks": (6,), "chains": 2, "draws": 100}
QUICK_BUDGET = 3.0  # seconds of pm.sample attempts: one or two tiny attempts
N_TRUE = 8
SPEEDUP_TARGETS = {300: 5.0, 1000: 20.0}
VI_CAP = 100_000
MEANFIELD_CAP = 20_000
MCMC_BUDGET = 1200.0  # seconds of pm.sample attempts per k, at most
MCMC_START_DRAWS = 100
MCMC_MAX_TUNE = 500
CACHED_DRAWS = 3200  # attempts this long are kept under benchmarks/out/ and reused
CORRELATED_KS = (30, 100)
CORRELATION = 0.3
CORRELATED_BUDGET = 600.0
REFERENCE_CHAINS, REFERENCE_DRAWS, REFERENCE_TUNE = 4, 5000, 1000


@dataclass(frozen=True)
class Method:
    """A ``pmcgrad.fit`` configuration of the sweep."""

    family: str
    estimator: str
    seeds: tuple[int, ...]
    cap: int = VI_CAP
    max_k: int | None = None  # larger k's skip it (the sweep's time budget)

    @property
    def label(self) -> str:
        return f"{self.family}+{self.estimator}"


METHODS = (
    Method("bit_conditioned", "disarm", seeds=(0, 1, 2)),
    Method("bit_conditioned", "reinforce_loo", seeds=(0,), max_k=300),
    Method("meanfield", "disarm", seeds=(0,), cap=MEANFIELD_CAP, max_k=300),
)
QUICK_METHODS = (
    Method("bit_conditioned", "disarm", seeds=(0,), cap=2000),
    Method("meanfield", "disarm", seeds=(0,), cap=200),
)
PRIMARY = "bit_conditioned+disarm"


def methods_at(k: int, methods: Sequence[Method]) -> list[Method]:
    """The methods run at ``k``: those without a ``max_k`` below it."""
    return [method for method in methods if method.max_k is None or k <= method.max_k]


def orthogonal_design(k: int, seed: int = 0):
    """The sweep's data at ``k``: n = 2k, 8 strong effects (fewer at tiny k), k/25 weak."""
    return simulate_orthogonal_spike_slab(2 * k, k, min(N_TRUE, k // 2), seed,
                                          n_weak=max(1, k // 25))


# --- the two sides: whole calls
def vi_run(data, method: Method, seed: int, reference: np.ndarray) -> dict:
    """One whole ``pmcgrad.fit`` call on a fresh model of ``data``; its seconds and error."""
    model = spike_slab_model(data)
    with model:
        start = time.perf_counter()
        result = pmcgrad.fit(method.cap, family=method.family, estimator=method.estimator,
                             random_seed=seed, progressbar=False)
        seconds = time.perf_counter() - start
    error = float(np.abs(result.inclusion_probabilities["z"].values - reference).max())
    return {"seconds": seconds, "error": error, "steps": result.steps,
            "stop_reason": result.stop_reason, "compile_seconds": result.fitter.compile_seconds}


def mcmc_run(data, draws: int, seed: int, reference: np.ndarray | None = None, *,
             chains: int = 1, tune: int | None = None) -> dict:
    """One whole ``pm.sample`` call on a fresh model of ``data``; its seconds, inclusion
    probabilities and (with a reference) max error."""
    tune = min(draws, MCMC_MAX_TUNE) if tune is None else tune
    cache = _attempt_cache(data, draws, tune, seed, chains) if draws >= CACHED_DRAWS else None
    if cache is not None and cache.exists():
        # An attempt this long was measured before on the same data (an hour at k = 1000):
        # its recorded seconds and draws stand, as if run now.
        stored = np.load(cache)
        seconds, z_values = float(stored["seconds"]), stored["z"]
        print(f"    (pm.sample draws={draws}: the attempt measured earlier, {cache.name})",
              flush=True)
    else:
        model = spike_slab_model(data)
        with model:
            start = time.perf_counter()
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=1, random_seed=seed,
                              progressbar=False, compute_convergence_checks=False)
            seconds = time.perf_counter() - start
        z_values = idata.posterior["z"].values.astype(np.int8)
        if cache is not None:
            common.OUT.mkdir(exist_ok=True)
            np.savez_compressed(cache, seconds=seconds, z=z_values)
    inclusion = z_values.mean(axis=(0, 1))
    run = {"seconds": seconds, "draws": draws, "tune": tune, "chains": chains,
           "per_iteration": seconds / (chains * (draws + tune)), "inclusion": inclusion,
           "chain_means": z_values.mean(axis=1)}
    if reference is not None:
        run["error"] = float(np.abs(inclusion - reference).max())
        # The first chain's error after its first d draws, d on a doubling grid: how the
        # error falls with draws inside this run.
        running = np.cumsum(z_values[0], axis=0) / np.arange(1, draws + 1)[:, None]
        grid = sorted({min(draws, 2**i) for i in range(3, int(math.log2(draws)) + 2)})
        run["trajectory"] = [(d, float(np.abs(running[d - 1] - reference).max()))
                             for d in grid]
    return run


def _attempt_cache(data, draws: int, tune: int, seed: int, chains: int):
    """Where an attempt of ``draws`` on ``data`` is kept: named by a fingerprint of the data,
    the sampler's settings and PyMC's version, so a changed design or PyMC reruns it."""
    fingerprint = hashlib.sha256(np.round(np.concatenate([data.X.ravel(), data.y]), 6)
                                 .tobytes() + pm.__version__.encode()).hexdigest()[:16]
    k = data.X.shape[1]
    return common.OUT / f"vi_scale_mcmc_k{k}_d{draws}_t{tune}_s{seed}_c{chains}_{fingerprint}.npz"


def mcmc_to_target(data, reference: np.ndarray, per_iteration: float, budget: float,
                   between=lambda: None, start_draws: int = MCMC_START_DRAWS) -> dict:
    """Grow ``pm.sample``'s draws (doubling) until its max error is within TARGET, or until
    the next attempt (predicted from the last measured cost per iteration) would pass
    ``budget`` seconds in all. ``between()`` runs before each attempt (the interleaved VI
    runs). Returns the attempts and the outcome."""
    attempts, spent, draws = [], 0.0, start_draws
    while True:
        tune = min(draws, MCMC_MAX_TUNE)
        predicted = per_iteration * (draws + tune)
        if attempts and spent + predicted > budget:
            break
        between()
        run = mcmc_run(data, draws, seed=7, reference=reference)
        attempts.append(run)
        spent += run["seconds"]
        per_iteration = run["per_iteration"]
        print(f"    pm.sample draws={draws} tune={tune}: {run['seconds']:.1f} s, max error "
              f"{run['error']:.4f}", flush=True)
        if run["error"] <= TARGET:
            return {"attempts": attempts, "reached": True, "seconds": run["seconds"],
                    "draws": draws, "error": run["error"], "per_iteration": per_iteration}
        draws *= 2
    last = attempts[-1]
    decay, needed = extrapolate_draws(last["trajectory"])
    return {"attempts": attempts, "reached": False, "seconds": last["seconds"],
            "draws": last["draws"], "error": last["error"], "per_iteration": per_iteration,
            "decay": decay, "needed_draws": needed,
            "needed_seconds": per_iteration * (needed + MCMC_MAX_TUNE)}


def extrapolate_draws(trajectory: list[tuple[int, float]]) -> tuple[float, float]:
    """An extrapolation, not a measurement: the log-log slope of error against draws over the
    upper half (in log draws) of one chain's ``trajectory``, and the draws at which that line
    reaches TARGET (inf when the error did not fall). Where the measured slope is shallower
    than -1/2 (a chain still finding its modes), -1/2 would be optimistic for MCMC."""
    draws = np.array([d for d, _ in trajectory], dtype=float)
    errors = np.array([e for _, e in trajectory])
    upper = draws >= math.sqrt(draws[0] * draws[-1])
    if upper.sum() < 2:
        return math.nan, math.inf
    slope = float(np.polyfit(np.log(draws[upper]), np.log(errors[upper]), 1)[0])
    if slope >= 0:
        return slope, math.inf
    return slope, float(draws[-1] * (TARGET / errors[-1]) ** (1 / slope))


def warm_up(data, methods: Sequence[Method]) -> float:
    """Untimed: a short fit of every method and a tiny pm.sample, so both sides load compiled
    code from the disk caches later. Returns pm.sample's seconds per iteration (the tiny run's
    whole time over its iterations: an upper estimate)."""
    model = spike_slab_model(data)
    with model:
        for method in methods:
            pmcgrad.fit(1, family=method.family, estimator=method.estimator,
                        progressbar=False, final_samples=16)
    # Twice: the first call may compile; the second measures the cost per iteration.
    mcmc_run(data, 5, seed=1, tune=5)
    return mcmc_run(data, 10, seed=1, tune=10)["per_iteration"]


def meanfield_floor(data, reference: np.ndarray, k: int) -> float:
    """Max |PIP - reference| at the exact mean-field CAVI optimum (the best of a few starts):
    where mean-field VI ends however well it is optimised."""
    fits = [meanfield_cavi(data, init_inclusion=np.full(k, p), iters=300) for p in (0.5, 0.2)]
    best = max(fits, key=lambda fit: fit.elbo)
    return float(np.abs(best.inclusion - reference).max())


# --- one k
def sweep_k(k: int, methods: Sequence[Method], budget: float,
            start_draws: int = MCMC_START_DRAWS) -> dict:
    """Everything measured at one k of the orthogonal sweep."""
    methods = methods_at(k, methods)
    data = orthogonal_design(k)
    exact = orthogonal_inclusion(data)
    load_before = os.getloadavg()[0]
    per_iteration = warm_up(data, methods)
    print(f"  pm.sample: {per_iteration:.3g} s per iteration (warm-up estimate)", flush=True)
    pending = [(method, seed) for seed_index in range(max(len(m.seeds) for m in methods))
               for method in methods if seed_index < len(method.seeds)
               for seed in (method.seeds[seed_index],)]
    vi: dict[str, list[dict]] = {method.label: [] for method in methods}

    def run_next_vi():
        if pending:
            method, seed = pending.pop(0)
            run = vi_run(data, method, seed, exact)
            vi[method.label].append(run)
            print(f"    pmcgrad.fit {method.label} seed {seed}: {run['seconds']:.1f} s, "
                  f"{run['steps']} steps ({run['stop_reason']}), max error {run['error']:.4f}",
                  flush=True)

    mcmc = mcmc_to_target(data, exact, per_iteration, budget, between=run_next_vi,
                          start_draws=start_draws)
    while pending:
        run_next_vi()
    return {"k": k, "vi": vi, "mcmc": mcmc, "floor": meanfield_floor(data, exact, k),
            "load": (load_before, os.getloadavg()[0])}


def vi_time_to_target(runs: list[dict]) -> float:
    """Median whole-call seconds of the runs within TARGET (inf when none got there)."""
    seconds = [run["seconds"] for run in runs if run["error"] <= TARGET]
    return float(np.median(seconds)) if seconds else math.inf


def rows_for_k(result: dict) -> list[dict]:
    """CSV rows of one k, with PASS/FAIL notes against the issue's targets."""
    k, vi, mcmc = result["k"], result["vi"], result["mcmc"]
    load = f"load average {result['load'][0]:.1f} -> {result['load'][1]:.1f} on 2 cores"
    rows = []
    for label, runs in vi.items():
        errors = [run["error"] for run in runs]
        seconds = [run["seconds"] for run in runs]
        steps = [run["steps"] for run in runs]
        worst = max(errors)
        note = (f"{len(runs)} seeds; errors {', '.join(f'{e:.4f}' for e in errors)}; steps "
                f"{', '.join(map(str, steps))}; stop {', '.join(r['stop_reason'] for r in runs)}")
        if label == PRIMARY:
            note = f"target <= {TARGET}: {'PASS' if worst <= TARGET else 'FAIL'}; " + note
        elif label.startswith("meanfield"):
            note += f"; mean-field CAVI optimum's error {result['floor']:.3f} (family floor)"
        rows.append({"name": f"vi_scale_max_error[k={k},{label}]", "value": worst,
                     "unit": "abs", "note": note})
        rows.append({"name": f"vi_scale_pmcgrad_seconds[k={k},{label}]",
                     "value": vi_time_to_target(runs), "unit": "s",
                     "note": f"median whole fit call of the seeds within {TARGET} (inf: none); "
                             f"all calls {', '.join(f'{s:.1f}' for s in seconds)} s; {load}"})
    if mcmc["reached"]:
        mcmc_note = (f"{mcmc['draws']} draws (1 chain) to max error {mcmc['error']:.4f}; "
                     f"{mcmc['per_iteration'] * 1e3:.3g} ms per iteration")
    else:
        mcmc_note = (f"LOWER BOUND: {mcmc['draws']} draws took {mcmc['seconds']:.0f} s and "
                     f"still had max error {mcmc['error']:.4f}; {mcmc['per_iteration']:.3g} s "
                     f"per iteration; extrapolated from the chain's error curve (log-log "
                     f"slope {mcmc['decay']:.2f}): ~{mcmc['needed_draws']:.3g} draws, "
                     f"~{mcmc['needed_seconds']:.3g} s (an estimate, not measured)")
    rows.append({"name": f"vi_scale_mcmc_seconds[k={k}]", "value": mcmc["seconds"], "unit": "s",
                 "note": mcmc_note})
    vi_seconds = vi_time_to_target(vi[PRIMARY])
    ratio = mcmc["seconds"] / vi_seconds
    bound = "" if mcmc["reached"] else "lower bound (MCMC did not reach 0.02); "
    target = SPEEDUP_TARGETS.get(k)
    if target is None:
        verdict = "no target at this k"
    elif not mcmc["reached"] and ratio < target:
        verdict = f"target >= {target:g}: not shown (the lower bound is below it)"
    else:
        verdict = f"target >= {target:g}: {'PASS' if ratio >= target else 'FAIL'}"
    rows.append({"name": f"vi_scale_speedup[k={k}]", "value": ratio, "unit": "ratio",
                 "note": f"{verdict}; {bound}pm.sample seconds / pmcgrad.fit ({PRIMARY}) "
                         f"seconds to max PIP error {TARGET}, whole calls"})
    return rows


def slope_rows(rows: list[dict]) -> list[dict]:
    """Log-log slopes of each side's time to TARGET against k, read from the sweep's rows
    (MCMC: where a time is a lower bound, the slope is marked as resting on one)."""
    out = []
    for side, pattern, note in (
        ("pmcgrad", "vi_scale_pmcgrad_seconds[k={}," + PRIMARY + "]",
         f"{PRIMARY}, median whole calls"),
        ("pm.sample", "vi_scale_mcmc_seconds[k={}]", "whole calls"),
    ):
        found = {}
        for row in rows:
            k = _k_of(row["name"])
            if k is not None and row["name"] == pattern.format(k):
                found[k] = (float(row["value"]), "LOWER BOUND" in row["note"])
        ks = sorted(k for k, (value, _) in found.items() if np.isfinite(value))
        slope = (float(np.polyfit(np.log(ks), np.log([found[k][0] for k in ks]), 1)[0])
                 if len(ks) >= 2 else math.nan)
        bounds = [k for k in ks if found[k][1]]
        if bounds:
            note += f"; the times at k = {', '.join(map(str, bounds))} are lower bounds"
        out.append({"name": f"vi_scale_slope[{side}]", "value": slope, "unit": "log-log",
                    "note": f"{note}; k = {', '.join(map(str, ks))}"})
    return out


def _k_of(name: str) -> int | None:
    if "[k=" not in name:
        return None
    return int(name.split("[k=")[1].split(",")[0].rstrip("]"))


def merge(names: Sequence[str], into: str = "vi_scale") -> list[dict]:
    """Join the rows of sweeps run as separate processes (``--name``) into one table, with
    the slopes over all their k's: ``benchmarks/out/<into>.csv``."""
    rows = []
    for name in names:
        with (common.OUT / f"{name}.csv").open() as handle:
            rows += [row for row in csv.DictReader(handle)
                     if not row["name"].startswith("vi_scale_slope[")]
    rows += slope_rows(rows)
    _print_and_write(into, rows)
    return rows


# --- correlated designs
def correlated_design(k: int):
    return simulate_spike_slab(n=2 * k, k=k, n_true=min(N_TRUE, k // 2), seed=0,
                               correlation=CORRELATION)


def mcmc_reference(data, k: int, *, chains: int = REFERENCE_CHAINS,
                   draws: int = REFERENCE_DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """Long-run MCMC inclusion probabilities and their standard errors (spread of the chain
    means), computed once and cached under ``benchmarks/out/``; the cache records a
    fingerprint of the data and is recomputed when it does not match."""
    fingerprint = hashlib.sha256(np.round(np.concatenate([data.X.ravel(), data.y]), 6)
                                 .tobytes()).hexdigest()[:16]
    cache = (common.OUT / f"vi_scale_reference_k{k}_corr{CORRELATION}_c{chains}_d{draws}"
             ".npz")
    if cache.exists():
        stored = np.load(cache)
        if str(stored["fingerprint"]) == fingerprint:
            return stored["inclusion"], stored["se"]
    print(f"  long MCMC reference: {chains} chains x {draws} draws (cached afterwards)",
          flush=True)
    run = mcmc_run(data, draws, seed=123, chains=chains, tune=REFERENCE_TUNE)
    se = run["chain_means"].std(axis=0, ddof=1) / math.sqrt(chains)
    common.OUT.mkdir(exist_ok=True)
    np.savez(cache, inclusion=run["inclusion"], se=se, fingerprint=fingerprint,
             seconds=run["seconds"])
    return run["inclusion"], se


def correlated_k(k: int, methods: Sequence[Method], budget: float, *, chains: int,
                 draws: int) -> list[dict]:
    """Rows for one correlated design: the reference's error, each family's converged error
    (its floor there), mean-field CAVI's, and pm.sample's time to TARGET."""
    data = correlated_design(k)
    reference, se = mcmc_reference(data, k, chains=chains, draws=draws)
    per_iteration = warm_up(data, methods)
    rows = [{"name": f"vi_scale_corr_reference_se[k={k}]", "value": float(se.max()),
             "unit": "abs", "note": f"largest Monte Carlo standard error of the MCMC reference "
                                    f"({chains} chains x {draws} draws), from its chain spread"}]
    for method in methods:
        runs = [vi_run(data, method, seed, reference) for seed in method.seeds]
        for run, seed in zip(runs, method.seeds, strict=True):
            print(f"    pmcgrad.fit {method.label} seed {seed}: {run['seconds']:.1f} s, "
                  f"{run['steps']} steps ({run['stop_reason']}), error {run['error']:.4f}",
                  flush=True)
        errors = [run["error"] for run in runs]
        seconds = [run["seconds"] for run in runs]
        rows.append({"name": f"vi_scale_corr_max_error[k={k},{method.label}]",
                     "value": max(errors), "unit": "abs",
                     "note": f"{'PASS' if max(errors) <= TARGET else 'FAIL'} against {TARGET} "
                             f"(no target on correlated designs: a family floor); errors "
                             f"{', '.join(f'{e:.4f}' for e in errors)}; seconds "
                             f"{', '.join(f'{s:.1f}' for s in seconds)}; steps "
                             f"{', '.join(str(r['steps']) for r in runs)}"})
    rows.append({"name": f"vi_scale_corr_meanfield_cavi_error[k={k}]",
                 "value": meanfield_floor(data, reference, k), "unit": "abs",
                 "note": "exact mean-field CAVI optimum against the reference"})
    mcmc = mcmc_to_target(data, reference, per_iteration, budget)
    rows.append({"name": f"vi_scale_corr_mcmc_seconds[k={k}]", "value": mcmc["seconds"],
                 "unit": "s",
                 "note": (f"{mcmc['draws']} draws to max error {mcmc['error']:.4f} against "
                          "the reference (seed differs from the reference's)"
                          if mcmc["reached"] else
                          f"LOWER BOUND: {mcmc['draws']} draws, error {mcmc['error']:.4f}")})
    return rows


@single_threaded_blas
def main(quick: bool = False, ks: Sequence[int] | None = None, budget: float | None = None,
         correlated_ks: Sequence[int] | None = None, name: str = "vi_scale",
         start_draws: int = MCMC_START_DRAWS) -> list[dict]:
    """Run the orthogonal sweep (``vi_scale.csv``) and the correlated designs
    (``vi_scale_correlated.csv``); print both tables; return all rows. ``ks=()`` or
    ``correlated_ks=()`` skips a part."""
    logging.getLogger("pymc").setLevel(logging.ERROR)
    methods = QUICK_METHODS if quick else METHODS
    ks = tuple(QUICK_KS if quick else KS) if ks is None else tuple(ks)
    if correlated_ks is None:
        correlated_ks = QUICK_CORRELATED["ks"] if quick else CORRELATED_KS
    chains, draws = ((QUICK_CORRELATED["chains"], QUICK_CORRELATED["draws"]) if quick
                     else (REFERENCE_CHAINS, REFERENCE_DRAWS))
    budget = QUICK_BUDGET if quick else (MCMC_BUDGET if budget is None else budget)
    rows, results, correlated = [], [], []
    started = time.perf_counter()
    for k in ks:
        print(f"\n--- orthogonal k = {k}, n = {2 * k}", flush=True)
        results.append(sweep_k(k, methods, budget, start_draws))
        rows += rows_for_k(results[-1])
        write_rows(name, rows)  # partial results survive an interrupted sweep
    if len(results) >= 2:
        rows += slope_rows(rows)
    if ks:
        rows.append({"name": "vi_scale_total_seconds", "value": time.perf_counter() - started,
                     "unit": "s", "note": f"the whole sweep, k = {', '.join(map(str, ks))}"})
        _print_and_write(name, rows)
    started = time.perf_counter()
    for k in correlated_ks:
        print(f"\n--- correlated ({CORRELATION}) k = {k}, n = {2 * k}", flush=True)
        correlated += correlated_k(k, methods, min(budget, CORRELATED_BUDGET), chains=chains,
                                   draws=draws)
        write_rows("vi_scale_correlated", correlated)
    if correlated_ks:
        correlated.append({"name": "vi_scale_correlated_total_seconds",
                           "value": time.perf_counter() - started, "unit": "s",
                           "note": "the correlated designs, references included when not cached"})
        _print_and_write("vi_scale_correlated", correlated)
    return rows + correlated


def _print_and_write(name: str, rows: list[dict]) -> None:
    print(format_table(["row", "value", "note"],
                       [[row["name"], row["value"], row["note"][:110]] for row in rows]))
    print(f"wrote {write_rows(name, rows)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny k, one seed (a smoke run)")
    parser.add_argument("--k", type=int, nargs="*", help=f"orthogonal k's (default {KS})")
    parser.add_argument("--correlated-k", type=int, nargs="*",
                        help=f"correlated k's (default {CORRELATED_KS}; none to skip)")
    parser.add_argument("--mcmc-budget", type=float, default=MCMC_BUDGET,
                        help="seconds of pm.sample attempts per k at most")
    parser.add_argument("--mcmc-start-draws", type=int, default=MCMC_START_DRAWS,
                        help="pm.sample's first attempt (then doubled); at k = 1000 one long "
                             "attempt fits the budget where the doubling from 100 would not")
    parser.add_argument("--name", default="vi_scale",
                        help="the sweep's table: benchmarks/out/NAME.csv")
    parser.add_argument("--merge", nargs="+", metavar="NAME",
                        help="only join the tables of sweeps run apart (--name) into vi_scale")
    args = parser.parse_args()
    if args.merge:
        merge(args.merge)
    else:
        main(quick=args.quick, ks=args.k, budget=args.mcmc_budget,
             correlated_ks=args.correlated_k, name=args.name,
             start_draws=args.mcmc_start_draws)
