"""Spike-and-slab linear regression with exact posterior inclusion and mean-field CAVI.

Model (the PyMC model ``z ~ Bernoulli(pi)``, ``beta ~ Normal(0, slab_sd)``,
``y ~ Normal(X @ (z * beta), sigma)``)::

    z_j    ~ Bernoulli(pi)              j = 1..k
    beta_j ~ Normal(0, slab_sd^2)       (present whether or not z_j = 1)
    y      ~ Normal(X (z * beta), sigma^2 I),   sigma known.

Integrating beta out gives, for each inclusion vector z with active columns X_z,
y | z ~ N(0, sigma^2 I + slab_sd^2 X_z X_z^T), so the exact posterior over z (and the
evidence log p(y)) follows by enumerating all 2^k vectors z.

The variational family is fully factorised: q(z_j) = Bernoulli(alpha_j),
q(beta_j) = Normal(m_j, s_j^2), with beta_j independent of z_j under q.
"""

from __future__ import annotations

__all__ = [
    "EXACT_POSTERIOR_MAX_K",
    "MeanFieldFit",
    "SpikeSlabData",
    "best_meanfield_optimum",
    "exact_log_evidence",
    "exact_model_posterior",
    "exact_posterior_inclusion",
    "meanfield_cavi",
    "meanfield_elbo",
    "simulate_spike_slab",
]

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import entr, expit, logsumexp

from pmcgrad.problems.enumerate import all_bit_vectors

_LOG_2PI = math.log(2.0 * math.pi)

#: Largest k whose posterior the functions below enumerate by default (2^k small Choleskys).
EXACT_POSTERIOR_MAX_K = 20

# Rows of same-size submatrices Cholesky-factorised at once in the exact enumeration.
_CHUNK_ROWS = 1 << 15


@dataclass(frozen=True)
class SpikeSlabData:
    """A spike-and-slab regression data set together with the model's hyperparameters.

    Attributes
    ----------
    X : ndarray, shape (n, k)
        Design matrix (columns centred and scaled so that ||X_j||^2 = n).
    y : ndarray, shape (n,)
        Response.
    z_true : ndarray, shape (k,), int
        The inclusion indicators used to simulate ``y``.
    beta_true : ndarray, shape (k,)
        The coefficients used to simulate ``y``; 0 where ``z_true`` is 0.
    sigma : float
        Known noise standard deviation.
    prior_inclusion : float
        Prior inclusion probability pi of every z_j.
    slab_sd : float
        Prior standard deviation of every beta_j.
    """

    X: NDArray[np.float64]
    y: NDArray[np.float64]
    z_true: NDArray[np.int64]
    beta_true: NDArray[np.float64]
    sigma: float = 1.0
    prior_inclusion: float = 0.2
    slab_sd: float = 1.0


@dataclass(frozen=True)
class MeanFieldFit:
    """A mean-field fit q(z_j) = Bernoulli(alpha_j), q(beta_j) = Normal(m_j, s_j^2).

    Attributes
    ----------
    inclusion : ndarray, shape (k,)
        alpha, the variational inclusion probabilities.
    mean : ndarray, shape (k,)
        m, the variational means of beta.
    sd : ndarray, shape (k,)
        s, the variational standard deviations of beta.
    inclusion_logit : ndarray, shape (k,)
        logit(alpha), kept because alpha itself rounds to exactly 0 or 1 in the tails.
    elbo : float
        The exact ELBO (nats, all normalising constants included) at this fit.
    history : ndarray, shape (n_iter + 1,)
        ELBO at the start and after every full CAVI sweep.
    n_iter : int
        Number of sweeps run.
    converged : bool
        Whether the ELBO increase of the last sweep fell below ``tol``.
    all_elbos : ndarray, shape (n_optima,) or None
        Set by :func:`best_meanfield_optimum`: the distinct ELBO values of the optima that
        the multi-start search reached, in decreasing order.
    """

    inclusion: NDArray[np.float64]
    mean: NDArray[np.float64]
    sd: NDArray[np.float64]
    inclusion_logit: NDArray[np.float64]
    elbo: float
    history: NDArray[np.float64]
    n_iter: int
    converged: bool
    all_elbos: NDArray[np.float64] | None = None


def simulate_spike_slab(
    n: int,
    k: int,
    n_true: int,
    seed: int | np.random.Generator | None,
    correlation: float = 0.0,
    sigma: float = 1.0,
    effect_size: float | tuple[float, float] = (1.0, 2.0),
    prior_inclusion: float = 0.2,
    slab_sd: float = 1.0,
) -> SpikeSlabData:
    """Simulate a spike-and-slab regression data set.

    The design is **equicorrelated**: X_ij = sqrt(rho) u_i + sqrt(1 - rho) e_ij with
    u_i, e_ij iid N(0, 1), so every pair of columns has population correlation ``rho``.
    Columns are then centred and scaled to unit (ddof=0) standard deviation, so
    ||X_j||^2 = n exactly.  ``n_true`` columns chosen at random are active; their
    coefficients have a random sign and magnitude ``effect_size`` (a float) or uniform
    in ``effect_size = (low, high)``.  y = X (z * beta) + N(0, sigma^2 I), no intercept.

    With the defaults (|beta| in [1, 2], sigma = 1) every true effect has a t-statistic
    around 10 at n = 100 when the design is independent, so it is clearly detectable.

    Parameters
    ----------
    n, k : int
        Number of observations and of predictors.
    n_true : int
        Number of active predictors, 0 <= n_true <= k.
    seed : int, Generator or None
        Seed for ``numpy.random.default_rng``.
    correlation : float
        Equicorrelation rho in [0, 1).
    sigma : float
        Noise standard deviation (treated as known by the model).
    effect_size : float or (float, float)
        Magnitude, or range of magnitudes, of the true coefficients.
    prior_inclusion, slab_sd : float
        Hyperparameters stored with the data for the model.

    Returns
    -------
    SpikeSlabData
    """
    if not 0 <= n_true <= k:
        raise ValueError(f"need 0 <= n_true <= k, got n_true={n_true}, k={k}")
    if not 0.0 <= correlation < 1.0:
        raise ValueError(f"correlation must be in [0, 1), got {correlation}")
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n, 1))
    x = math.sqrt(correlation) * shared + math.sqrt(1.0 - correlation) * rng.standard_normal(
        (n, k)
    )
    x = (x - x.mean(axis=0)) / x.std(axis=0)

    active = np.sort(rng.choice(k, size=n_true, replace=False))
    z = np.zeros(k, dtype=np.int64)
    z[active] = 1
    if np.ndim(effect_size) == 0:
        magnitude = np.full(n_true, float(effect_size))
    else:
        low, high = effect_size
        magnitude = rng.uniform(low, high, size=n_true)
    beta = np.zeros(k)
    beta[active] = rng.choice([-1.0, 1.0], size=n_true) * magnitude
    y = x @ beta + sigma * rng.standard_normal(n)
    return SpikeSlabData(
        X=x,
        y=y,
        z_true=z,
        beta_true=beta,
        sigma=float(sigma),
        prior_inclusion=float(prior_inclusion),
        slab_sd=float(slab_sd),
    )


def exact_model_posterior(
    data: SpikeSlabData, max_k: int = EXACT_POSTERIOR_MAX_K
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact posterior over inclusion vectors by enumeration.

    Parameters
    ----------
    data : SpikeSlabData
    max_k : int
        Refuse (ValueError) when k exceeds this.

    Returns
    -------
    bits : ndarray, shape (2^k, k)
        All inclusion vectors, in the order of
        :func:`pmcgrad.problems.enumerate.all_bit_vectors`.
    log_post : ndarray, shape (2^k,)
        log p(z | y) for every row.
    """
    bits, log_joint = _log_joint_z(data, max_k)
    return bits.astype(np.float64), log_joint - logsumexp(log_joint)


def exact_posterior_inclusion(
    data: SpikeSlabData, max_k: int = EXACT_POSTERIOR_MAX_K
) -> NDArray[np.float64]:
    """Exact posterior inclusion probabilities P(z_j = 1 | y).

    Parameters
    ----------
    data : SpikeSlabData
    max_k : int
        Refuse (ValueError) when k exceeds this (the cost is 2^k small Choleskys).

    Returns
    -------
    ndarray, shape (k,)
        The PIPs.
    """
    bits, log_joint = _log_joint_z(data, max_k)
    post = np.exp(log_joint - logsumexp(log_joint))
    return post @ bits.astype(np.float64)


def exact_log_evidence(data: SpikeSlabData, max_k: int = EXACT_POSTERIOR_MAX_K) -> float:
    """Exact log p(y) = log sum_z p(z) N(y; 0, sigma^2 I + slab_sd^2 X_z X_z^T).

    Parameters
    ----------
    data : SpikeSlabData
    max_k : int
        Refuse (ValueError) when k exceeds this.

    Returns
    -------
    float
        The log evidence in nats; an upper bound on every ELBO of the model.
    """
    _, log_joint = _log_joint_z(data, max_k)
    return float(logsumexp(log_joint))


def meanfield_elbo(
    data: SpikeSlabData, inclusion: ArrayLike, mean: ArrayLike, sd: ArrayLike
) -> float:
    """Exact ELBO of the fully factorised family, all normalising constants included.

    With w_j = z_j beta_j: E w_j = alpha_j m_j and
    Var w_j = alpha_j (m_j^2 + s_j^2) - alpha_j^2 m_j^2, so (w_j independent under q)
    E||y - X w||^2 = ||y - X E w||^2 + sum_j ||X_j||^2 Var w_j, and

        ELBO = -n/2 log(2 pi sigma^2) - E||y - X w||^2 / (2 sigma^2)
               + sum_j [alpha_j log pi + (1 - alpha_j) log(1 - pi)]
               + sum_j [-1/2 log(2 pi slab_sd^2) - (m_j^2 + s_j^2) / (2 slab_sd^2)]
               + sum_j H(Bernoulli(alpha_j)) + sum_j 1/2 log(2 pi e s_j^2).

    Parameters
    ----------
    data : SpikeSlabData
    inclusion, mean, sd : array, shape (k,)
        alpha, m and s.

    Returns
    -------
    float
        The ELBO in nats; it is <= :func:`exact_log_evidence`.
    """
    alpha = np.asarray(inclusion, dtype=np.float64)
    m = np.asarray(mean, dtype=np.float64)
    s2 = np.asarray(sd, dtype=np.float64) ** 2
    x, y = data.X, data.y
    n = y.shape[0]
    sigma2, slab2, pi = data.sigma**2, data.slab_sd**2, data.prior_inclusion
    xx = np.einsum("ij,ij->j", x, x)

    resid = y - x @ (alpha * m)
    var_w = alpha * (m**2 + s2) - (alpha * m) ** 2
    expected_sq = resid @ resid + xx @ var_w
    loglik = -0.5 * n * (_LOG_2PI + math.log(sigma2)) - expected_sq / (2.0 * sigma2)
    log_prior_z = np.sum(alpha * math.log(pi) + (1.0 - alpha) * math.log1p(-pi))
    log_prior_beta = np.sum(-0.5 * (_LOG_2PI + math.log(slab2)) - (m**2 + s2) / (2.0 * slab2))
    entropy_z = np.sum(entr(alpha) + entr(1.0 - alpha))
    entropy_beta = np.sum(0.5 * (_LOG_2PI + 1.0 + np.log(s2)))
    return float(loglik + log_prior_z + log_prior_beta + entropy_z + entropy_beta)


def meanfield_cavi(
    data: SpikeSlabData,
    init_inclusion: ArrayLike | None = None,
    seed: int | np.random.Generator | None = None,
    iters: int = 500,
    tol: float = 1e-10,
    init_mean: ArrayLike | None = None,
) -> MeanFieldFit:
    """Coordinate-ascent variational inference for the fully factorised family.

    q(beta_j) starts at N(init_mean_j, slab_sd^2) (``init_mean`` defaults to 0, the prior) and
    alpha at ``init_inclusion`` (or, if None, at Uniform(0.05, 0.95) draws from ``seed``).
    Each sweep visits j = 1..k and applies the two exact coordinate maximisers, with
    r_{-j} = y - sum_{l != j} X_l alpha_l m_l:

        1/s_j^2 = alpha_j ||X_j||^2 / sigma^2 + 1/slab_sd^2,
        m_j = s_j^2 alpha_j X_j^T r_{-j} / sigma^2,
        logit(alpha_j) = logit(pi) + m_j X_j^T r_{-j} / sigma^2
                         - ||X_j||^2 (m_j^2 + s_j^2) / (2 sigma^2).

    Each update maximises the ELBO in its block exactly, so the ELBO never decreases.
    Iteration stops after ``iters`` sweeps or when a sweep raises the ELBO by < ``tol``.

    Parameters
    ----------
    data : SpikeSlabData
    init_inclusion : array, shape (k,), or None
        Initial alpha, in [0, 1].
    seed : int, Generator or None
        Used only when ``init_inclusion`` is None.
    iters : int
        Maximum number of sweeps.
    tol : float
        Stop when one sweep raises the ELBO by less than this (nats).

    Returns
    -------
    MeanFieldFit
        The fit with its ELBO and the ELBO history (one value per sweep, plus the start).
    """
    x, y = data.X, data.y
    k = x.shape[1]
    if init_inclusion is None:
        alpha = np.random.default_rng(seed).uniform(0.05, 0.95, size=k)
    else:
        alpha = np.array(init_inclusion, dtype=np.float64).reshape(-1)
        if alpha.shape != (k,):
            raise ValueError(f"init_inclusion must have shape ({k},), got {alpha.shape}")
        if np.any((alpha < 0.0) | (alpha > 1.0)):
            raise ValueError("init_inclusion must lie in [0, 1]")
    sigma2, slab2 = data.sigma**2, data.slab_sd**2
    logit_pi = math.log(data.prior_inclusion) - math.log1p(-data.prior_inclusion)

    gram = x.T @ x
    xx = np.diag(gram).copy()
    m = np.zeros(k) if init_mean is None else np.array(init_mean, dtype=np.float64).reshape(k)
    s2 = np.full(k, slab2)
    with np.errstate(divide="ignore"):
        logit_alpha = np.log(alpha) - np.log1p(-alpha)
    # X^T (y - X u) with u = alpha * m, kept up to date after each coordinate update.
    xt_resid = x.T @ y - gram @ (alpha * m)

    history = [meanfield_elbo(data, alpha, m, np.sqrt(s2))]
    converged = False
    n_iter = 0
    for _ in range(iters):
        n_iter += 1
        for j in range(k):
            a_old, m_old = float(alpha[j]), float(m[j])
            xx_j = float(xx[j])
            # X_j^T r_{-j}: add back column j's own contribution to the fit.
            xr = float(xt_resid[j]) + xx_j * a_old * m_old
            s2_j = 1.0 / (a_old * xx_j / sigma2 + 1.0 / slab2)
            m_j = s2_j * a_old * xr / sigma2
            logit_a = logit_pi + m_j * xr / sigma2 - xx_j * (m_j * m_j + s2_j) / (2.0 * sigma2)
            a_j = float(expit(logit_a))
            delta = a_j * m_j - a_old * m_old
            if delta != 0.0:
                xt_resid -= gram[:, j] * delta
            alpha[j], m[j], s2[j], logit_alpha[j] = a_j, m_j, s2_j, logit_a
        history.append(meanfield_elbo(data, alpha, m, np.sqrt(s2)))
        if history[-1] - history[-2] < tol:
            converged = True
            break
    return MeanFieldFit(
        inclusion=alpha,
        mean=m,
        sd=np.sqrt(s2),
        inclusion_logit=logit_alpha,
        elbo=history[-1],
        history=np.asarray(history),
        n_iter=n_iter,
        converged=converged,
    )


def best_meanfield_optimum(
    data: SpikeSlabData,
    starts: int = 64,
    seed: int | np.random.Generator | None = 0,
    iters: int = 500,
    tol: float = 1e-10,
    distinct_tol: float = 1e-6,
) -> MeanFieldFit:
    """Multi-start CAVI: the fit with the highest ELBO, plus every distinct optimum's ELBO.

    The starts are alpha = 0.5 everywhere, alpha = 0.01 everywhere, alpha = 0.99
    everywhere, and ``starts - 3`` further vectors from ``seed``: half iid Uniform(0, 1),
    half near-binary (0.95 on a random subset, 0.05 elsewhere). For k <= 16 the 16 most
    probable inclusion vectors of the exact posterior are added as near-binary starts, since
    uniform starts alone can miss the optimum of a correlated design.

    Parameters
    ----------
    data : SpikeSlabData
    starts : int
        Total number of starts (at least 3).
    seed : int, Generator or None
        Seed for the random starts.
    iters, tol : int, float
        Passed to :func:`meanfield_cavi`.
    distinct_tol : float
        ELBOs closer than this are counted as the same optimum.

    Returns
    -------
    MeanFieldFit
        The best fit, with ``all_elbos`` (shape (n_optima,), decreasing) set to the
        distinct optima's ELBOs.
    """
    if starts < 3:
        raise ValueError(f"starts must be at least 3, got {starts}")
    k = data.X.shape[1]
    rng = np.random.default_rng(seed)
    inits = [np.full(k, 0.5), np.full(k, 0.01), np.full(k, 0.99)]
    n_random = starts - 3
    inits += [rng.uniform(0.0, 1.0, size=k) for _ in range(n_random - n_random // 2)]
    inits += [np.where(rng.random(k) < 0.3, 0.95, 0.05) for _ in range(n_random // 2)]
    if k <= 16:
        bits, log_post = exact_model_posterior(data)
        for index in np.argsort(log_post)[::-1][:16]:
            inits.append(np.where(bits[index] == 1, 0.95, 0.05))
    # Near-binary starts also start beta at its conditional posterior mean given that z: a
    # start at m = 0 lets the first sweep's order decide which optimum is reached.
    fits = [
        meanfield_cavi(data, init, iters=iters, tol=tol,
                       init_mean=_conditional_mean(data, init > 0.5) if _binary(init) else None)
        for init in inits
    ]
    best = max(fits, key=lambda fit: fit.elbo)
    return replace(best, all_elbos=_distinct_values([fit.elbo for fit in fits], distinct_tol))


def _binary(alpha: NDArray[np.float64]) -> bool:
    return bool(np.all((alpha <= 0.05) | (alpha >= 0.95)))


def _conditional_mean(data: SpikeSlabData, included: NDArray[np.bool_]) -> NDArray[np.float64]:
    """E[beta | z, y] for the included coordinates (conjugate Gaussian), 0 elsewhere."""
    mean = np.zeros(data.X.shape[1])
    if included.any():
        x = data.X[:, included]
        precision = x.T @ x / data.sigma**2 + np.eye(x.shape[1]) / data.slab_sd**2
        mean[included] = np.linalg.solve(precision, x.T @ data.y / data.sigma**2)
    return mean


def _log_joint_z(data: SpikeSlabData, max_k: int) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """Bits (2^k, k) and log p(z) + log p(y | z) for every inclusion vector z.

    log p(y | z) uses the k_z-dimensional (Woodbury / determinant-lemma) form with
    A = X_z^T X_z / sigma^2 + I / slab_sd^2 and b = X_z^T y / sigma^2:

        y^T Sigma_z^{-1} y = y^T y / sigma^2 - b^T A^{-1} b,
        log det Sigma_z = n log sigma^2 + k_z log slab_sd^2 + log det A,

    where Sigma_z = sigma^2 I + slab_sd^2 X_z X_z^T.  Vectors with the same k_z are
    handled together by batched Cholesky factorisations.
    """
    x, y = np.asarray(data.X, dtype=np.float64), np.asarray(data.y, dtype=np.float64)
    n, k = x.shape
    if k > max_k:
        raise ValueError(f"k={k} exceeds max_k={max_k}: exact enumeration needs 2^{k} terms")
    sigma2, slab2, pi = data.sigma**2, data.slab_sd**2, data.prior_inclusion
    bits = all_bit_vectors(k, np.uint8)
    sizes = bits.sum(axis=1, dtype=np.int64)
    gram = x.T @ x / sigma2
    xty = x.T @ y / sigma2
    yty = float(y @ y) / sigma2

    log_lik = np.empty(bits.shape[0])
    for kz in range(k + 1):
        rows = np.flatnonzero(sizes == kz)
        if kz == 0:
            log_lik[rows] = -0.5 * (n * (_LOG_2PI + math.log(sigma2)) + yty)
            continue
        for start in range(0, rows.size, _CHUNK_ROWS):
            chunk = rows[start : start + _CHUNK_ROWS]
            # np.nonzero walks row-major, so each row's active columns come out in order.
            idx = np.nonzero(bits[chunk])[1].reshape(chunk.size, kz)
            a = gram[idx[:, :, None], idx[:, None, :]] + np.eye(kz) / slab2
            chol = np.linalg.cholesky(a)
            v = np.linalg.solve(chol, xty[idx][:, :, None])[:, :, 0]  # L v = b
            quad = yty - np.einsum("ij,ij->i", v, v)
            logdet = (
                n * math.log(sigma2)
                + kz * math.log(slab2)
                + 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            )
            log_lik[chunk] = -0.5 * (n * _LOG_2PI + logdet + quad)
    log_prior = sizes * math.log(pi) + (k - sizes) * math.log1p(-pi)
    return bits, log_prior + log_lik


def _distinct_values(values: list[float], tol: float) -> NDArray[np.float64]:
    """Sorted (decreasing) values with runs closer than ``tol`` collapsed to their first."""
    out: list[float] = []
    for v in sorted(values, reverse=True):
        if not out or out[-1] - v > tol:
            out.append(v)
    return np.asarray(out)
