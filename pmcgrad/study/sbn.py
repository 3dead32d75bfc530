"""Held-out evaluation of a sigmoid belief network fitted with pmcgrad.fit, and the known SBN
that draws the study's synthetic images."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, logsumexp

import pmcgrad
from pmcgrad.models import sigmoid_belief_network

__all__ = [
    "HeldOutBound",
    "KnownSbn",
    "importance_sampled_log_likelihood",
    "known_sbn",
]

PIXELS = 64  # 8 x 8 images, as the digits
_SIDE = 8
_STROKE_WEIGHT, _BACKGROUND_BIAS = 6.0, -3.0


class HeldOutBound:
    """Importance-sampled estimate of the mean held-out ``log p(x | W, c)`` per image.

    For each held-out image, local logits ``q(z | x)`` are fitted with W and c fixed (a
    ``pm.Data`` model, compiled once and reused; every evaluation starts from a fresh fit
    state: logits, optimiser moments and step count alike), then
    ``log p(x) ~ logsumexp_s [log p(x, z_s) - log q(z_s)] - log S`` with ``S`` draws from q.
    Its expectation is a lower bound on ``log p(x | W, c)`` that tightens as S grows.
    """

    def __init__(self, images: np.ndarray, k: int, *, steps: int = 300, draws: int = 100,
                 estimator: str = "disarm", seed: int = 0):
        self.images, self.k, self.steps, self.draws = images, k, steps, draws
        self.seed, self.estimator = seed, estimator
        self.logits: np.ndarray | None = None
        pixels = images.shape[1]
        self._model = sigmoid_belief_network(images, k, weights=np.zeros((pixels, k)),
                                             bias=np.zeros(pixels))

    def __call__(self, weights: np.ndarray, bias: np.ndarray) -> float:
        """Mean held-out log-likelihood bound per image (nats) at ``W = weights, c = bias``."""
        self._model.set_data("W", weights)
        self._model.set_data("c", bias)
        # The same model and options: the compiled fitter is reused, the state is new.
        fit = pmcgrad.fit(self.steps, model=self._model, estimator=self.estimator,
                          random_seed=self.seed, progressbar=False, convergence=False,
                          # The bound below is this fit's own check; its final ELBO draws
                          # (2000 by default) would cost more than its steps.
                          diagnostics=False, final_samples=2)
        logits = fit.logit_values[0].reshape(len(self.images), self.k)
        self.logits = logits  # the fitted q(z | x) logits (n, k), e.g. for reconstructions
        return float(np.mean(importance_sampled_log_likelihood(
            self.images, weights, bias, logits, self.draws, self.seed)))


def importance_sampled_log_likelihood(images, weights, bias, logits, draws, seed, *,
                                      chunk_elements: int = 1 << 22) -> np.ndarray:
    """Per-image ``log p(x)`` estimates ``(n,)`` with proposal ``Bernoulli(sigmoid(logits))``.

    The draws are made at once (the same ones whatever the chunking); the images are scored a
    chunk at a time, so the ``[S, chunk, pixels]`` arrays stay near ``chunk_elements`` floats
    instead of ``S * n * pixels`` (0.5 GB each for 1000 draws of 1000 images of 64 pixels)."""
    rng = np.random.default_rng(seed)
    n, k = logits.shape
    z = rng.random((draws, n, k)) < expit(logits)  # [S, n, k], booleans: 1 byte each
    log_prior = k * np.log(0.5)
    # x log s(a) + (1 - x) log s(-a) = x a + log s(-a): one transcendental per pixel, not two.
    on, off = log_expit(logits), log_expit(-logits)
    images = np.asarray(images, dtype=float)
    step = max(1, chunk_elements // max(1, draws * weights.shape[0]))
    out = []
    for start in range(0, n, step):
        rows = slice(start, start + step)
        codes = z[:, rows].astype(float)  # [S, chunk, k]
        activation = codes @ weights.T + bias  # [S, chunk, pixels]
        log_likelihood = (images[rows] * activation + log_expit(-activation)).sum(-1)
        log_q = (codes * on[rows] + (1 - codes) * off[rows]).sum(-1)
        out.append(logsumexp(log_likelihood + log_prior - log_q, axis=0) - np.log(draws))
    return np.concatenate(out) if out else np.zeros(0)


class KnownSbn:
    """A sigmoid belief network with known weights: ``z ~ Bernoulli(1/2)^codes``,
    ``x ~ Bernoulli(sigmoid(W z + c))`` on 8x8 images (:func:`known_sbn`)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray):
        self.weights, self.bias = np.asarray(weights, float), np.asarray(bias, float)

    @property
    def codes(self) -> int:
        return self.weights.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` images ``(n, 64)`` of int64 pixels."""
        z = (rng.random((n, self.codes)) < 0.5).astype(float)
        return (rng.random((n, PIXELS)) < expit(z @ self.weights.T + self.bias)).astype("int64")

    def log_likelihood(self, images: np.ndarray, chunk: int = 256) -> np.ndarray:
        """Exact ``log p(x)`` per image ``(n,)``, by enumerating the ``2^codes`` codes."""
        codes = ((np.arange(2**self.codes)[:, None] >> np.arange(self.codes)) & 1).astype(float)
        activation = codes @ self.weights.T + self.bias  # [2^codes, 64]
        on, off = log_expit(activation), log_expit(-activation)
        out = []
        for start in range(0, len(images), chunk):
            x = np.asarray(images[start:start + chunk], dtype=float)
            log_joint = x @ on.T + (1 - x) @ off.T  # [chunk, 2^codes]
            out.append(logsumexp(log_joint, axis=1) + self.codes * np.log(0.5))
        return np.concatenate(out) if out else np.zeros(0)


def known_sbn(codes: int, seed: int) -> KnownSbn:
    """The SBN behind the synthetic images: each code switches on one stroke (a random run of
    3 to 6 pixels along a row or a column of the 8x8 grid, weight 6) over a dark background
    (bias -3, so a pixel no stroke covers is on with probability 0.047)."""
    if not 1 <= codes <= 20:
        raise ValueError(f"a known SBN is enumerated exactly: 1 <= codes <= 20, got {codes}")
    rng = np.random.default_rng(seed)
    weights = np.zeros((_SIDE, _SIDE, codes))
    for j in range(codes):
        length = int(rng.integers(3, 7))
        fixed, start = int(rng.integers(_SIDE)), int(rng.integers(_SIDE - length + 1))
        if rng.random() < 0.5:
            weights[fixed, start:start + length, j] = _STROKE_WEIGHT
        else:
            weights[start:start + length, fixed, j] = _STROKE_WEIGHT
    return KnownSbn(weights.reshape(PIXELS, codes), np.full(PIXELS, _BACKGROUND_BIAS))
