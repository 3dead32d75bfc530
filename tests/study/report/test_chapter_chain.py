"""Chapter 5 (the coupling chain): what each step divides the variance by."""

import math

import pandas as pd
import pytest

from pmcgrad.study.columns import CHAIN_COLUMNS
from pmcgrad.study.report.chapters.chain import summarise_chain


def test_each_step_divides_the_variance():
    """Means over seeds, and per k the ratio of each step; a step to exactly 0 is infinite."""
    rows = [[name, 1, 0.49, seed, 2, variance, 0.01, math.nan]
            for seed in (0, 1)
            for name, variance in (("exp_score", 3.0), ("ar", 1.0), ("arm", 0.5),
                                   ("disarm", 0.0), ("antithetic_exp", 3.0))]
    summary = summarise_chain(pd.DataFrame(rows, columns=CHAIN_COLUMNS))
    steps = summary.steps.set_index("label")["factor"]
    assert steps["conditioning on w (exp_score → ar)"] == pytest.approx(3.0)
    assert steps["the swap and average (ar → arm)"] == pytest.approx(2.0)
    assert math.isinf(steps["conditioning on the bits (arm → disarm)"])
    assert steps["the swap alone (exp_score → antithetic_exp)"] == pytest.approx(1.0)
    agg = summary.agg.set_index("estimator")
    assert agg.loc["ar", "seeds"] == 2
    assert agg.loc["ar", "variance_se"] == pytest.approx(math.sqrt(2 * 0.01**2) / 2)
    assert summary.t_values == [0.49]
