"""NumPy references for the categorical tests, written independently of pmcgrad."""

from __future__ import annotations

import itertools

import numpy as np
import pytensor.tensor as pt


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis (finite logits)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def code_index(codes, categories: int):
    """The table row of a code vector: sum_v z_v K^v (variable 0 changes fastest)."""
    k = codes.shape[-1]
    return (codes * categories ** np.arange(k)).sum(-1)


def batched_table_function(table, k: int, categories: int):
    """f(z) = table[r, sum_v z_v K^v] for codes (N, R, k) and a table (R, K^k); returns (N, R).

    ``table`` may be a PyTensor variable, so one compiled graph serves many tables.
    """
    width = categories**k
    powers = pt.constant(categories ** np.arange(k), dtype="int64")

    def f(codes):
        rows = codes.shape[1]
        index = (codes * powers).sum(-1) + pt.arange(rows)[None, :] * width
        return table.reshape((-1,))[index]

    return f


def exact_categorical(table: np.ndarray, logits: np.ndarray) -> tuple[float, np.ndarray]:
    """``(E_q f, d/dphi E_q f)`` by enumeration: sum_z q(z) f(z) (1{z_v = j} - p_vj).

    ``logits (k, K)``, ``table (K^k,)`` indexed by :func:`code_index`.
    """
    k, categories = logits.shape
    p = softmax(logits)
    value, gradient = 0.0, np.zeros((k, categories))
    for codes in itertools.product(range(categories), repeat=k):
        codes = np.array(codes)
        weight = np.prod(p[np.arange(k), codes])
        f = table[code_index(codes, categories)]
        value += weight * f
        gradient += weight * f * (np.eye(categories)[codes] - p)
    return value, gradient


def z_threshold(coordinates: int, false_alarm: float = 1e-3) -> float:
    """Two-sided normal quantile for ``coordinates`` simultaneous checks (Bonferroni)."""
    from scipy.stats import norm

    return float(norm.isf(false_alarm / (2 * coordinates)))
