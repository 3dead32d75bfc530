"""Continuous noise for the thresholded reparameterisation ``b = 1{eps < F^-1(sigmoid(phi))}``.

The source note's "arbitrary continuous variable on R" (docs/math.md, ``noise_score``). A
distribution is a CDF/PDF pair written as PyTensor expressions; the inverse CDF and the
derivative of the log density are optional, and are derived when missing (bisection on the
CDF, autodiff of ``log pdf``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.tensor.variable import TensorVariable

from pmcgrad import streams

__all__ = [
    "NoiseDistribution",
    "get_noise",
    "noise_names",
    "register_noise",
]

Expr = Callable[[TensorVariable], TensorVariable]

# Logits are clipped to +-CLIP before the threshold F^-1(sigmoid(phi)) is formed, because
# sigmoid(phi) rounds to exactly 1 beyond ~37 in float64 (~17 in float32) and F^-1(1) = inf.
# At the clip the probability mass moved is below 1e-13 (float64) / 6e-6 (float32).
_LOGIT_CLIP = {"float64": 30.0, "float32": 12.0}

# Bracket for the generic bisection inverse CDF; 2e4 / 2^60 ~ 2e-14 resolution.
_BISECTION_BRACKET = 1.0e4
_BISECTION_STEPS = 60


@dataclass(frozen=True)
class NoiseDistribution:
    """A continuous distribution on R given by PyTensor expressions.

    ``cdf`` and ``pdf`` are required. ``icdf`` (inverse CDF) defaults to a bisection on ``cdf``
    over ``[-1e4, 1e4]``; ``dlogpdf`` (``d/dx log pdf(x)``) defaults to autodiff of
    ``log(pdf(x))``. ``symmetric`` marks ``pdf(x) = pdf(-x)``, which ``antithetic_noise`` needs.
    """

    name: str
    cdf: Expr
    pdf: Expr
    icdf: Expr | None = None
    dlogpdf: Expr | None = None
    symmetric: bool = False
    # Optional exact threshold F^-1(sigmoid(phi)) and its derivative in phi, when a closed
    # form avoids the clipping (logistic noise: the threshold is phi itself).
    threshold: Expr | None = None
    threshold_slope: Expr | None = None
    # Optional d/dx log pdf(x) at x = F^-1(u), as a function of u, when a closed form avoids
    # the inverse CDF (logistic noise: 1 - 2u). The estimators draw u and score it.
    quantile_score: Expr | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"a noise distribution's name must be a non-empty string; "
                             f"got name={self.name!r}")
        for attribute in ("cdf", "pdf"):
            if not callable(getattr(self, attribute)):
                raise TypeError(f"{attribute} of noise {self.name!r} must be a callable "
                                f"PyTensor expression, got {getattr(self, attribute)!r}")
        for attribute in ("icdf", "dlogpdf", "threshold", "threshold_slope", "quantile_score"):
            value = getattr(self, attribute)
            if value is not None and not callable(value):
                raise TypeError(f"{attribute} of noise {self.name!r} must be callable or "
                                f"None, got {value!r}")

    def inverse_cdf(self, u: TensorVariable) -> TensorVariable:
        """``F^-1(u)``, elementwise."""
        if self.icdf is not None:
            return self.icdf(u)
        return _bisection_icdf(self.cdf, u)

    def score(self, eps: TensorVariable) -> TensorVariable:
        """``d/dx log pdf(x)`` at ``eps``, elementwise."""
        if self.dlogpdf is not None:
            return self.dlogpdf(eps)
        x = eps.type()
        dlog = pytensor.grad(pt.log(self.pdf(x)).sum(), x)
        return graph_replace(dlog, {x: eps}, strict=False)

    def score_at_quantile(self, u: TensorVariable) -> TensorVariable:
        """``d/dx log pdf(x)`` at ``x = F^-1(u)``, elementwise."""
        if self.quantile_score is not None:
            return self.quantile_score(u)
        return self.score(self.inverse_cdf(u))

    def threshold_and_slope(self, logits: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
        """``c = F^-1(sigmoid(phi))`` and ``dc/dphi = p (1 - p) / pdf(c)``, elementwise."""
        if self.threshold is not None and self.threshold_slope is not None:
            return self.threshold(logits), self.threshold_slope(logits)
        clip = _LOGIT_CLIP.get(logits.dtype, _LOGIT_CLIP["float32"])
        phi = pt.clip(logits, -clip, clip)
        p = pt.sigmoid(phi)
        c = self.inverse_cdf(p)
        return c, p * (1 - p) / self.pdf(c)

    def sample_quantile(self, rng, shape, dtype) -> tuple[TensorVariable, TensorVariable]:
        """Draw the quantile ``u`` of ``eps = F^-1(u)``: ``U(0, 1)`` kept one machine epsilon
        inside the interval, so that ``F^-1(u)`` stays finite; returns ``(next_rng, u)``."""
        margin = float(np.finfo(dtype).eps)
        return streams.uniform(rng, shape, dtype, low=margin, high=1.0 - margin)

    def sample(self, rng, shape, dtype) -> tuple[TensorVariable, TensorVariable]:
        """Draw ``eps`` of ``shape`` by inversion; returns ``(next_rng, eps)``."""
        next_rng, u = self.sample_quantile(rng, shape, dtype)
        return next_rng, self.inverse_cdf(u)


_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)

_REGISTRY: dict[str, NoiseDistribution] = {}


def register_noise(noise: NoiseDistribution, *, overwrite: bool = False) -> NoiseDistribution:
    """Add ``noise`` to the registry under ``noise.name`` and return it."""
    if not isinstance(noise, NoiseDistribution):
        raise TypeError(
            f"register_noise expects a pmcgrad.NoiseDistribution (a name with cdf and pdf "
            f"expressions), got {noise!r} of type {type(noise).__name__}; a registered noise "
            "is used by name: expectation(..., noise='logistic')"
        )
    check_overwrite(overwrite, "register_noise")
    if noise.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"noise {noise.name!r} is already registered; pass overwrite=True to replace it"
        )
    _REGISTRY[noise.name] = noise
    return noise


def check_overwrite(overwrite, function: str) -> None:
    """``overwrite=`` of a registry must be a bool: a string such as ``"no"`` is truthy, and
    would replace a registered entry that the caller meant to keep."""
    if not isinstance(overwrite, bool):
        raise TypeError(f"{function}(overwrite=...) must be True or False, got {overwrite!r}")


def get_noise(noise: str | NoiseDistribution) -> NoiseDistribution:
    """Look a noise distribution up by name (a ``NoiseDistribution`` passes through)."""
    if isinstance(noise, NoiseDistribution):
        return noise
    if not isinstance(noise, str):
        raise TypeError(
            f"noise must be a registered name ({', '.join(noise_names())}) or a "
            f"NoiseDistribution; got {noise!r} of type {type(noise).__name__}"
        )
    try:
        return _REGISTRY[noise]
    except KeyError:
        raise ValueError(
            f"unknown noise distribution {noise!r}; registered: {', '.join(noise_names())}"
        ) from None


def noise_names() -> list[str]:
    """Names of the registered noise distributions."""
    return sorted(_REGISTRY)


# Logistic noise: F^-1(sigmoid(phi)) = phi exactly, so no clipping; score 1 - 2 sigmoid(x),
# which is 1 - 2u at x = F^-1(u).
register_noise(
    NoiseDistribution(
        name="logistic",
        cdf=pt.sigmoid,
        pdf=lambda x: pt.sigmoid(x) * pt.sigmoid(-x),
        icdf=lambda u: pt.log(u) - pt.log1p(-u),
        dlogpdf=lambda x: 1 - 2 * pt.sigmoid(x),
        symmetric=True,
        threshold=lambda phi: phi,
        threshold_slope=pt.ones_like,
        quantile_score=lambda u: 1 - 2 * u,
    )
)

register_noise(
    NoiseDistribution(
        name="normal",
        cdf=lambda x: 0.5 * pt.erfc(-x / _SQRT2),
        pdf=lambda x: pt.exp(-0.5 * x**2 - _LOG_SQRT_2PI),
        icdf=lambda u: _SQRT2 * pt.erfinv(2 * u - 1),
        dlogpdf=lambda x: -x,
        symmetric=True,
    )
)

# Standard Gumbel (maximum): F(x) = exp(-exp(-x)); not symmetric.
register_noise(
    NoiseDistribution(
        name="gumbel",
        cdf=lambda x: pt.exp(-pt.exp(-x)),
        pdf=lambda x: pt.exp(-x - pt.exp(-x)),
        icdf=lambda u: -pt.log(-pt.log(u)),
        dlogpdf=lambda x: pt.exp(-x) - 1,
    )
)


def _bisection_icdf(cdf: Expr, u: TensorVariable) -> TensorVariable:
    """Inverse CDF by a fixed number of bisection steps, unrolled so backends can fuse them."""
    lo = pt.full_like(u, -_BISECTION_BRACKET)
    hi = pt.full_like(u, _BISECTION_BRACKET)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < u
        lo = pt.where(below, mid, lo)
        hi = pt.where(below, hi, mid)
    return 0.5 * (lo + hi)
