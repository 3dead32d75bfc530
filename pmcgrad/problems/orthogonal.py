"""Spike-and-slab regression on an orthogonal design: exact inclusion probabilities at any k.

With ``X^T X = n I`` and known noise ``sigma``, the likelihood of ``y ~ N(X (z * beta),
sigma^2 I)`` factorises over the predictors given ``s = X^T y``, and so does the posterior:
each ``(z_j, beta_j)`` pair is independent of the others. Integrating ``beta_j ~ N(0, tau^2)``
out of the terms of predictor ``j`` gives its Bayes factor for inclusion,

    BF_j = (1 + n tau^2 / sigma^2)^(-1/2) exp(tau^2 s_j^2 / (2 sigma^2 (sigma^2 + n tau^2))),

so ``logit PIP_j = logit(pi) + log BF_j``, and given ``z_j = 1`` the slab posterior is
``N(tau^2 s_j / (sigma^2 + n tau^2), sigma^2 tau^2 / (sigma^2 + n tau^2))``. (With
``sigma = 1`` this is ``-1/2 log(1 + n tau^2) + tau^2 s_j^2 / (2 (1 + n tau^2))``.)
The bit-conditioned family contains this posterior exactly, so a fit of it can be checked
coordinate by coordinate at k in the thousands; ``tests/problems`` checks the formula
against enumeration.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from pmcgrad.problems.spike_slab import SpikeSlabData

__all__ = ["orthogonal_inclusion", "orthogonal_slab_posterior", "simulate_orthogonal_spike_slab"]


def simulate_orthogonal_spike_slab(
    n: int,
    k: int,
    n_true: int,
    seed: int | np.random.Generator | None,
    *,
    sigma: float = 1.0,
    effect_size: tuple[float, float] = (1.0, 2.0),
    n_weak: int = 0,
    weak_t: float = 2.5,
    prior_inclusion: float = 0.2,
    slab_sd: float = 1.0,
) -> SpikeSlabData:
    """A data set with centred columns and ``X^T X = n I`` exactly (needs ``n > k``).

    ``n_true`` strong effects of magnitude uniform in ``effect_size``, and ``n_weak`` weak
    ones with a t-statistic of about ``weak_t``, whose inclusion probabilities are neither 0
    nor 1: they are the hard coordinates for a fit.
    """
    if not n > k:
        raise ValueError(f"an orthogonal design with centred columns needs n > k, got n={n}, "
                         f"k={k}")
    if not 0 <= n_true + n_weak <= k:
        raise ValueError(f"need 0 <= n_true + n_weak <= k, got {n_true} + {n_weak} > {k}")
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n, k))
    raw -= raw.mean(axis=0)
    q, _ = np.linalg.qr(raw)  # orthonormal columns, each orthogonal to the ones vector
    x = math.sqrt(n) * q
    active = rng.choice(k, size=n_true + n_weak, replace=False)
    beta = np.zeros(k)
    signs = rng.choice([-1.0, 1.0], size=n_true + n_weak)
    beta[active[:n_true]] = signs[:n_true] * rng.uniform(*effect_size, size=n_true)
    beta[active[n_true:]] = signs[n_true:] * weak_t * sigma / math.sqrt(n)
    y = x @ beta + sigma * rng.standard_normal(n)
    return SpikeSlabData(X=x, y=y, z_true=(beta != 0).astype(np.int64), beta_true=beta,
                         sigma=float(sigma), prior_inclusion=float(prior_inclusion),
                         slab_sd=float(slab_sd))


def orthogonal_inclusion(data: SpikeSlabData) -> NDArray[np.float64]:
    """The exact posterior inclusion probabilities ``(k,)`` of an orthogonal design.

    Raises ``ValueError`` when ``X^T X`` is not ``n I`` (to 1e-8 relative).
    """
    return expit(_log_odds(data))


def orthogonal_slab_posterior(data: SpikeSlabData) -> tuple[NDArray, NDArray]:
    """Mean and standard deviation ``(k,), (k,)`` of ``beta_j`` given ``z_j = 1``."""
    n, s = _check_orthogonal(data)
    sigma2, tau2 = data.sigma**2, data.slab_sd**2
    return tau2 * s / (sigma2 + n * tau2), np.full(s.shape, math.sqrt(
        sigma2 * tau2 / (sigma2 + n * tau2)))


def _log_odds(data: SpikeSlabData) -> NDArray[np.float64]:
    n, s = _check_orthogonal(data)
    sigma2, tau2, pi = data.sigma**2, data.slab_sd**2, data.prior_inclusion
    log_bayes_factor = (-0.5 * math.log1p(n * tau2 / sigma2)
                        + tau2 * s**2 / (2 * sigma2 * (sigma2 + n * tau2)))
    return math.log(pi) - math.log1p(-pi) + log_bayes_factor


def _check_orthogonal(data: SpikeSlabData) -> tuple[int, NDArray[np.float64]]:
    n, k = data.X.shape
    gram = data.X.T @ data.X
    if not np.allclose(gram, n * np.eye(k), rtol=0, atol=1e-8 * n):
        raise ValueError("the design is not orthogonal (X^T X != n I); use "
                         "simulate_orthogonal_spike_slab, or exact_posterior_inclusion for "
                         "small k")
    return n, data.X.T @ data.y
