"""Exact enumeration over all 2^k bit vectors: the reference every estimator is measured against."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from pmcgrad.estimators.base import Estimator, bernoulli_score

__all__ = ["EXACT", "enumerate_bits"]


def enumerate_bits(k: int, dtype: str = "float64") -> np.ndarray:
    """All ``2^k`` bit vectors in binary order, shape ``(2^k, k)``; bit 0 is the first column."""
    codes = np.arange(2**k)[:, None]
    return ((codes >> np.arange(k)[None, :]) & 1).astype(dtype)


def _draw(rng, shape, dtype, noise):
    return rng, ()  # nothing random


def _bits(logits, noise_tensors, noise):
    k = logits.type.shape[-1]
    table = enumerate_bits(k, logits.dtype)
    # [2^k, 1, 1.., k], broadcast against the batch dimensions of logits
    table = table.reshape((2**k, 1) + (1,) * (logits.ndim - 1) + (k,))
    return pt.broadcast_to(pt.constant(table), (2**k, 1, *logits.shape[:-1], k))


def _log_weights(logits):
    """``log q(b)`` for every enumerated b, ``(2^k, 1, ...)``, in log space for |phi| = 50."""
    bits = _bits(logits, (), None)
    log_p, log_not_p = -pt.softplus(-logits), -pt.softplus(logits)
    return (bits * log_p + (1 - bits) * log_not_p).sum(axis=-1)


def _gradient(logits, noise_tensors, fvals, noise):
    # sum_b q(b) f(b) (b_i - p_i): the score-function identity, summed exactly.
    weights = pt.exp(_log_weights(logits))  # [2^k, 1, ...]
    bits = _bits(logits, (), None)
    return (weights[..., None] * fvals[..., None] * bernoulli_score(bits, logits)).sum(axis=0)


def _value(logits, fvals):
    # Weights treated as constants: only the pathwise part flows through here. (The op's
    # pullback supplies the logit gradient separately.)
    weights = pt.exp(_log_weights(logits))
    return (weights * fvals).sum(axis=(0, 1))


EXACT = Estimator(
    name="exact",
    op_name="Exact",
    family="exact",
    unbiased=True,
    formula="sum_b q(b) f(b) (b_i - p_i)  over all 2^k vectors",
    reference="enumeration",
    draw=_draw,
    bits=_bits,
    gradient=_gradient,
    value=_value,
    evaluations_per_draw=lambda k: 2**k,
    evaluations_text="2^k",
    enumerates=True,
)
