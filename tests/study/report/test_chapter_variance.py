"""Chapter 4 (variance): means over seeds and the most efficient unbiased estimator."""

import pytest

from pmcgrad.study.report.chapters.variance import mean_over_seeds, summarise_variance
from tests.study.report.frames import gradient_rows


def _gradient():
    rows = []
    for k, scale in ((1, 1.0), (4, 4.0)):
        for seed in (0, 1):
            efficiency = {"reinforce": 8.0 * scale, "disarm": 1.0 * scale + seed,
                          "reinforce_loo": 2.0 * scale, "uniform_naive": 0.1, "exact": 0.0}
            rows += [{"estimator": name, "k": k, "seed": seed, "variance_x_evaluations": value,
                      "unbiased": name != "uniform_naive"}
                     for name, value in efficiency.items()]
    return gradient_rows(rows)


def test_mean_over_seeds():
    """Mean and standard error of the mean per key."""
    agg = mean_over_seeds(_gradient(), ["estimator", "k"], {"e": "variance_x_evaluations"})
    disarm = agg[(agg["estimator"] == "disarm") & (agg["k"] == 1)].iloc[0]
    assert disarm["e"] == 1.5 and disarm["e_se"] == pytest.approx(0.5) and disarm["seeds"] == 2


def test_the_most_efficient_unbiased_estimator_is_found():
    """The biased estimator and exact are never 'most efficient'; ratios at both ends of k."""
    summary = summarise_variance(_gradient())
    (finding,) = summary.findings
    assert finding["best"] == "disarm" and finding["k_max"] == 4
    assert finding["best_efficiency"] == pytest.approx(4.5)
    assert finding["reinforce_ratio"] == pytest.approx(32 / 4.5)
    assert finding["disarm_loo_low"] == pytest.approx(1.5 / 2)
    assert finding["disarm_loo_high"] == pytest.approx(4.5 / 8)
    assert "exact" not in set(summary.agg["estimator"])
    assert list(summary.efficiency["estimator"]) == ["reinforce", "reinforce_loo",
                                                     "uniform_naive", "disarm"]


def test_round_off_variance_is_zero():
    """A variance 1e-12 below its panel's largest is shown as exactly zero."""
    frame = _gradient()
    frame.loc[frame["estimator"] == "disarm", "variance"] = 1e-20
    agg = summarise_variance(frame).agg
    assert (agg.loc[agg["estimator"] == "disarm", "variance"] == 0).all()
