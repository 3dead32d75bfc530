"""Data for the gallery of models users write (``pmcgrad.models``, ``examples/``), and the
exact spike-and-slab posterior with an unknown noise scale for the diabetes data.

Everything is simulated from a fixed seed, or shipped with scikit-learn (diabetes, digits):
nothing is downloaded.
"""

from __future__ import annotations

__all__ = [
    "MixtureData",
    "OccupancyData",
    "ZipData",
    "diabetes_data",
    "exact_inclusion_unknown_sigma",
    "sbn_image_log_likelihood",
    "simulate_mixture",
    "simulate_occupancy",
    "simulate_zero_inflated_poisson",
]

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp

from pmcgrad.problems.enumerate import all_bit_vectors


@dataclass(frozen=True)
class ZipData:
    """Counts ``y (n,)``: a structural zero with probability ``psi``, else Poisson(``lam``)."""

    y: NDArray
    zero: NDArray  # (n,) the structural zeros that made them
    psi: float
    lam: float


@dataclass(frozen=True)
class OccupancyData:
    """Detections ``y (sites, visits)`` of a species present at a site with probability
    ``psi`` and detected on a visit with ``logit p = alpha + beta * effort``."""

    y: NDArray
    effort: NDArray  # (sites, visits) standardised survey effort
    occupied: NDArray  # (sites,)
    psi: float
    alpha: float
    beta: float


@dataclass(frozen=True)
class MixtureData:
    """``y (n,)`` from two Gaussians; ``member (n,)`` is 1 for the second component."""

    y: NDArray
    member: NDArray
    weight: float
    mu: tuple[float, float]
    sigma: tuple[float, float]


def simulate_zero_inflated_poisson(n: int = 200, psi: float = 0.3, lam: float = 3.0,
                                   seed: int = 0) -> ZipData:
    rng = np.random.default_rng(seed)
    zero = rng.random(n) < psi
    y = np.where(zero, 0, rng.poisson(lam, n)).astype("int64")
    return ZipData(y, zero.astype("int64"), psi, lam)


def simulate_occupancy(sites: int = 100, visits: int = 4, psi: float = 0.6,
                       alpha: float = -0.5, beta: float = 1.0, seed: int = 0
                       ) -> OccupancyData:
    rng = np.random.default_rng(seed)
    occupied = (rng.random(sites) < psi).astype("int64")
    effort = rng.normal(size=(sites, visits))
    p = 1 / (1 + np.exp(-(alpha + beta * effort)))
    y = (occupied[:, None] * (rng.random((sites, visits)) < p)).astype("int64")
    return OccupancyData(y, effort, occupied, psi, alpha, beta)


def simulate_mixture(n: int = 200, weight: float = 0.4, mu=(-1.0, 3.0), sigma=(1.0, 0.5),
                     seed: int = 0) -> MixtureData:
    rng = np.random.default_rng(seed)
    member = (rng.random(n) < weight).astype("int64")
    y = np.where(member == 1, rng.normal(mu[1], sigma[1], n), rng.normal(mu[0], sigma[0], n))
    return MixtureData(y, member, weight, tuple(mu), tuple(sigma))


def sbn_image_log_likelihood(images: NDArray, W: NDArray, c: NDArray, z: NDArray) -> NDArray:
    """``log p(x_n | z_n, W, c)`` of a sigmoid belief network per draw and image: ``W (...,
    pixels, k)``, ``c (..., pixels)``, ``z (..., n, k)`` -> ``(..., n)``. It depends on the
    draw only through the pixel logits ``W z_n + c``, so it is the same for every relabelling
    of the codes (and every flip of one, ``z -> 1 - z`` with ``W -> -W``, ``c -> c + W``):
    the one thing a fit and ``pm.sample`` can be compared on, whichever labelling each found."""
    logits = np.einsum("...pk,...nk->...np", W, z) + c[..., None, :]
    return (images * logits - np.logaddexp(0.0, logits)).sum(-1)


def diabetes_data() -> tuple[NDArray, NDArray, list[str]]:
    """scikit-learn's diabetes data (442 patients, 10 predictors, shipped with it): ``X``
    with standardised columns, ``y`` standardised, and the predictor names."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    y = (data.target - data.target.mean()) / data.target.std()
    return X, y, list(data.feature_names)


def exact_inclusion_unknown_sigma(X: NDArray, y: NDArray, *, prior: float, slab_sd: float,
                                  sigma_scale: float, grid: int = 400
                                  ) -> tuple[NDArray, float]:
    """Posterior inclusion probabilities and the log evidence ``log p(y)`` of
    ``z_j ~ Bernoulli(prior)``,
    ``beta_j ~ Normal(0, slab_sd)``, ``sigma ~ HalfNormal(sigma_scale)``,
    ``y ~ Normal(X (z * beta), sigma)``, by enumerating all ``2^k`` z.

    Given z and sigma, beta integrates out: ``y ~ N(0, sigma^2 I + slab_sd^2 X_z X_z^T)``,
    evaluated in k dimensions (determinant lemma, Woodbury). sigma is integrated on a grid of
    ``grid`` points over its posterior's range (the trapezoid rule on log sigma), which is
    exact to the quadrature's error (below 1e-6 here, checked by doubling the grid).
    """
    n, k = X.shape
    configs = all_bit_vectors(k).astype(bool)
    gram, xty, yty = X.T @ X, X.T @ y, float(y @ y)
    # log sigma grid around the least-squares residual scale, wide enough for n >= 50.
    full_fit = np.linalg.lstsq(X, y, rcond=None)[0]
    centre = np.log(max(np.std(y - X @ full_fit), 1e-3))
    log_sigma = np.linspace(centre - 1.5, np.log(np.std(y)) + 1.5, grid)
    sigma2 = np.exp(2 * log_sigma)
    # HalfNormal(sigma_scale) prior on sigma, times the Jacobian d sigma = sigma d log sigma.
    log_prior_sigma = -0.5 * sigma2 / sigma_scale**2 + log_sigma
    log_weights = np.empty(configs.shape[0])
    for index, z in enumerate(configs):
        size = int(z.sum())
        log_like = -0.5 * n * np.log(2 * np.pi * sigma2) - 0.5 * yty / sigma2
        if size:
            # |sigma^2 I + t^2 X X^T| = sigma^2n |A|, A = I + t^2/sigma^2 X^T X, and by
            # Woodbury y^T (...)^-1 y = y^T y / sigma^2 - t^2 b^T A^-1 b / sigma^4, b = X^T y.
            ratio = (slab_sd**2 / sigma2)[:, None, None]  # (G, 1, 1)
            a = np.eye(size) + ratio * gram[np.ix_(z, z)]  # (G, s, s)
            b = np.broadcast_to(xty[z], (grid, size))[..., None]  # (G, s, 1)
            logdet = np.linalg.slogdet(a)[1]
            quad = (b * np.linalg.solve(a, b)).sum((1, 2)) * slab_sd**2 / sigma2**2
            log_like += -0.5 * logdet + 0.5 * quad
        # The HalfNormal's normalising constant, so that log_weights sum to log p(y).
        integrand = log_like + log_prior_sigma + 0.5 * np.log(2 / np.pi) - np.log(sigma_scale)
        log_weights[index] = (logsumexp(integrand) + np.log(log_sigma[1] - log_sigma[0])
                              + size * np.log(prior) + (k - size) * np.log1p(-prior))
    log_evidence = float(logsumexp(log_weights))
    weights = np.exp(log_weights - log_evidence)
    return weights @ configs, log_evidence
