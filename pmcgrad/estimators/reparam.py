"""Reparameterised score-function estimators: the seed's exponential and noise constructions,
the uniform with a moving boundary (Note 1), and the Rao-Blackwellised exponential pair (``ar``).

Each draws continuous noise whose law depends on ``phi`` only through a threshold, and scores
that noise (MATH.md, "The estimators").
"""

from __future__ import annotations

import pytensor.tensor as pt

from pmcgrad.estimators.base import (
    Estimator,
    bits_below,
    draw_exponential_pair_split,
    draw_uniform,
)

__all__ = ["AR", "EXP_SCORE", "NOISE_SCORE", "UNIFORM_BOUNDARY", "UNIFORM_NAIVE"]


# --- exponential pair: b = 1{e^phi e1 > e2}. Drawn as (s, w) with e1 = s (1 - w), e2 = s w
# (draw_exponential_pair_split), so b = 1{w < p} exactly, even where e^phi overflows.
def _exp_draw(rng, shape, dtype, noise):
    return draw_exponential_pair_split(rng, shape, dtype)


def _exp_bits(logits, noise_tensors, noise):
    _, w = noise_tensors
    return bits_below(w, logits)[None]


def _exp_score_gradient(logits, noise_tensors, fvals, noise):
    # d/dphi log p_phi(t1) with t1 = e^phi e1 ~ Exp(e^-phi): -1 + e^-phi t1 = e1 - 1.
    s, w = noise_tensors
    return fvals[0][..., None] * (s * (1 - w) - 1)


# --- arbitrary continuous noise: b = 1{eps < c(phi)}, c = F^-1(sigmoid(phi)). The draw is the
# uniform u with eps = F^-1(u): then b = 1{u < p} exactly, and only the score needs eps.
def _noise_draw(rng, shape, dtype, noise):
    rng, u = noise.sample_quantile(rng, shape, dtype)
    return rng, (u,)


def _noise_bits(logits, noise_tensors, noise):
    (u,) = noise_tensors
    return bits_below(u, logits)[None]


def _noise_score_gradient(logits, noise_tensors, fvals, noise):
    # t = eps - c(phi) has density pdf(t + c); d/dphi log pdf(t + c) = (log pdf)'(eps) dc/dphi.
    (u,) = noise_tensors
    _, slope = noise.threshold_and_slope(logits)
    return fvals[0][..., None] * noise.score_at_quantile(u) * slope


# --- uniform with a moving boundary (seed Note 1, MATH.md correction 2)
# u ~ U(0, a/p), b = 1{u < a}. We draw v = u p / a ~ U(0, 1), so b = 1{v < p}; a drops out.
def _uniform_draw(rng, shape, dtype, noise):
    rng, v = draw_uniform(rng, shape, dtype)
    return rng, (v,)


def _uniform_sample_bits(logits, noise_tensors):
    (v,) = noise_tensors
    return bits_below(v, logits)  # [S, ..., k]


def _uniform_boundary_bits(logits, noise_tensors, noise):
    # Group 0 is b itself; group 1 + i is b with coordinate i forced to 0, the boundary
    # term's f(b_{-i}, 0). In k dimensions that is k extra evaluations, not one.
    # One broadcast product builds all 1 + k groups, so the (1 + k) S k bits are written once.
    bits = _uniform_sample_bits(logits, noise_tensors)
    k = bits.shape[-1]
    keep = 1 - pt.eye(k + 1, k, k=-1, dtype=logits.dtype)  # [1 + k, k]: row 1 + i zeroes i
    keep = keep.reshape((k + 1,) + (1,) * (bits.ndim - 1) + (k,))  # [1 + k, 1, ..., 1, k]
    return bits[None] * keep  # [1 + k, S, ..., k]


def _uniform_boundary_gradient(logits, noise_tensors, fvals, noise):
    # g_i = (1 - p_i) (f(b) - f(b_{-i}, b_i = 0)); the second term is the boundary term.
    f_sample = fvals[0]  # [S, ...]
    f_zeroed = pt.moveaxis(fvals[1:], 0, -1)  # [S, ..., k]
    return pt.sigmoid(-logits) * (f_sample[..., None] - f_zeroed)


def _uniform_boundary_value(logits, fvals):
    return fvals[0].mean(axis=0)  # the zeroed evaluations are not draws from q


def _uniform_naive_bits(logits, noise_tensors, noise):
    return _uniform_sample_bits(logits, noise_tensors)[None]


def _uniform_naive_gradient(logits, noise_tensors, fvals, noise):
    # Drops the boundary term: biased, kept as the seed's cautionary example.
    return pt.sigmoid(-logits) * fvals[0][..., None]


# --- ar: condition the exponential score on w = e2 / (e1 + e2) ~ U(0, 1)
def _ar_bits(logits, noise_tensors, noise):
    (w,) = noise_tensors
    return bits_below(w, logits)[None]


def _ar_gradient(logits, noise_tensors, fvals, noise):
    # E[e1 - 1 | w] = 1 - 2w, and b = 1{e^phi e1 > e2} = 1{w < p}.
    (w,) = noise_tensors
    return fvals[0][..., None] * (1 - 2 * w)


EXP_SCORE = Estimator(
    name="exp_score",
    op_name="ExpScore",
    family="reparameterised",
    unbiased=True,
    formula="f(b) (e1_i - 1),  b = 1{e^phi e1 > e2},  e1, e2 ~ Exp(1)",
    reference="seed eq. (1)",
    draw=_exp_draw,
    bits=_exp_bits,
    gradient=_exp_score_gradient,
)

NOISE_SCORE = Estimator(
    name="noise_score",
    op_name="NoiseScore",
    family="reparameterised",
    unbiased=True,
    formula="f(b) (log pdf)'(eps_i) dF^-1(p_i)/dphi_i,  b = 1{eps < F^-1(p)}",
    reference="seed, 'arbitrary continuous variable'",
    draw=_noise_draw,
    bits=_noise_bits,
    gradient=_noise_score_gradient,
    uses_noise=True,
)

UNIFORM_BOUNDARY = Estimator(
    name="uniform_boundary",
    op_name="UniformBoundary",
    family="reparameterised",
    unbiased=True,
    formula="(1 - p_i) (f(b) - f(b with b_i = 0)),  u ~ U(0, a/p),  b = 1{u < a}",
    reference="seed Note 1, corrected (MATH.md)",
    draw=_uniform_draw,
    bits=_uniform_boundary_bits,
    gradient=_uniform_boundary_gradient,
    value=_uniform_boundary_value,
    evaluations_per_draw=lambda k: k + 1,
    evaluations_text="k + 1",
)

UNIFORM_NAIVE = Estimator(
    name="uniform_naive",
    op_name="UniformNaive",
    family="reparameterised",
    unbiased=False,
    formula="(1 - p_i) f(b)   (boundary term dropped: biased)",
    reference="seed Note 1, the cautionary form",
    draw=_uniform_draw,
    bits=_uniform_naive_bits,
    gradient=_uniform_naive_gradient,
)

AR = Estimator(
    name="ar",
    op_name="AR",
    family="reparameterised",
    unbiased=True,
    formula="f(b) (1 - 2 w_i),  b = 1{w < p},  w = e2 / (e1 + e2)",
    reference="Yin and Zhou (2019), AR",
    draw=_uniform_draw,
    bits=_ar_bits,
    gradient=_ar_gradient,
)
