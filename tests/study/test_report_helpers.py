"""Unit tests of the report's helpers: closed forms, number formats, inputs, MathML."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmcgrad.study.columns import CHAIN_COLUMNS, GRADIENT_COLUMNS
from pmcgrad.study.report.inputs import StudyInputs, benchmark_job, benchmark_rule
from pmcgrad.study.report.mathml import FORMULAS, VARIANCE_FORMULAS
from pmcgrad.study.report.model_section import is_exact_posterior, time_to_elbo
from pmcgrad.study.report.page import fmt, fmt_pm
from pmcgrad.study.report.provenance import config_seeds
from pmcgrad.study.report.sections import (
    closed_form_at,
    closed_form_variance,
    measured_check_variances,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("reinforce", ((1 - 0.49) ** 4 + 0.49**4) / 8 - ((1 - 0.98) / 4) ** 2),
        ("ar", ((1 - 0.49) ** 4 + 0.49**4) / 6 - ((1 - 0.98) / 4) ** 2),
        ("reinforce_loo", 0.02**2 / 16),
        ("arm", 0.02**2 / 48),
        ("disarm", 0.0),
    ],
)
def test_closed_forms_match_math_md(name, expected):
    """The closed forms at t = 0.49 are MATH.md's (1.5625e-2, 2.0858e-2, 2.5e-5, 8.333e-6, 0)."""
    assert closed_form_variance(name, 0.49)[0] == pytest.approx(expected, abs=1e-12)


def test_closed_form_at_a_budget_averages_independent_estimates():
    """At 2 f-evaluations a 1-evaluation estimator averages two draws; LOO is known at S = 2."""
    one_draw = closed_form_variance("reinforce", 0.49)[0]
    assert closed_form_at("reinforce", 0.49, 2) == pytest.approx(one_draw / 2)
    assert closed_form_at("arm", 0.49, 2) == pytest.approx(0.02**2 / 48)
    assert math.isnan(closed_form_at("arm", 0.49, 3))
    assert math.isnan(closed_form_at("reinforce_loo", 0.49, 4))
    assert math.isnan(closed_form_at("exp_score", 0.49, 2))


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (float("nan"), "—"), (None, "—"), (True, "yes"), (1234.5, "1,234"),
     (7, "7"), (0.0156, "0.0156"), (2.5e-5, "2.50×10<sup>-5</sup>"), (float("inf"), "∞")],
)
def test_number_format(value, text):
    """Numbers print with 3 significant digits, thousands separators and HTML exponents."""
    assert fmt(value) == text


def test_value_with_error():
    assert fmt_pm(0.5, 0.01) == "0.5 ± 0.01"
    assert fmt_pm(0.5, float("nan")) == "0.5"


def test_benchmark_names_follow_the_workflow_layout():
    """results/benchmarks/<rule>/<job>.tsv gives the rule and the job's path."""
    path = Path("results/benchmarks/gradient/toy_t0.49/k2.tsv")
    assert benchmark_rule(path) == "gradient"
    assert benchmark_job(path) == "gradient/toy_t0.49/k2"
    assert benchmark_rule(Path("elsewhere/model/fit.tsv")) == "model"


def test_formulas_are_well_formed_mathml():
    """Every formula parses as XML (so the browser builds the intended MathML tree)."""
    for name, markup in {**FORMULAS, **VARIANCE_FORMULAS}.items():
        root = ET.fromstring(markup)
        assert root.tag == "math", name


def test_config_seeds_are_found_at_any_depth():
    config = {"gradient": {"seeds": [0, 1]}, "model": {"seed": 3, "mcmc": {"draws": 5}},
              "instance_seed": 2026}
    assert config_seeds(config) == {"gradient.seeds": [0, 1], "model.seed": 3,
                                    "instance_seed": 2026}


def test_check_variance_prefers_the_chain_table():
    """Where chain.csv has an estimator at k = 1 its row wins; else gradient.csv's toy row."""
    chain = pd.DataFrame([["arm", 1, 0.49, 0, 2, 8.4e-6, 1e-7, 8.333e-6]], columns=CHAIN_COLUMNS)
    gradient = pd.DataFrame(
        [[problem, name, 1, "zero", seed, 1000, 1, True, 0.0, 0.0, 0.0, True, variance,
          variance, variance, 0.005]
         for problem in ("toy_t0.49", "qubo")
         for name, variance in (("arm", 1.0), ("reinforce", 0.0156))
         for seed in (0, 1)],
        columns=GRADIENT_COLUMNS,
    )
    checks = measured_check_variances(StudyInputs(chain=chain, gradient=gradient))
    checks = checks.set_index("estimator")
    assert checks.loc["arm", "source"] == "chain.csv"
    assert checks.loc["arm", "variance"] == pytest.approx(8.4e-6)
    assert checks.loc["reinforce", "source"] == "gradient.csv"
    assert checks.loc["reinforce", "closed_form"] == pytest.approx(
        closed_form_variance("reinforce", 0.49)[0])


def test_time_to_elbo_uses_the_best_final_elbo_of_the_design():
    """A trace 'reaches' when its smoothed ELBO first comes within the tolerance."""
    steps = np.arange(0, 100, 10)
    traces = pd.DataFrame({
        "k": 4, "design_seed": 0, "estimator": ["fast"] * 10 + ["slow"] * 10,
        "family": "meanfield", "step": np.tile(steps, 2), "seconds": np.tile(steps / 10, 2),
        "elbo": np.concatenate([-10 + 9 * (steps >= 30), np.full(10, -5.0)]),
    })
    fits = pd.DataFrame({"k": [4, 4], "design_seed": [0, 0], "method": ["fast", "slow"],
                         "family": ["meanfield"] * 2, "elbo": [-1.0, -5.0]})
    reached = time_to_elbo(traces, fits, tolerance=1.0).set_index("method")
    assert reached.loc["fast", "seconds_to_tolerance"] == pytest.approx(3.0)
    assert math.isnan(reached.loc["slow", "seconds_to_tolerance"])


def test_exact_posterior_rows_are_told_from_exact_estimator_fits():
    frame = pd.DataFrame({"method": ["exact", "exact", "mcmc"], "family": ["", "meanfield", ""]})
    assert is_exact_posterior(frame).tolist() == [True, False, False]
