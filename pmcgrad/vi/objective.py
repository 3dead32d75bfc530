"""The ELBO as one PyTensor graph, vectorised over draws and starts (docs/math.md, "The ELBO
of each variational family").

``ELBO = E_q[log p(x, z, theta) - log q(theta | z) - log q(z)]``. The registered estimator
handles the expectation over the bits ``z``; ``theta = mean + scale eps`` is reparameterised,
so its gradients flow pathwise through ``f``. The two members of an antithetic pair see the
same Gaussian noise (common random numbers), because ``f`` pairs evaluation ``e * S + s`` with
draw ``s``.

The ``log q`` terms are written with a control-variate weight ``c`` (``cv_weight``, in
``[0, 1]``), every value of which gives the same expectation and an unbiased gradient:

    f(z, theta) = log p(x, z, theta) - c log q~(theta | z) - c log q~(z) + (1 - c) H[q(theta | z)]
    ELBO        = E[f] + (1 - c) (H[q(z)] + H[q(theta)])      (H[q(theta)]: unconditional families)

where ``q~`` holds its parameters constant. ``c = 0`` scores ``log p`` against analytic
entropies: robust far from the optimum. ``c = 1`` scores ``log p - log q``, which is constant
when ``q`` equals the posterior, so the estimate's variance vanishes at an optimum that
contains it ("sticking the landing", Roeder, Wu and Duvenaud 2017, here for the bits too):
the fit can settle instead of stopping at a noise floor.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pmcgrad import streams
from pmcgrad.estimators import Estimator
from pmcgrad.ops import expectation
from pmcgrad.vi.family import GaussianFamily, paired_blocks
from pmcgrad.vi.latents import LatentFactors
from pmcgrad.vi.model import ModelStructure

__all__ = ["ElboGraph", "build_elbo"]


class ElboGraph(NamedTuple):
    """``elbo (M,)`` per start; ``loss`` the scalar the optimiser minimises."""

    elbo: TensorVariable
    loss: TensorVariable


def build_elbo(
    structure: ModelStructure,
    family: GaussianFamily | None,
    latents: LatentFactors | None,
    estimator: Estimator,
    samples: int,
    rngs: tuple,
    noise,
    exact_limit: int,
    starts: int,
    cv_weight: TensorVariable,
    minibatch: int | None = None,
) -> ElboGraph:
    """The ELBO per start, with the named estimator on the expectation over the latents.

    ``latents`` is ``q(z)`` (``None`` without discrete latents; the estimator must handle its
    mode's support); ``family`` ``None`` without continuous latents. ``rngs`` are three random
    streams: the latents', the Gaussian noise's and the minibatch rows'. ``cv_weight`` is the
    scalar ``c`` above. ``minibatch``: rows of the local dim per step (local latents only).
    """
    bits_rng, gauss_rng, rows_rng = rngs
    n_reals = structure.n_reals
    c = pt.as_tensor_variable(cv_weight).astype("float64")
    eps = None
    if n_reals:
        _, eps = streams.normal(gauss_rng, (samples, starts, n_reals), "float64")  # [S, M, D]

    unconditional_entropy = 0.0
    if family is not None and not family.conditional:
        unconditional_entropy = (1 - c) * family.entropy(None)  # (M,)

    if latents is None:
        theta = family.draw(eps, None)  # [S, M, D]
        log_joint = structure.log_density(None, theta.reshape((-1, n_reals)))
        integrand = log_joint.reshape((samples, starts)) - c * family.log_density(theta, None)
        elbo = integrand.mean(0) + unconditional_entropy
        return ElboGraph(elbo, -elbo.sum())

    local = structure.local
    exact = estimator.enumerates
    rows = None
    if minibatch is not None:
        # `minibatch` rows drawn uniformly with replacement, fresh every step: O(B) a step,
        # where drawing without replacement (an argsort of R uniforms) cost O(R log R) and
        # an R-long counter table in the compiled step. A repeated row counts twice; the
        # R/B-scaled sum below stays unbiased.
        _, u = streams.uniform(rows_rng, (minibatch,), "float64")
        rows = pt.minimum(pt.floor(u * local.rows), local.rows - 1).astype("int64")
        k_row = local.row_index.shape[1]
    n_latents = structure.n_latents
    bit_shape = (n_latents,) if rows is None else (minibatch, k_row)

    def for_estimator(logits):
        """Logits ``(M, L[, C])`` -> what the estimator sees: local latents get one batch
        row per observation, so each row's latents are scored against that row's f only."""
        # A static shape lets `exact` enumerate and lets f's output shape be checked at build.
        logits = pt.specify_shape(logits, (starts, n_latents, *logits.type.shape[2:]))
        if local is None:
            return logits  # [M, L(, C)]
        if rows is None:
            return logits[:, local.row_index]  # [M, R, L_row(, C)]
        chosen = pt.constant(local.row_index)[rows]  # [B, L_row] flat indices
        return pt.specify_shape(logits[:, chosen], (starts, minibatch, k_row,
                                                    *logits.type.shape[2:]))

    estimate_logits = for_estimator(latents.estimate_logits())
    # Latents the model fixes (hard zeros): a 0/1 mask and their values, (L,), in the
    # estimator's layout; None when every latent is free.
    free, pinned = latents.fixed_constants()
    if free is not None:
        chosen = None if rows is None else pt.constant(local.row_index)[rows]
        free, pinned = _to_layout(free, local, chosen), _to_layout(pinned, local, chosen)
    # log q~(z): the logits enter f as constants (the estimator, not autodiff, differentiates
    # the distribution of the latents).
    fixed_logits = for_estimator(latents.estimate_logits(fixed=True))

    def f(bits):  # global [N, M, K] -> [N, M]; local [N, M, R|B, K_row] -> [N, M, R|B]
        n_eval = bits.shape[0]
        if free is not None:  # the model sees its constants, whatever the estimator drew
            bits = pt.switch(free > 0, bits, pinned.astype(bits.dtype))
        # [N, M, K]; a minibatch keeps its rows: [N, M, B, K_row]
        flat = bits if local is None or rows is not None else local.to_flat(bits)
        theta_terms = 0.0
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
            given = latents.bits(flat) if family.conditional else None
            theta = pt.broadcast_to(family.draw(eps_n, given), (*lead, n_reals))
            if family.conditional and local is not None:
                # Each coordinate's terms go to the row of the bit it depends on.
                theta_terms = _conditional_terms_per_row(structure, family, theta, given, c)
            else:
                theta_terms = -c * family.log_density(theta, given)  # lead
                if family.conditional:
                    theta_terms = theta_terms + (1 - c) * family.entropy(given)
                theta_terms = pt.broadcast_to(theta_terms, lead)
            theta = theta.reshape((-1, n_reals))
        flat_b = pt.broadcast_to(flat, (*lead, *bit_shape)).reshape((-1, *bit_shape))
        if local is None:
            values = structure.log_density(flat_b, theta).reshape(lead) + theta_terms
        else:
            per_row = (structure.log_density_rows(flat_b, theta) if rows is None
                       else structure.log_density_minibatch(flat_b, theta, rows))
            per_row = per_row.reshape((*lead, -1))
            if eps is not None and family.conditional:
                values = per_row + theta_terms  # already per row
            else:
                # Terms of the shared parameters go to each row in an equal share (as the
                # global log-density terms do), so the rows still sum to the whole integrand.
                values = per_row + pt.as_tensor_variable(theta_terms)[..., None] / local.rows
        if exact and eps is not None:
            values = values.mean(1)
        log_q = latents.log_density(bits, fixed_logits)
        if free is not None:  # a constant is no part of q
            log_q = log_q * free
        return values - c * log_q.sum(-1)

    expected = expectation(
        f, estimate_logits, estimator, samples=samples, rng=bits_rng, noise=noise,
        exact_limit=exact_limit,
    )  # [M] or [M, R] or [M, B]
    if local is not None:
        # A minibatch of B rows stands for all R: scale its sum by R / B (unbiased).
        scale = 1.0 if rows is None else local.rows / minibatch
        expected = expected.sum(-1) * scale
    entropy = latents.entropy()
    if free is not None:
        entropy = entropy * latents.fixed_constants()[0]
    elbo = expected + (1 - c) * entropy.sum(-1) + unconditional_entropy
    return ElboGraph(elbo, -elbo.sum())


def _conditional_terms_per_row(structure: ModelStructure, family: GaussianFamily, theta,
                               bits, c) -> TensorVariable:
    """``-c log q(theta | z) + (1 - c) H[q(theta | z)]`` per row of the local dim, ``lead +
    (R,)``: a coordinate paired with a bit goes to that bit's row, so each row's integrand
    depends on its own bits alone (what the per-row estimator needs); the unpaired ones (the
    global parameters, not conditioned on local bits) are shared out equally."""
    log_q, entropy = family.coordinate_terms(theta, bits)  # lead + (D,)
    terms = -c * log_q + (1 - c) * entropy
    local = structure.local
    per_bit = pt.zeros((*terms.shape[:-1], structure.n_latents))
    paired = np.zeros(structure.n_reals, dtype=bool)
    for real, partner in paired_blocks(structure):
        per_bit = pt.inc_subtensor(per_bit[..., partner.start : partner.stop],
                                   terms[..., real.start : real.stop])
        paired[real.start : real.stop] = True
    shared = terms[..., np.flatnonzero(~paired)].sum(-1) if (~paired).any() else 0.0
    return per_bit[..., local.row_index].sum(-1) + pt.as_tensor_variable(shared)[..., None] / (
        local.rows)


def _to_layout(flat: TensorVariable, local, chosen) -> TensorVariable:
    """``flat [..., K]`` in the estimator's layout: as is without local latents, else one
    batch row per observation, ``[..., R, K_row]`` (or the minibatch's ``chosen`` rows)."""
    if local is None:
        return flat
    return flat[..., local.row_index if chosen is None else chosen]
