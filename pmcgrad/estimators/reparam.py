"""Reparameterised score-function estimators for Bernoulli latents: the source note's
exponential and noise constructions, the uniform with a moving boundary (its Note 1), and the
Rao-Blackwellised exponential pair (``ar``).

Each draws continuous noise whose law depends on ``phi`` only through a threshold, and scores
that noise (docs/math.md, "The Bernoulli estimators").
"""

from __future__ import annotations

import pytensor.tensor as pt

from pmcgrad.estimators.contract import Estimator
from pmcgrad.estimators.schemes import (
    bits_below,
    boundary_bits,
    draw_exponential_pair_split,
    draw_noise_quantile,
    draw_uniform,
)

__all__ = ["AR", "EXP_SCORE", "NOISE_SCORE", "UNIFORM_BOUNDARY", "UNIFORM_NAIVE"]


# --- exponential pair: b = 1{e^phi e1 > e2}, drawn as (s, w) with e1 = s (1 - w), e2 = s w
# (draw_exponential_pair_split), so b = 1{w < p} exactly, even where e^phi overflows.
def _exp_bits(logits, noise_tensors):
    _, w = noise_tensors
    return bits_below(w, logits)[None]


def _exp_score_gradient(logits, noise_tensors, fvals):
    """The score of the exponential pair (the source note's eq. 1).

    Approximates  d/dphi_i E_q[f(b)],  q(b) = prod_i Bernoulli(b_i; sigmoid(phi_i)).
    Formula       g_i = f(b) (e1_i - 1),  b = 1{e^phi e1 > e2},  e1, e2 ~ Exp(1): the score
                  of t1 = e^phi e1 ~ Exp(e^-phi) in phi is -1 + e^-phi t1 = e1 - 1.
    Requires      f's values only; unbiased; one evaluation per draw.
    """
    s, w = noise_tensors
    return fvals[0][..., None] * (s * (1 - w) - 1)


# --- arbitrary continuous noise: b = 1{eps < c(phi)}, c = F^-1(sigmoid(phi)). The draw is the
# uniform u with eps = F^-1(u): then b = 1{u < p} exactly, and only the score needs eps.
def _noise_bits(logits, noise_tensors, noise):
    (u,) = noise_tensors
    return bits_below(u, logits)[None]


def _noise_score_gradient(logits, noise_tensors, fvals, noise):
    """The score of a thresholded continuous noise (the source note's "arbitrary continuous
    variable").

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_i = f(b) (log pdf)'(eps_i) dc_i/dphi_i,  b = 1{eps < c},
                  c = F^-1(sigmoid(phi)), dc/dphi = p (1 - p) / pdf(c): the score of the
                  shifted noise t = eps - c(phi), whose density is pdf(t + c).
    Requires      a noise distribution with a differentiable density (``noise=``); unbiased;
                  one evaluation per draw. Logistic noise gives f(b) (1 - 2u), which is ``ar``.
    """
    (u,) = noise_tensors
    _, slope = noise.threshold_and_slope(logits)
    return fvals[0][..., None] * noise.score_at_quantile(u) * slope


# --- uniform with a moving boundary (source note, Note 1; docs/math.md correction 2)
# u ~ U(0, a/p), b = 1{u < a}. We draw v = u p / a ~ U(0, 1), so b = 1{v < p}; a drops out.
def _uniform_draw(rng, shape, dtype):
    rng, v = draw_uniform(rng, shape, dtype)
    return rng, (v,)


def _uniform_boundary_bits(logits, noise_tensors):
    # Group 0 is b itself; group 1 + i is b with coordinate i forced to 0, the boundary
    # term's f(b_{-i}, 0). In k dimensions that is k extra evaluations, not one.
    (v,) = noise_tensors
    return boundary_bits(bits_below(v, logits))  # [1 + k, S, ..., k]


def _uniform_boundary_gradient(logits, noise_tensors, fvals):
    """The uniform with a moving boundary, with its boundary term (Note 1, corrected).

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_i = (1 - p_i) (f(b) - f(b with b_i = 0)),  u ~ U(0, a/p_i),  b = 1{u < a}:
                  the score of U(0, a/p) is 1 - p, and the moving upper limit a/p adds the
                  boundary term -(1 - p) f(b_i = 0).
    Requires      k + 1 evaluations per draw (b, then b with each coordinate zeroed); unbiased.
    """
    f_sample = fvals[0]  # [S, ...]
    f_zeroed = pt.moveaxis(fvals[1:], 0, -1)  # [S, ..., k]
    return pt.sigmoid(-logits) * (f_sample[..., None] - f_zeroed)


def _uniform_boundary_value(logits, fvals):
    return fvals[0].mean(axis=0)  # the zeroed evaluations are not draws from q


def _uniform_naive_bits(logits, noise_tensors):
    (v,) = noise_tensors
    return bits_below(v, logits)[None]


def _uniform_naive_gradient(logits, noise_tensors, fvals):
    """The uniform with a moving boundary, boundary term dropped: BIASED, for the study only.

    Approximates  d/dphi_i E_q[f(b)], with bias -(1 - p_i) E[f(b with b_i = 0)].
    Formula       g_i = (1 - p_i) f(b).
    Requires      one evaluation per draw. Kept as the source note's cautionary example.
    """
    return pt.sigmoid(-logits) * fvals[0][..., None]


# --- ar: condition the exponential score on w = e2 / (e1 + e2) ~ U(0, 1)
def _ar_bits(logits, noise_tensors):
    (w,) = noise_tensors
    return bits_below(w, logits)[None]


def _ar_gradient(logits, noise_tensors, fvals):
    """Augment-REINFORCE, AR (Yin and Zhou 2019): the exponential score given w.

    Approximates  d/dphi_i E_q[f(b)].
    Formula       g_i = f(b) (1 - 2 w_i),  b = 1{w < p},  w = e2 / (e1 + e2) ~ U(0, 1):
                  E[e1 - 1 | w] = 2 (1 - w) - 1, since e1 + e2 ~ Gamma(2) is independent of w.
    Requires      f's values only; unbiased; one evaluation per draw.
    """
    (w,) = noise_tensors
    return fvals[0][..., None] * (1 - 2 * w)


EXP_SCORE = Estimator(
    name="exp_score",
    op_name="ExpScore",
    kind="reparameterised",
    unbiased=True,
    formula="f(b) (e1_i - 1),  b = 1{e^phi e1 > e2},  e1, e2 ~ Exp(1)",
    reference="source note, eq. (1)",
    draw=draw_exponential_pair_split,
    bits=_exp_bits,
    gradient=_exp_score_gradient,
)

NOISE_SCORE = Estimator(
    name="noise_score",
    op_name="NoiseScore",
    kind="reparameterised",
    unbiased=True,
    formula="f(b) (log pdf)'(eps_i) dF^-1(p_i)/dphi_i,  b = 1{eps < F^-1(p)}",
    reference="source note, 'arbitrary continuous variable'",
    draw=draw_noise_quantile,
    bits=_noise_bits,
    gradient=_noise_score_gradient,
    uses_noise=True,
)

UNIFORM_BOUNDARY = Estimator(
    name="uniform_boundary",
    op_name="UniformBoundary",
    kind="reparameterised",
    unbiased=True,
    formula="(1 - p_i) (f(b) - f(b with b_i = 0)),  u ~ U(0, a/p),  b = 1{u < a}",
    reference="source note, Note 1, corrected (docs/math.md)",
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
    kind="reparameterised",
    unbiased=False,
    formula="(1 - p_i) f(b)   (boundary term dropped: biased)",
    reference="source note, Note 1, the cautionary form",
    draw=_uniform_draw,
    bits=_uniform_naive_bits,
    gradient=_uniform_naive_gradient,
)

AR = Estimator(
    name="ar",
    op_name="AR",
    kind="reparameterised",
    unbiased=True,
    formula="f(b) (1 - 2 w_i),  b = 1{w < p},  w = e2 / (e1 + e2)",
    reference="Yin and Zhou (2019), AR",
    draw=_uniform_draw,
    bits=_ar_bits,
    gradient=_ar_gradient,
)
