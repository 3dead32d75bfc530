"""Held-out evaluation of a sigmoid belief network fitted with pmcgrad.fit."""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit, logsumexp

import pmcgrad
from pmcgrad.models import sigmoid_belief_network

__all__ = ["HeldOutBound", "importance_sampled_log_likelihood"]


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
                          diagnostics=False)  # the bound below is this fit's own check
        logits = fit.logit_values[0].reshape(len(self.images), self.k)
        self.logits = logits  # the fitted q(z | x) logits (n, k), e.g. for reconstructions
        return float(np.mean(importance_sampled_log_likelihood(
            self.images, weights, bias, logits, self.draws, self.seed)))


def importance_sampled_log_likelihood(images, weights, bias, logits, draws, seed) -> np.ndarray:
    """Per-image ``log p(x)`` estimates ``(n,)`` with proposal ``Bernoulli(sigmoid(logits))``."""
    rng = np.random.default_rng(seed)
    n, k = logits.shape
    z = (rng.random((draws, n, k)) < 1 / (1 + np.exp(-logits))).astype(float)  # [S, n, k]
    activation = z @ weights.T + bias  # [S, n, pixels]
    log_likelihood = (images * log_expit(activation)
                      + (1 - images) * log_expit(-activation)).sum(-1)
    log_prior = k * np.log(0.5)
    log_q = (z * log_expit(logits) + (1 - z) * log_expit(-logits)).sum(-1)
    return logsumexp(log_likelihood + log_prior - log_q, axis=0) - np.log(draws)
