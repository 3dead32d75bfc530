"""Antithetic and coupled estimators for Bernoulli latents: two correlated evaluations per draw.

The coupling chain of docs/math.md: swap the exponential pair (``antithetic_exp``), or reflect
symmetric noise (``antithetic_noise``); Rao-Blackwellise the swapped pair to get ARM; condition
on the pair of bits to get DisARM.
"""

from __future__ import annotations

import pytensor.tensor as pt

from pmcgrad.estimators.contract import Estimator
from pmcgrad.estimators.schemes import (
    antithetic_bits,
    draw_exponential_pair_split,
    draw_noise_quantile,
    draw_uniform,
)

__all__ = ["ANTITHETIC_EXP", "ANTITHETIC_NOISE", "ARM", "DISARM"]


# --- the exponential pair and its swap, drawn as (s, w): e1 = s (1 - w), e2 = s w, so
# b = 1{e^phi e1 > e2} = 1{w < p} and b' = 1{e^phi e2 > e1} = 1{1 - w < p}.
def _antithetic_exp_bits(logits, noise_tensors):
    _, w = noise_tensors
    return antithetic_bits(w, logits)  # [2, S, ..., k]: b, b'


def _antithetic_exp_gradient(logits, noise_tensors, fvals):
    """The exponential score averaged with its swap (the source note's antithetic idea).

    Approximates  d/dphi_i E_q[f(b)],  q(b) = prod_i Bernoulli(b_i; sigmoid(phi_i)).
    Formula       g_i = 1/2 [f(b) (e1_i - 1) + f(b') (e2_i - 1)],  b = 1{e^phi e1 > e2},
                  b' = 1{e^phi e2 > e1}: swapping e1 and e2 preserves their law, so each half
                  is an ``exp_score`` estimate.
    Requires      two evaluations per draw; unbiased.
    """
    s, w = noise_tensors
    e1, e2 = s * (1 - w), s * w
    return 0.5 * (fvals[0][..., None] * (e1 - 1) + fvals[1][..., None] * (e2 - 1))


# --- symmetric noise and its reflection T(eps) = -eps. The draw is u with eps = F^-1(u); for
# symmetric noise -eps = F^-1(1 - u) and its score is minus eps's, so no eps is needed for bits.
def _antithetic_noise_bits(logits, noise_tensors, noise):
    (u,) = noise_tensors
    return antithetic_bits(u, logits)


def _antithetic_noise_gradient(logits, noise_tensors, fvals, noise):
    """The noise score averaged over eps and its reflection -eps.

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_i = 1/2 (f(b) - f(b')) (log pdf)'(eps_i) dc_i/dphi_i,  b = 1{eps < c},
                  b' = 1{-eps < c}: the two ``noise_score`` terms, with
                  (log pdf)'(-eps) = -(log pdf)'(eps) for a symmetric density.
    Requires      noise symmetric about 0 (``noise=``); two evaluations per draw; unbiased.
                  Logistic noise gives ARM.
    """
    (u,) = noise_tensors
    _, slope = noise.threshold_and_slope(logits)
    return 0.5 * (fvals[0] - fvals[1])[..., None] * noise.score_at_quantile(u) * slope


# --- ARM and DisARM share the uniform w and its partner 1 - w
def _uniform_pair_draw(rng, shape, dtype):
    rng, w = draw_uniform(rng, shape, dtype)
    return rng, (w,)


def _uniform_pair_bits(logits, noise_tensors):
    (w,) = noise_tensors
    return antithetic_bits(w, logits)  # [2, S, ..., k]: b1, b2


def _arm_gradient(logits, noise_tensors, fvals):
    """Augment-REINFORCE-Merge, ARM (Yin and Zhou 2019).

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_i = (f(b1) - f(b2)) (1/2 - w_i),  b1 = 1{w < p},  b2 = 1{1 - w < p},
                  w ~ U(0, 1): ``ar`` averaged with its swap w -> 1 - w.
    Requires      two evaluations per draw; unbiased.
    """
    (w,) = noise_tensors
    return (fvals[0] - fvals[1])[..., None] * (0.5 - w)


def _disarm_gradient(logits, noise_tensors, fvals):
    """DisARM (Dong, Mnih and Tucker 2020; U2G, Yin et al. 2020): ARM given the pair of bits.

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_i = 1/2 (f(b1) - f(b2)) (-1)^{b2_i} 1{b1_i != b2_i} sigmoid(|phi_i|),
                  the bits as in ARM: E[1/2 - w_i | b1_i, b2_i] in closed form.
    Requires      two evaluations per draw; unbiased.
    """
    bits = _uniform_pair_bits(logits, noise_tensors)
    b1, b2 = bits[0], bits[1]  # [S, ..., k]
    sign = 1 - 2 * b2  # (-1)^b2
    differs = pt.neq(b1, b2)
    weight = sign * differs * pt.sigmoid(pt.abs(logits))
    return 0.5 * (fvals[0] - fvals[1])[..., None] * weight


ANTITHETIC_EXP = Estimator(
    name="antithetic_exp",
    op_name="AntitheticExp",
    kind="antithetic",
    unbiased=True,
    formula="1/2 [f(b)(e1_i - 1) + f(b')(e2_i - 1)],  b' = 1{e^phi e2 > e1}",
    reference="source note, antithetic swap of eq. (1)",
    draw=draw_exponential_pair_split,
    bits=_antithetic_exp_bits,
    gradient=_antithetic_exp_gradient,
    evaluations_per_draw=2,
)

ANTITHETIC_NOISE = Estimator(
    name="antithetic_noise",
    op_name="AntitheticNoise",
    kind="antithetic",
    unbiased=True,
    formula="mean of the noise_score terms at eps and -eps (symmetric noise)",
    reference="source note, 'Future Muse' antithetic transform T(eps) = -eps",
    draw=draw_noise_quantile,
    bits=_antithetic_noise_bits,
    gradient=_antithetic_noise_gradient,
    evaluations_per_draw=2,
    uses_noise=True,
    needs_symmetric_noise=True,
)

ARM = Estimator(
    name="arm",
    op_name="ARM",
    kind="antithetic",
    unbiased=True,
    formula="(f(b1) - f(b2)) (1/2 - w_i),  b1 = 1{w < p},  b2 = 1{1 - w < p}",
    reference="Yin and Zhou (2019)",
    draw=_uniform_pair_draw,
    bits=_uniform_pair_bits,
    gradient=_arm_gradient,
    evaluations_per_draw=2,
)

DISARM = Estimator(
    name="disarm",
    op_name="DisARM",
    kind="antithetic",
    unbiased=True,
    formula="1/2 (f(b1) - f(b2)) (-1)^{b2_i} 1{b1_i != b2_i} sigmoid(abs(phi_i))",
    reference="Dong, Mnih and Tucker (2020); Yin et al. (2020), U2G",
    draw=_uniform_pair_draw,
    bits=_uniform_pair_bits,
    gradient=_disarm_gradient,
    evaluations_per_draw=2,
)
