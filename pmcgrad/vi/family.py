"""Gaussian variational families for the continuous part, on PyMC's unconstrained space.

Every parameter carries a leading "start" dimension ``M``: the independent initialisations of
``fit(starts=M)`` run as one vectorised graph. ``draw(eps, bits)`` maps standard normal noise
``(..., M, D)`` to ``theta``; only the bit-conditioned family reads ``bits (..., M, K)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from pmcgrad.vi.model import ModelStructure

__all__ = ["FAMILIES", "GaussianFamily", "bernoulli_entropy", "make_family", "pairing_mask"]

FAMILIES = ("meanfield", "fullrank", "bit_conditioned")

_HALF_LOG_2PI_E = 0.5 * (1.0 + math.log(2 * math.pi))


@dataclass(frozen=True)
class GaussianFamily:
    """A Gaussian ``q(theta)`` or ``q(theta | z)`` per start.

    ``draw(eps, bits)`` -> theta ``(..., M, D)``. ``entropy(bits)`` -> ``H[q(theta | z)]``
    ``(..., M)``; for the unconditional families it ignores ``bits`` and is ``(M,)``.
    ``marginal_std(bits)`` -> ``(..., M, D)``. ``params`` are the shared variables the optimiser
    updates.
    """

    name: str
    params: dict[str, pytensor.compile.SharedVariable]
    draw: Callable[[TensorVariable, TensorVariable | None], TensorVariable]
    entropy: Callable[[TensorVariable | None], TensorVariable]
    marginal_std: Callable[[TensorVariable | None], TensorVariable]
    conditional: bool = False


def make_family(name: str, structure: ModelStructure, starts: int, rng: np.random.Generator,
                init_scale: float = 0.1) -> GaussianFamily:
    """Build family ``name`` around the model's initial point; later starts are jittered."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; valid families: {', '.join(FAMILIES)}")
    initial = structure.initial_reals
    dim = initial.shape[0]
    mean = np.tile(initial, (starts, 1))
    mean[1:] += rng.normal(scale=1.0, size=(starts - 1, dim))
    mean_var = pytensor.shared(mean, name="mean")
    rho0 = _softplus_inverse(init_scale)
    if name == "meanfield":
        rho = pytensor.shared(np.full((starts, dim), rho0), name="rho")
        return GaussianFamily(
            name,
            {"mean": mean_var, "rho": rho},
            draw=lambda eps, bits=None: mean_var + pt.softplus(rho) * eps,
            entropy=lambda bits=None: _gaussian_entropy(pt.softplus(rho)),
            marginal_std=lambda bits=None: pt.softplus(rho),
        )
    if name == "fullrank":
        return _fullrank(mean_var, starts, dim, rho0)
    return _bit_conditioned(mean_var, structure, starts, rho0)


def pairing_mask(structure: ModelStructure) -> np.ndarray:
    """Which bits each continuous coordinate's mean and scale may depend on, ``(D, K)``.

    A continuous variable with the same shape as a Bernoulli variable (``beta`` and ``z`` of
    shape ``(k,)``) is paired position by position: ``beta_j`` with ``z_j``. Where no variable
    pairs at all, every coordinate depends on every bit (dense). A continuous variable without
    a partner, next to others that have one, does not depend on the bits.
    """
    mask = np.zeros((structure.n_reals, structure.n_bits))
    for real in structure.reals:
        partner = next((b for b in structure.bits if b.shape == real.shape), None)
        if partner is not None:
            index = np.arange(real.size)
            mask[real.start + index, partner.start + index] = 1.0
    return mask if mask.any() else np.ones_like(mask)


def bernoulli_entropy(logits: TensorVariable) -> TensorVariable:
    """``H[Bernoulli(sigmoid(phi))] = p softplus(-phi) + (1 - p) softplus(phi)``, elementwise."""
    p = pt.sigmoid(logits)
    return p * pt.softplus(-logits) + (1 - p) * pt.softplus(logits)


def _fullrank(mean_var, starts: int, dim: int, rho0: float) -> GaussianFamily:
    # theta = mean + L eps with L lower triangular, positive diagonal softplus(raw_ii)
    raw = np.zeros((starts, dim, dim))
    raw[:, np.arange(dim), np.arange(dim)] = rho0
    raw_var = pytensor.shared(raw, name="scale_tril_raw")

    def diagonal():
        return pt.softplus(pt.diagonal(raw_var, axis1=-2, axis2=-1))  # (M, D)

    def cholesky():
        return pt.tril(raw_var, k=-1) + pt.eye(dim)[None] * diagonal()[..., None]  # (M, D, D)

    return GaussianFamily(
        "fullrank",
        {"mean": mean_var, "scale_tril_raw": raw_var},
        draw=lambda eps, bits=None: mean_var + (cholesky() @ eps[..., None])[..., 0],
        entropy=lambda bits=None: _gaussian_entropy(diagonal()),
        marginal_std=lambda bits=None: pt.sqrt((cholesky() ** 2).sum(-1)),  # sqrt diag(L L^T)
    )


def _bit_conditioned(mean_var, structure: ModelStructure, starts: int, rho0: float
                     ) -> GaussianFamily:
    # q(theta | z) = N(mean + W z, diag(softplus(rho + V z))^2), W and V masked by the pairing,
    # so beta_j can sit on the slab when z_j = 1 and at the prior when z_j = 0.
    dim, n_bits = structure.n_reals, structure.n_bits
    mask = pt.constant(pairing_mask(structure))  # (D, K)
    rho = pytensor.shared(np.full((starts, dim), rho0), name="rho")
    shift = pytensor.shared(np.zeros((starts, dim, n_bits)), name="mean_shift")  # W
    scale_shift = pytensor.shared(np.zeros((starts, dim, n_bits)), name="scale_shift")  # V

    def affine(base, weights, bits):
        if bits is None:  # the z = 0 member
            return base
        return base + ((weights * mask) @ bits[..., None])[..., 0]  # (..., M, D)

    def scale(bits):
        return pt.softplus(affine(rho, scale_shift, bits))

    return GaussianFamily(
        "bit_conditioned",
        {"mean": mean_var, "rho": rho, "mean_shift": shift, "scale_shift": scale_shift},
        draw=lambda eps, bits: affine(mean_var, shift, bits) + scale(bits) * eps,
        entropy=lambda bits: _gaussian_entropy(scale(bits)),
        marginal_std=scale,
        conditional=True,
    )


def _gaussian_entropy(scale: TensorVariable) -> TensorVariable:
    """Entropy of a Gaussian with Cholesky diagonal ``scale (..., D)``: ``(...)``."""
    return pt.log(scale).sum(-1) + scale.shape[-1] * _HALF_LOG_2PI_E


def _softplus_inverse(x: float) -> float:
    return float(np.log(np.expm1(x)))
