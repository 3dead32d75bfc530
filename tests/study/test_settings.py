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
    mcmc = schema["properties"]["model"]["properties"]["mcmc"]["properties"]
    assert {f.name for f in dataclasses.fields(settings.model.mcmc)} == set(mcmc)


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
        (lambda c: c["sbn"].update(checkpoints=500), r"sbn\.checkpoints.*sbn\.steps=100"),
        (lambda c: c["optimisation"].update(exact_max_k=30), r"optimisation\.exact_max_k"),
        (lambda c: c["model"]["mcmc"].pop("tune"), r"'model\.mcmc\.tune' is missing"),
        (lambda c: c.pop("sbn"), r"'sbn' is missing"),
    ],
    ids=["unknown-estimator", "non-canonical-problem", "unknown-family", "unaffordable-chain",
         "duplicate-dataset", "exact-sbn", "checkpoints-over-steps", "exact-limit",
         "missing-key", "missing-section"],
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
    """Fit jobs per data set x family x estimator, in the config's order."""
    settings = StudySettings.from_config(_config()).model
    data = settings.dataset(4, 1)
    assert data == Dataset(4, 1, 0.0)
    assert settings.fit_jobs(data)[0] == FitJob(4, 1, "disarm", "meanfield")
    assert [job.family for job in settings.fit_jobs()] == [
        "meanfield", "meanfield", "fullrank", "bit_conditioned"]
    with pytest.raises(KeyError, match="k=5"):
        settings.dataset(5, 1)
