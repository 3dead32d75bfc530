"""pmcgrad.study.gradient: bias and variance rows against the exact gradient."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import pmcgrad
from pmcgrad.problems import k1_variance
from pmcgrad.study.columns import GRADIENT, GRADIENT_COLUMNS
from pmcgrad.study.estimates import estimate_function
from pmcgrad.study.gradient import (
    bias_statistics,
    bias_threshold,
    gradient_rows,
    logit_setting,
    rows_per_job,
    run_gradient_job,
)
from pmcgrad.study.objectives import Problem, make_objective
from pmcgrad.study.settings import GradientSettings
from pmcgrad.study.tables import read_table

REPO = Path(__file__).resolve().parents[2]
T = 0.49


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["reinforce", "ar", "reinforce_loo", "arm", "disarm"])
def test_gradient_rows_reproduce_the_closed_form_variances(estimator):
    """At k = 1, phi = 0 the table's per-draw variance is the closed form, and unbiased."""
    objective = make_objective(Problem.toy(T), 1, 0)
    est = pmcgrad.get_estimator(estimator)
    function = estimate_function(estimator, 1, max(1, est.min_samples))
    (row,) = gradient_rows(objective, function, ["zero"], [0], 200_000)
    variance, cost = k1_variance(estimator, T)
    # The variance of a sample variance: (m4 - s^4) / R, with m4 <= a few s^4 here.
    assert abs(row["variance"] - variance) <= 5 * variance * math.sqrt(8 / row["draws"]) + 1e-12
    assert row["bias_within_error"]
    assert row["evaluations_per_draw"] == cost
    assert row["variance_x_evaluations"] == pytest.approx(row["variance"] * cost)
    assert set(row) == set(GRADIENT_COLUMNS)


def test_biased_estimator_is_flagged():
    """uniform_naive (the note's dropped boundary term) fails the bias check on the toy."""
    objective = make_objective(Problem.toy(T), 2, 0)
    function = estimate_function("uniform_naive", 2, 1)
    (row,) = gradient_rows(objective, function, ["zero"], [0], 5000)
    assert not row["unbiased"]
    assert not row["bias_within_error"]
    assert row["max_bias_z"] > 100


def test_bias_statistics_columns():
    """bias, se, z-score and mse from known estimates; se == 0 gives NaN z and an exact check."""
    estimates = np.array([[1.0, 0.0], [3.0, 0.0]])  # means (2, 0), variances (2, 0)
    stats = bias_statistics(estimates, np.array([2.0, 0.5]))
    assert stats["bias"] == pytest.approx(0.25)  # mean of |0|, |-0.5|
    assert stats["variance"] == pytest.approx(1.0)
    assert stats["mse"] == pytest.approx((2 + 0 + 0 + 0.25) / 2)
    assert stats["bias_se"] == pytest.approx(math.sqrt((1.0 + 0.0) / 2))
    assert stats["max_bias_z"] == pytest.approx(0.0)
    assert not stats["bias_within_error"]  # coordinate 2: off by 0.5 with se 0
    exact = bias_statistics(np.array([[0.25, 1.0]]), np.array([0.25, 1.0]))
    assert exact["variance"] == 0 and math.isnan(exact["max_bias_z"]) and exact["bias_within_error"]


def test_bias_threshold_is_corrected_for_k():
    """4 se at k = 1; higher with more coordinates, so a row's false-flag rate stays 6.3e-5."""
    assert bias_threshold(1) == pytest.approx(4.0)
    assert bias_threshold(64) == pytest.approx(4.894, abs=1e-3)
    assert bias_threshold(2) < bias_threshold(16) < bias_threshold(64)


def test_logit_settings():
    """zero, seeded random (same for every problem), and saturated +-6 alternating."""
    assert np.all(logit_setting("zero", 3, 0) == 0)
    np.testing.assert_array_equal(logit_setting("random", 3, 1), logit_setting("random", 3, 1))
    assert not np.array_equal(logit_setting("random", 3, 1), logit_setting("random", 3, 2))
    np.testing.assert_array_equal(logit_setting("saturated", 3, 0), [6.0, -6.0, 6.0])
    with pytest.raises(ValueError, match="saturated"):
        logit_setting("huge", 3, 0)


def test_a_job_writes_the_rows_its_table_check_expects(tmp_path):
    """run_gradient_job writes rows_per_job rows, ``exact`` left out above its limit."""
    config = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())["gradient"]
    settings = dataclasses.replace(GradientSettings.from_config(config),
                                   estimators=("exact", "disarm"), replicates=50,
                                   seeds=(0, 1), exact_max_k=1)
    for k in (1, 2):
        out = tmp_path / f"k{k}.csv"
        run_gradient_job(Problem("qubo"), k, settings, out=str(out))
        table = read_table(out, GRADIENT, rows=rows_per_job(settings, k))
        assert set(table["estimator"]) == ({"exact", "disarm"} if k == 1 else {"disarm"})
