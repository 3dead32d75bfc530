"""The study's config, parsed once into typed, frozen settings, and the jobs they imply.

``workflow/schemas/config.schema.yaml`` checks types and ranges (the Snakefile validates the
config against it first). :meth:`StudySettings.from_config` then turns the validated mapping
into one frozen dataclass per section, whose field names are the schema's keys, and adds what
only the registry knows (estimator and family names, what an estimator can afford), raising
:class:`ConfigError` naming the field before Snakemake schedules any job. Jobs receive these
objects, never loose keyword arguments. The ``jobs`` methods list each rule's wildcard values
in a stable order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pmcgrad
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.study.objectives import Problem
from pmcgrad.vi import FAMILIES

__all__ = [
    "ChainSettings",
    "ConfigError",
    "Dataset",
    "FitJob",
    "GradientSettings",
    "McmcSettings",
    "ModelSettings",
    "OptimisationSettings",
    "SbnSettings",
    "StudySettings",
    "estimators_for_k",
    "resolve_estimators",
]

#: Special values of an ``estimators`` field.
ALL, UNBIASED = "all", "unbiased"


class ConfigError(ValueError):
    """A config value the workflow cannot run; the message names the field."""


class Dataset(NamedTuple):
    """One simulated regression of the model study (an entry of ``model.datasets``)."""

    k: int
    design_seed: int
    correlation: float


class FitJob(NamedTuple):
    """One ``pmcgrad.fit`` of the model study: a data set, an estimator, a variational family."""

    k: int
    design_seed: int
    estimator: str
    family: str


def resolve_estimators(spec: str | Sequence[str], field: str = "estimators") -> tuple[str, ...]:
    """``"all"``, ``"unbiased"`` or a list of registered names -> the names, in order.

    Raises ``ConfigError`` naming ``field`` (and the index) for an unknown name.
    """
    if isinstance(spec, str):
        if spec == ALL:
            return tuple(pmcgrad.estimator_names())
        if spec == UNBIASED:
            return tuple(pmcgrad.estimator_names(unbiased_only=True))
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
    return tuple(spec)


def estimators_for_k(names: Sequence[str], k: int, exact_max_k: int) -> list[str]:
    """``names`` without enumerating estimators (``exact``) above ``exact_max_k``."""
    return [name for name in names
            if not pmcgrad.get_estimator(name).enumerates or k <= exact_max_k]


@dataclass(frozen=True)
class GradientSettings:
    """``gradient``: bias and variance of every estimator against the exact gradient."""

    problems: tuple[Problem, ...]
    estimators: tuple[str, ...]
    k: tuple[int, ...]
    logits: tuple[str, ...]
    seeds: tuple[int, ...]
    replicates: int
    max_evaluations: int
    exact_max_k: int
    instance_seed: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> GradientSettings:
        take = _Section(section, "gradient")
        problems = []
        for index, name in enumerate(take("problems")):
            try:
                problems.append(Problem.parse(name))
            except ValueError as error:
                raise ConfigError(f"config field 'gradient.problems[{index}]': {error}") from None
        return cls(
            problems=tuple(problems),
            estimators=resolve_estimators(take("estimators"), "gradient.estimators"),
            k=take.ints("k"), logits=tuple(take("logits")), seeds=take.ints("seeds"),
            replicates=int(take("replicates")), max_evaluations=int(take("max_evaluations")),
            exact_max_k=_exact_limit(take("exact_max_k"), "gradient.exact_max_k"),
            instance_seed=int(take("instance_seed")),
        )

    def jobs(self) -> list[tuple[Problem, int]]:
        """``(problem, k)`` of every gradient job."""
        return [(problem, k) for problem in self.problems for k in self.k]

    def estimators_at(self, k: int) -> list[str]:
        """The estimators one job at ``k`` measures (``exact`` only up to ``exact_max_k``)."""
        return estimators_for_k(self.estimators, k, self.exact_max_k)


@dataclass(frozen=True)
class ChainSettings:
    """``chain``: the coupling chain exp_score -> ar -> arm -> disarm at equal f-evaluations."""

    estimators: tuple[str, ...]
    k: tuple[int, ...]
    t: float
    seeds: tuple[int, ...]
    evaluations: int
    replicates: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ChainSettings:
        take = _Section(section, "chain")
        settings = cls(
            estimators=resolve_estimators(take("estimators"), "chain.estimators"),
            k=take.ints("k"), t=float(take("t")), seeds=take.ints("seeds"),
            evaluations=int(take("evaluations")), replicates=int(take("replicates")),
        )
        for index, name in enumerate(settings.estimators):
            est = pmcgrad.get_estimator(name)
            for k in settings.k:
                cost = est.min_samples * est.evaluations(k)
                if cost > settings.evaluations:
                    raise ConfigError(
                        f"config field 'chain.estimators[{index}]': {name!r} needs {cost} "
                        f"f-evaluations per estimate at k={k}, more than chain.evaluations="
                        f"{settings.evaluations}; the chain compares estimators at equal cost"
                    )
        return settings

    def jobs(self) -> list[int]:
        """``k`` of every chain job."""
        return list(self.k)


@dataclass(frozen=True)
class OptimisationSettings:
    """``optimisation``: Adam on the toy's logits, loss against steps and seconds."""

    estimators: tuple[str, ...]
    k: tuple[int, ...]
    t: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    learning_rate: float
    thin: int
    evaluations_per_step: int
    exact_max_k: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> OptimisationSettings:
        take = _Section(section, "optimisation")
        return cls(
            estimators=resolve_estimators(take("estimators"), "optimisation.estimators"),
            k=take.ints("k"), t=tuple(float(t) for t in take("t")), seeds=take.ints("seeds"),
            steps=int(take("steps")), learning_rate=float(take("learning_rate")),
            thin=int(take("thin")), evaluations_per_step=int(take("evaluations_per_step")),
            exact_max_k=_exact_limit(take("exact_max_k"), "optimisation.exact_max_k"),
        )

    def jobs(self) -> list[tuple[int, str]]:
        """``(k, estimator)`` of every optimisation job (``exact`` only up to ``exact_max_k``)."""
        return [(k, name) for k in self.k
                for name in estimators_for_k(self.estimators, k, self.exact_max_k)]


@dataclass(frozen=True)
class McmcSettings:
    """``model.mcmc``: the reference ``pm.sample`` run."""

    draws: int
    tune: int
    chains: int


@dataclass(frozen=True)
class ModelSettings:
    """``model``: spike-and-slab regression fitted by ``pmcgrad.fit`` and by PyMC MCMC.

    ``families`` keeps the config's order: ``(family, estimators)`` pairs.
    """

    datasets: tuple[Dataset, ...]
    n: int
    n_true: int
    families: tuple[tuple[str, tuple[str, ...]], ...]
    exact_max_k: int
    steps: int
    samples: int
    learning_rate: float
    seed: int
    draws: int
    trace_thin: int
    mcmc: McmcSettings

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ModelSettings:
        take = _Section(section, "model")
        datasets, seen = [], set()
        for index, entry in enumerate(take("datasets")):
            item = _Section(entry, f"model.datasets[{index}]")
            data = Dataset(int(item("k")), int(item("design_seed")), float(item("correlation")))
            if data[:2] in seen:
                raise ConfigError(
                    f"config field 'model.datasets[{index}]': k={data.k}, design_seed="
                    f"{data.design_seed} appears twice"
                )
            seen.add(data[:2])
            datasets.append(data)
        families = []
        for family, spec in take("families").items():
            if family not in FAMILIES:
                raise ConfigError(
                    f"config field 'model.families': unknown family {family!r}; valid "
                    f"families: {', '.join(FAMILIES)}"
                )
            families.append((family, resolve_estimators(spec, f"model.families.{family}")))
        mcmc = _Section(take("mcmc"), "model.mcmc")
        return cls(
            datasets=tuple(datasets), n=int(take("n")), n_true=int(take("n_true")),
            families=tuple(families),
            exact_max_k=_exact_limit(take("exact_max_k"), "model.exact_max_k"),
            steps=int(take("steps")), samples=int(take("samples")),
            learning_rate=float(take("learning_rate")), seed=int(take("seed")),
            draws=int(take("draws")), trace_thin=int(take("trace_thin")),
            mcmc=McmcSettings(int(mcmc("draws")), int(mcmc("tune")), int(mcmc("chains"))),
        )

    def dataset(self, k: int, design_seed: int) -> Dataset:
        """The data set with this ``k`` and ``design_seed``."""
        for candidate in self.datasets:
            if (candidate.k, candidate.design_seed) == (int(k), int(design_seed)):
                return candidate
        raise KeyError(f"no model.datasets entry with k={k}, design_seed={design_seed}")

    def fit_jobs(self, data: Dataset | None = None) -> list[FitJob]:
        """Every data set (or ``data``) x family x estimator (``exact`` only up to
        ``exact_max_k``)."""
        return [FitJob(each.k, each.design_seed, name, family)
                for each in (self.datasets if data is None else (data,))
                for family, names in self.families
                for name in estimators_for_k(names, each.k, self.exact_max_k)]


@dataclass(frozen=True)
class SbnSettings:
    """``sbn``: the sigmoid belief network on binarised digits."""

    k: tuple[int, ...]
    estimators: tuple[str, ...]
    seeds: tuple[int, ...]
    train_size: int
    test_size: int
    steps: int
    samples: int
    checkpoints: int
    heldout_steps: int
    heldout_draws: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SbnSettings:
        take = _Section(section, "sbn")
        settings = cls(
            k=take.ints("k"), estimators=resolve_estimators(take("estimators"), "sbn.estimators"),
            seeds=take.ints("seeds"), train_size=int(take("train_size")),
            test_size=int(take("test_size")), steps=int(take("steps")),
            samples=int(take("samples")), checkpoints=int(take("checkpoints")),
            heldout_steps=int(take("heldout_steps")), heldout_draws=int(take("heldout_draws")),
        )
        if "exact" in settings.estimators:
            raise ConfigError("config field 'sbn.estimators': 'exact' cannot enumerate "
                              "2^(images x k) codes")
        if settings.checkpoints > settings.steps:
            raise ConfigError(f"config field 'sbn.checkpoints': {settings.checkpoints} "
                              f"checkpoints do not fit in sbn.steps={settings.steps} steps")
        return settings

    def jobs(self) -> list[tuple[int, str, int]]:
        """``(k, estimator, seed)`` of every SBN job."""
        return [(k, name, seed) for k in self.k for name in self.estimators
                for seed in self.seeds]


@dataclass(frozen=True)
class StudySettings:
    """The whole config: one settings object per section of the schema."""

    gradient: GradientSettings
    chain: ChainSettings
    optimisation: OptimisationSettings
    model: ModelSettings
    sbn: SbnSettings

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StudySettings:
        """Parse a config the schema accepted; ``ConfigError`` naming the field for what only
        the estimator registry can refuse, or for a missing section or key."""
        take = _Section(config, "")
        return cls(
            gradient=GradientSettings.from_config(take("gradient")),
            chain=ChainSettings.from_config(take("chain")),
            optimisation=OptimisationSettings.from_config(take("optimisation")),
            model=ModelSettings.from_config(take("model")),
            sbn=SbnSettings.from_config(take("sbn")),
        )


class _Section:
    """``take(key)`` reads a key of one config section; a missing key is a ConfigError naming
    its dotted path (the schema reports it first in the workflow)."""

    def __init__(self, section: Any, path: str):
        if not isinstance(section, Mapping):
            raise ConfigError(f"config field {path!r} must be a mapping, got {section!r}")
        self.section, self.path = section, path

    def __call__(self, key: str) -> Any:
        if key not in self.section:
            where = f"{self.path}.{key}" if self.path else key
            raise ConfigError(f"config field {where!r} is missing")
        return self.section[key]

    def ints(self, key: str) -> tuple[int, ...]:
        return tuple(int(value) for value in self(key))


def _exact_limit(value: int, field: str) -> int:
    if int(value) > DEFAULT_EXACT_LIMIT:
        raise ConfigError(
            f"config field {field!r}: {value} is above the exact estimator's limit of "
            f"{DEFAULT_EXACT_LIMIT}"
        )
    return int(value)
