"""The ELBO of MATH.md's last section, vectorised over draws and starts.

``ELBO = E_q[log p(x, z, theta)] + H[q(z)] + H[q(theta)]``. The registered estimator handles the
expectation over the bits ``z``; ``theta = mean + scale eps`` is reparameterised, so its
gradients flow pathwise through ``f``. The two members of an antithetic pair see the same
Gaussian noise (common random numbers), because ``f`` pairs evaluation ``e * S + s`` with draw
``s``. For the bit-conditioned family ``q(theta | z)`` the objective is
``E_q(z)[E_q(theta|z)[log p(x, z, theta) - log q(theta | z)]] + H[q(z)]``, so ``f`` carries
``H[q(theta | z)]`` (``-log q`` less its zero-mean noise term ``eps^2 / 2 - 1/2``).
"""

from __future__ import annotations

from typing import NamedTuple

import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pmcgrad.estimators import Estimator, streams
from pmcgrad.ops import expectation
from pmcgrad.vi.family import GaussianFamily, bernoulli_entropy
from pmcgrad.vi.model import ModelStructure

__all__ = ["ElboGraph", "build_elbo"]


class ElboGraph(NamedTuple):
    """``elbo (M,)`` per start; ``loss`` the scalar the optimiser minimises."""

    elbo: TensorVariable
    loss: TensorVariable


def build_elbo(
    structure: ModelStructure,
    family: GaussianFamily | None,
    logits: TensorVariable | None,
    estimator: Estimator,
    samples: int,
    rngs: tuple,
    noise,
    exact_limit: int,
    starts: int,
    minibatch: int | None = None,
) -> ElboGraph:
    """The ELBO per start, with the named estimator on ``E_q(z)[log p]``.

    ``logits (M, K)`` or ``None`` without Bernoulli latents; ``family`` ``None`` without
    continuous latents. ``rngs`` are three random streams: the bits', the Gaussian noise's and
    the minibatch rows'. ``minibatch``: rows of the local dim per step (local latents only).
    """
    bits_rng, gauss_rng, rows_rng = rngs
    n_reals, n_bits = structure.n_reals, structure.n_bits
    eps = None
    if n_reals:
        _, eps = streams.normal(gauss_rng, (samples, starts, n_reals), "float64")  # [S, M, D]

    if logits is None:
        theta = family.draw(eps, None)
        log_joint = structure.log_density(None, theta.reshape((-1, n_reals)))
        elbo = log_joint.reshape((samples, starts)).mean(0) + family.entropy(None)
        return ElboGraph(elbo, -elbo.sum())

    local = structure.local
    exact = estimator.enumerates
    rows = None
    if minibatch is not None:
        # A uniformly random set of `minibatch` rows, without replacement, every step.
        _, u = streams.uniform(rows_rng, (local.rows,), "float64")
        rows = pt.argsort(u)[:minibatch]
        k_row = local.row_index.shape[1]
    bit_shape = (n_bits,) if rows is None else (minibatch, k_row)

    def f(bits):  # global [N, M, K] -> [N, M]; local [N, M, R|B, K_row] -> [N, M, R|B]
        n_eval = bits.shape[0]
        # [N, M, K]; a minibatch keeps its rows: [N, M, B, K_row]
        flat = bits if local is None or rows is not None else local.to_flat(bits)
        if eps is None:
            lead, theta = (n_eval, starts), None
        else:
            if exact:
                # Every enumerated configuration is averaged over all S Gaussian draws.
                flat, eps_n = flat[:, None], eps[None]  # [N, 1, M, K], [1, S, M, D]
                lead = (n_eval, samples, starts)
            else:
                # Evaluation e * S + s is paired with Gaussian draw s: the members of an
                # antithetic pair share their Gaussian noise (common random numbers).
                eps_n = pt.tile(eps, (n_eval // samples, 1, 1))  # [N, M, D]
                lead = (n_eval, starts)
            given = flat if family.conditional else None
            theta = pt.broadcast_to(family.draw(eps_n, given), (*lead, n_reals))
            theta = theta.reshape((-1, n_reals))
        flat_b = pt.broadcast_to(flat, (*lead, *bit_shape)).reshape((-1, *bit_shape))
        entropy = family.entropy(flat) if family is not None and family.conditional else 0.0
        if local is None:
            log_p = structure.log_density(flat_b, theta).reshape(lead) + entropy
        elif rows is not None:
            log_p = structure.log_density_minibatch(flat_b, theta, rows)
            log_p = log_p.reshape((*lead, minibatch))
        else:
            log_p = structure.log_density_rows(flat_b, theta).reshape((*lead, local.rows))
            log_p = log_p + pt.as_tensor_variable(entropy)[..., None] / local.rows
        return log_p.mean(1) if exact and eps is not None else log_p

    # A static shape lets `exact` enumerate and lets f's output shape be checked at build.
    logits = pt.specify_shape(logits, (starts, n_bits))
    # Local latents: one batch row per observation, so each row's bits are scored against
    # that row's f only (the batched expectation API).
    if local is None:
        estimate_logits = logits  # [M, K]
    elif rows is None:
        estimate_logits = logits[:, local.row_index]  # [M, R, K_row]
    else:
        chosen = pt.constant(local.row_index)[rows]  # [B, K_row] flat indices
        estimate_logits = pt.specify_shape(logits[:, chosen], (starts, minibatch, k_row))
    expected_log_joint = expectation(
        f, estimate_logits, estimator, samples=samples, rng=bits_rng, noise=noise,
        exact_limit=exact_limit,
    )  # [M] or [M, R] or [M, B]
    if local is not None:
        # A minibatch of B rows stands for all R: scale its sum by R / B (unbiased).
        scale = 1.0 if rows is None else local.rows / minibatch
        expected_log_joint = expected_log_joint.sum(-1) * scale
    elbo = expected_log_joint + bernoulli_entropy(logits).sum(-1)
    if family is not None and not family.conditional:
        elbo = elbo + family.entropy(None)
    return ElboGraph(elbo, -elbo.sum())
