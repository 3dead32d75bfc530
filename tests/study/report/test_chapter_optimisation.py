"""Chapter 6 (optimisation): the excess loss over seeds and the final values."""

import pandas as pd
import pytest

from pmcgrad.study.columns import OPTIMISATION_COLUMNS
from pmcgrad.study.report.chapters.optimisation import summarise_optimisation


def test_excess_loss_and_finals():
    """Excess = loss - k min(t, 1 - t)^2, median over seeds; finals ranked lowest first."""
    rows = [[0.49, 2, name, seed, step, step / 10, 2 * 0.49**2 + excess * (1 + seed)]
            for name, excess in (("reinforce", 0.2), ("disarm", 0.1))
            for seed in (0, 1, 2) for step in (0, 10)]
    summary = summarise_optimisation(pd.DataFrame(rows, columns=OPTIMISATION_COLUMNS))
    last = summary.agg[summary.agg["step"] == 10].set_index("estimator")
    assert last.loc["disarm", "median"] == pytest.approx(0.2)  # seeds give 0.1, 0.2, 0.3
    assert last.loc["disarm", "low"] == pytest.approx(0.1)
    assert summary.panels == [(0.49, 2)]
    assert list(summary.finals["estimator"]) == ["disarm", "reinforce"]
    assert summary.finals["steps"].tolist() == [10, 10]
