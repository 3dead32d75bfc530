"""The sigmoid belief network: training curves, held-out bounds, images.

One job fits :func:`pmcgrad.models.sigmoid_belief_network` (k codes) with one estimator to one
data set (``sbn.datasets``):

* ``digits``: a seeded subset of scikit-learn's 8x8 digits, binarised (at most 1438 training
  and 359 test images);
* ``synthetic``: images drawn from a known SBN (:func:`pmcgrad.study.sbn.known_sbn`,
  ``sbn.synthetic_codes`` codes), as many as the config asks for (tens of thousands in
  ``config/full.yaml``), whose exact held-out log-likelihood is known by enumeration: the
  ceiling the fitted bound is read against.

With ``minibatch_size`` > 0 every step uses that many training images. At each checkpoint the
job records the training ELBO, the logit-gradient variance and the held-out log-likelihood
bound (:class:`pmcgrad.study.sbn.HeldOutBound`) against wall time. Its image grid (test
images, reconstructions, samples) is saved with the job's data set, k, estimator and seed, so
that the report can tell the grids apart without reading their paths.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
from scipy.special import expit

import pmcgrad
from pmcgrad.models import binarised_digits, sigmoid_belief_network
from pmcgrad.study.columns import SBN, SBN_COLUMNS
from pmcgrad.study.sbn import HeldOutBound, known_sbn
from pmcgrad.study.seeds import job_seed, job_seed_int
from pmcgrad.study.settings import SbnDataset, SbnSettings
from pmcgrad.study.tables import write_atomically, write_table

__all__ = ["GRID_IMAGES", "GRID_PANELS", "load_images", "rows_per_job", "run_sbn_job",
           "train_sbn"]

GRID_IMAGES = 8  # test images, reconstructions and model samples shown in the report
GRID_PANELS = ("test", "reconstruction", "samples")  # the rows of the grid, top to bottom


def load_images(data: SbnDataset, seed: int, settings: SbnSettings
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """``(train, test, reference)`` images of one data set; ``reference`` is the exact mean
    held-out log-likelihood per image under the SBN that drew synthetic images (NaN for the
    digits). The digits' training subset is drawn from ``seed``; synthetic images come from
    ``sbn.synthetic_seed`` alone, so every job sees the same ones."""
    if data.name == "digits":
        train, test = binarised_digits(0)
        rng = np.random.default_rng(job_seed(seed, "sbn_data"))
        train = train[np.sort(rng.choice(len(train), min(data.train_size, len(train)),
                                         replace=False))]
        return train, test[:data.test_size], math.nan
    if data.name == "synthetic":
        truth = known_sbn(settings.synthetic_codes, settings.synthetic_seed)
        rng = np.random.default_rng(job_seed(settings.synthetic_seed, "sbn_synthetic"))
        train, test = truth.sample(data.train_size, rng), truth.sample(data.test_size, rng)
        return train, test, float(np.mean(truth.log_likelihood(test)))
    raise ValueError(f"unknown SBN data set {data.name!r}; expected 'digits' or 'synthetic'")


def train_sbn(data: SbnDataset, k: int, estimator: str, seed: int, settings: SbnSettings
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Fit one SBN; returns ``(trace, heldout, images)``.

    ``trace`` has one :data:`SBN_COLUMNS` row per checkpoint (every
    ``data.steps // settings.checkpoints`` steps): ``seconds`` is wall time since the
    start of the fit, compile included;
    ``train_elbo`` is the mean of ``-hist`` over the chunk per training image (a minibatch's
    estimate is scaled to the whole training set);
    ``logit_gradient_variance`` the chunk's mean running logit-gradient variance;
    ``heldout_log_likelihood`` the importance-sampled bound per test image. ``heldout`` is the
    last checkpoint's row. ``images`` holds ``test``, ``reconstruction`` (pixel probabilities at
    the most likely codes of the held-out q) and ``samples`` (probabilities at z ~ Bernoulli(1/2)),
    each ``(GRID_IMAGES, 8, 8)``.
    """
    steps, checkpoints = data.steps, settings.checkpoints
    if checkpoints < 1 or steps < checkpoints:
        raise ValueError(f"need 1 <= checkpoints <= steps, got {checkpoints=} {steps=}")
    train, test, reference = load_images(data, seed, settings)
    heldout = HeldOutBound(test, k, steps=settings.heldout_steps, draws=settings.heldout_draws,
                           seed=job_seed_int(seed, "sbn_heldout", k))
    minibatch = {"minibatch_size": data.minibatch_size} if data.minibatch_size else {}
    bounds = np.linspace(0, steps, checkpoints + 1).round().astype(int)
    rows = []
    heldout_seconds = 0.0
    start = time.perf_counter()
    with sigmoid_belief_network(train, k):
        # No diagnostics: importance sampling over every image's codes at once says nothing
        # the held-out bound does not, and would cost each checkpoint a pass over the data.
        # No final ELBO draws either (the fewest allowed): the trace reads the steps' own.
        result = pmcgrad.fit(0, estimator=estimator, samples=settings.samples, final_samples=2,
                             random_seed=job_seed_int(seed, "sbn_fit", data.name, k,
                                                      estimator),
                             progressbar=False, convergence=False, diagnostics=False,
                             **minibatch)
    for lo, hi in itertools.pairwise(bounds):
        result = result.refine(int(hi - lo), progressbar=False)
        seconds = time.perf_counter() - start - heldout_seconds
        loss = np.asarray(result.hist, dtype=float)[lo:hi]
        variance = result.state.logit_gradient_variance  # the last window's
        tick = time.perf_counter()
        bound = heldout(*_weights(result))
        heldout_seconds += time.perf_counter() - tick
        rows.append({"dataset": data.name, "k": k, "estimator": estimator, "seed": seed,
                     "step": int(hi), "seconds": seconds,
                     "train_elbo": float(np.mean(-loss)) / len(train),
                     "logit_gradient_variance": (float(np.nanmean(variance))
                                                 if variance is not None else np.nan),
                     "heldout_log_likelihood": bound,
                     "reference_log_likelihood": reference})
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


def run_sbn_job(dataset: str, k: int, estimator: str, seed: int, settings: SbnSettings, *,
                out: str, images: str) -> None:
    """One workflow job: the checkpoint rows to ``out`` (CSV), the image grid to ``images``
    (npz: the :data:`GRID_PANELS` arrays, plus ``dataset``, ``k``, ``estimator`` and
    ``seed``)."""
    trace, _, grid = train_sbn(settings.dataset(dataset), k, estimator, seed, settings)
    write_atomically(images, lambda temporary: np.savez_compressed(
        temporary, dataset=dataset, k=k, estimator=estimator, seed=seed, **grid))
    write_table(trace, out, SBN)
