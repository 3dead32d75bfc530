"""pmcgrad.study.model_study: the rows of model.csv and model_traces.csv, and the check that a
fit's trace is as long as the steps it ran."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pmcgrad.study.columns import MCMC, MODEL, MODEL_COLUMNS, MODEL_TRACES, NOT_A_FIT
from pmcgrad.study.model_study import (
    concat_traces,
    expected_trace_rows,
    model_rows,
    trace_rows,
    traced_steps,
)
from pmcgrad.study.settings import FitJob
from pmcgrad.study.tables import TableError, read_table, write_table

JOB = FitJob(3, 1, "disarm", "meanfield", 0)


def test_model_and_trace_rows():
    """One model row per predictor; traces keep every thin-th step and the last, elbo = -loss."""
    rows = model_rows(3, 1, MCMC, NOT_A_FIT, 0, np.array([0.1, 0.5, 1.0]),
                      np.array([0.2, 0.5, 0.9]), elbo=math.nan, seconds=1.0, netcdf="x.nc")
    assert [row["abs_error"] for row in rows] == pytest.approx([0.1, 0.0, 0.1])
    assert set(rows[0]) == set(MODEL_COLUMNS)
    assert rows[0]["steps"] == 0 and rows[0]["converged"] is False
    trace = trace_rows(JOB, np.arange(25.0), np.arange(25.0), thin=10)
    assert [row["step"] for row in trace] == [1, 11, 21, 25]
    assert len(trace) == len(traced_steps(25, 10))
    assert trace[-1]["elbo"] == -24.0 and trace[0]["seed"] == 0
    assert traced_steps(0, 10) == []


def _fit(tmp_path, name, steps):
    """A fit's model.csv rows (k = 3) that ran ``steps`` steps, and its trace."""
    table = tmp_path / f"{name}.csv"
    write_table(model_rows(3, 1, "disarm", "meanfield", 0, np.full(3, 0.5), np.full(3, 0.5),
                           elbo=-1.0, seconds=1.0, netcdf="", steps=steps, converged=True),
                table, MODEL)
    trace = tmp_path / f"{name}.trace.csv"
    write_table(trace_rows(JOB, -np.arange(float(steps)), np.arange(float(steps)), thin=10),
                trace, MODEL_TRACES)
    return str(trace), str(table)


def test_traces_are_as_long_as_the_steps_each_fit_ran(tmp_path):
    """Two fits that stopped at different steps concatenate, each with its own row count."""
    early, late = _fit(tmp_path, "early", 205), _fit(tmp_path, "late", 1000)
    assert expected_trace_rows(early[1], 3, 10) == 22  # steps 1, 11, ..., 201 and 205
    concat_traces([early[0], late[0]], [early[1], late[1]], [3, 3], 10, tmp_path / "all.csv")
    # 1, 11, ..., 991 and 1000
    assert len(read_table(tmp_path / "all.csv", MODEL_TRACES)) == 22 + 101


def test_a_trace_that_does_not_match_its_fit_is_refused(tmp_path):
    """A trace cut short, or one of another fit, fails naming the file; nothing is written."""
    trace, table = _fit(tmp_path, "fit", 205)
    lines = open(trace).read().splitlines(keepends=True)
    open(trace, "w").writelines(lines[:-1])  # the last traced step is gone
    with pytest.raises(TableError, match=r"fit\.trace\.csv' has 21 rows, expected 22"):
        concat_traces([trace], [table], [3], 10, tmp_path / "all.csv")
    other, _ = _fit(tmp_path, "other", 207)  # 22 rows too, but ending at step 207
    with pytest.raises(TableError, match=r"other\.trace\.csv': its steps end at 207"):
        concat_traces([other], [table], [3], 10, tmp_path / "all.csv")
    assert not (tmp_path / "all.csv").exists()
