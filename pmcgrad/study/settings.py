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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pmcgrad
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.study.objectives import Problem
from pmcgrad.vi import FAMILIES

__all__ = [
    "CategoricalSettings",
    "ChainSettings",
    "ConfigError",
    "Dataset",
    "FitJob",
    "GradientSettings",
    "McmcSettings",
    "ModelSettings",
    "OptimisationSettings",
    "SbnDataset",
    "SbnSettings",
    "ScaleJob",
    "ScaleMcmcSettings",
    "ScaleReferenceSettings",
    "ScaleSettings",
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
    """One ``pmcgrad.fit`` of the model study: a data set, an estimator, a variational family
    and a seed."""

    k: int
    design_seed: int
    estimator: str
    family: str
    seed: int


def resolve_estimators(spec: str | Sequence[str], field: str = "estimators", *,
                       support: str = "bernoulli") -> tuple[str, ...]:
    """``"all"``, ``"unbiased"`` or a list of registered names -> the names, in order.

    ``support`` is the kind of latent the names must handle (``"bernoulli"`` or
    ``"categorical"``). Raises ``ConfigError`` naming ``field`` (and the index) for an unknown
    name.
    """
    if isinstance(spec, str):
        if spec == ALL:
            return tuple(pmcgrad.estimator_names(support=support))
        if spec == UNBIASED:
            return tuple(pmcgrad.estimator_names(unbiased_only=True, support=support))
        raise ConfigError(
            f"config field {field!r}: {spec!r} is neither 'all', 'unbiased' nor a list of "
            "estimator names"
        )
    registered = pmcgrad.estimator_names(support=support)
    for index, name in enumerate(spec):
        if name not in registered:
            raise ConfigError(
                f"config field '{field}[{index}]': unknown estimator {name!r}; registered "
                f"{support} estimators: {', '.join(registered)}"
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

    ``families`` keeps the config's order: ``(family, estimators)`` pairs. Every fit runs with
    ``pmcgrad.fit``'s own stopping rule and optimiser, ``max_steps`` its cap, once per seed in
    ``seeds``; MCMC and the references take the first seed.
    """

    datasets: tuple[Dataset, ...]
    n: int
    n_true: int
    families: tuple[tuple[str, tuple[str, ...]], ...]
    exact_max_k: int
    max_steps: int
    samples: int
    seeds: tuple[int, ...]
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
        families = _families(take("families"), "model.families")
        mcmc = _Section(take("mcmc"), "model.mcmc")
        return cls(
            datasets=tuple(datasets), n=int(take("n")), n_true=int(take("n_true")),
            families=families,
            exact_max_k=_exact_limit(take("exact_max_k"), "model.exact_max_k"),
            max_steps=int(take("max_steps")), samples=int(take("samples")),
            seeds=take.ints("seeds"), draws=int(take("draws")),
            trace_thin=int(take("trace_thin")),
            mcmc=McmcSettings(int(mcmc("draws")), int(mcmc("tune")), int(mcmc("chains"))),
        )

    @property
    def seed(self) -> int:
        """The seed of the rows that are not fits (MCMC, the references): the first one."""
        return self.seeds[0]

    def dataset(self, k: int, design_seed: int) -> Dataset:
        """The data set with this ``k`` and ``design_seed``."""
        for candidate in self.datasets:
            if (candidate.k, candidate.design_seed) == (int(k), int(design_seed)):
                return candidate
        raise KeyError(f"no model.datasets entry with k={k}, design_seed={design_seed}")

    def fit_jobs(self, data: Dataset | None = None) -> list[FitJob]:
        """Every data set (or ``data``) x family x estimator x seed (``exact`` only up to
        ``exact_max_k``)."""
        return [FitJob(each.k, each.design_seed, name, family, seed)
                for each in (self.datasets if data is None else (data,))
                for family, names in self.families
                for name in estimators_for_k(names, each.k, self.exact_max_k)
                for seed in self.seeds]


class ScaleJob(NamedTuple):
    """One timed method of the scale study: a design at one k, and a fit or MCMC."""

    design: str  # "orthogonal" | "correlated"
    k: int
    family: str  # a variational family, or "not_a_fit" for MCMC
    method: str  # an estimator, or "mcmc"


@dataclass(frozen=True)
class ScaleMcmcSettings:
    """``scale.mcmc``: ``pm.sample`` grown in draws until it reaches the target."""

    draws: int  # draws per chain of the first attempt
    max_draws: int  # the last attempt has at most this many
    tune: int
    chains: int


@dataclass(frozen=True)
class ScaleReferenceSettings:
    """``scale.reference``: the long ``pm.sample`` run that a correlated design is measured
    against."""

    draws: int
    tune: int
    chains: int


@dataclass(frozen=True)
class ScaleSettings:
    """``scale``: time to ``max |inclusion - reference| <= target`` against k, for
    ``pmcgrad.fit`` and for ``pm.sample``.

    Orthogonal designs (``orthogonal_k``) have exact inclusion probabilities in closed form;
    equicorrelated ones (``correlated_k``, ``correlation``) are measured against a long MCMC
    run. Every data set has ``rows_per_predictor * k`` rows, ``max(1, round(true_share k))``
    strong effects and (orthogonal designs) ``round(weak_share k)`` weak ones.
    """

    orthogonal_k: tuple[int, ...]
    correlated_k: tuple[int, ...]
    correlation: float
    rows_per_predictor: int
    true_share: float
    weak_share: float
    design_seed: int
    fits: tuple[tuple[str, tuple[str, ...]], ...]
    samples: int
    max_steps: int
    target: float
    seed: int
    warmup: bool
    mcmc: ScaleMcmcSettings
    reference: ScaleReferenceSettings

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ScaleSettings:
        take = _Section(section, "scale")
        mcmc = _Section(take("mcmc"), "scale.mcmc")
        reference = _Section(take("reference"), "scale.reference")
        settings = cls(
            orthogonal_k=take.ints("orthogonal_k"), correlated_k=take.ints("correlated_k"),
            correlation=float(take("correlation")),
            rows_per_predictor=int(take("rows_per_predictor")),
            true_share=float(take("true_share")), weak_share=float(take("weak_share")),
            design_seed=int(take("design_seed")), fits=_families(take("fits"), "scale.fits"),
            samples=int(take("samples")), max_steps=int(take("max_steps")),
            target=float(take("target")), seed=int(take("seed")),
            warmup=bool(take("warmup")),
            mcmc=ScaleMcmcSettings(int(mcmc("draws")), int(mcmc("max_draws")),
                                   int(mcmc("tune")), int(mcmc("chains"))),
            reference=ScaleReferenceSettings(int(reference("draws")), int(reference("tune")),
                                             int(reference("chains"))),
        )
        for family, names in settings.fits:
            for index, name in enumerate(names):
                if pmcgrad.get_estimator(name).enumerates:
                    raise ConfigError(f"config field 'scale.fits.{family}[{index}]': {name!r} "
                                      "enumerates 2^k configurations; the scale study grows k")
        if settings.mcmc.max_draws < settings.mcmc.draws:
            raise ConfigError(f"config field 'scale.mcmc.max_draws': {settings.mcmc.max_draws}"
                              f" is below scale.mcmc.draws={settings.mcmc.draws}")
        return settings

    def reference_settings(self) -> ScaleSettings:
        """These settings with every field that the MCMC reference of a correlated design does
        not read set to a fixed value: what its rule passes, so that changing the methods,
        the target or the k lists does not recompute the references."""
        return dataclasses.replace(
            self, orthogonal_k=(), correlated_k=(), fits=(), samples=1, max_steps=1,
            target=1.0, mcmc=ScaleMcmcSettings(1, 1, 0, 1))

    def designs(self) -> list[tuple[str, int]]:
        """``(design, k)`` of every data set: the orthogonal ones, then the correlated."""
        return ([("orthogonal", k) for k in self.orthogonal_k]
                + [("correlated", k) for k in self.correlated_k])

    def jobs(self) -> list[ScaleJob]:
        """Every data set x (each fit, then MCMC)."""
        from pmcgrad.study.columns import MCMC, NOT_A_FIT

        return [ScaleJob(design, k, family, name)
                for design, k in self.designs()
                for family, name in [*((f, n) for f, names in self.fits for n in names),
                                     (NOT_A_FIT, MCMC)]]

    def mcmc_draws(self) -> list[int]:
        """Draws per chain of each ``pm.sample`` attempt: doubling from ``mcmc.draws``, the
        last capped at ``mcmc.max_draws``."""
        draws = [self.mcmc.draws]
        while draws[-1] < self.mcmc.max_draws:
            draws.append(min(2 * draws[-1], self.mcmc.max_draws))
        return draws


@dataclass(frozen=True)
class CategoricalSettings:
    """``categorical``: bias and variance of the categorical estimators against the exact
    gradient (pmcgrad.study.categorical), on a toy objective and on a mixture's ELBO
    integrand."""

    problems: tuple[str, ...]
    estimators: tuple[str, ...]
    K: tuple[int, ...]
    k: tuple[int, ...]
    logits: tuple[str, ...]
    seeds: tuple[int, ...]
    replicates: int
    max_evaluations: int
    exact_max_configurations: int
    instance_seed: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CategoricalSettings:
        from pmcgrad.study.categorical import check_problem

        take = _Section(section, "categorical")
        problems = tuple(take("problems"))
        for index, name in enumerate(problems):
            try:
                check_problem(name)
            except ValueError as error:
                raise ConfigError(f"config field 'categorical.problems[{index}]': {error}"
                                  ) from None
        limit = int(take("exact_max_configurations"))
        if limit > 2**DEFAULT_EXACT_LIMIT:
            raise ConfigError(f"config field 'categorical.exact_max_configurations': {limit} is "
                              f"above the exact estimator's limit of 2^{DEFAULT_EXACT_LIMIT}")
        return cls(
            problems=problems,
            estimators=resolve_estimators(take("estimators"), "categorical.estimators",
                                          support="categorical"),
            K=take.ints("K"), k=take.ints("k"), logits=tuple(take("logits")),
            seeds=take.ints("seeds"), replicates=int(take("replicates")),
            max_evaluations=int(take("max_evaluations")), exact_max_configurations=limit,
            instance_seed=int(take("instance_seed")),
        )

    def jobs(self) -> list[int]:
        """``K`` of every categorical job (each covers every k)."""
        return list(self.K)

    def estimators_at(self, K: int, k: int) -> list[str]:
        """The estimators of one job: the enumerating one only up to
        ``exact_max_configurations`` configurations ``K^k``."""
        return [name for name in self.estimators
                if not pmcgrad.get_estimator(name).enumerates
                or K**k <= self.exact_max_configurations]


class SbnDataset(NamedTuple):
    """One data set of the SBN study (an entry of ``sbn.datasets``)."""

    name: str  # "digits" | "synthetic"
    train_size: int
    test_size: int
    steps: int
    minibatch_size: int  # 0: every training image at every step


@dataclass(frozen=True)
class SbnSettings:
    """``sbn``: sigmoid belief networks on binarised digits and on images drawn from a known
    SBN (``synthetic_codes`` codes, weights from ``synthetic_seed``)."""

    k: tuple[int, ...]
    estimators: tuple[str, ...]
    seeds: tuple[int, ...]
    datasets: tuple[SbnDataset, ...]
    samples: int
    checkpoints: int
    heldout_steps: int
    heldout_draws: int
    synthetic_codes: int
    synthetic_seed: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SbnSettings:
        take = _Section(section, "sbn")
        datasets = []
        for index, entry in enumerate(take("datasets")):
            item = _Section(entry, f"sbn.datasets[{index}]")
            data = SbnDataset(str(item("name")), int(item("train_size")),
                              int(item("test_size")), int(item("steps")),
                              int(item("minibatch_size")))
            if data.name in {d.name for d in datasets}:
                raise ConfigError(f"config field 'sbn.datasets[{index}]': {data.name!r} "
                                  "appears twice")
            if data.minibatch_size > data.train_size:
                raise ConfigError(f"config field 'sbn.datasets[{index}].minibatch_size': "
                                  f"{data.minibatch_size} is more than its train_size="
                                  f"{data.train_size} images")
            datasets.append(data)
        settings = cls(
            k=take.ints("k"), estimators=resolve_estimators(take("estimators"), "sbn.estimators"),
            seeds=take.ints("seeds"), datasets=tuple(datasets),
            samples=int(take("samples")), checkpoints=int(take("checkpoints")),
            heldout_steps=int(take("heldout_steps")), heldout_draws=int(take("heldout_draws")),
            synthetic_codes=int(take("synthetic_codes")),
            synthetic_seed=int(take("synthetic_seed")),
        )
        if "exact" in settings.estimators:
            raise ConfigError("config field 'sbn.estimators': 'exact' cannot enumerate "
                              "2^(images x k) codes")
        for index, data in enumerate(settings.datasets):
            if settings.checkpoints > data.steps:
                raise ConfigError(f"config field 'sbn.checkpoints': {settings.checkpoints} "
                                  f"checkpoints do not fit in sbn.datasets[{index}].steps="
                                  f"{data.steps} steps")
        return settings

    def dataset(self, name: str) -> SbnDataset:
        """The data set called ``name``."""
        for data in self.datasets:
            if data.name == name:
                return data
        raise KeyError(f"no sbn.datasets entry named {name!r}")

    def jobs(self) -> list[tuple[str, int, str, int]]:
        """``(dataset, k, estimator, seed)`` of every SBN job."""
        return [(data.name, k, name, seed) for data in self.datasets for k in self.k
                for name in self.estimators for seed in self.seeds]


@dataclass(frozen=True)
class StudySettings:
    """The whole config: one settings object per section of the schema."""

    gradient: GradientSettings
    chain: ChainSettings
    optimisation: OptimisationSettings
    model: ModelSettings
    sbn: SbnSettings
    scale: ScaleSettings
    categorical: CategoricalSettings

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
            scale=ScaleSettings.from_config(take("scale")),
            categorical=CategoricalSettings.from_config(take("categorical")),
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


def _families(spec: Any, field: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A ``family: estimators`` mapping -> ``(family, names)`` pairs, in the config's order."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"config field {field!r} must be a mapping of family to estimators")
    families = []
    for family, names in spec.items():
        if family not in FAMILIES:
            raise ConfigError(
                f"config field {field!r}: unknown family {family!r}; valid "
                f"families: {', '.join(FAMILIES)}"
            )
        families.append((family, resolve_estimators(names, f"{field}.{family}")))
    return tuple(families)


def _exact_limit(value: int, field: str) -> int:
    if int(value) > DEFAULT_EXACT_LIMIT:
        raise ConfigError(
            f"config field {field!r}: {value} is above the exact estimator's limit of "
            f"{DEFAULT_EXACT_LIMIT}"
        )
    return int(value)
