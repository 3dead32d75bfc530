"""The noise schemes and bit layouts the built-in estimators are made of, named in one place.

A **noise scheme** is how one draw's randomness is made (an estimator's ``draw``); a **bit
layout** is which vectors ``f`` is evaluated on (an estimator's ``bits``), stacked
``(E, S, ..., k)`` with ``E`` evaluation groups. Every noise tensor has the shape the draw was
given, ``(S, *logits.shape)``.

Noise schemes (:data:`NOISE_SCHEMES`):

- ``uniform``: ``u ~ U(0, 1)``; a bit is ``1{u < p}``.
- ``exponential_pair``: ``e1, e2 ~ Exp(1)``, drawn as ``(s, w)`` with ``s = e1 + e2`` and
  ``w = e2 / s`` (independent; ``w ~ U(0, 1)``), so the bit ``1{e^phi e1 > e2}`` is
  ``1{w < p}``.
- ``noise_quantile``: the quantile ``u`` of a continuous noise ``eps = F^-1(u)``; the bit
  ``1{eps < F^-1(p)}`` is ``1{u < p}``.
- ``race``: ``K`` exponentials ``e_j ~ Exp(1)`` per categorical variable; the variable is the
  winner of the race ``argmin_j e_j / exp(phi_j)``.

Bit layouts (:data:`BIT_LAYOUTS`):

- ``single`` (``E = 1``): ``b = 1{u < p}``.
- ``antithetic`` (``E = 2``): ``b = 1{u < p}`` and its partner ``1{1 - u < p}``.
- ``boundary`` (``E = 1 + k``): ``b``, then ``b`` with coordinate ``i`` forced to 0.
- ``enumerated`` (``E = 2^k``, ``S = 1``): every bit vector.
- ``race_winner`` (``E = 1``): the race's winner per variable.
- ``race_swaps`` (``E = K(K - 1)/2 + 1``): the winner, then the winner of the race with the
  noise of categories ``c`` and ``j`` swapped, for every pair ``c < j`` (ARSM's pseudo draws).
- ``enumerated_categories`` (``E = K^k``, ``S = 1``): every code vector.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pmcgrad import streams
from pmcgrad.estimators.enumeration import enumerate_bits, enumerate_categories
from pmcgrad.estimators.support import normalised_logits

__all__ = [
    "BIT_LAYOUTS",
    "NOISE_SCHEMES",
    "antithetic_bits",
    "bits_below",
    "boundary_bits",
    "draw_exponential_pair_split",
    "draw_race",
    "draw_uniform",
    "enumerated_bits",
    "enumerated_categories",
    "race_swaps",
    "race_winner",
    "swap_pairs",
]

NoiseTensors = tuple[TensorVariable, ...]


# --- noise schemes: (rng, shape, dtype) -> (next_rng, noise tensors of `shape`)
def draw_uniform(rng, shape, dtype) -> tuple[TensorVariable, TensorVariable]:
    """One ``U(0, 1)`` draw of ``shape``; returns ``(next_rng, u)``."""
    return streams.uniform(rng, shape, dtype)


def draw_exponential_pair_split(rng, shape, dtype) -> tuple[TensorVariable, NoiseTensors]:
    """An ``Exp(1)`` pair as ``(s, w)``: ``e1 = s (1 - w)``, ``e2 = s w``.

    ``s = e1 + e2 ~ Gamma(2, 1)`` and ``w = e2 / (e1 + e2) ~ U(0, 1)`` are independent (the
    step from ``exp_score`` to ``ar`` in docs/math.md conditions on ``w``), so drawing
    ``s = -log(u1 u2)`` and ``w`` gives exactly the law of two independent exponentials with one
    logarithm instead of two, and the bit ``1{e^phi e1 > e2}`` is exactly ``1{w < sigmoid(phi)}``.
    """
    rng, u = streams.uniform(rng, (3, *shape), dtype)  # one draw: one hashing loop
    return rng, (-pt.log(u[0] * u[1]), u[2])


def draw_noise_quantile(rng, shape, dtype, noise) -> tuple[TensorVariable, NoiseTensors]:
    """The quantile ``u`` of ``eps = F^-1(u)`` for the noise distribution ``noise``."""
    rng, u = noise.sample_quantile(rng, shape, dtype)
    return rng, (u,)


def draw_race(rng, shape, dtype) -> tuple[TensorVariable, NoiseTensors]:
    """``e ~ Exp(1)`` of ``shape = (S, ..., k, K)``: one exponential per category."""
    rng, e = streams.exponential(rng, shape, dtype)
    return rng, (e,)


# --- bit layouts: logits and noise -> what f sees
def bits_below(u: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``1{u < sigmoid(phi)}`` as ``logits``' dtype: ``Bernoulli(p)`` bits from uniforms ``u``."""
    return (u < pt.sigmoid(logits)).astype(logits.dtype)


def antithetic_bits(u: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """The bits of ``u`` and of its partner ``1 - u``, stacked ``[2, S, ..., k]``."""
    p = pt.sigmoid(logits)
    return pt.stack([u < p, 1 - u < p]).astype(logits.dtype)


def boundary_bits(bits: TensorVariable) -> TensorVariable:
    """``b``, then ``b`` with bit ``i`` forced to 0 for each ``i``: ``[1 + k, S, ..., k]``.

    One broadcast product builds all ``1 + k`` groups, so the ``(1 + k) S k`` bits are written
    once.
    """
    k = bits.shape[-1]
    keep = 1 - pt.eye(k + 1, k, k=-1, dtype=bits.dtype)  # [1 + k, k]: row 1 + i zeroes i
    keep = keep.reshape((k + 1,) + (1,) * (bits.ndim - 1) + (k,))  # [1 + k, 1, ..., 1, k]
    return bits[None] * keep


def enumerated_bits(logits: TensorVariable) -> TensorVariable:
    """Every bit vector, ``[2^k, 1, ..., k]``, broadcast against ``logits``' batch dimensions."""
    k = logits.type.shape[-1]
    table = enumerate_bits(k, logits.dtype)
    table = table.reshape((2**k, 1) + (1,) * (logits.ndim - 1) + (k,))
    return pt.broadcast_to(pt.constant(table), (2**k, 1, *logits.shape[:-1], k))


def enumerated_categories(logits: TensorVariable) -> TensorVariable:
    """Every code vector, ``[K^k, 1, ..., k]`` int64, for categorical ``logits (..., k, K)``."""
    k, categories = logits.type.shape[-2:]
    table = enumerate_categories(k, categories)
    rows = table.shape[0]
    table = table.reshape((rows, 1) + (1,) * (logits.ndim - 2) + (k,))
    return pt.broadcast_to(pt.constant(table), (rows, 1, *logits.shape[:-2], k))


def race_winner(e: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``argmin_j e_j / exp(phi_j)``, computed as ``argmin_j (log e_j - phi_j)``: ``(S, ..., k)``.

    ``P(winner = j) = softmax(phi)_j`` (the race of ``Exp(exp(phi_j))`` times). Log space keeps
    it exact where ``exp(phi)`` would overflow; :func:`normalised_logits` gives +-inf logits
    their limits. (This is the Gumbel-max trick: ``-log e_j`` is Gumbel.)
    """
    return pt.argmin(pt.log(e) - normalised_logits(logits), axis=-1)


def swap_pairs(categories: int) -> tuple[np.ndarray, np.ndarray]:
    """The swaps of ARSM for ``K`` categories.

    Returns ``permutations (P, K)``, ``P = K(K - 1)/2 + 1``: row 0 the identity, then one row
    per pair ``c < j`` that swaps ``c`` and ``j``; and ``pair_index (K, K)``: the row of the
    swap of ``c`` and ``j`` (0 on the diagonal, where nothing is swapped).
    """
    permutations = [np.arange(categories)]
    pair_index = np.zeros((categories, categories), dtype=np.int64)
    for c, j in combinations(range(categories), 2):
        swapped = np.arange(categories)
        swapped[[c, j]] = j, c
        pair_index[c, j] = pair_index[j, c] = len(permutations)
        permutations.append(swapped)
    return np.stack(permutations), pair_index


def race_swaps(e: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """The race's winner under every swap of :func:`swap_pairs`: ``[P, S, ..., k]`` int64.

    The same swap is applied to every variable at once, so one evaluation of ``f`` per swap
    serves all ``k`` variables.
    """
    permutations, _ = swap_pairs(logits.type.shape[-1])
    log_e = pt.log(e)[..., permutations]  # [S, ..., k, P, K]
    log_e = pt.moveaxis(log_e, -2, 0)  # [P, S, ..., k, K]
    return pt.argmin(log_e - normalised_logits(logits), axis=-1)


NOISE_SCHEMES = {
    "uniform": draw_uniform,
    "exponential_pair": draw_exponential_pair_split,
    "noise_quantile": draw_noise_quantile,
    "race": draw_race,
}

BIT_LAYOUTS = {
    "single": bits_below,
    "antithetic": antithetic_bits,
    "boundary": boundary_bits,
    "enumerated": enumerated_bits,
    "race_winner": race_winner,
    "race_swaps": race_swaps,
    "enumerated_categories": enumerated_categories,
}
