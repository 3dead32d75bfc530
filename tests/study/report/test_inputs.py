"""pmcgrad.study.report.inputs: inputs passed in by name, DataTrees matched and checked."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pmcgrad.study.columns import MCMC, MODEL, NOT_A_FIT, RUNTIME_COLUMNS
from pmcgrad.study.model_study import model_rows
from pmcgrad.study.report.inputs import ReportInputError, load_inputs
from pmcgrad.study.tables import write_table


def _datatree(path):
    posterior = xr.Dataset({"beta": (("chain", "draw"), np.zeros((1, 5)))})
    path.parent.mkdir(parents=True, exist_ok=True)
    xr.DataTree.from_dict({"posterior": posterior}).to_netcdf(path, engine="h5netcdf")
    return path


def _model_table(tmp_path, netcdf="results/models/k1_d0/mcmc.nc"):
    path = tmp_path / "results" / "model.csv"
    write_table(model_rows(1, 0, MCMC, NOT_A_FIT, 0, np.array([0.5]), np.array([0.4]),
                           elbo=math.nan, seconds=1.0, netcdf=netcdf), path, MODEL)
    return path


def test_model_rows_get_the_datatree_they_name(tmp_path):
    """A given DataTree whose path ends with model.csv's netcdf value is that row's file."""
    tree = _datatree(tmp_path / "results" / "models" / "k1_d0" / "mcmc.nc")
    inputs = load_inputs({"model": _model_table(tmp_path), "models": [tree]})
    assert inputs.model["netcdf_path"].tolist() == [tree]
    assert inputs.notes == []
    alone = load_inputs({"model": _model_table(tmp_path), "models": []})
    assert alone.model["netcdf_path"].isna().all()
    assert "were not given" in alone.notes[0]


def test_a_damaged_datatree_is_named(tmp_path):
    """A truncated netcdf stops the report naming the file, not with a bare h5py error."""
    tree = _datatree(tmp_path / "results" / "models" / "k1_d0" / "mcmc.nc")
    data = tree.read_bytes()
    tree.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReportInputError, match=r"mcmc\.nc' cannot be read \(damaged"):
        load_inputs({"model": _model_table(tmp_path), "models": [tree]})


def test_inputs_are_named_and_absent_ones_are_none(tmp_path):
    """Unknown names are refused; a table that does not exist is absent, not an error."""
    with pytest.raises(ValueError, match="unknown report inputs"):
        load_inputs({"tables": tmp_path})
    inputs = load_inputs({"chain": tmp_path / "absent.csv", "sbn_images": []})
    assert inputs.chain is None and inputs.sbn_images == [] and inputs.files == {}


def test_benchmark_suite_tables_get_their_module(tmp_path):
    """The suite's CSVs are read under their contract, with the module as source."""
    path = tmp_path / "fit_step.csv"
    pd.DataFrame([["ratio[disarm]", "nan", "ratio", ""]], columns=RUNTIME_COLUMNS).to_csv(
        path, index=False)
    suite = load_inputs({"benchmark_suite": [path]}).benchmark_suite
    assert suite["source"].tolist() == ["fit_step"] and math.isnan(suite["value"].iloc[0])
