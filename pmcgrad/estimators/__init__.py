"""The registry of gradient estimators for Bernoulli and categorical latents.

One explicit table, in the order of docs/math.md: the Bernoulli estimators, then the
categorical ones. ``register_estimator`` adds a user's own. Each estimator declares the
``support`` it handles (``"bernoulli"``: logits ``(..., k)``, float bits; ``"categorical"``:
logits ``(..., k, K)``, int64 codes) and its ``kind``.
"""

from __future__ import annotations

from pmcgrad import streams
from pmcgrad.estimators.contract import (
    KINDS,
    Bits,
    Draw,
    Estimator,
    Gradient,
    NoiseBits,
    NoiseDraw,
    NoiseGradient,
    Value,
    mean_value,
)
from pmcgrad.estimators.coupled import ANTITHETIC_EXP, ANTITHETIC_NOISE, ARM, DISARM
from pmcgrad.estimators.enumeration import (
    DEFAULT_EXACT_LIMIT,
    enumerate_bits,
    enumerate_categories,
)
from pmcgrad.estimators.exact import CATEGORICAL_EXACT, EXACT
from pmcgrad.estimators.noise import (
    NoiseDistribution,
    check_overwrite,
    get_noise,
    noise_names,
    register_noise,
)
from pmcgrad.estimators.race import ARSM, RACE_AR, RACE_SCORE
from pmcgrad.estimators.reparam import AR, EXP_SCORE, NOISE_SCORE, UNIFORM_BOUNDARY, UNIFORM_NAIVE
from pmcgrad.estimators.schemes import (
    BIT_LAYOUTS,
    NOISE_SCHEMES,
    draw_exponential_pair_split,
    draw_uniform,
)
from pmcgrad.estimators.score import (
    CATEGORICAL_REINFORCE,
    CATEGORICAL_REINFORCE_LOO,
    REINFORCE,
    REINFORCE_LOO,
)
from pmcgrad.estimators.support import BERNOULLI, CATEGORICAL, SUPPORTS

__all__ = [
    "BERNOULLI",
    "BIT_LAYOUTS",
    "BUILT_IN_ESTIMATORS",
    "CATEGORICAL",
    "DEFAULT_EXACT_LIMIT",
    "FAMILIES",
    "KINDS",
    "NOISE_SCHEMES",
    "SUPPORTS",
    "Bits",
    "Draw",
    "Estimator",
    "Gradient",
    "NoiseBits",
    "NoiseDistribution",
    "NoiseDraw",
    "NoiseGradient",
    "Value",
    "draw_exponential_pair_split",
    "draw_uniform",
    "enumerate_bits",
    "enumerate_categories",
    "estimator_names",
    "estimator_table",
    "estimator_table_markdown",
    "get_estimator",
    "get_noise",
    "mean_value",
    "noise_names",
    "register_estimator",
    "register_noise",
    "streams",
]

#: The old name of :data:`KINDS`, kept for one round.
FAMILIES = KINDS

#: The estimators pmcgrad defines, in registry order.
BUILT_IN_ESTIMATORS: tuple[Estimator, ...] = (
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
    CATEGORICAL_EXACT,
    CATEGORICAL_REINFORCE,
    CATEGORICAL_REINFORCE_LOO,
    RACE_SCORE,
    RACE_AR,
    ARSM,
)

_REGISTRY: dict[str, Estimator] = {estimator.name: estimator for estimator in BUILT_IN_ESTIMATORS}


def register_estimator(estimator: Estimator, *, overwrite: bool = False) -> Estimator:
    """Add ``estimator`` to the registry under ``estimator.name`` and return it.

    The record's own checks (non-empty names, a known ``kind`` and ``support``, functions
    callable as the contract says) ran when it was built; the shapes its functions return are
    checked each time a graph is built with it (:mod:`pmcgrad.estimators.contract`).
    """
    if not isinstance(estimator, Estimator):
        raise TypeError(f"expected a pmcgrad.Estimator, got {type(estimator).__name__}")
    check_overwrite(overwrite, "register_estimator")
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


def estimator_names(*, unbiased_only: bool = False, support: str | None = BERNOULLI
                    ) -> list[str]:
    """Registered names in registry order.

    ``support`` selects the estimators for one support: ``"bernoulli"`` (the default, so that
    "every estimator" keeps meaning every one that takes Bernoulli logits), ``"categorical"``,
    or ``None`` for all. ``unbiased_only`` drops the biased ones.
    """
    if support is not None and support not in SUPPORTS:
        raise ValueError(f"unknown support {support!r}; supports: {', '.join(SUPPORTS)}")
    return [
        name for name, est in _REGISTRY.items()
        if (est.unbiased or not unbiased_only) and (support is None or est.support == support)
    ]


def estimator_table(*, support: str | None = None) -> list[dict[str, object]]:
    """One row per registered estimator (all supports unless ``support`` is given): the metadata
    the README and the report print.

    ``family`` repeats ``kind`` under its old name, for one round.
    """
    return [
        {
            "name": est.name,
            "op": est.op_name,
            "support": est.support,
            "kind": est.kind,
            "family": est.kind,
            "f_evaluations": est.evaluations_label,
            "unbiased": est.unbiased,
            "min_samples": est.min_samples,
            "formula": est.formula,
            "reference": est.reference,
            "reduces_to": est.reduces_to,
        }
        for est in (get_estimator(name) for name in estimator_names(support=support))
    ]


def estimator_table_markdown() -> str:
    """The registry as the Markdown table the README shows (a test keeps them equal)."""
    lines = [
        "| name | op | support | kind | f-evals per draw | unbiased | min S "
        "| gradient estimate | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in estimator_table():
        lines.append(
            f"| `{row['name']}` | `{row['op']}` | {row['support']} | {row['kind']} | "
            f"{row['f_evaluations']} | {'yes' if row['unbiased'] else '**no**'} | "
            f"{row['min_samples']} | `{row['formula']}` | {row['reference']} |"
        )
    return "\n".join(lines)
