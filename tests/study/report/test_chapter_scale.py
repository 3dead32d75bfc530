"""Chapter 9 (VI or MCMC?): slopes, the measured crossover, and what the key results say."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pmcgrad.study.columns import MCMC, NOT_A_FIT, SCALE_COLUMNS
from pmcgrad.study.report.chapters.scale import (
    crossover,
    log_log_fit,
    render_scale,
    summarise_scale,
)


def _rows(design, method, family, times, reached=None):
    reached = reached or [True] * len(times)
    return [{"design": design, "k": k, "method": method, "family": family, "n": 2 * k,
             "reference": "closed_form", "reference_error": 0.0, "target": 0.02,
             "seconds": seconds, "warmup_seconds": 1.0, "steps": 100, "attempts": 1,
             "converged": True, "max_abs_error": 0.01 if hit else 0.05,
             "mean_abs_error": 0.005, "reached": hit}
            for (k, seconds), hit in zip(times.items(), reached, strict=True)]


def _scale(vi_times, mcmc_times, vi_reached=None, mcmc_reached=None):
    rows = (_rows("orthogonal", "disarm", "bit_conditioned", vi_times, vi_reached)
            + _rows("orthogonal", MCMC, NOT_A_FIT, mcmc_times, mcmc_reached))
    return pd.DataFrame(rows, columns=SCALE_COLUMNS)


def test_log_log_fit_recovers_a_power_law():
    """time = 3 k^1.5 gives slope 1.5; one k gives no slope."""
    k = np.array([10, 30, 100])
    slope, intercept = log_log_fit(k, 3 * k**1.5)
    assert slope == pytest.approx(1.5) and math.exp(intercept) == pytest.approx(3)
    assert math.isnan(log_log_fit([10, 10], [1, 2])[0])


def test_crossover_is_where_the_fit_wins_from_then_on():
    """VI slower at k = 10, faster at 30 and 100: the crossover is 30. A loss at the largest k
    means no crossover; MCMC not reaching the target counts as a win for a fit that does."""
    scale = _scale({10: 5.0, 30: 6.0, 100: 9.0}, {10: 2.0, 30: 8.0, 100: 60.0})
    fit, mcmc = scale[scale["method"] != MCMC], scale[scale["method"] == MCMC]
    assert crossover(fit, mcmc) == 30
    late = _scale({10: 1.0, 30: 6.0, 100: 90.0}, {10: 2.0, 30: 8.0, 100: 60.0})
    assert math.isnan(crossover(late[late["method"] != MCMC], late[late["method"] == MCMC]))
    missed = _scale({10: 5.0, 30: 60.0}, {10: 2.0, 30: 8.0}, mcmc_reached=[True, False])
    assert crossover(missed[missed["method"] != MCMC], missed[missed["method"] == MCMC]) == 30
    unreached = _scale({10: 1.0, 30: 1.0}, {10: 2.0, 30: 8.0}, vi_reached=[True, False])
    assert math.isnan(crossover(unreached[unreached["method"] != MCMC],
                                unreached[unreached["method"] == MCMC]))


def test_summary_and_key_result_state_the_measured_crossover():
    """The key result names the crossover k with both times; slopes are fitted on reached
    points only."""
    summary = summarise_scale(_scale({10: 5.0, 30: 6.0, 100: 9.0},
                                     {10: 2.0, 30: 8.0, 100: 60.0}))
    slopes = summary.slopes.set_index("label")
    assert slopes.loc["pm.sample", "slope"] == pytest.approx(log_log_fit([10, 30, 100],
                                                                         [2, 8, 60])[0])
    assert summary.crossovers["k"].tolist() == [30]
    section = render_scale(summary)
    key = section.highlights[0]
    assert "faster than pm.sample from k = 30 on (6 s against 8 s at k = 30)" in key
    assert 'id="scale-crossover"' in "".join(section.body)


def test_no_crossover_is_said_and_the_extrapolation_marked():
    """A flatter VI line that is still slower at the largest k: no crossover in range, and the
    fitted lines' crossing is given as an extrapolation beyond it."""
    summary = summarise_scale(_scale({10: 20.0, 30: 30.0, 100: 45.0},
                                     {10: 1.0, 30: 5.0, 100: 30.0}))
    assert math.isnan(summary.crossovers["k"].iloc[0])
    extrapolated = summary.crossovers["extrapolated"].iloc[0]
    assert extrapolated > 100
    key = render_scale(summary).highlights[0]
    assert "no crossover was found in this range" in key and "an extrapolation" in key
    assert "(at k = 100, bit_conditioned + disarm, pm.sample reached it)" in key


def test_no_method_reaching_the_target_is_said_plainly():
    """Nothing reached the target: no crossover, and the key result says no method reached it."""
    summary = summarise_scale(_scale({10: 2.0, 30: 3.0}, {10: 1.0, 30: 5.0},
                                     vi_reached=[False, False], mcmc_reached=[False, False]))
    key = render_scale(summary).highlights[0]
    assert "no crossover was found in this range (at k = 30, no method reached it)" in key
