"""Gaussian variational families for the continuous part, on PyMC's unconstrained space.

Every parameter carries a leading "start" dimension ``M``: the independent initialisations of
``fit(starts=M)`` run as one vectorised graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

__all__ = ["FAMILIES", "GaussianFamily", "bernoulli_entropy", "make_family"]

FAMILIES = ("meanfield", "fullrank")

_HALF_LOG_2PI_E = 0.5 * (1.0 + math.log(2 * math.pi))


@dataclass(frozen=True)
class GaussianFamily:
    """``q(theta) = N(mean, scale scale^T)`` per start; ``draw`` maps ``eps (S, M, D)`` to theta.

    ``params`` are the shared variables the optimiser updates.
    """

    name: str
    params: dict[str, pytensor.compile.SharedVariable]
    draw: Callable[[TensorVariable], TensorVariable]
    entropy: Callable[[], TensorVariable]  # (M,)
    marginal_std: Callable[[], TensorVariable]  # (M, D)


def make_family(name: str, initial: np.ndarray, starts: int, rng: np.random.Generator,
                init_scale: float = 0.1) -> GaussianFamily:
    """Build family ``name`` around ``initial (D,)``; starts after the first are jittered."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; valid families: {', '.join(FAMILIES)}")
    dim = initial.shape[0]
    mean = np.tile(initial, (starts, 1))
    mean[1:] += rng.normal(scale=1.0, size=(starts - 1, dim))
    rho0 = _softplus_inverse(init_scale)
    mean_var = pytensor.shared(mean, name="mean")
    if name == "meanfield":
        rho = pytensor.shared(np.full((starts, dim), rho0), name="rho")
        return GaussianFamily(
            name,
            {"mean": mean_var, "rho": rho},
            draw=lambda eps: mean_var + pt.softplus(rho) * eps,
            entropy=lambda: pt.log(pt.softplus(rho)).sum(-1) + dim * _HALF_LOG_2PI_E,
            marginal_std=lambda: pt.softplus(rho),
        )
    # fullrank: theta = mean + L eps with L lower triangular, positive diagonal softplus(raw_ii)
    raw = np.zeros((starts, dim, dim))
    raw[:, np.arange(dim), np.arange(dim)] = rho0
    raw_var = pytensor.shared(raw, name="scale_tril_raw")

    def cholesky() -> TensorVariable:
        diagonal = pt.softplus(pt.diagonal(raw_var, axis1=-2, axis2=-1))  # (M, D)
        strictly_lower = pt.tril(raw_var, k=-1)
        return strictly_lower + pt.eye(dim)[None] * diagonal[..., None]  # (M, D, D)

    def draw(eps):  # eps (S, M, D) -> (S, M, D)
        return mean_var + (cholesky()[None] @ eps[..., None])[..., 0]

    def entropy():
        diagonal = pt.softplus(pt.diagonal(raw_var, axis1=-2, axis2=-1))
        return pt.log(diagonal).sum(-1) + dim * _HALF_LOG_2PI_E

    def marginal_std():
        return pt.sqrt((cholesky() ** 2).sum(-1))  # sqrt(diag(L L^T))

    return GaussianFamily(name, {"mean": mean_var, "scale_tril_raw": raw_var}, draw, entropy,
                          marginal_std)


def bernoulli_entropy(logits: TensorVariable) -> TensorVariable:
    """``H[Bernoulli(sigmoid(phi))] = p softplus(-phi) + (1 - p) softplus(phi)``, elementwise."""
    p = pt.sigmoid(logits)
    return p * pt.softplus(-logits) + (1 - p) * pt.softplus(logits)


def _softplus_inverse(x: float) -> float:
    return float(np.log(np.expm1(x)))
