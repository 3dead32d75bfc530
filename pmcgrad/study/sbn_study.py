"""The sigmoid belief network on binarised digits: training curves, held-out bounds, images.

One job fits :func:`pmcgrad.models.sigmoid_belief_network` (k codes) to a seeded subset of the
training digits with one estimator, and records at each checkpoint the training ELBO, the
logit-gradient variance and the held-out log-likelihood bound
(:class:`pmcgrad.study.sbn.HeldOutBound`).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
from scipy.special import expit

import pmcgrad
from pmcgrad.models import binarised_digits, sigmoid_belief_network
from pmcgrad.study.columns import SBN_COLUMNS
from pmcgrad.study.io import job_seed, write_table
from pmcgrad.study.sbn import HeldOutBound

__all__ = ["GRID_IMAGES", "run_sbn_job", "train_sbn"]

GRID_IMAGES = 8  # test images, reconstructions and model samples shown in the report


def _seed(*parts: int | str) -> int:
    return int(job_seed(*parts).generate_state(1)[0])


def train_sbn(k: int, estimator: str, seed: int, *, steps: int, samples: int, checkpoints: int,
              train_size: int, test_size: int, heldout_steps: int = 300,
              heldout_draws: int = 100) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Fit one SBN; returns ``(trace, heldout, images)``.

    ``trace`` has one :data:`SBN_COLUMNS` row per checkpoint (every ``steps // checkpoints``
    steps): ``seconds`` is wall time since the start of the fit, compile included;
    ``train_elbo`` is the mean of ``-hist`` over the chunk per training image;
    ``logit_gradient_variance`` the chunk's mean running logit-gradient variance;
    ``heldout_log_likelihood`` the importance-sampled bound per test image. ``heldout`` is the
    last checkpoint's row. ``images`` holds ``test``, ``reconstruction`` (pixel probabilities at
    the most likely codes of the held-out q) and ``samples`` (probabilities at z ~ Bernoulli(1/2)),
    each ``(GRID_IMAGES, 8, 8)``.
    """
    if checkpoints < 1 or steps < checkpoints:
        raise ValueError(f"need 1 <= checkpoints <= steps, got {checkpoints=} {steps=}")
    train, test = binarised_digits(0)
    rng = np.random.default_rng(job_seed(seed, "sbn_data"))
    train = train[np.sort(rng.choice(len(train), min(train_size, len(train)), replace=False))]
    test = test[:test_size]
    heldout = HeldOutBound(test, k, steps=heldout_steps, draws=heldout_draws,
                           seed=_seed(seed, "sbn_heldout", k))
    bounds = np.linspace(0, steps, checkpoints + 1).round().astype(int)
    rows = []
    heldout_seconds = 0.0
    start = time.perf_counter()
    with sigmoid_belief_network(train, k):
        result = pmcgrad.fit(0, estimator=estimator, samples=samples,
                             random_seed=_seed(seed, "sbn_fit", k, estimator), progressbar=False)
    for lo, hi in itertools.pairwise(bounds):
        result.refine(int(hi - lo), progressbar=False)
        seconds = time.perf_counter() - start - heldout_seconds
        loss = np.asarray(result.hist, dtype=float)[lo:hi]
        variance = np.asarray(result.gradient_variance_starts, dtype=float)[lo:hi]
        tick = time.perf_counter()
        bound = heldout(np.asarray(result.mean["W"]), np.asarray(result.mean["c"]))
        heldout_seconds += time.perf_counter() - tick
        rows.append({"k": k, "estimator": estimator, "seed": seed, "step": int(hi),
                     "seconds": seconds, "train_elbo": float(np.mean(-loss)) / len(train),
                     "logit_gradient_variance": float(np.nanmean(variance)),
                     "heldout_log_likelihood": bound})
    trace = pd.DataFrame(rows, columns=SBN_COLUMNS)
    weights, bias = np.asarray(result.mean["W"]), np.asarray(result.mean["c"])
    codes = (heldout.logits[:GRID_IMAGES] > 0).astype(float)
    prior = (np.random.default_rng(job_seed(seed, "sbn_samples", k, estimator))
             .random((GRID_IMAGES, k)) < 0.5).astype(float)
    images = {
        "test": test[:GRID_IMAGES].reshape(-1, 8, 8).astype(float),
        "reconstruction": expit(codes @ weights.T + bias).reshape(-1, 8, 8),
        "samples": expit(prior @ weights.T + bias).reshape(-1, 8, 8),
    }
    return trace, trace.iloc[[-1]].reset_index(drop=True), images


def run_sbn_job(k: int, estimator: str, seed: int, *, out: str, images: str, **settings) -> None:
    """One workflow job: the checkpoint rows to ``out`` (CSV), the image grid to ``images``."""
    trace, _, grid = train_sbn(k, estimator, seed, **settings)
    write_table(trace, out, SBN_COLUMNS)
    np.savez_compressed(images, **grid)
