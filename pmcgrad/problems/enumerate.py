"""Exact expectations and gradients of E_q[f(b)] by enumerating all 2^k bit vectors.

With ``q(b) = prod_i p_i^b_i (1 - p_i)^(1 - b_i)`` and ``p = sigmoid(phi)``,

    E_q f = sum_b q(b) f(b),
    d/dphi_i E_q f = sum_b q(b) f(b) (b_i - p_i)
                   = p_i (1 - p_i) (E[f | b_i = 1] - E[f | b_i = 0]).

The last (conditional-difference) form is what is evaluated: it only uses products of
probabilities computed in log space, so it keeps full relative precision at logits of
+-50, where ``1 - sigmoid(50)`` rounds to 0 and the first form would lose the gradient.
"""

from __future__ import annotations

__all__ = ["MAX_ENUMERATION_BITS", "all_bit_vectors", "exact_expectation", "exact_gradient"]

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_expit

#: Largest k that :func:`all_bit_vectors` accepts (2^24 rows is already 16.7 M).
MAX_ENUMERATION_BITS = 24

#: An objective: maps bits of shape (N, ..., k) to values of shape (N, ...), or a table of
#: f values of shape (2^k, ...) in the row order of :func:`all_bit_vectors`.
Objective = Callable[[NDArray[np.float64]], ArrayLike] | ArrayLike


def all_bit_vectors(k: int, dtype: type = np.float64) -> NDArray:
    """All 2^k bit vectors of length k in binary counting order.

    Row ``r`` is the binary representation of the integer ``r`` with the most significant
    bit in column 0, so row 1 is (0, ..., 0, 1) and the last row is all ones.

    Parameters
    ----------
    k : int
        Number of bits, 0 <= k <= 24.
    dtype : NumPy dtype
        float64 by default; an integer dtype saves memory for large k.

    Returns
    -------
    ndarray, shape (2^k, k)
        The bit vectors as 0 / 1 in ``dtype``.

    Raises
    ------
    ValueError
        If k is negative or larger than 24.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 0:
        raise ValueError(f"k must be non-negative, got k={k}")
    if k > MAX_ENUMERATION_BITS:
        raise ValueError(
            f"k={k} is too large to enumerate (2^{k} bit vectors); "
            f"the limit is k <= {MAX_ENUMERATION_BITS}"
        )
    ints = np.arange(2**k, dtype=np.int64)
    shifts = np.arange(k - 1, -1, -1, dtype=np.int64)  # MSB first
    return ((ints[:, None] >> shifts[None, :]) & 1).astype(dtype)


def exact_expectation(f: Objective, logits: ArrayLike) -> NDArray[np.float64] | float:
    """Exact E_q[f(b)] = sum_b q(b) f(b) by enumeration.

    Parameters
    ----------
    f : callable or array
        Either a callable taking bits of shape (N, ..., k) (N = 2^k, the batch shape of
        ``logits`` in the middle) and returning shape (N, ...), or a table of f values of
        shape (2^k,) or (2^k, ...) in the row order of :func:`all_bit_vectors`.
    logits : array, shape (..., k)
        Logits phi of the independent Bernoulli bits.

    Returns
    -------
    float or ndarray, shape (...)
        The expectation for every batch index (a float when ``logits`` is 1-D).
    """
    phi = np.asarray(logits, dtype=np.float64)
    bits, fvals, logq = _enumerate(f, phi)
    del bits
    out = np.sum(np.exp(logq) * fvals, axis=0)
    return float(out) if out.ndim == 0 else out


def exact_gradient(f: Objective, logits: ArrayLike) -> NDArray[np.float64]:
    """Exact grad_phi E_q[f(b)] = sum_b q(b) f(b) (b - p) by enumeration.

    Parameters
    ----------
    f : callable or array
        As in :func:`exact_expectation`.
    logits : array, shape (..., k)
        Logits phi of the independent Bernoulli bits.

    Returns
    -------
    ndarray, shape (..., k)
        The gradient with respect to every logit.
    """
    phi = np.asarray(logits, dtype=np.float64)
    bits, fvals, logq = _enumerate(f, phi)
    log_p, log_1mp = log_expit(phi), log_expit(-phi)
    # log q_{-i}(b) = log q(b) - log q_i(b_i): the weight of b_{-i} under the other bits.
    log_qi = bits * log_p + (1.0 - bits) * log_1mp  # (N, ..., k)
    w_minus_i = np.exp(logq[..., None] - log_qi) * fvals[..., None]
    cond_1 = np.sum(w_minus_i * bits, axis=0)  # E[f | b_i = 1]
    cond_0 = np.sum(w_minus_i * (1.0 - bits), axis=0)  # E[f | b_i = 0]
    # dp/dphi = p (1 - p), formed as exp(log p + log(1 - p)) so it never rounds to 0.
    return np.exp(log_p + log_1mp) * (cond_1 - cond_0)


def _enumerate(
    f: Objective, phi: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Bits (N, ..., k), f values (N, ...) and log q(b) (N, ...) for batch logits (..., k)."""
    if phi.ndim == 0:
        raise ValueError("logits must have at least one dimension (the k bits)")
    k = phi.shape[-1]
    batch = phi.shape[:-1]
    n_rows = 2**k
    table = all_bit_vectors(k)
    # Bits broadcast against the batch: (N, 1, ..., 1, k) -> (N, ..., k).
    shaped = table.reshape((n_rows,) + (1,) * len(batch) + (k,))
    bits = np.broadcast_to(shaped, (n_rows, *phi.shape))
    # log q(b) = sum_i [b_i log p_i + (1 - b_i) log(1 - p_i)], with log p = log_sigmoid(phi).
    logq = np.sum(bits * log_expit(phi) + (1.0 - bits) * log_expit(-phi), axis=-1)
    if callable(f):
        fvals = np.asarray(f(bits), dtype=np.float64)
    else:
        fvals = np.asarray(f, dtype=np.float64)
        if fvals.ndim == 0 or fvals.shape[0] != n_rows:
            raise ValueError(
                f"a table of f values must have 2^k = {n_rows} rows, got shape {fvals.shape}"
            )
    try:
        fvals = np.broadcast_to(fvals, (n_rows, *batch))
    except ValueError:
        raise ValueError(
            f"f values of shape {fvals.shape} do not broadcast to (2^k, ...) = {(n_rows, *batch)}"
        ) from None
    return bits, fvals, logq
