"""The sigmoid belief network on binarised digits: training curves, held-out bounds, images.

One job fits :func:`pmcgrad.models.sigmoid_belief_network` (k codes) to a seeded subset of the
training digits with one estimator, and records at each checkpoint the training ELBO, the
logit-gradient variance and the held-out log-likelihood bound
(:class:`pmcgrad.study.sbn.HeldOutBound`). Its image grid (test digits, reconstructions,
samples) is saved with the job's k, estimator and seed, so that the report can tell the grids
apart without reading their paths.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
from scipy.special import expit

import pmcgrad
from pmcgrad.models import binarised_digits, sigmoid_belief_network
from pmcgrad.study.columns import SBN, SBN_COLUMNS
from pmcgrad.study.sbn import HeldOutBound
from pmcgrad.study.seeds import job_seed, job_seed_int
from pmcgrad.study.settings import SbnSettings
from pmcgrad.study.tables import write_atomically, write_table

__all__ = ["GRID_IMAGES", "GRID_PANELS", "rows_per_job", "run_sbn_job", "train_sbn"]

GRID_IMAGES = 8  # test images, reconstructions and model samples shown in the report
GRID_PANELS = ("test", "reconstruction", "samples")  # the rows of the grid, top to bottom


def train_sbn(k: int, estimator: str, seed: int, settings: SbnSettings
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Fit one SBN; returns ``(trace, heldout, images)``.

    ``trace`` has one :data:`SBN_COLUMNS` row per checkpoint (every
    ``settings.steps // settings.checkpoints`` steps): ``seconds`` is wall time since the
    start of the fit, compile included;
    ``train_elbo`` is the mean of ``-hist`` over the chunk per training image;
    ``logit_gradient_variance`` the chunk's mean running logit-gradient variance;
    ``heldout_log_likelihood`` the importance-sampled bound per test image. ``heldout`` is the
    last checkpoint's row. ``images`` holds ``test``, ``reconstruction`` (pixel probabilities at
    the most likely codes of the held-out q) and ``samples`` (probabilities at z ~ Bernoulli(1/2)),
    each ``(GRID_IMAGES, 8, 8)``.
    """
    steps, checkpoints = settings.steps, settings.checkpoints
    if checkpoints < 1 or steps < checkpoints:
        raise ValueError(f"need 1 <= checkpoints <= steps, got {checkpoints=} {steps=}")
    train, test = binarised_digits(0)
    rng = np.random.default_rng(job_seed(seed, "sbn_data"))
    train = train[np.sort(rng.choice(len(train), min(settings.train_size, len(train)),
                                     replace=False))]
    test = test[:settings.test_size]
    heldout = HeldOutBound(test, k, steps=settings.heldout_steps, draws=settings.heldout_draws,
                           seed=job_seed_int(seed, "sbn_heldout", k))
    bounds = np.linspace(0, steps, checkpoints + 1).round().astype(int)
    rows = []
    heldout_seconds = 0.0
    start = time.perf_counter()
    with sigmoid_belief_network(train, k):
        # No diagnostics: importance sampling over every image's codes at once says nothing
        # the held-out bound does not, and would cost each checkpoint a pass over the data.
        result = pmcgrad.fit(0, estimator=estimator, samples=settings.samples,
                             random_seed=job_seed_int(seed, "sbn_fit", k, estimator),
                             progressbar=False, convergence=False, diagnostics=False)
    for lo, hi in itertools.pairwise(bounds):
        result = result.refine(int(hi - lo), progressbar=False)
        seconds = time.perf_counter() - start - heldout_seconds
        loss = np.asarray(result.hist, dtype=float)[lo:hi]
        variance = result.state.logit_gradient_variance  # the last window's
        tick = time.perf_counter()
        bound = heldout(*_weights(result))
        heldout_seconds += time.perf_counter() - tick
        rows.append({"k": k, "estimator": estimator, "seed": seed, "step": int(hi),
                     "seconds": seconds, "train_elbo": float(np.mean(-loss)) / len(train),
                     "logit_gradient_variance": (float(np.nanmean(variance))
                                                 if variance is not None else np.nan),
                     "heldout_log_likelihood": bound})
    trace = pd.DataFrame(rows, columns=SBN_COLUMNS)
    weights, bias = _weights(result)
    codes = (heldout.logits[:GRID_IMAGES] > 0).astype(float)
    prior = (np.random.default_rng(job_seed(seed, "sbn_samples", k, estimator))
             .random((GRID_IMAGES, k)) < 0.5).astype(float)
    images = {
        "test": test[:GRID_IMAGES].reshape(-1, 8, 8).astype(float),
        "reconstruction": expit(codes @ weights.T + bias).reshape(-1, 8, 8),
        "samples": expit(prior @ weights.T + bias).reshape(-1, 8, 8),
    }
    return trace, trace.iloc[[-1]].reset_index(drop=True), images


def _weights(result) -> tuple[np.ndarray, np.ndarray]:
    """The fitted SBN's weights and biases (their Gaussian means; both are unconstrained)."""
    means = result.mean_unconstrained
    return np.asarray(means["W"]), np.asarray(means["c"])


def rows_per_job(settings: SbnSettings) -> int:
    """The rows one SBN job writes: one per checkpoint."""
    return settings.checkpoints


def run_sbn_job(k: int, estimator: str, seed: int, settings: SbnSettings, *, out: str,
                images: str) -> None:
    """One workflow job: the checkpoint rows to ``out`` (CSV), the image grid to ``images``
    (npz: the :data:`GRID_PANELS` arrays, plus ``k``, ``estimator`` and ``seed``)."""
    trace, _, grid = train_sbn(k, estimator, seed, settings)
    write_atomically(images, lambda temporary: np.savez_compressed(
        temporary, k=k, estimator=estimator, seed=seed, **grid))
    write_table(trace, out, SBN)
