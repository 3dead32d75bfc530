"""The ELBO of MATH.md's last section, vectorised over draws and starts.

``ELBO = E_q[log p(x, z, theta)] + H[q(z)] + H[q(theta)]``. The registered estimator handles the
expectation over the bits ``z``; ``theta = mean + scale eps`` is reparameterised, so its
gradients flow pathwise through ``f``. The two members of an antithetic pair see the same
``theta`` (common random numbers), because ``f`` pairs evaluation ``e * S + s`` with draw ``s``.
"""

from __future__ import annotations

from typing import NamedTuple

import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pmcgrad.estimators import Estimator
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
) -> ElboGraph:
    """The ELBO per start, with the named estimator on ``E_q(z)[log p]``.

    ``logits (M, K)`` or ``None`` without Bernoulli latents; ``family`` ``None`` without
    continuous latents. ``rngs`` are two shared RNGs: the bits' and the Gaussian noise's.
    """
    bits_rng, gauss_rng = rngs
    n_reals = structure.n_reals
    theta = None
    if n_reals:
        _, eps = pt.random.normal(size=(samples, starts, n_reals), rng=gauss_rng,
                                  return_next_rng=True)
        theta = family.draw(eps)  # [S, M, D]

    entropy = family.entropy() if family is not None else pt.zeros((starts,))
    if logits is None:
        flat = theta.reshape((-1, n_reals))
        log_joint = structure.log_density(None, flat).reshape((samples, starts)).mean(0)
        elbo = log_joint + entropy
        return ElboGraph(elbo, -elbo.sum())

    n_bits = structure.n_bits

    def f(bits):  # [N, M, K] -> [N, M]
        n_eval = bits.shape[0]
        if theta is None:
            return structure.log_density(bits.reshape((-1, n_bits)), None).reshape((n_eval, starts))
        if estimator.family == "exact":
            # Every enumerated configuration is averaged over all S Gaussian draws.
            bits_b = pt.broadcast_to(bits[:, None], (n_eval, samples, starts, n_bits))
            theta_b = pt.broadcast_to(theta[None], (n_eval, samples, starts, n_reals))
            log_p = structure.log_density(bits_b.reshape((-1, n_bits)),
                                          theta_b.reshape((-1, n_reals)))
            return log_p.reshape((n_eval, samples, starts)).mean(1)
        # Evaluation e * S + s is paired with Gaussian draw s.
        theta_rep = pt.tile(theta, (n_eval // samples, 1, 1))
        log_p = structure.log_density(bits.reshape((-1, n_bits)), theta_rep.reshape((-1, n_reals)))
        return log_p.reshape((n_eval, starts))

    # A static shape lets `exact` enumerate and lets f's output shape be checked at build.
    logits = pt.specify_shape(logits, (starts, n_bits))
    expected_log_joint = expectation(
        f, logits, estimator, samples=samples, rng=bits_rng, noise=noise, exact_limit=exact_limit
    )  # [M]
    elbo = expected_log_joint + bernoulli_entropy(logits).sum(-1) + entropy
    return ElboGraph(elbo, -elbo.sum())
