"""pmcgrad.study.chain: the coupling chain at equal cost, with the k = 1 closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmcgrad.study.chain import chain_rows, rows_per_job, variance_with_error
from pmcgrad.study.settings import ChainSettings

CHAIN = ("exp_score", "ar", "antithetic_exp", "arm", "disarm", "reinforce", "reinforce_loo")


@pytest.mark.slow
def test_chain_k1_matches_closed_forms():
    """Every chain estimate costs 2 evaluations and its variance matches the closed form."""
    settings = ChainSettings(estimators=CHAIN, k=(1,), t=0.49, seeds=(0,), evaluations=2,
                             replicates=200_000)
    rows = pd.DataFrame(chain_rows(1, settings))
    assert len(rows) == rows_per_job(settings)
    assert (rows["evaluations"] == 2).all()
    assert rows["closed_form"].notna().all()
    error = (rows["variance"] - rows["closed_form"]).abs()
    assert (error <= 4 * rows["variance_se"] + 1e-12).all(), rows


def test_closed_forms_only_at_k1():
    """Above one bit there is no closed form: the column is NaN."""
    settings = ChainSettings(estimators=("arm",), k=(2,), t=0.49, seeds=(0, 1), evaluations=2,
                             replicates=100)
    rows = chain_rows(2, settings)
    assert len(rows) == rows_per_job(settings) == 2
    assert all(np.isnan(row["closed_form"]) for row in rows)


def test_variance_with_error():
    """The variance of one estimate averaged over coordinates, with a shrinking error."""
    estimates = np.random.default_rng(0).normal(scale=[1.0, 2.0], size=(40_000, 2))
    variance, se = variance_with_error(estimates)
    assert abs(variance - 2.5) < 4 * se
    assert 0 < se < 0.05
