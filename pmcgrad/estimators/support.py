"""The two supports an estimator can handle, and their probabilities and scores.

- ``"bernoulli"``: logits ``(..., k)``, one bit per logit, ``p = sigmoid(phi)``; ``f`` sees float
  bits ``(N, ..., k)``, 0.0 or 1.0.
- ``"categorical"``: logits ``(..., k, K)``, ``k`` variables of ``K`` categories each,
  ``p = softmax(phi)`` over the last axis; ``f`` sees int64 category codes ``(N, ..., k)``.

Softmax is shift-invariant, so categorical logits need not be normalised. Infinite logits are
taken as limits (:func:`normalised_logits`), so every estimator stays finite at +-inf.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.special import log_softmax, softmax
from pytensor.tensor.variable import TensorVariable

__all__ = [
    "BERNOULLI",
    "CATEGORICAL",
    "SUPPORTS",
    "bernoulli_score",
    "categorical_log_probabilities",
    "categorical_probabilities",
    "categorical_score",
    "nan_rows",
    "normalised_logits",
    "one_hot",
    "variable_ndim",
]

BERNOULLI = "bernoulli"
CATEGORICAL = "categorical"
SUPPORTS = (BERNOULLI, CATEGORICAL)


def variable_ndim(logits_ndim: int, support: str) -> int:
    """Dimensions of one draw of the latents, ``(..., k)``, for logits of ``logits_ndim``."""
    return logits_ndim if support == BERNOULLI else logits_ndim - 1


def bernoulli_score(bits: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``b - sigmoid(phi)``, the score of a Bernoulli in its logit.

    Written as ``b sigmoid(-phi) - (1 - b) sigmoid(phi)`` so that ``1 - p`` keeps its relative
    precision when ``p`` rounds to 1 (``phi = 50``).
    """
    return bits * pt.sigmoid(-logits) - (1 - bits) * pt.sigmoid(logits)


def normalised_logits(logits: TensorVariable) -> TensorVariable:
    """Categorical logits shifted so that each variable's largest is 0, with limits at +-inf.

    ``softmax(phi)`` is unchanged by the shift. A variable with some ``+inf`` logits puts equal
    mass on those categories (they become 0, the others ``-inf``); a variable whose logits are
    all ``-inf`` has no preferred category and becomes uniform (all 0), the limit of equal
    logits. ``-inf`` elsewhere stays ``-inf``: that category has probability 0.
    """
    top = logits.max(axis=-1, keepdims=True)
    shifted = logits - pt.switch(pt.isinf(top), 0.0, top)
    inf = np.asarray(np.inf, dtype=logits.dtype)
    shifted = pt.switch(pt.eq(top, inf), pt.switch(pt.eq(logits, inf), 0.0, -inf), shifted)
    return pt.switch(pt.eq(top, -inf), pt.zeros_like(logits), shifted)


def categorical_log_probabilities(logits: TensorVariable) -> TensorVariable:
    """``log softmax(phi)`` over the last axis, finite wherever the probability is positive."""
    return log_softmax(normalised_logits(logits), axis=-1)


def categorical_probabilities(logits: TensorVariable) -> TensorVariable:
    """``softmax(phi)`` over the last axis, with the limits of :func:`normalised_logits`."""
    return softmax(normalised_logits(logits), axis=-1)


def one_hot(codes: TensorVariable, categories: int, dtype: str) -> TensorVariable:
    """``1{z = j}`` as ``dtype``: codes ``(...)`` to ``(..., K)``."""
    return pt.eq(codes[..., None], pt.arange(categories)).astype(dtype)


def categorical_score(codes: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``1{z = j} - softmax(phi)_j``, the score of a categorical in its logits.

    ``codes (..., k)`` against ``logits (..., k, K)``; returns ``(..., k, K)``.
    """
    categories = logits.type.shape[-1]
    return one_hot(codes, categories, logits.dtype) - categorical_probabilities(logits)


def nan_rows(logits: TensorVariable, support: str) -> TensorVariable:
    """Whether any logit of each batch row is NaN: ``(...)``, the shape of the estimate."""
    axes = (-1,) if support == BERNOULLI else (-2, -1)
    return pt.isnan(logits).any(axis=axes)
