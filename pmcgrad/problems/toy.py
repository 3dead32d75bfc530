"""Separable toy objective f(b) = sum_i (b_i - t)^2 with closed-form expectation and gradient.

Notation used throughout ``pmcgrad.problems``: ``b`` in {0,1}^k, ``p = sigmoid(phi)``
elementwise, ``q(b) = prod_i p_i^b_i (1 - p_i)^(1 - b_i)``.  The gradient target is
``grad_phi E_q[f(b)]``.
"""

from __future__ import annotations

__all__ = ["toy_expectation", "toy_gradient", "toy_objective"]

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit


def toy_objective(bits: ArrayLike, t: float) -> NDArray[np.float64]:
    """Evaluate f(b) = sum_i (b_i - t)^2.

    Parameters
    ----------
    bits : array, shape (..., k)
        Bit vectors (any real values are accepted; the formula is applied as is).
    t : float
        Target value subtracted from every bit.

    Returns
    -------
    ndarray, shape (...)
        f evaluated on the last axis of ``bits``.
    """
    b = np.asarray(bits, dtype=np.float64)
    return np.sum((b - t) ** 2, axis=-1)


def toy_expectation(logits: ArrayLike, t: float) -> NDArray[np.float64]:
    """Exact E_q[f(b)] for the toy objective.

    Each summand depends on one bit only, so
    E f = sum_i [p_i (1 - t)^2 + (1 - p_i) t^2].

    Parameters
    ----------
    logits : array, shape (..., k)
        Logits phi of the independent Bernoulli bits.
    t : float
        Target value of the objective.

    Returns
    -------
    ndarray, shape (...)
        The expectation for every leading batch index.
    """
    phi = np.asarray(logits, dtype=np.float64)
    # expit(phi) and expit(-phi) are both accurate in the tails, unlike 1 - expit(phi).
    p, one_minus_p = expit(phi), expit(-phi)
    return np.sum(p * (1.0 - t) ** 2 + one_minus_p * t**2, axis=-1)


def toy_gradient(logits: ArrayLike, t: float) -> NDArray[np.float64]:
    """Exact grad_phi E_q[f(b)] for the toy objective.

    d/dphi_i E f = ((1 - t)^2 - t^2) dp_i/dphi_i = (1 - 2 t) p_i (1 - p_i).

    Parameters
    ----------
    logits : array, shape (..., k)
        Logits phi of the independent Bernoulli bits.
    t : float
        Target value of the objective.

    Returns
    -------
    ndarray, shape (..., k)
        The gradient with respect to every logit.
    """
    phi = np.asarray(logits, dtype=np.float64)
    # p (1 - p) = sigmoid(phi) sigmoid(-phi): keeps full relative precision at |phi| = 50.
    return (1.0 - 2.0 * t) * expit(phi) * expit(-phi)
