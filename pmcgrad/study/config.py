"""The study's config: the checks its JSON schema cannot make, and the list of jobs it implies.

``workflow/schemas/config.schema.yaml`` checks types and ranges; :func:`check_config` adds what
only the registry knows (estimator and family names, what an estimator can afford) and raises
:class:`ConfigError` naming the field, before Snakemake schedules any job. The ``*_jobs``
functions turn a config into the wildcard values of each rule, in a stable order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import pmcgrad
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.study.objectives import PROBLEM_PATTERN
from pmcgrad.vi import FAMILIES

__all__ = [
    "ConfigError",
    "Dataset",
    "FitJob",
    "check_config",
    "dataset",
    "datasets",
    "estimators_for_k",
    "fit_jobs",
    "gradient_jobs",
    "optimisation_jobs",
    "resolve_estimators",
    "sbn_jobs",
]

#: Special values of an ``estimators`` field.
ALL, UNBIASED = "all", "unbiased"


class ConfigError(ValueError):
    """A config value the workflow cannot run; the message names the field."""


class Dataset(NamedTuple):
    """One simulated regression of the model study."""

    k: int
    design_seed: int
    correlation: float


class FitJob(NamedTuple):
    """One ``pmcgrad.fit`` of the model study."""

    k: int
    design_seed: int
    estimator: str
    family: str


def resolve_estimators(spec: str | Sequence[str], field: str = "estimators") -> list[str]:
    """``"all"``, ``"unbiased"`` or a list of registered names -> a list of names.

    Raises ``ConfigError`` naming ``field`` (and the index) for an unknown name.
    """
    if isinstance(spec, str):
        if spec == ALL:
            return pmcgrad.estimator_names()
        if spec == UNBIASED:
            return pmcgrad.estimator_names(unbiased_only=True)
        raise ConfigError(
            f"config field {field!r}: {spec!r} is neither 'all', 'unbiased' nor a list of "
            "estimator names"
        )
    registered = pmcgrad.estimator_names()
    for index, name in enumerate(spec):
        if name not in registered:
            raise ConfigError(
                f"config field '{field}[{index}]': unknown estimator {name!r}; registered "
                f"estimators: {', '.join(registered)}"
            )
    if len(set(spec)) != len(spec):
        raise ConfigError(f"config field {field!r}: an estimator is listed twice: {list(spec)}")
    return list(spec)


def estimators_for_k(names: Sequence[str], k: int, exact_max_k: int) -> list[str]:
    """``names`` without enumerating estimators (``exact``) above ``exact_max_k``."""
    return [name for name in names
            if not pmcgrad.get_estimator(name).enumerates or k <= exact_max_k]


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ``ConfigError`` for a value the schema accepts but the study cannot run."""
    gradient = config["gradient"]
    resolve_estimators(gradient["estimators"], "gradient.estimators")
    for index, problem in enumerate(gradient["problems"]):
        if re.fullmatch(PROBLEM_PATTERN, problem) is None:
            raise ConfigError(
                f"config field 'gradient.problems[{index}]': unknown problem {problem!r}; "
                "expected 'toy_t<t>' (e.g. toy_t0.49), 'qubo' or 'spike_slab'"
            )
    _check_exact_limit(gradient["exact_max_k"], "gradient.exact_max_k")

    chain = config["chain"]
    for index, name in enumerate(resolve_estimators(chain["estimators"], "chain.estimators")):
        est = pmcgrad.get_estimator(name)
        for k in chain["k"]:
            cost = est.min_samples * est.evaluations(k)
            if cost > chain["evaluations"]:
                raise ConfigError(
                    f"config field 'chain.estimators[{index}]': {name!r} needs {cost} "
                    f"f-evaluations per estimate at k={k}, more than chain.evaluations="
                    f"{chain['evaluations']}; the chain compares estimators at equal cost"
                )

    optimisation = config["optimisation"]
    resolve_estimators(optimisation["estimators"], "optimisation.estimators")
    _check_exact_limit(optimisation["exact_max_k"], "optimisation.exact_max_k")

    model = config["model"]
    for family, spec in model["families"].items():
        if family not in FAMILIES:
            raise ConfigError(
                f"config field 'model.families': unknown family {family!r}; valid families: "
                f"{', '.join(FAMILIES)}"
            )
        resolve_estimators(spec, f"model.families.{family}")
    seen = set()
    for index, dataset in enumerate(model["datasets"]):
        key = (dataset["k"], dataset["design_seed"])
        if key in seen:
            raise ConfigError(
                f"config field 'model.datasets[{index}]': k={key[0]}, design_seed={key[1]} "
                "appears twice"
            )
        seen.add(key)

    sbn_jobs(config)


def sbn_jobs(config: Mapping[str, Any]) -> list[tuple[int, str, int]]:
    """``(k, estimator, seed)`` of every sigmoid-belief-network job (none without ``sbn``)."""
    sbn = config.get("sbn")
    if not sbn:
        return []
    names = resolve_estimators(sbn["estimators"], "sbn.estimators")
    if "exact" in names:
        raise ConfigError("config field 'sbn.estimators': 'exact' cannot enumerate "
                          "2^(images x k) codes")
    return [(int(k), name, int(seed)) for k in sbn["k"] for name in names
            for seed in sbn["seeds"]]


def gradient_jobs(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(problem, k)`` of every gradient-study job."""
    gradient = config["gradient"]
    return [(problem, k) for problem in gradient["problems"] for k in gradient["k"]]


def optimisation_jobs(config: Mapping[str, Any]) -> list[tuple[int, str]]:
    """``(k, estimator)`` of every optimisation job (``exact`` only up to ``exact_max_k``)."""
    optimisation = config["optimisation"]
    names = resolve_estimators(optimisation["estimators"], "optimisation.estimators")
    return [(k, name) for k in optimisation["k"]
            for name in estimators_for_k(names, k, optimisation["exact_max_k"])]


def datasets(config: Mapping[str, Any]) -> list[Dataset]:
    """The model study's data sets."""
    return [Dataset(int(d["k"]), int(d["design_seed"]), float(d["correlation"]))
            for d in config["model"]["datasets"]]


def dataset(config: Mapping[str, Any], k: int, design_seed: int) -> Dataset:
    """The data set with this ``k`` and ``design_seed``."""
    for candidate in datasets(config):
        if (candidate.k, candidate.design_seed) == (int(k), int(design_seed)):
            return candidate
    raise KeyError(f"no model.datasets entry with k={k}, design_seed={design_seed}")


def fit_jobs(config: Mapping[str, Any]) -> list[FitJob]:
    """Every data set x family x estimator (``exact`` only up to ``model.exact_max_k``)."""
    jobs = []
    model = config["model"]
    for data in datasets(config):
        for family, spec in model["families"].items():
            names = resolve_estimators(spec, f"model.families.{family}")
            for name in estimators_for_k(names, data.k, model["exact_max_k"]):
                jobs.append(FitJob(data.k, data.design_seed, name, family))
    return jobs


def _check_exact_limit(value: int, field: str) -> None:
    if value > DEFAULT_EXACT_LIMIT:
        raise ConfigError(
            f"config field {field!r}: {value} is above the exact estimator's limit of "
            f"{DEFAULT_EXACT_LIMIT}"
        )
