"""Separable toy objective f(b) = sum_i (b_i - t)^2 with closed-form expectation and gradient.

Notation used throughout ``pmcgrad.problems``: ``b`` in {0,1}^k, ``p = sigmoid(phi)``
elementwise, ``q(b) = prod_i p_i^b_i (1 - p_i)^(1 - b_i)``.  The gradient target is
``grad_phi E_q[f(b)]``.
"""

from __future__ import annotations

__all__ = [
    "K1_CLOSED_FORM_ESTIMATORS",
    "ClosedFormVariance",
    "k1_variance",
    "k1_variance_at_cost",
    "toy_expectation",
    "toy_gradient",
    "toy_objective",
]

import math
from typing import NamedTuple

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


class ClosedFormVariance(NamedTuple):
    """The exact variance of one gradient estimate and the f-evaluations that estimate spends."""

    variance: float
    evaluations: int


#: Estimators whose variance has a closed form on the toy at k = 1, phi = 0.
K1_CLOSED_FORM_ESTIMATORS = (
    "reinforce", "ar", "noise_score", "exp_score", "reinforce_loo", "arm", "disarm",
    "antithetic_exp",
)


def k1_variance(estimator: str, t: float) -> ClosedFormVariance | None:
    """Exact variance of one estimate of ``estimator`` on ``f(b) = (b - t)^2``, k = 1, phi = 0.

    ``None`` for an estimator without a closed form here. With ``mu = (1 - 2t) / 4`` the exact
    gradient, ``m4 = (1 - t)^4`` and ``n4 = t^4`` (docs/math.md, "exact variances"):

    * one draw, one evaluation: reinforce ``(m4 + n4) / 8 - mu^2``; ar ``(m4 + n4) / 6 - mu^2``,
      and noise_score with its default logistic noise, which is ar draw for draw; exp_score
      ``(3 m4 + n4) / 4 - mu^2``: at phi = 0, ``b = 1{e1 > e2}`` and
      ``E[(e1 - 1)^2 1{e2 < e1}] = E[(e1 - 1)^2 (1 - e^{-e1})] = 1 - 1/4``.
    * one estimate from two evaluations: reinforce_loo with S = 2 ``(1 - 2t)^2 / 16``; arm
      ``(1 - 2t)^2 / 48``; disarm 0; antithetic_exp ``(V_exp_score - mu^2) / 2``, because the
      swap gives ``b' = 1 - b``, so ``f(b) f(b') = t^2 (1 - t)^2`` is constant and the pair's two
      terms are anti-correlated by exactly ``-mu^2``: at t = 0.49 it equals two independent
      exp_score draws, so the swap alone gains nothing.
    """
    # Written exactly as the study has always computed them: chain.csv stores these values
    # with 17 significant digits, and a reordered sum would change its last digit.
    mu2 = ((1.0 - 2.0 * t) / 4.0) ** 2
    m4, n4 = (1.0 - t) ** 4, t**4
    v_exp = (3.0 * m4 + n4) / 4.0 - mu2
    forms = {
        "reinforce": ((m4 + n4) / 8.0 - mu2, 1),
        "ar": ((m4 + n4) / 6.0 - mu2, 1),
        "noise_score": ((m4 + n4) / 6.0 - mu2, 1),
        "exp_score": (v_exp, 1),
        "reinforce_loo": ((1.0 - 2.0 * t) ** 2 / 16.0, 2),
        "arm": ((1.0 - 2.0 * t) ** 2 / 48.0, 2),
        "disarm": (0.0, 2),
        "antithetic_exp": ((v_exp - mu2) / 2.0, 2),
    }
    if estimator not in forms:
        return None
    return ClosedFormVariance(*forms[estimator])


def k1_variance_at_cost(estimator: str, t: float, evaluations: int) -> float:
    """The k = 1 closed form for an estimate that spends ``evaluations`` f-evaluations.

    An estimate made of ``n`` independent estimates of cost ``c`` (``evaluations = n c``) has
    variance ``V / n``. reinforce_loo is known only at S = 2 (2 evaluations): more draws change
    its baseline, not just the number of terms averaged. NaN where no closed form applies.
    """
    form = k1_variance(estimator, t)
    if form is None or evaluations <= 0 or evaluations % form.evaluations:
        return math.nan
    if estimator == "reinforce_loo" and evaluations != form.evaluations:
        return math.nan
    return form.variance / (evaluations // form.evaluations)
