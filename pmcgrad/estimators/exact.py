"""Exact enumeration over every configuration: the reference every estimator is measured against.

``exact`` sums over the ``2^k`` bit vectors, ``categorical_exact`` over the ``K^k`` code
vectors. Both are capped by ``exact_limit`` (:mod:`pmcgrad.estimators.enumeration`).
"""

from __future__ import annotations

import pytensor.tensor as pt

from pmcgrad.estimators.contract import Estimator
from pmcgrad.estimators.schemes import enumerated_bits, enumerated_categories
from pmcgrad.estimators.support import (
    CATEGORICAL,
    bernoulli_score,
    categorical_log_probabilities,
    categorical_score,
    one_hot,
)

__all__ = ["CATEGORICAL_EXACT", "EXACT"]


def _no_draw(rng, shape, dtype):
    return rng, ()  # nothing random


def _exact_bits(logits, noise_tensors):
    return enumerated_bits(logits)  # [2^k, 1, ..., k]


def _exact_gradient(logits, noise_tensors, fvals):
    """Exact gradient for Bernoulli latents, by enumeration.

    Approximates  d/dphi_i E_q[f(b)],  q(b) = prod_i Bernoulli(b_i; sigmoid(phi_i)), exactly.
    Formula       sum over all 2^k bit vectors b of q(b) f(b) (b_i - p_i): the score-function
                  identity, summed instead of sampled; q(b) is formed in log space.
    Requires      a static k with 2^k within exact_limit; 2^k evaluations of f.
    Returns       (1, ..., k).
    """
    weights = pt.exp(_bernoulli_log_weights(logits))  # [2^k, 1, ...]
    bits = _exact_bits(logits, ())
    return (_weighted(weights, fvals)[..., None] * bernoulli_score(bits, logits)).sum(axis=0)


def _exact_value(logits, fvals):
    # Weights treated as constants: only the pathwise part flows through here. (The op's
    # pullback supplies the logit gradient separately.)
    weights = pt.exp(_bernoulli_log_weights(logits))
    return _weighted(weights, fvals).sum(axis=(0, 1))


def _categorical_exact_bits(logits, noise_tensors):
    return enumerated_categories(logits)  # [K^k, 1, ..., k] int64


def _categorical_exact_gradient(logits, noise_tensors, fvals):
    """Exact gradient for categorical latents, by enumeration.

    Approximates  d/dphi_vj E_q[f(z)],  q(z) = prod_v Categorical(z_v; softmax(phi_v)), exactly.
    Formula       sum over all K^k code vectors z of q(z) f(z) (1{z_v = j} - p_vj).
    Requires      static k and K with K^k within 2^exact_limit; K^k evaluations of f.
    Returns       (1, ..., k, K).
    """
    codes = _categorical_exact_bits(logits, ())  # [K^k, 1, ..., k]
    weights = pt.exp(_categorical_log_weights(logits, codes))  # [K^k, 1, ...]
    score = categorical_score(codes, logits)  # [K^k, 1, ..., k, K]
    return (_weighted(weights, fvals)[..., None, None] * score).sum(axis=0)


def _categorical_exact_value(logits, fvals):
    codes = _categorical_exact_bits(logits, ())
    weights = pt.exp(_categorical_log_weights(logits, codes))
    return _weighted(weights, fvals).sum(axis=(0, 1))


def _weighted(weights, fvals):
    """``q(z) f(z)``, 0 where ``q(z) = 0``: a configuration that cannot occur (a padded
    category, a logit at +-inf) contributes nothing, even where f is not finite there (a
    model's log density at an impossible value is -inf, and 0 * -inf would be NaN)."""
    return pt.switch(weights > 0, weights * fvals, 0.0)


def _bernoulli_log_weights(logits):
    """``log q(b)`` for every enumerated b, ``(2^k, 1, ...)``.

    Chosen per bit with ``switch`` rather than ``b log p + (1 - b) log(1 - p)``: at
    ``phi = -inf`` the unchosen ``log p`` is ``-inf``, and ``0 * -inf`` is NaN.
    """
    bits = _exact_bits(logits, ())
    log_p, log_not_p = -pt.softplus(-logits), -pt.softplus(logits)
    return pt.switch(bits > 0.5, log_p, log_not_p).sum(axis=-1)


def _categorical_log_weights(logits, codes):
    """``log q(z) = sum_v log p_v(z_v)`` for every enumerated z, ``(K^k, 1, ...)``.

    The chosen log probability is picked with ``switch`` on a one-hot mask, not multiplied by
    it, so a category of probability 0 (``-inf``) does not turn the sum into NaN.
    """
    categories = logits.type.shape[-1]
    chosen = one_hot(codes, categories, "bool")  # [K^k, 1, ..., k, K]
    log_p = categorical_log_probabilities(logits)  # [..., k, K]
    return pt.switch(chosen, log_p, 0.0).sum(axis=(-2, -1))


EXACT = Estimator(
    name="exact",
    op_name="Exact",
    kind="exact",
    unbiased=True,
    formula="sum_b q(b) f(b) (b_i - p_i)  over all 2^k vectors",
    reference="enumeration",
    draw=_no_draw,
    bits=_exact_bits,
    gradient=_exact_gradient,
    value=_exact_value,
    evaluations_per_draw=lambda k: 2**k,
    evaluations_text="2^k",
    enumerates=True,
)

CATEGORICAL_EXACT = Estimator(
    name="categorical_exact",
    op_name="CategoricalExact",
    kind="exact",
    unbiased=True,
    formula="sum_z q(z) f(z) (1{z_v = j} - p_vj)  over all K^k vectors",
    reference="enumeration",
    draw=_no_draw,
    bits=_categorical_exact_bits,
    gradient=_categorical_exact_gradient,
    value=_categorical_exact_value,
    support=CATEGORICAL,
    evaluations_per_draw=lambda k, categories: categories**k,
    evaluations_text="K^k",
    enumerates=True,
    reduces_to="exact",
)
