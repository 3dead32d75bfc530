"""pmcgrad.study.tables: every table is checked against its contract where it is written,
concatenated and read, and a broken one is named with its line and column."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pmcgrad.study.columns import CHAIN, MODEL, NOT_A_FIT
from pmcgrad.study.model_study import model_rows
from pmcgrad.study.tables import TableError, concat_tables, read_table, write_table


def _chain_rows(n: int, seed: int = 0) -> list[dict]:
    return [{"estimator": "disarm", "k": 1, "t": 0.49, "seed": seed, "evaluations": 2,
             "variance": 1e-3 * (i + 1) / 3, "variance_se": 1e-5, "closed_form": math.nan}
            for i in range(n)]


def _model_rows() -> list[dict]:
    return model_rows(2, 0, "mcmc", NOT_A_FIT, 0, np.array([0.5, 0.25]), np.array([0.5, np.nan]),
                      elbo=math.nan, seconds=1.0, netcdf="")


def test_round_trip_keeps_values_and_bytes(tmp_path):
    """Written, read and written again: the same bytes; NaN and "" survive as themselves."""
    path = tmp_path / "a.csv"
    write_table(_model_rows(), path, MODEL)
    back = read_table(path, MODEL)
    assert back["family"].iloc[0] == NOT_A_FIT and back["netcdf"].iloc[0] == ""
    assert math.isnan(back["elbo"].iloc[0]) and back["k"].dtype == np.int64
    write_table(back, tmp_path / "b.csv", MODEL)
    assert (tmp_path / "b.csv").read_bytes() == path.read_bytes()


def test_write_refuses_other_columns_and_missing_keys(tmp_path):
    """Missing or extra columns, or a key without a value, are refused by name."""
    with pytest.raises(TableError, match="missing"):
        write_table([{"k": 1}], tmp_path / "bad.csv", MODEL)
    with pytest.raises(TableError, match="unexpected"):
        write_table([_model_rows()[0] | {"extra": 1}], tmp_path / "bad.csv", MODEL)
    with pytest.raises(TableError, match="column 'family' of row 0"):
        write_table([_model_rows()[0] | {"family": ""}], tmp_path / "bad.csv", MODEL)
    assert not (tmp_path / "bad.csv").exists()


def _written(tmp_path, rows=None, name="k1.csv"):
    path = tmp_path / name
    write_table(_chain_rows(3) if rows is None else rows, path, CHAIN)
    return path


def test_a_table_cut_mid_row_is_named_with_its_line(tmp_path):
    """A per-job CSV truncated in the middle of a row stops the concatenation, naming the
    file and the line (it used to reach the report as NaN)."""
    path = _written(tmp_path)
    text = path.read_text()
    path.write_text(text[: text.rindex(",") + 3])  # the last row cut inside a number
    with pytest.raises(TableError, match=r"k1\.csv.*truncated.*line 4"):
        concat_tables([path], tmp_path / "chain.csv", CHAIN)
    assert not (tmp_path / "chain.csv").exists()


def test_a_row_with_missing_fields_is_named(tmp_path):
    """A line with fewer fields than the header names the file and the line."""
    path = _written(tmp_path)
    lines = path.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:5])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError, match=r"k1\.csv', line 3: 5 fields, expected 8"):
        read_table(path, CHAIN)


def test_dropped_rows_are_counted(tmp_path):
    """A job's table with rows missing fails against the rows that job must write."""
    full, short = _written(tmp_path, name="k1.csv"), _written(tmp_path, _chain_rows(2), "k4.csv")
    concat_tables([full], tmp_path / "chain.csv", CHAIN, rows=[3])
    with pytest.raises(TableError, match=r"k4\.csv' has 2 rows, expected 3"):
        concat_tables([full, short], tmp_path / "chain.csv", CHAIN, rows=[3, 3])


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [("variance", "abc", r"line 2, column 'variance': could not convert 'abc' to float"),
     ("k", "1.5", r"line 2, column 'k': could not convert '1.5' to int"),
     ("variance", "NaN", r"line 2, column 'variance': NaN where a value is required"),
     ("seed", "", r"line 2, column 'seed': no value"),
     ("estimator", "", r"line 2, column 'estimator': no value")],
)
def test_a_bad_cell_is_named_with_file_line_and_column(tmp_path, column, cell, message):
    """Unparseable numbers, NaN where a value is required and empty keys name all three."""
    frame = pd.DataFrame(_chain_rows(2))
    path = _written(tmp_path)
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[list(frame.columns).index(column)] = cell
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError, match=r"k1\.csv', " + message):
        read_table(path, CHAIN)


def test_concat_writes_the_tables_in_order(tmp_path):
    """The aggregate is the per-job tables, in the given order, byte for byte."""
    first = _written(tmp_path, _chain_rows(2, seed=0), "a.csv")
    second = _written(tmp_path, _chain_rows(1, seed=1), "b.csv")
    concat_tables([second, first], tmp_path / "chain.csv", CHAIN, rows=[1, 2])
    lines = (tmp_path / "chain.csv").read_text().splitlines()
    assert lines[1:] == second.read_text().splitlines()[1:] + first.read_text().splitlines()[1:]


def test_header_and_empty_file_are_checked(tmp_path):
    """A header other than the contract's, or no header at all, is refused by name."""
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(TableError, match=r"x\.csv' has columns \['a', 'b'\]"):
        read_table(path, CHAIN)
    path.write_text("")
    with pytest.raises(TableError, match="empty"):
        read_table(path, CHAIN)
    with pytest.raises(TableError, match="cannot be read"):
        read_table(tmp_path / "absent.csv", CHAIN)
