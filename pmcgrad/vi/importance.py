"""Importance sampling from a fitted approximation: draws from q with their ``log p`` and
``log q``, Pareto-smoothed importance weights (PSIS, from arviz-stats) and the weighted
answers they give.

For draws ``(z_s, theta_s) ~ q`` the importance ratio is
``r_s = log p(x, z_s, theta_s) - log q(z_s, theta_s)``, with ``log p`` the model's log joint on
PyMC's unconstrained space (transform Jacobians included) and ``log q`` the variational
density there. PSIS smooths the largest ratios with a generalised Pareto fit; the fitted shape
``k-hat`` says how far q is from the posterior (Yao, Vehtari, Simpson and Gelman 2018, "Yes,
but did it work?: Evaluating variational inference"): below 0.7 the weighted answers are
reliable, above it they are not (docs/math.md, "Checking and correcting the approximation").

The proposal for corrected answers is the equal mixture of every start's q (with one start, q
itself): a start that found another optimum then supplies the draws of that mode, weighted by
``q_mix(x) = sum_m (n_m / N) q_m(x)`` (the balance heuristic of multiple importance sampling).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pymc.backends.arviz import find_observations
from pytensor.graph.replace import graph_replace
from scipy.special import logsumexp

from pmcgrad.vi.family import bernoulli_log_density, make_family

__all__ = [
    "DEFAULT_DRAWS",
    "MIN_DRAWS",
    "PARETO_K_THRESHOLD",
    "ImportanceSample",
    "ImportanceUnavailableError",
    "ProposalDraws",
    "PsisResult",
    "batch_size",
    "default_draws",
    "draw_proposal",
    "importance_sample",
    "log_q_discrete",
    "noise_batches",
    "psis",
    "unavailable_reason",
]

#: Above this k-hat, importance-weighted answers are unreliable (Yao et al. 2018).
PARETO_K_THRESHOLD = 0.7
#: Draws per start by default. k-hat from few draws is noisy and reads low when the heavy
#: tail is rarely drawn: a diabetes fit read 0.59-0.77 at 10000 draws, 0.26-0.62 at 1000;
#: a good fit 0.23-0.34 at 10000 (README, "Is the answer right?").
DEFAULT_DRAWS = 10_000
#: PSIS fits a tail of ``min(N / 5, 3 sqrt(N))`` draws; fewer than this leave too few.
MIN_DRAWS = 100
#: PSIS fits a tail of ``N / 5`` draws below 225 draws, and needs 5: fewer draws are weighed
#: without smoothing, and their k-hat is NaN.
PSIS_MIN_DRAWS = 25
# The default's budget, in numbers a batch of draws touches (draws x (latents +
# observations) x starts); the 200-image digits SBN (3200 latents) gets 7854 draws, ~3 s.
_DEFAULT_BUDGET = 1 << 27

# Elements per intermediate array of one compiled call (about 32 MiB of float64): the log
# joint of a batch holds (draws x observations) arrays, so large data take smaller batches.
_ELEMENTS_PER_CALL = 1 << 22


class ImportanceUnavailableError(ValueError):
    """Importance weights need the full log joint, which this fit cannot afford (say why)."""


def log_q_discrete(bits, logits, free=None):
    """``log q(z)`` of the discrete latents: ``bits (..., K)`` under
    ``Bernoulli(sigmoid(logits))`` with ``logits`` broadcastable to them -> ``(...)``; bits
    the model fixes (``free`` 0) are constants, no part of q.

    The one place the importance weights read the discrete part of q."""
    per_bit = bernoulli_log_density(bits, logits)
    return (per_bit if free is None else per_bit * free).sum(-1)


# --- PSIS
@dataclass(frozen=True)
class PsisResult:
    """Pareto-smoothed importance weights.

    ``log_weights (..., N)``: normalised (``logsumexp`` over the last axis is 0);
    ``pareto_k (...)``: the fitted tail shape (``-inf`` when the largest ratios are all equal,
    so there is no tail to fit: the weights are bounded; ``nan`` when a ratio is NaN).
    """

    log_weights: np.ndarray
    pareto_k: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    @property
    def ess(self) -> np.ndarray:
        """The effective sample size of the weights, ``1 / sum w^2``, ``(...)``."""
        return 1.0 / np.sum(self.weights**2, axis=-1)


def psis(log_ratios: np.ndarray) -> PsisResult:
    """PSIS over the last axis of ``log_ratios (..., N)`` (``log p - log q`` per draw), with
    arviz-stats' ``psislw``. Draws from q are independent, so the relative efficiency is 1."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    ratios = np.asarray(log_ratios, dtype=float)
    flat = ratios.reshape(-1, ratios.shape[-1])
    log_weights, khats = np.empty_like(flat), np.empty(flat.shape[0])
    for row, values in enumerate(flat):
        log_weights[row], khats[row] = _psis_row(values)
    return PsisResult(log_weights.reshape(ratios.shape), khats.reshape(ratios.shape[:-1]))


def _psis_row(values: np.ndarray) -> tuple[np.ndarray, float]:
    if np.isnan(values).any() or not np.isfinite(values).any():
        return np.full_like(values, np.nan), float("nan")
    if values.size < PSIS_MIN_DRAWS:  # a tail of fewer than 5 draws: nothing to fit
        return values - logsumexp(values), float("nan")
    # arviz-stats' psislw takes log-likelihood-like values and smooths exp(-values): the
    # ratios go in negated.
    try:
        log_weights, khat = xr.DataArray(-values, dims=["draw"]).azstats.psislw(dim="draw")
    except ValueError as error:
        if "tail values are the same" not in str(error):
            raise
        # The largest ratios are all equal (a discrete-only q that matches the posterior's
        # shape, say): the weights are bounded and need no smoothing.
        return values - logsumexp(values), float("-inf")
    return np.asarray(log_weights.values), float(khat.values)


# --- draws from the fitted q with their densities
@dataclass(frozen=True)
class ProposalDraws:
    """``B`` draws from each of ``M`` starts' q, on the fit's flat unconstrained vectors.

    ``bits (B, M, L)`` (the discrete latents: bits, or category codes in categorical mode),
    ``reals (B, M, D)``, ``log_p (B, M)``, and ``log_q (B, M, M)``: the
    log density of draw ``(b, m)`` under every start ``m'`` (``log_q[b, m, m]`` is its own).
    """

    bits: np.ndarray
    reals: np.ndarray
    log_p: np.ndarray
    log_q: np.ndarray

    @property
    def own_log_q(self) -> np.ndarray:
        """``log q_m`` of each start's own draws, ``(B, M)``."""
        starts = self.log_q.shape[1]
        return self.log_q[:, np.arange(starts), np.arange(starts)]


def unavailable_reason(fitter) -> str | None:
    """Why this fit cannot weigh draws by ``p / q`` (``None`` when it can)."""
    options, local = fitter.options, fitter.structure.local
    if options.minibatch_size is not None:
        return (
            f"the fit is minibatched (minibatch_size={options.minibatch_size} of "
            f"{local.rows} rows): log p(x, z, theta) of one draw needs every row of the data "
            "and of the latents, which minibatching avoids, so there is no k-hat, no "
            "importance-corrected answer and no importance=True here. The inclusion "
            "probabilities, the ELBO and its standard error, the starts and the stopping rule "
            "are still reported; for a k-hat, fit a subset of the rows without minibatch_size"
        )
    return None


def draw_proposal(fitter, params: Mapping[str, np.ndarray], draws: int,
                  rng: np.random.Generator) -> ProposalDraws:
    """``draws`` fresh draws from each start's q at ``params`` (each with a leading start axis
    ``M``, such as ``state.answer``, or one start's slice ``[m : m + 1]``), with ``log p`` and
    the log density under every start."""
    reason = unavailable_reason(fitter)
    if reason is not None:
        raise ImportanceUnavailableError(reason)
    structure = fitter.structure
    starts = np.asarray(next(iter(params.values()))).shape[0]
    names, function = _densities_function(fitter, starts)
    values = [np.asarray(params[name], dtype="float64") for name in names]
    probs = latent_probabilities(fitter, params)
    bits = np.empty((draws, starts, structure.n_latents), dtype="int64")
    reals = np.empty((draws, starts, structure.n_reals))
    log_p, log_q = np.empty((draws, starts)), np.empty((draws, starts, starts))
    for rows, (uniform_bits, eps) in noise_batches(rng, draws, starts, probs,
                                                   structure.n_reals, batch_size(fitter, starts)):
        theta, log_p[rows], log_q[rows] = function(*values, uniform_bits, eps)
        bits[rows], reals[rows] = uniform_bits, theta
    return ProposalDraws(bits=bits, reals=reals, log_p=log_p, log_q=log_q)


def latent_probabilities(fitter, params: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """``q(z)`` at ``params``: ``(M, L)`` inclusion probabilities in Bernoulli mode, ``(M, L,
    C)`` category probabilities in categorical mode, ``None`` without discrete latents."""
    return None if fitter.latents is None else fitter.latents.probabilities(params)


def noise_batches(rng: np.random.Generator, draws: int, starts: int,
                  probs: np.ndarray | None, n_reals: int, batch: int):
    """Latent draws ``(b, M, L)`` (floats: bits 0/1 from inclusion probabilities ``probs (M,
    L)``, or category codes from category probabilities ``probs (M, L, C)``; ``L = 0``
    without) and standard normal noise ``(b, M, D)`` for ``M = starts`` in batches of ``b <=
    batch`` draws: ``(slice, (latents, eps))``.

    Each batch draws its latents, then its noise, so the numbers depend on ``batch``:
    ``FitResult.sample`` and the importance draws use :func:`batch_size` alike."""
    n_latents = 0 if probs is None else np.shape(probs)[1]
    for lo in range(0, draws, batch):
        size = min(batch, draws - lo)
        if probs is None:
            bits = np.zeros((size, starts, 0))
        elif np.ndim(probs) == 2:
            bits = (rng.random((size, starts, n_latents)) < probs).astype("float64")
        else:  # inverse CDF per latent; the last category takes the rounding
            u = rng.random((size, starts, n_latents, 1))
            codes = (u > np.cumsum(probs, axis=-1)).sum(-1)
            bits = np.minimum(codes, probs.shape[-1] - 1).astype("float64")
        eps = rng.normal(size=(size, starts, n_reals)) if n_reals else np.zeros(
            (size, starts, 0))
        yield slice(lo, lo + size), (bits, eps)


def batch_size(fitter, starts: int) -> int:
    """Draws per compiled call: the log joint of a batch holds (draws x observations)
    arrays, so large data take smaller batches."""
    structure = fitter.structure
    per_draw = starts * (structure.n_latents * max(structure.max_categories, 2)
                         + structure.n_reals + _observed_size(fitter.model) + starts)
    return max(1, _ELEMENTS_PER_CALL // max(per_draw, 1))


def default_draws(fitter) -> int:
    """Draws per start for the diagnostics: :data:`DEFAULT_DRAWS`, fewer (down to
    :data:`MIN_DRAWS`) where a draw is large, so the default stays a small cost next to the
    fit's own evaluations of the log joint."""
    structure, starts = fitter.structure, fitter.options.n_starts
    per_draw = starts * (structure.n_latents + structure.n_reals + _observed_size(fitter.model))
    return int(np.clip(_DEFAULT_BUDGET // max(per_draw, 1), MIN_DRAWS, DEFAULT_DRAWS))


def _densities_function(fitter, starts: int):
    """The compiled helper ``(params..., latents (B, M, L), eps (B, M, D)) -> theta (B, M,
    D), log p (B, M), log q (B, M, M)`` for ``M = starts``, cached on the fitter. The
    parameters are inputs, so it serves ``state.answer`` (all starts) or one start's slice
    (``M = 1``). ``latents`` are floats: bits in Bernoulli mode, category codes in
    categorical mode."""
    structure, latents = fitter.structure, fitter.latents
    discrete = [] if latents is None else list(latents.params)
    names = discrete + ([] if fitter.family is None else list(fitter.family.params))

    def build():
        # A family of its own, with `starts` copies of each parameter: the fitter's has
        # exactly n_starts, fixed in its shared variables' static shapes.
        family = (None if fitter.family is None
                  else make_family(fitter.options.family, structure, starts))
        inputs = {name: pt.tensor(name=name, dtype="float64",
                                  shape=(starts, *fitter.param_vars[name].type.shape[1:]))
                  for name in names}
        # Static start and latent sizes: the log joint's graph broadcasts along them.
        drawn = pt.tensor("latents", dtype="float64",
                          shape=(None, starts, structure.n_latents))
        eps = pt.tensor("eps", dtype="float64", shape=(None, starts, structure.n_reals))
        draws = drawn.shape[0]
        categorical = latents is not None and latents.categorical
        values = drawn.astype("int64") if categorical else drawn  # what the model reads
        bits = None if latents is None else latents.bits(values)  # what q(theta | z) reads
        given = bits if family is not None and family.conditional else None
        log_q = 0.0
        if family is not None:
            theta = family.draw(eps, given)  # (B, M, D): draw (b, m) from start m
            # Every draw under every start: a start axis of its own, broadcast against the
            # parameters' (M, ...).
            log_q = family.log_density(theta[:, :, None, :],
                                       None if given is None else given[:, :, None, :])
        else:
            theta = eps
        if categorical:
            full = latents.full_logits({name: inputs[name] for name in discrete})
            log_q = log_q + latents.log_density(values[:, :, None, :], full).sum(-1)
        elif latents is not None:
            free = None if structure.fixed is None else pt.constant(structure.fixed.free)
            log_q = log_q + log_q_discrete(values[:, :, None, :], inputs["logits"], free)
        log_q = pt.broadcast_to(log_q, (draws, starts, starts))
        log_p = structure.log_density(
            None if latents is None else values.reshape((draws * starts, -1)),
            None if family is None else theta.reshape((draws * starts, -1)),
        ).reshape((draws, starts))
        replace = {} if family is None else {var: inputs[name]
                                              for name, var in family.params.items()}
        outputs = graph_replace([theta, log_p, log_q], replace, strict=True)
        return pytensor.function([*inputs.values(), drawn, eps], outputs,
                                 mode=fitter.options.compile_mode, on_unused_input="ignore")

    return names, fitter.helper(f"importance_densities_{starts}", build)


def _observed_size(model) -> int:
    return int(sum(np.size(value) for value in find_observations(model).values()))


# --- weighted answers
@dataclass(frozen=True)
class ImportanceSample:
    """Draws pooled from a proposal, with their PSIS weights.

    ``bits (N, K)`` and ``reals (N, D)`` on the fit's flat unconstrained vectors, ``start
    (N,)`` the start that drew each, ``log_p (N,)`` the model's log joint, ``log_q (N,)`` the
    proposal's log density (the mixture of the starts used), ``log_weights (N,)`` normalised
    PSIS log weights and ``pareto_k`` their k-hat.
    """

    bits: np.ndarray
    reals: np.ndarray
    start: np.ndarray
    log_p: np.ndarray
    log_q: np.ndarray
    log_weights: np.ndarray
    pareto_k: float

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    @property
    def size(self) -> int:
        return self.log_p.shape[0]

    @property
    def ess(self) -> float:
        """Effective sample size of the weights, ``1 / sum w^2``."""
        return float(1.0 / np.sum(self.weights**2))

    @property
    def reliable(self) -> bool:
        """Whether k-hat is at most :data:`PARETO_K_THRESHOLD`."""
        return bool(self.pareto_k <= PARETO_K_THRESHOLD)

    @property
    def log_evidence(self) -> float:
        """``log mean_s exp(log p - log q)``: the importance-sampling estimate of
        ``log p(x)`` (raw ratios; a lower bound in expectation, tighter than the ELBO)."""
        ratios = self.log_p - self.log_q
        return float(logsumexp(ratios) - np.log(ratios.size))

    def mean(self, values: np.ndarray) -> np.ndarray:
        """The weighted mean of ``values (N, ...)`` over the draws."""
        return np.tensordot(self.weights, np.asarray(values, dtype=float), axes=(0, 0))

    def mcse(self, values: np.ndarray) -> np.ndarray:
        """Monte Carlo standard error of :meth:`mean`, ``sqrt(sum_s w_s^2 (v_s - mean)^2)``
        (the self-normalised estimator's delta-method error; trustworthy only when
        :attr:`reliable`)."""
        values = np.asarray(values, dtype=float)
        centred = values - self.mean(values)
        return np.sqrt(np.tensordot(self.weights**2, centred**2, axes=(0, 0)))


def importance_sample(draws: ProposalDraws, counts: np.ndarray | None = None
                      ) -> ImportanceSample:
    """Pool ``counts[m]`` draws of each start (all ``B`` by default) and weigh them against
    the mixture ``q_mix = sum_m (counts_m / N) q_m`` of the starts drawn from."""
    size, starts = draws.log_p.shape
    counts = np.full(starts, size) if counts is None else np.asarray(counts, dtype=int)
    used = counts > 0
    keep = np.arange(size)[:, None] < counts[None, :]  # (B, M): draw b of start m is pooled
    order = np.nonzero(keep.T)  # start-major: start m's draws together
    start, row = order[0], order[1]
    log_share = np.log(counts[used] / counts.sum())
    log_q = logsumexp(draws.log_q[row, start][:, used] + log_share, axis=1)
    log_p = draws.log_p[row, start]
    weights = psis(log_p - log_q)
    return ImportanceSample(
        bits=draws.bits[row, start], reals=draws.reals[row, start], start=start,
        log_p=log_p, log_q=log_q, log_weights=weights.log_weights,
        pareto_k=float(weights.pareto_k),
    )
