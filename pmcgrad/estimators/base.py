"""The estimator contract: one frozen record per estimator, holding pure graph-building functions.

An estimator is described in three steps, each a small pure function of PyTensor variables:

1. ``draw(rng, shape, dtype, noise)`` draws the continuous noise for ``S`` draws, shape
   ``(S, ..., k)``, and returns ``(next_rng, noise_tensors)``.
2. ``bits(logits, noise_tensors, noise)`` builds the bit vectors that ``f`` must see, stacked as
   ``(E, S, ..., k)``: ``E`` evaluation groups of ``S`` draws (``E = 2`` for an antithetic pair).
3. ``gradient(logits, noise_tensors, fvals, noise)`` turns the ``(E, S, ...)`` values of ``f``
   into one gradient estimate per draw, shape ``(S, ..., k)``.

``value(logits, fvals)`` returns the Monte Carlo estimate of ``E[f(b)]`` whose pathwise gradient
flows into ``f``'s own parameters; by default the mean over all evaluations.

Estimators know nothing of PyMC models: ``f`` is just values on bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pmcgrad.estimators import streams
from pmcgrad.estimators.noise import NoiseDistribution

__all__ = [
    "FAMILIES",
    "Estimator",
    "antithetic_bits",
    "bernoulli_score",
    "bits_below",
    "draw_exponential_pair_split",
    "draw_uniform",
    "mean_value",
]

FAMILIES = ("exact", "score", "reparameterised", "antithetic")

NoiseTensors = tuple[TensorVariable, ...]


def mean_value(logits: TensorVariable, fvals: TensorVariable) -> TensorVariable:
    """Mean of ``f`` over every evaluation, ``(E, S, ...) -> (...)``.

    Every evaluation group of a coupled estimator is marginally ``Bernoulli(sigmoid(logits))``,
    so the plain mean is an unbiased estimate of ``E[f(b)]``.
    """
    return fvals.mean(axis=(0, 1))


@dataclass(frozen=True)
class Estimator:
    """A registered gradient estimator for ``grad_logits E[f(b)]``, ``b ~ Bernoulli(sigmoid)``.

    The metadata fields are the rows of the README's and the report's estimator table.
    """

    name: str
    op_name: str
    family: str
    unbiased: bool
    formula: str
    reference: str
    draw: Callable[..., tuple[TensorVariable, NoiseTensors]]
    bits: Callable[..., TensorVariable]
    gradient: Callable[..., TensorVariable]
    evaluations_per_draw: int | Callable[[int], int] = 1
    min_samples: int = 1
    value: Callable[[TensorVariable, TensorVariable], TensorVariable] = mean_value
    uses_noise: bool = False
    needs_symmetric_noise: bool = False
    # True for an estimator that enumerates all 2^k vectors (its k is capped by exact_limit).
    enumerates: bool = False
    evaluations_text: str = field(default="")

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family {self.family!r} of {self.name!r} is not one of {FAMILIES}")

    def evaluations(self, k: int) -> int:
        """f-evaluations spent per draw at dimension ``k``."""
        per_draw = self.evaluations_per_draw
        return per_draw(k) if callable(per_draw) else per_draw

    @property
    def evaluations_label(self) -> str:
        """Human-readable f-evaluations per draw, for tables."""
        if self.evaluations_text:
            return self.evaluations_text
        return str(self.evaluations_per_draw)

    def check_noise(self, noise: NoiseDistribution) -> None:
        """Refuse a noise distribution this estimator cannot use."""
        if self.needs_symmetric_noise and not noise.symmetric:
            raise ValueError(
                f"estimator {self.name!r} needs a noise distribution symmetric about 0 "
                f"(its antithetic partner is -eps); {noise.name!r} is not symmetric"
            )


def bits_below(u: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``1{u < sigmoid(phi)}`` as ``logits``' dtype: ``Bernoulli(p)`` bits from uniforms ``u``."""
    return (u < pt.sigmoid(logits)).astype(logits.dtype)


def antithetic_bits(u: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """The bits of ``u`` and of its partner ``1 - u``, stacked ``[2, S, ..., k]``."""
    p = pt.sigmoid(logits)
    return pt.stack([u < p, 1 - u < p]).astype(logits.dtype)


def bernoulli_score(bits: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``b - sigmoid(phi)``, the score of a Bernoulli in its logit.

    Written as ``b sigmoid(-phi) - (1 - b) sigmoid(phi)`` so that ``1 - p`` keeps its relative
    precision when ``p`` rounds to 1 (``phi = 50``).
    """
    return bits * pt.sigmoid(-logits) - (1 - bits) * pt.sigmoid(logits)


def draw_uniform(rng, shape, dtype) -> tuple[TensorVariable, TensorVariable]:
    """One ``U(0, 1)`` draw of ``shape``; returns ``(next_rng, u)``."""
    return streams.uniform(rng, shape, dtype)


def draw_exponential_pair_split(rng, shape, dtype) -> tuple[TensorVariable, NoiseTensors]:
    """An ``Exp(1)`` pair as ``(s, w)``: ``e1 = s (1 - w)``, ``e2 = s w``.

    ``s = e1 + e2 ~ Gamma(2, 1)`` and ``w = e2 / (e1 + e2) ~ U(0, 1)`` are independent (MATH.md:
    the AR step conditions on ``w``), so drawing ``s = -log(u1 u2)`` and ``w`` gives exactly the
    law of two independent exponentials with one logarithm instead of two, and the exponential
    estimators' bit ``1{e^phi e1 > e2}`` is exactly ``1{w < sigmoid(phi)}``.
    """
    rng, u = streams.uniform(rng, (3, *shape), dtype)  # one draw: one hashing loop
    return rng, (-pt.log(u[0] * u[1]), u[2])
