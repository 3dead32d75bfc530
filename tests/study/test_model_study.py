"""pmcgrad.study.model_study: the rows of model.csv and model_traces.csv."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pmcgrad.study.columns import MCMC, MODEL_COLUMNS, NOT_A_FIT
from pmcgrad.study.model_study import model_rows, trace_rows, traced_steps


def test_model_and_trace_rows():
    """One model row per predictor; traces keep every thin-th step and the last, elbo = -loss."""
    rows = model_rows(3, 1, MCMC, NOT_A_FIT, np.array([0.1, 0.5, 1.0]), np.array([0.2, 0.5, 0.9]),
                      elbo=math.nan, seconds=1.0, netcdf="x.nc")
    assert [row["abs_error"] for row in rows] == pytest.approx([0.1, 0.0, 0.1])
    assert set(rows[0]) == set(MODEL_COLUMNS)
    trace = trace_rows(3, 1, "disarm", "meanfield", np.arange(25.0), np.arange(25.0), thin=10)
    assert [row["step"] for row in trace] == [1, 11, 21, 25]
    assert len(trace) == len(traced_steps(25, 10))
    assert trace[-1]["elbo"] == -24.0
    assert traced_steps(0, 10) == []
