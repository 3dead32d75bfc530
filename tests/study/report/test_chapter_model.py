"""Chapter 8 (model study): fits summarised, the references told apart from fits, the
targets against the mean-field optimum and the exact posterior."""

import math

import numpy as np
import pandas as pd
import pytest

from pmcgrad.study.columns import (
    EXACT_POSTERIOR,
    MCMC,
    MEANFIELD_OPTIMUM,
    MODEL_COLUMNS,
    NOT_A_FIT,
)
from pmcgrad.study.report.chapters.model import (
    corrected_table,
    fit_summaries,
    render_model,
    summarise_model,
    time_to_elbo,
)

EXACT = (0.2, 0.9)


def _model(extra=()):
    rows = []
    nan2 = (math.nan, math.nan)
    for method, family, seed, inclusion, elbo, steps, corrected, khat in (
            (EXACT_POSTERIOR, NOT_A_FIT, 0, EXACT, math.nan, 0, nan2, math.nan),
            (MEANFIELD_OPTIMUM, NOT_A_FIT, 0, (0.25, 0.95), -9.0, 0, nan2, math.nan),
            # a fit with the exact estimator
            ("exact", "meanfield", 0, (0.3, 0.8), -10.0, 400, (0.21, 0.9), 0.4),
            ("disarm", "meanfield", 0, (0.6, 0.9), -12.0, 800, (0.5, 0.9), 0.95),
            ("disarm", "meanfield", 1, (0.255, 0.95), -9.1, 1200, (0.2, 0.91), 0.6),
            ("disarm", "bit_conditioned", 0, (0.21, 0.89), -8.0, 600, (0.23, 0.9), 0.2),
            (MCMC, NOT_A_FIT, 0, (0.25, 0.9), math.nan, 0, nan2, math.nan), *extra):
        for j in range(2):
            rows.append([2, 0, method, family, seed, j, inclusion[j], EXACT[j],
                         abs(inclusion[j] - EXACT[j]), corrected[j], khat, elbo, 1.0, steps,
                         steps not in (0, 1200), ""])
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def test_fits_are_ranked_and_the_exact_posterior_is_no_fit():
    """The enumerated posterior is left out of the ranking; a fit with `exact` is kept, and the
    mean-field optimum is ranked as the reference it is."""
    summary = summarise_model(_model(), None, open_trees=False)
    ranked = summary.by_method.set_index(["method", "family"])
    assert ranked.loc[("disarm", "bit_conditioned"), "mean_abs_error"] == pytest.approx(0.01)
    # disarm meanfield: mean over its two seeds of each seed's mean error
    assert ranked.loc[("disarm", "meanfield"), "mean_abs_error"] == pytest.approx(
        (0.2 + 0.0525) / 2)
    assert ranked.loc[("disarm", "meanfield"), "steps"] == 1000  # median of 800 and 1200
    assert ranked.loc[("disarm", "meanfield"), "converged"] == 1
    assert summary.by_method["method"].iloc[0] == "disarm"
    assert EXACT_POSTERIOR not in set(summary.scored["method"])
    assert MEANFIELD_OPTIMUM not in set(summary.scored["method"])
    assert summary.designs == [(2, 0)] and summary.reached is None and summary.trees is None


def test_targets_count_seeds_against_the_right_reference():
    """Mean-field fits are judged against the mean-field optimum (within 0.01), bit-conditioned
    ones against exact (within 0.02), seed by seed."""
    targets = summarise_model(_model(), None, open_trees=False).targets.set_index(
        ["family", "method"])
    disarm = targets.loc[("meanfield", "disarm")]
    assert (disarm["seeds"], disarm["within"]) == (2, 1)  # seed 1 is 0.005 from the optimum
    assert disarm["worst"] == pytest.approx(0.35)
    assert disarm["reference"] == "mean-field optimum"
    bit = targets.loc[("bit_conditioned", "disarm")]
    assert (bit["seeds"], bit["within"], bit["reference"]) == (1, 1, "exact posterior")
    fits = fit_summaries(_model()).set_index(["method", "family", "seed"])
    assert math.isnan(fits.loc[("disarm", "bit_conditioned", 0), "max_from_optimum"])


def test_the_page_states_the_targets_and_the_best_fit_against_mcmc():
    """The key results carry the targets per design and the most accurate fit beside MCMC."""
    section = render_model(summarise_model(_model(), None, open_trees=False,
                                           correlations={(2, 0): 0.0}))
    text = " ".join(section.highlights)
    assert "meanfield fits within 0.01 of the mean-field optimum on k = 2 (design seed 0, " \
           "independent design): 1 of 3" in text
    assert "bit_conditioned fits within 0.02 of exact on k = 2" in text
    assert "most accurate fit uses <code>disarm</code> (bit_conditioned family)" in text
    assert "MCMC reaches" in text
    assert 'id="model-targets"' in "".join(section.body)


def test_raw_and_corrected_answers_stand_beside_their_khat():
    """Each fit's corrected error is against exact, with its k-hat and MCMC's error; the key
    result counts the fits whose k-hat is at most 0.7 and those the correction improved."""
    summary = summarise_model(_model(), None, open_trees=False)
    table = corrected_table(summary).set_index(["fit", "seed"])
    assert len(table) == 4  # the fits only, not MCMC or the references
    row = table.loc[("<code>disarm</code> (meanfield)", 0)]
    assert row["k-hat"] == 0.95
    assert row["max |raw − exact|"] == pytest.approx(0.4)
    assert row["max |corrected − exact|"] == pytest.approx(0.3)
    assert row["MCMC: max |inclusion − exact|"] == pytest.approx(0.05)
    text = " ".join(render_model(summary).highlights)
    # k-hat 0.4, 0.6 and 0.2 are reliable; every fit but bit_conditioned (0.01 -> 0.03) improved
    assert "3 of 4 fits have k-hat ≤ 0.7" in text
    assert "closer to exact in 3 of 4 fits" in text
    ranked = summary.by_method.set_index(["method", "family"])
    assert ranked.loc[("disarm", "meanfield"), "pareto_k"] == pytest.approx((0.95 + 0.6) / 2)


def test_time_to_elbo_uses_the_best_final_elbo_of_the_design():
    """A trace 'reaches' when its smoothed ELBO first comes within the tolerance."""
    steps = np.arange(0, 100, 10)
    traces = pd.DataFrame({
        "k": 4, "design_seed": 0, "estimator": ["fast"] * 10 + ["slow"] * 8,
        "family": "meanfield", "seed": 0,
        "step": np.concatenate([steps, steps[:8]]),  # the slow fit stopped early
        "seconds": np.concatenate([steps / 10, steps[:8] / 10]),
        "elbo": np.concatenate([-10 + 9 * (steps >= 30), np.full(8, -5.0)]),
    })
    fits = pd.DataFrame({"k": [4, 4], "design_seed": [0, 0], "method": ["fast", "slow"],
                         "family": ["meanfield"] * 2, "elbo": [-1.0, -5.0]})
    reached = time_to_elbo(traces, fits, tolerance=1.0).set_index("method")
    assert reached.loc["fast", "seconds_to_tolerance"] == pytest.approx(3.0)
    assert math.isnan(reached.loc["slow", "seconds_to_tolerance"])
