"""Chapter 7 (model study): fits summarised, the exact posterior told apart from fits."""

import math

import numpy as np
import pandas as pd
import pytest

from pmcgrad.study.columns import EXACT_POSTERIOR, MCMC, MODEL_COLUMNS, NOT_A_FIT
from pmcgrad.study.report.chapters.model import summarise_model, time_to_elbo


def _model():
    rows = []
    for method, family, inclusion, elbo in (
            (EXACT_POSTERIOR, NOT_A_FIT, (0.2, 0.9), math.nan),
            ("exact", "meanfield", (0.3, 0.8), -10.0),  # a fit with the exact estimator
            ("disarm", "meanfield", (0.6, 0.9), -12.0),
            (MCMC, NOT_A_FIT, (0.25, 0.9), math.nan)):
        for j in range(2):
            rows.append([2, 0, method, family, j, inclusion[j], (0.2, 0.9)[j],
                         abs(inclusion[j] - (0.2, 0.9)[j]), elbo, 1.0, ""])
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def test_fits_are_ranked_and_the_exact_posterior_is_no_fit():
    """The enumerated posterior is left out of the ranking; a fit with `exact` is kept."""
    summary = summarise_model(_model(), None, open_trees=False)
    assert list(summary.by_method["method"]) == [MCMC, "exact", "disarm"]
    assert summary.by_method["mean_abs_error"].tolist() == pytest.approx([0.025, 0.1, 0.2])
    assert EXACT_POSTERIOR not in set(summary.scored["method"])
    assert summary.designs == [(2, 0)] and summary.reached is None and summary.trees is None


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
