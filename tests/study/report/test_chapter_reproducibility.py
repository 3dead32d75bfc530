"""Chapter 10 (reproducibility): seeds from the config and the tables."""

import pandas as pd

from pmcgrad.study.report.chapters.reproducibility import summarise_reproducibility
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.provenance import config_seeds


def test_config_seeds_are_found_at_any_depth():
    config = {"gradient": {"seeds": [0, 1]}, "model": {"seed": 3, "mcmc": {"draws": 5}},
              "instance_seed": 2026}
    assert config_seeds(config) == {"gradient.seeds": [0, 1], "model.seed": 3,
                                    "instance_seed": 2026}


def test_seeds_from_config_and_tables():
    """Each seed source is one row; without benchmark files there are no rule runtimes."""
    inputs = ReportInputs(config={"chain": {"seeds": [0]}},
                          chain=pd.DataFrame({"seed": [2, 1, 2]}))
    summary = summarise_reproducibility(inputs)
    assert summary.seeds["seeds"].tolist() == ["[0]", "1, 2"]
    assert summary.rules is None and summary.config.startswith("chain:")
