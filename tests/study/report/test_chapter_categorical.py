"""Chapter 6 (categorical estimators): bias verdicts per estimator, efficiency against K."""

from __future__ import annotations

import pandas as pd
import pytest

from pmcgrad.study.columns import CATEGORICAL_COLUMNS
from pmcgrad.study.report.chapters.categorical import render_categorical, summarise_categorical


def _row(**overrides):
    row = {"problem": "mixture", "estimator": "arsm", "K": 2, "k": 4, "logits": "zero",
           "seed": 0, "draws": 1000, "evaluations_per_draw": 2, "unbiased": True, "bias": 0.0,
           "bias_se": 0.1, "max_bias_z": 1.0, "bias_within_error": True, "variance": 1.0,
           "mse": 1.0, "variance_x_evaluations": 2.0, "exact_gradient_norm": 1.0}
    return row | overrides


def _frame():
    rows = []
    for K, arsm_cost, loo in ((2, 2, 4.0), (10, 46, 3.0)):
        for seed in (0, 1):
            rows.append(_row(K=K, seed=seed, evaluations_per_draw=arsm_cost,
                             variance_x_evaluations=1.0 * arsm_cost))
            rows.append(_row(K=K, seed=seed, estimator="categorical_reinforce_loo",
                             evaluations_per_draw=2, variance_x_evaluations=loo,
                             bias_within_error=not (K == 10 and seed == 1), max_bias_z=9.0))
    rows.append(_row(K=2, estimator="categorical_exact", draws=1, evaluations_per_draw=16,
                     variance=0.0, variance_x_evaluations=0.0, max_bias_z=float("nan")))
    return pd.DataFrame(rows, columns=CATEGORICAL_COLUMNS)


def test_summary_ranks_efficiency_and_keeps_enumeration_out_of_the_variances():
    """At K = 10 the LOO estimator is the more efficient; ARSM's ratio to it grows with K;
    categorical_exact (one deterministic draw) has no variance row."""
    summary = summarise_categorical(_frame())
    assert "categorical_exact" not in set(summary.agg["estimator"])
    (finding,) = summary.findings
    assert finding["best"] == "categorical_reinforce_loo"
    assert finding["arsm_loo_low"] == pytest.approx(0.5)
    assert finding["arsm_loo_high"] == pytest.approx(46 / 3)
    bias = summary.bias.set_index("estimator")
    assert (bias.loc["categorical_reinforce_loo", "rows"],
            bias.loc["categorical_reinforce_loo", "within"]) == (4, 3)
    assert (summary.K_max, summary.k_max, summary.setting) == (10, 4, "zero")


def test_the_page_names_the_rows_outside_error():
    """The key result counts the rows that pass and names the estimator that did not."""
    section = render_categorical(summarise_categorical(_frame()))
    text = " ".join(section.highlights)
    assert "8 of 9 rows of the 3 unbiased estimators pass" in text
    assert "<code>categorical_reinforce_loo</code> in 1 of 4" in text
    assert 'id="fig-categorical"' in "".join(section.body)
