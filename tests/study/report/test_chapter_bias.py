"""Chapter 3 (bias): the table counts the study's own verdicts and states its rule."""

import pytest

from pmcgrad.study.gradient import bias_threshold
from pmcgrad.study.report.chapters.bias import render_bias, summarise_bias, threshold_text
from tests.study.report.frames import gradient_rows


def _gradient():
    return gradient_rows([
        # Above 4 s.e. but within the threshold at k = 64 (4.89): the study counts it within.
        {"estimator": "arm", "k": 64, "max_bias_z": 4.5, "bias_within_error": True},
        {"estimator": "arm", "k": 1, "max_bias_z": 0.5},
        {"estimator": "uniform_naive", "unbiased": False, "k": 64, "max_bias_z": 90.0,
         "bias_within_error": False, "bias": 2.0, "exact_gradient_norm": 4.0},
        {"estimator": "uniform_naive", "unbiased": False, "k": 1, "max_bias_z": 3.0},
    ])


def test_the_table_counts_the_studys_verdicts():
    """within / outside come from bias_within_error, not from a fixed 4 s.e."""
    summary = summarise_bias(_gradient())
    table = summary.table.set_index("estimator")
    assert table.loc["arm", "within threshold"] == 2 and table.loc["arm", "outside"] == 0
    assert table.loc["uniform_naive", "outside"] == 1
    assert table.loc["uniform_naive", "max |z|"] == 90.0
    assert table.loc["uniform_naive", "median bias / ‖exact gradient‖"] == pytest.approx(0.25)
    assert summary.order == ["uniform_naive", "arm"]  # registry order
    assert summary.k_range == (1, 64)
    assert summary.thresholds == (bias_threshold(1), bias_threshold(64))


def test_the_caption_states_the_corrected_threshold():
    """The rule in the page is the rule applied: 4 at k = 1, 4.89 at k = 64."""
    assert threshold_text((1, 64), (4.0, 4.894)) == (
        "z<sub>k</sub> standard errors (4 at k = 1, 4.89 at k = 64)")
    assert threshold_text((2, 2), (4.16, 4.16)) == "z<sub>k</sub> standard errors (4.16 at k = 2)"
    section = render_bias(summarise_bias(_gradient()))
    html = "".join(section.body)
    assert "4.89 at k = 64" in html and "within 4 s.e." not in html
    assert "1 of 1 estimators flagged unbiased stay within" in section.highlights[0]
