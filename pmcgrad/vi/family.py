"""Gaussian variational families for the continuous part, on PyMC's unconstrained space.

Every parameter carries a leading "start" dimension ``M``: the independent initialisations of
``fit(n_starts=M)`` run as one vectorised graph. ``draw(eps, bits)`` maps standard normal noise
``(..., M, D)`` to ``theta``; only the bit-conditioned family reads ``bits (..., M, K)``.

``log_density(theta, bits)`` is ``log q(theta | z)`` with the parameters held constant: the
objective scores ``log p - log q`` with it ("sticking the landing", docs/math.md), so its
gradient reaches the parameters only through ``theta``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad
from pytensor.tensor.variable import TensorVariable

from pmcgrad.vi.model import ModelStructure

__all__ = [
    "FAMILIES",
    "GaussianFamily",
    "bernoulli_entropy",
    "make_family",
    "paired_blocks",
    "pairing",
]

FAMILIES = ("meanfield", "fullrank", "bit_conditioned")

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_HALF_LOG_2PI_E = 0.5 * (1.0 + math.log(2 * math.pi))
# The softplus scale every family starts from: narrow enough that the first draws stay near
# the model's initial point.
_INIT_SCALE = 0.1


@dataclass(frozen=True)
class GaussianFamily:
    """A Gaussian ``q(theta)`` or ``q(theta | z)`` per start.

    ``draw(eps, bits)`` -> theta ``(..., M, D)``. ``entropy(bits)`` -> ``H[q(theta | z)]``
    ``(..., M)``; for the unconditional families it ignores ``bits`` and is ``(M,)``.
    ``log_density(theta, bits)`` -> ``log q(theta | z)`` ``(..., M)`` with constant parameters.
    ``marginal_std(bits)`` -> ``(..., M, D)``. ``params`` are the shared variables the
    optimiser updates; ``initial_values(mean, rng)`` their starting values around the means
    ``(M, D)``.
    """

    name: str
    params: dict[str, pytensor.compile.SharedVariable]
    draw: Callable[[TensorVariable, TensorVariable | None], TensorVariable]
    entropy: Callable[[TensorVariable | None], TensorVariable]
    log_density: Callable[[TensorVariable, TensorVariable | None], TensorVariable]
    marginal_std: Callable[[TensorVariable | None], TensorVariable]
    initial_values: Callable[[np.ndarray], dict[str, np.ndarray]]
    # The scale each location parameter's coordinates live on, by parameter name: the
    # optimiser can move locations in these units (see pmcgrad.vi.convergence).
    location_scales: Callable[[], dict[str, TensorVariable]] = dict
    conditional: bool = False
    # Conditional families: ``(log q(theta_d | z), H[q(theta_d | z)])`` per coordinate,
    # ``(..., M, D)`` each, with constant parameters in ``log q``; the objective gives each
    # coordinate's terms to the row of the bit it depends on (per-observation latents).
    coordinate_terms: Callable | None = None


def make_family(name: str, structure: ModelStructure, starts: int) -> GaussianFamily:
    """Family ``name`` for ``structure``'s continuous variables, ``starts`` copies of each
    parameter; the shared variables hold placeholders until a fit state is loaded."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; valid families: {', '.join(FAMILIES)}")
    dim = structure.n_reals
    mean = pytensor.shared(np.zeros((starts, dim)), name="mean", shape=(starts, dim))
    rho0 = _softplus_inverse(_INIT_SCALE)
    if name == "meanfield":
        rho = pytensor.shared(np.zeros((starts, dim)), name="rho", shape=(starts, dim))

        def scale(bits=None):
            return pt.softplus(rho)

        return GaussianFamily(
            name,
            {"mean": mean, "rho": rho},
            draw=lambda eps, bits=None: mean + scale() * eps,
            entropy=lambda bits=None: _gaussian_entropy(scale()),
            log_density=lambda theta, bits=None: _diagonal_log_density(
                theta, disconnected_grad(mean), disconnected_grad(scale())),
            marginal_std=scale,
            initial_values=lambda m: {"mean": m, "rho": np.full_like(m, rho0)},
            location_scales=lambda: {"mean": scale()},
        )
    if name == "fullrank":
        return _fullrank(mean, starts, dim, rho0)
    return _bit_conditioned(mean, structure, starts, rho0)


def pairing(structure: ModelStructure) -> np.ndarray | None:
    """The bit each continuous coordinate's mean and scale depend on, ``(D,)``, or ``None``.

    A continuous variable with the same shape as a Bernoulli variable (``beta`` and ``z`` of
    shape ``(k,)``) is paired position by position: ``beta_j`` with ``z_j``, and entry ``j``
    holds ``z_j``'s flat index; a continuous variable without a partner holds ``-1`` (it does
    not depend on the bits). ``None`` when no variable pairs at all: then every coordinate
    depends on every bit (the dense family).

    With per-observation latents there is no dense family: a global parameter is not
    conditioned on local bits (docs/math.md, "The bit-conditioned family with local
    latents"). Its posterior moves by O(1/N) when one row's bit flips, and a dependence on
    every row's bit would make each row's term depend on all rows, which the per-row
    estimator cannot score; with N rows the dense shift also sums N bits into every mean and
    log-scale, whose early gradient steps diverged on a mixture.
    """
    partner_of = np.full(structure.n_reals, -1)
    for real, partner in paired_blocks(structure):
        partner_of[real.start : real.stop] = np.arange(partner.start, partner.stop)
    if structure.local is not None:
        return partner_of
    return partner_of if (partner_of >= 0).any() else None


def paired_blocks(structure: ModelStructure) -> list[tuple]:
    """``(real block, bit block)`` pairs of equal shape (each real block with the first
    Bernoulli block of its shape)."""
    pairs = []
    for real in structure.reals:
        partner = next((b for b in structure.bits if b.shape == real.shape), None)
        if partner is not None:
            pairs.append((real, partner))
    return pairs


def bernoulli_entropy(logits: TensorVariable) -> TensorVariable:
    """``H[Bernoulli(sigmoid(phi))] = p softplus(-phi) + (1 - p) softplus(phi)``, elementwise."""
    p = pt.sigmoid(logits)
    return p * pt.softplus(-logits) + (1 - p) * pt.softplus(logits)


def bernoulli_log_density(bits: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """``log q(z) = z log p + (1 - z) log(1 - p)``, elementwise, stable at extreme logits."""
    return -(bits * pt.softplus(-logits) + (1 - bits) * pt.softplus(logits))


def _fullrank(mean, starts: int, dim: int, rho0: float) -> GaussianFamily:
    # theta = mean + L eps with L lower triangular, positive diagonal softplus(raw_ii)
    raw = pytensor.shared(np.zeros((starts, dim, dim)), name="scale_tril_raw",
                          shape=(starts, dim, dim))

    def diagonal(raw_var):
        return pt.softplus(pt.diagonal(raw_var, axis1=-2, axis2=-1))  # (M, D)

    def cholesky(raw_var):
        return pt.tril(raw_var, k=-1) + pt.eye(dim)[None] * diagonal(raw_var)[..., None]

    def log_density(theta, bits=None):
        # log N(theta; mean, L L^T) = -sum log diag L - |L^-1 (theta - mean)|^2 / 2 - D/2 log 2pi
        fixed_raw = disconnected_grad(raw)
        chol = cholesky(fixed_raw)
        centred = theta - disconnected_grad(mean)  # (..., M, D)
        lead = centred.ndim - 2
        chol_b = pt.broadcast_to(chol, (*centred.shape[:lead], *chol.shape))
        whitened = pt.linalg.solve_triangular(chol_b, centred[..., None], lower=True)[..., 0]
        return (-pt.log(diagonal(fixed_raw)).sum(-1) - 0.5 * (whitened**2).sum(-1)
                - dim * _HALF_LOG_2PI)

    def initial_values(m):
        values = np.zeros((m.shape[0], dim, dim))
        values[:, np.arange(dim), np.arange(dim)] = rho0
        return {"mean": m, "scale_tril_raw": values}

    return GaussianFamily(
        "fullrank",
        {"mean": mean, "scale_tril_raw": raw},
        draw=lambda eps, bits=None: mean + (cholesky(raw) @ eps[..., None])[..., 0],
        entropy=lambda bits=None: _gaussian_entropy(diagonal(raw)),
        log_density=log_density,
        marginal_std=lambda bits=None: pt.sqrt((cholesky(raw) ** 2).sum(-1)),  # sqrt diag LL^T
        initial_values=initial_values,
        location_scales=lambda: {"mean": pt.sqrt((cholesky(raw) ** 2).sum(-1))},
    )


def _bit_conditioned(mean, structure: ModelStructure, starts: int, rho0: float
                     ) -> GaussianFamily:
    # q(theta | z) = N(mean + W z, diag(softplus(rho + V z))^2): beta_j can sit on the slab
    # when z_j = 1 and at the prior when z_j = 0. With a pairing, W and V are diagonal and
    # stored as (M, D) vectors, so a step costs O(D); only a model with no pairing at all
    # stores them dense, (M, D, K), at O(D K).
    dim, n_bits = structure.n_reals, structure.n_bits
    partner_of = pairing(structure)
    shift_shape = (starts, dim) if partner_of is not None else (starts, dim, n_bits)
    rho = pytensor.shared(np.zeros((starts, dim)), name="rho", shape=(starts, dim))
    shift = pytensor.shared(np.zeros(shift_shape), name="mean_shift", shape=shift_shape)
    scale_shift = pytensor.shared(np.zeros(shift_shape), name="scale_shift", shape=shift_shape)

    def location_scales():
        base = pt.softplus(rho)  # (M, D): the z = 0 member's scale
        if partner_of is None:
            return {"mean": base, "mean_shift": base[..., None]}
        # The shift lives on the z = 1 member's scale.
        return {"mean": base, "mean_shift": pt.softplus(rho + scale_shift)}

    if partner_of is not None:
        index = pt.constant(np.maximum(partner_of, 0))
        paired = pt.constant((partner_of >= 0).astype("float64"))

        def affine(base, weights, bits):
            if bits is None:  # the z = 0 member
                return base
            return base + weights * (bits[..., index] * paired)  # (..., M, D)
    else:
        def affine(base, weights, bits):
            if bits is None:
                return base
            return base + (weights @ bits[..., None])[..., 0]  # (..., M, D)

    def location(bits, fixed=False):
        params = (mean, shift) if not fixed else (disconnected_grad(mean),
                                                  disconnected_grad(shift))
        return affine(*params, bits)

    def scale(bits, fixed=False):
        params = (rho, scale_shift) if not fixed else (disconnected_grad(rho),
                                                       disconnected_grad(scale_shift))
        return pt.softplus(affine(*params, bits))

    return GaussianFamily(
        "bit_conditioned",
        {"mean": mean, "rho": rho, "mean_shift": shift, "scale_shift": scale_shift},
        draw=lambda eps, bits: location(bits) + scale(bits) * eps,
        entropy=lambda bits: _gaussian_entropy(scale(bits)),
        log_density=lambda theta, bits: _diagonal_log_density(
            theta, location(bits, fixed=True), scale(bits, fixed=True)),
        coordinate_terms=lambda theta, bits: (
            _diagonal_log_density(theta, location(bits, fixed=True), scale(bits, fixed=True),
                                  total=False),
            pt.log(scale(bits)) + _HALF_LOG_2PI_E),
        marginal_std=scale,
        initial_values=lambda m: {"mean": m, "rho": np.full_like(m, rho0),
                                  "mean_shift": np.zeros(shift_shape),
                                  "scale_shift": np.zeros(shift_shape)},
        location_scales=location_scales,
        conditional=True,
    )


def _gaussian_entropy(scale: TensorVariable) -> TensorVariable:
    """Entropy of a Gaussian with Cholesky diagonal ``scale (..., D)``: ``(...)``."""
    return pt.log(scale).sum(-1) + scale.shape[-1] * _HALF_LOG_2PI_E


def _diagonal_log_density(theta, location, scale, total: bool = True) -> TensorVariable:
    """``log N(theta; location, diag(scale)^2)`` summed over the last axis (per coordinate
    with ``total=False``)."""
    standard = (theta - location) / scale
    terms = -pt.log(scale) - 0.5 * standard**2 - _HALF_LOG_2PI
    return terms.sum(-1) if total else terms


def _softplus_inverse(x: float) -> float:
    return float(np.log(np.expm1(x)))
