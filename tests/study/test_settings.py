"""pmcgrad.study.settings: the config parsed once into frozen settings, and the jobs."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import yaml

import pmcgrad
from pmcgrad.study.objectives import Problem
from pmcgrad.study.settings import (
    ConfigError,
    Dataset,
    FitJob,
    SbnDataset,
    ScaleJob,
    StudySettings,
    resolve_estimators,
)

REPO = Path(__file__).resolve().parents[2]


def _config():
    return yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())


def test_field_names_are_the_schemas_keys():
    """Every settings class has exactly its schema section's keys, under the same names."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    settings = StudySettings.from_config(_config())
    assert {f.name for f in dataclasses.fields(settings)} == set(schema["properties"])
    for section, spec in schema["properties"].items():
        fields = {f.name for f in dataclasses.fields(getattr(settings, section))}
        assert fields == set(spec["properties"]), section
    for section, key in (("model", "mcmc"), ("scale", "mcmc"), ("scale", "reference")):
        nested = schema["properties"][section]["properties"][key]["properties"]
        fields = getattr(getattr(settings, section), key)
        assert {f.name for f in dataclasses.fields(fields)} == set(nested), (section, key)
    for section, key, kind in (("model", "datasets", Dataset), ("sbn", "datasets", SbnDataset)):
        nested = schema["properties"][section]["properties"][key]["items"]["properties"]
        assert set(kind._fields) == set(nested), (section, key)


def test_settings_are_typed_frozen_and_travel_to_jobs():
    """Parsed values, immutable, and equal after pickling (how Snakemake hands them over)."""
    settings = StudySettings.from_config(_config())
    assert settings.gradient.problems == (Problem.toy(0.49), Problem("qubo"),
                                          Problem("spike_slab"))
    assert settings.gradient.estimators == tuple(pmcgrad.estimator_names())
    assert settings.model.trace_thin == 10 and settings.model.mcmc.draws == 50
    assert settings.chain.t == 0.49 and settings.optimisation.t == (0.49,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.chain.t = 0.4
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_resolve_estimators():
    """'all', 'unbiased' and lists; unknown names name the field and the index."""
    assert resolve_estimators("all") == tuple(pmcgrad.estimator_names())
    assert "uniform_naive" not in resolve_estimators("unbiased")
    assert resolve_estimators("all", support="categorical") == tuple(
        pmcgrad.estimator_names(support="categorical"))
    with pytest.raises(ConfigError, match=r"'categorical\.estimators\[0\]'.*'disarm'"):
        resolve_estimators(["disarm"], "categorical.estimators", support="categorical")
    with pytest.raises(ConfigError, match=r"'model\.families\.meanfield\[1\]'.*'disram'"):
        resolve_estimators(["disarm", "disram"], "model.families.meanfield")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["gradient"].update(estimators=["disarm", "nope"]),
         r"gradient\.estimators\[1\]"),
        (lambda c: c["gradient"].update(problems=["toy_t.50"]),
         r"gradient\.problems\[0\]'.*spelled 'toy_t0.5'"),
        (lambda c: c["model"]["families"].update(lowrank=["disarm"]), "lowrank"),
        (lambda c: c["chain"].update(estimators=["uniform_boundary"]),
         r"chain\.estimators\[0\].*f-evaluations"),
        (lambda c: c["model"]["datasets"].append(dict(c["model"]["datasets"][0])),
         r"model\.datasets\[1\]"),
        (lambda c: c["sbn"].update(estimators=["exact"]), r"sbn\.estimators.*enumerate"),
        (lambda c: c["sbn"].update(checkpoints=500),
         r"sbn\.checkpoints.*sbn\.datasets\[0\]\.steps=100"),
        (lambda c: c["sbn"]["datasets"][1].update(minibatch_size=500),
         r"sbn\.datasets\[1\]\.minibatch_size"),
        (lambda c: c["scale"]["fits"].update(meanfield=["exact"]),
         r"scale\.fits\.meanfield\[0\].*enumerates"),
        (lambda c: c["scale"]["mcmc"].update(max_draws=10), r"scale\.mcmc\.max_draws"),
        (lambda c: c["categorical"].update(problems=["toy_t0.49", "qubo"]),
         r"categorical\.problems\[1\].*'qubo'"),
        (lambda c: c["categorical"].update(estimators=["arsm", "disarm"]),
         r"categorical\.estimators\[1\].*categorical estimators"),
        (lambda c: c["optimisation"].update(exact_max_k=30), r"optimisation\.exact_max_k"),
        (lambda c: c["model"]["mcmc"].pop("tune"), r"'model\.mcmc\.tune' is missing"),
        (lambda c: c.pop("sbn"), r"'sbn' is missing"),
    ],
    ids=["unknown-estimator", "non-canonical-problem", "unknown-family", "unaffordable-chain",
         "duplicate-dataset", "exact-sbn", "checkpoints-over-steps", "minibatch-over-train",
         "exact-in-scale", "mcmc-max-under-first", "unknown-categorical-problem",
         "bernoulli-in-categorical", "exact-limit", "missing-key", "missing-section"],
)
def test_config_errors_name_the_field(edit, message):
    """What the schema cannot see is refused naming the field."""
    config = _config()
    edit(config)
    with pytest.raises(ConfigError, match=message):
        StudySettings.from_config(config)


def test_job_lists_skip_exact_above_its_limit():
    """exact is fitted, measured and optimised only up to its configured k."""
    config = _config()
    config["optimisation"].update(k=[1, 64], estimators=["exact", "disarm"])
    config["model"]["exact_max_k"] = 3
    config["gradient"].update(exact_max_k=1, estimators=["exact", "arm"])
    settings = StudySettings.from_config(config)
    assert settings.optimisation.jobs() == [(1, "exact"), (1, "disarm"), (64, "disarm")]
    assert all(job.estimator != "exact" for job in settings.model.fit_jobs())
    assert settings.gradient.estimators_at(1) == ["exact", "arm"]
    assert settings.gradient.estimators_at(2) == ["arm"]


def test_model_jobs_and_data_sets():
    """Fit jobs per data set x family x estimator x seed, in the config's order."""
    config = _config()
    config["model"]["seeds"] = [4, 2]
    settings = StudySettings.from_config(config).model
    data = settings.dataset(4, 1)
    assert data == Dataset(4, 1, 0.0)
    assert settings.fit_jobs(data)[:2] == [FitJob(4, 1, "disarm", "meanfield", 4),
                                           FitJob(4, 1, "disarm", "meanfield", 2)]
    assert [job.family for job in settings.fit_jobs()] == [
        "meanfield"] * 4 + ["fullrank"] * 2 + ["bit_conditioned"] * 2
    assert settings.seed == 4  # MCMC and the references take the first seed
    with pytest.raises(KeyError, match="k=5"):
        settings.dataset(5, 1)


def test_scale_jobs_and_mcmc_growth():
    """Every design x k x (fits, then MCMC); pm.sample's draws double up to the cap."""
    settings = StudySettings.from_config(_config()).scale
    assert settings.jobs() == [ScaleJob("orthogonal", 4, "bit_conditioned", "disarm"),
                               ScaleJob("orthogonal", 4, "not_a_fit", "mcmc"),
                               ScaleJob("correlated", 4, "bit_conditioned", "disarm"),
                               ScaleJob("correlated", 4, "not_a_fit", "mcmc")]
    assert settings.mcmc_draws() == [50, 100]
    wide = dataclasses.replace(settings, mcmc=dataclasses.replace(settings.mcmc, draws=100,
                                                                   max_draws=1000))
    assert wide.mcmc_draws() == [100, 200, 400, 800, 1000]
    reference = settings.reference_settings()
    assert reference == dataclasses.replace(settings, target=0.5, max_steps=9,
                                            orthogonal_k=(100,)).reference_settings()
    assert reference != dataclasses.replace(settings, correlation=0.5).reference_settings()


def test_categorical_jobs_skip_enumeration_above_its_limit():
    """One job per K; categorical_exact only where K^k configurations are few enough."""
    settings = StudySettings.from_config(_config()).categorical
    assert settings.jobs() == [3]
    assert "categorical_exact" in settings.estimators_at(3, 2)  # 9 <= 100
    small = dataclasses.replace(settings, exact_max_configurations=8)
    assert "categorical_exact" not in small.estimators_at(3, 2)
    assert small.estimators_at(3, 2) == ["categorical_reinforce_loo", "arsm"]
