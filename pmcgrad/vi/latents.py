"""The variational distribution of the discrete latents, ``q_phi(z)``: one factor per latent.

A model with Bernoulli latents alone is fitted in *Bernoulli mode*: one logit per bit,
``q(z_j = 1) = sigmoid(phi_j)``, and a Bernoulli estimator (DisARM by default) sees float bits.
A model with categorical latents is fitted in *categorical mode*: every latent, bits included,
is a categorical with ``C`` categories (the most any latent has), ``q(z_j) =
softmax(logits_j)`` over its own categories. A latent's first logit is pinned at 0 (softmax is
shift-invariant, and a free direction would let the optimiser drift); a Bernoulli bit then has
logits ``[0, phi_j]``, exactly its Bernoulli law, so the two modes share the bits' parameters;
categories a latent does not have are ``-inf``. The estimator is categorical and sees int64
codes.

Parameters, with a leading start axis ``M``: ``logits (M, n_bits)`` and ``category_logits
(M, n_codes, C - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad
from pytensor.tensor.variable import TensorVariable

from pmcgrad.estimators.support import (
    categorical_log_probabilities,
    categorical_probabilities,
    one_hot,
)
from pmcgrad.vi.convergence import SATURATED_LOGIT
from pmcgrad.vi.family import bernoulli_entropy, bernoulli_log_density
from pmcgrad.vi.model import ModelStructure

__all__ = ["LatentFactors", "make_latent_factors", "pin_logits"]

# A fixed bit's logit inside the graph: its draws are its value (sigmoid(50) is 1.0 in
# float64), and its gradient is cut, so its stored parameter never moves. The same value as a
# saturated bit's stored logit.
_PINNED_LOGIT = SATURATED_LOGIT


def pin_logits(logits: TensorVariable, free: TensorVariable, pinned: TensorVariable
               ) -> TensorVariable:
    """``logits`` with each fixed bit's logit at +-:data:`_PINNED_LOGIT` and no gradient."""
    return pt.switch(free > 0, logits, (2 * pinned - 1) * _PINNED_LOGIT)


@dataclass(frozen=True)
class LatentFactors:
    """``q_phi(z)`` for a model's discrete latents (see the module docstring).

    ``params`` are the shared variables the optimiser updates (``logits``,
    ``category_logits``). ``estimate_logits()`` is what the estimator receives: ``(M, L)``
    in Bernoulli mode, ``(M, L, C)`` in categorical mode.
    """

    structure: ModelStructure
    params: dict[str, pytensor.compile.SharedVariable]
    categories: int  # C: 2 in Bernoulli mode

    @property
    def categorical(self) -> bool:
        return bool(self.structure.codes)

    def estimate_logits(self, fixed: bool = False) -> TensorVariable:
        """The estimator's logits; ``fixed`` holds them constant (for ``log q~``)."""
        params = self._pinned({name: disconnected_grad(var) if fixed else var
                               for name, var in self.params.items()})
        if not self.categorical:
            return params["logits"]
        return self.full_logits(params)

    def log_density(self, draws: TensorVariable, logits: TensorVariable) -> TensorVariable:
        """``log q(z)`` per latent, ``(..., L)``, for draws ``(..., L)`` and the estimator's
        logits (as :meth:`estimate_logits` gives them, or a row selection of them)."""
        if not self.categorical:
            return bernoulli_log_density(draws, logits)
        log_p = categorical_log_probabilities(logits)
        # A drawn category has positive probability; the others may be -inf, so select
        # rather than multiply by the one-hot (0 * -inf is NaN).
        chosen = pt.switch(one_hot(draws, self.categories, "bool"), log_p, 0.0)
        return chosen.sum(-1)

    def entropy(self) -> TensorVariable:
        """``H[q(z_j)]`` per latent, ``(M, L)``."""
        params = self._pinned(self.params)
        if not self.categorical:
            return bernoulli_entropy(params["logits"])
        logits = self.full_logits(params)
        p = categorical_probabilities(logits)
        log_p = categorical_log_probabilities(logits)
        return -pt.switch(p > 0, p * log_p, 0.0).sum(-1)

    def fixed_constants(self) -> tuple[TensorVariable | None, TensorVariable | None]:
        """``(free, pinned)`` constants ``(L,)``: 1 for a latent (0 where the model fixes the
        bit) and the fixed value (0 elsewhere); ``(None, None)`` when every latent is free.
        Only Bernoulli bits are ever fixed; categorical codes are always free."""
        fixed = self.structure.fixed
        if fixed is None:
            return None, None
        codes = self.structure.n_codes
        free = np.concatenate([fixed.free, np.ones(codes)])
        pinned = np.concatenate([fixed.value_vector, np.zeros(codes)])
        return pt.constant(free), pt.constant(pinned)

    def _pinned(self, params: dict) -> dict:
        """``params`` with each fixed bit's logit pinned (its draws are its value, and its
        parameter gets no gradient)."""
        free, pinned = self.fixed_constants()
        if free is None:
            return params
        n_bits = self.structure.n_bits
        return params | {"logits": pin_logits(params["logits"], free[:n_bits],
                                              pinned[:n_bits])}

    def bits(self, draws: TensorVariable) -> TensorVariable:
        """The Bernoulli bits of draws ``(..., L)`` as floats ``(..., n_bits)`` (what a
        bit-conditioned Gaussian reads)."""
        if not self.categorical:
            return draws
        return draws[..., : self.structure.n_bits].astype("float64")

    def initial_values(self, starts: int, jitter: np.random.Generator,
                       start_probabilities: np.ndarray | None) -> dict[str, np.ndarray]:
        """Start 0 at ``start_probabilities`` (bits' inclusion probabilities, or uniform);
        later starts at random logits in (-3, 3)."""
        values = {}
        n_bits = self.structure.n_bits
        if "logits" in self.params:
            logits = jitter.uniform(-3, 3, size=(starts, n_bits))
            first = np.zeros(n_bits) if start_probabilities is None else start_probabilities
            logits[0] = first
            values["logits"] = logits
        if "category_logits" in self.params:
            shape = (starts, self.structure.n_codes, self.categories - 1)
            logits = jitter.uniform(-3, 3, size=shape)
            logits[0] = 0.0  # uniform over each latent's own categories
            values["category_logits"] = logits
        return values

    def probabilities(self, params) -> np.ndarray:
        """NumPy ``q(z)`` at parameter values ``params`` (arrays with a leading start axis
        ``M``): inclusion probabilities ``(M, L)`` in Bernoulli mode (fixed bits exactly 0 or
        1), category probabilities ``(M, L, C)`` in categorical mode (0 where a latent has no
        such category)."""
        structure = self.structure
        if not self.categorical:
            logits = np.asarray(params["logits"], dtype=float)
            if structure.fixed is not None:
                logits = structure.fixed.pin_logits(logits)
            return 0.5 * (1.0 + np.tanh(0.5 * logits))
        parts = []
        if "logits" in self.params:  # a bit: [phi, 0, ...] after the pinned 0
            phi = np.asarray(params["logits"], dtype=float)[..., None]
            parts.append(np.concatenate(
                [phi, np.zeros((*phi.shape[:-1], self.categories - 2))], axis=-1))
        if "category_logits" in self.params:
            parts.append(np.asarray(params["category_logits"], dtype=float))
        free = np.concatenate(parts, axis=-2)
        full = np.concatenate([np.zeros((*free.shape[:-1], 1)), free], axis=-1)
        full = np.where(self._present(), full, -np.inf)
        full = np.exp(full - full.max(-1, keepdims=True))
        return full / full.sum(-1, keepdims=True)

    def full_logits(self, params) -> TensorVariable:
        """``(M, L, C)``: pinned zeros, the free logits, ``-inf`` where a category is absent."""
        parts = []
        if "logits" in params:  # a bit: [0, phi, -inf, ...]
            phi = params["logits"][..., None]
            pad = pt.zeros((*phi.shape[:-1], self.categories - 2))
            parts.append(pt.concatenate([phi, pad], axis=-1))
        if "category_logits" in params:
            parts.append(params["category_logits"])
        free = pt.concatenate(parts, axis=-2) if len(parts) > 1 else parts[0]
        full = pt.concatenate([pt.zeros((*free.shape[:-1], 1)), free], axis=-1)
        return pt.switch(pt.constant(self._present()), full, -np.inf)

    def _present(self) -> np.ndarray:
        """``(L, C)``: which categories each latent has."""
        counts = np.concatenate([np.full(block.size, block.categories)
                                 for block in self.structure.latents])
        return np.arange(self.categories)[None, :] < counts[:, None]


def make_latent_factors(structure: ModelStructure, starts: int) -> LatentFactors | None:
    """The factors of ``structure``'s discrete latents (``None`` without any); the shared
    variables hold placeholders until a fit state is loaded."""
    if not structure.n_latents:
        return None
    params = {}
    if structure.n_bits:
        shape = (starts, structure.n_bits)
        params["logits"] = pytensor.shared(np.zeros(shape), name="logits", shape=shape)
    categories = structure.max_categories
    if structure.n_codes:
        shape = (starts, structure.n_codes, categories - 1)
        params["category_logits"] = pytensor.shared(np.zeros(shape), name="category_logits",
                                                    shape=shape)
    return LatentFactors(structure, params, categories)
