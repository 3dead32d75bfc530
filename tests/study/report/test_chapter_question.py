"""Chapter 1 (the question): the worked example and the closed forms it lists."""

import math

import pytest

from pmcgrad.problems import k1_variance
from pmcgrad.study.report.chapters.question import summarise_question
from pmcgrad.study.report.mathml import VARIANCE_FORMULAS


def test_worked_example_and_closed_forms():
    """At phi = 0.7, f(1) = 3, f(0) = -1: the exact gradient, and the two biased forms."""
    summary = summarise_question()
    p = 1 / (1 + math.exp(-0.7))
    assert summary.example["exact"] == pytest.approx(4 * p * (1 - p))
    assert summary.example["uniform_naive"] == pytest.approx((1 - p) * (3 * p - (1 - p)))
    assert summary.example["note_reinforce"] != pytest.approx(summary.example["exact"])
    assert list(summary.closed_forms["estimator"]) == list(VARIANCE_FORMULAS)
    assert summary.closed_forms["variance"].tolist() == [
        k1_variance(name, 0.49).variance for name in VARIANCE_FORMULAS]
