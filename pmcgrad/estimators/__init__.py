"""The registry of gradient estimators for Bernoulli latents.

One explicit table, in the order of MATH.md. ``register_estimator`` adds a user's own.
"""

from __future__ import annotations

from pmcgrad.estimators import streams
from pmcgrad.estimators.base import (
    FAMILIES,
    Estimator,
    draw_exponential_pair_split,
    draw_uniform,
)
from pmcgrad.estimators.coupled import ANTITHETIC_EXP, ANTITHETIC_NOISE, ARM, DISARM
from pmcgrad.estimators.exact import EXACT, enumerate_bits
from pmcgrad.estimators.noise import NoiseDistribution, get_noise, noise_names, register_noise
from pmcgrad.estimators.reparam import AR, EXP_SCORE, NOISE_SCORE, UNIFORM_BOUNDARY, UNIFORM_NAIVE
from pmcgrad.estimators.score import REINFORCE, REINFORCE_LOO

__all__ = [
    "FAMILIES",
    "Estimator",
    "NoiseDistribution",
    "draw_exponential_pair_split",
    "draw_uniform",
    "enumerate_bits",
    "estimator_names",
    "estimator_table",
    "estimator_table_markdown",
    "get_estimator",
    "get_noise",
    "noise_names",
    "register_estimator",
    "register_noise",
    "streams",
]

_REGISTRY: dict[str, Estimator] = {
    estimator.name: estimator
    for estimator in (
        EXACT,
        REINFORCE,
        REINFORCE_LOO,
        EXP_SCORE,
        NOISE_SCORE,
        UNIFORM_BOUNDARY,
        UNIFORM_NAIVE,
        ANTITHETIC_EXP,
        ANTITHETIC_NOISE,
        AR,
        ARM,
        DISARM,
    )
}


def register_estimator(estimator: Estimator, *, overwrite: bool = False) -> Estimator:
    """Add ``estimator`` to the registry under ``estimator.name`` and return it."""
    if not isinstance(estimator, Estimator):
        raise TypeError(f"expected an Estimator, got {type(estimator).__name__}")
    if estimator.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"estimator {estimator.name!r} is already registered; pass overwrite=True to replace it"
        )
    _REGISTRY[estimator.name] = estimator
    return estimator


def get_estimator(estimator: str | Estimator) -> Estimator:
    """Look an estimator up by name (an ``Estimator`` passes through)."""
    if isinstance(estimator, Estimator):
        return estimator
    try:
        return _REGISTRY[estimator]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown estimator {estimator!r}; registered estimators: {', '.join(_REGISTRY)}"
        ) from None


def estimator_names(*, unbiased_only: bool = False) -> list[str]:
    """Registered names in registry order; ``unbiased_only`` drops the biased ones."""
    return [name for name, est in _REGISTRY.items() if est.unbiased or not unbiased_only]


def estimator_table() -> list[dict[str, object]]:
    """One row per registered estimator: the metadata the README and the report print."""
    return [
        {
            "name": est.name,
            "op": est.op_name,
            "family": est.family,
            "f_evaluations": est.evaluations_label,
            "unbiased": est.unbiased,
            "min_samples": est.min_samples,
            "formula": est.formula,
            "reference": est.reference,
        }
        for est in _REGISTRY.values()
    ]


def estimator_table_markdown() -> str:
    """The registry as the Markdown table the README shows (a test keeps them equal)."""
    lines = [
        "| name | op | family | f-evals per draw | unbiased | min S | gradient estimate | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in estimator_table():
        lines.append(
            f"| `{row['name']}` | `{row['op']}` | {row['family']} | {row['f_evaluations']} | "
            f"{'yes' if row['unbiased'] else '**no**'} | {row['min_samples']} | "
            f"`{row['formula']}` | {row['reference']} |"
        )
    return "\n".join(lines)
