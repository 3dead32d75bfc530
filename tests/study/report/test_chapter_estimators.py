"""Chapter 2 (estimators): measured variances beside the closed forms."""

import pandas as pd
import pytest

from pmcgrad.problems import k1_variance, k1_variance_at_cost
from pmcgrad.study.columns import CHAIN_COLUMNS
from pmcgrad.study.report.chapters.estimators import (
    measured_check_variances,
    summarise_estimators,
)
from tests.study.report.frames import gradient_rows


def _tables():
    chain = pd.DataFrame([["arm", 1, 0.49, 0, 2, 8.4e-6, 1e-7, 8.333e-6]], columns=CHAIN_COLUMNS)
    gradient = gradient_rows([
        {"problem": problem, "estimator": name, "evaluations_per_draw": cost, "seed": seed,
         "variance": variance}
        for problem in ("toy_t0.49", "qubo")
        for name, cost, variance in (("arm", 2, 1.0), ("reinforce", 1, 0.0156))
        for seed in (0, 1)
    ])
    return chain, gradient


def test_check_variance_prefers_the_chain_table():
    """Where chain.csv has an estimator at k = 1 its row wins; else gradient.csv's toy row."""
    checks = measured_check_variances(*_tables()).set_index("estimator")
    assert checks.loc["arm", "source"] == "chain.csv"
    assert checks.loc["arm", "variance"] == pytest.approx(8.4e-6)
    assert checks.loc["reinforce", "source"] == "gradient.csv"
    assert checks.loc["reinforce", "closed_form"] == k1_variance("reinforce", 0.49).variance
    assert checks.loc["reinforce", "seeds"] == 2  # the qubo rows are not the toy


def test_agreement_is_counted_in_standard_errors():
    """arm is 0.67 s.e. from its closed form; reinforce's spread over seeds is 0: exact match
    needed, and 0.0156 is not 1.5625e-2 to 1e-12."""
    summary = summarise_estimators(*_tables())
    table = summary.table.set_index("name")
    assert table.loc["arm", "z"] == pytest.approx(abs(8.4e-6 - 8.333e-6) / 1e-7)
    assert table.loc["arm", "closed_form"] == 8.333e-6  # chain.csv's own column
    assert summary.compared == 1 and summary.agree == 1
    assert "kind" in table.columns
    assert k1_variance_at_cost("reinforce", 0.49, 1) == table.loc["reinforce", "closed_form"]
