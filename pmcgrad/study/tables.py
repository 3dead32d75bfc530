"""Reading, writing and concatenating the study's tidy tables, each checked against its contract.

Every table is a CSV whose columns are exactly one :class:`~pmcgrad.study.columns.TableContract`.
:func:`write_table` refuses anything else and writes atomically (a file appears complete or not
at all). :func:`read_table` is the one reader, for the workflow's aggregation and for the
report alike: it checks the header, that the file ends where a row ends, that every line has
every field, that every cell parses as its column's type and that key columns hold a value,
and it raises :class:`TableError` naming the file, the line and the column. A per-job table
truncated mid-row or missing rows therefore stops the workflow where it is concatenated,
instead of reaching the report as NaN.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from pmcgrad.study.columns import Column, TableContract

__all__ = ["TableError", "concat_tables", "read_table", "write_atomically", "write_table"]


class TableError(ValueError):
    """A table that breaks its contract; the message names the file, and the line and column
    where that applies."""


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary)`` with a path beside ``path``, then rename it to ``path``.

    A rename within one directory is atomic, so ``path`` holds either its previous content or
    the complete new one: an interrupted job (or a reader at the wrong moment) never sees half
    a file. The temporary name keeps ``path``'s suffix, for writers that go by it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_table(rows: Iterable[Mapping] | pd.DataFrame, path: str | os.PathLike,
                contract: TableContract) -> pd.DataFrame:
    """Write ``rows`` as a CSV with exactly ``contract``'s columns, in order; returns the frame.

    Raises :class:`TableError` naming the missing or unexpected columns, or a key column
    without a value. Floats are written with 17 significant digits, so that a rerun from the
    same seeds writes a byte-identical file, and NaN as ``NaN``.
    """
    columns = contract.names
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if frame.empty and not len(frame.columns):
        frame = pd.DataFrame(columns=columns)
    missing = [name for name in columns if name not in frame.columns]
    extra = [name for name in frame.columns if name not in columns]
    if missing or extra:
        raise TableError(
            f"table {os.fspath(path)!r} does not follow its column contract: "
            f"missing {missing}, unexpected {extra}"
        )
    for column in contract.columns:
        absent = frame[column.name].isna()
        if column.kind is str and not column.may_be_empty:
            absent |= frame[column.name].astype(str) == ""
        if (column.key or not column.may_be_nan) and absent.any():
            row = int(absent.to_numpy().argmax())
            raise TableError(f"table {os.fspath(path)!r}: no value in column {column.name!r} "
                             f"of row {row}")
    write_atomically(path, lambda temporary: frame[columns].to_csv(
        temporary, index=False, float_format="%.17g", na_rep="NaN"))
    return frame


def read_table(path: str | os.PathLike, contract: TableContract, *, rows: int | None = None
               ) -> pd.DataFrame:
    """Read and check one table; ``rows``, when given, is the number of rows it must have.

    Returns the frame with every column parsed to its contract's type. Raises
    :class:`TableError` (naming the file, and the line and column where they apply) for a
    missing or empty file, a wrong header, a last line cut short, a line with too few or too
    many fields, a cell that does not parse, a missing value or a wrong number of rows.
    """
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except OSError as error:
        raise TableError(f"table {name!r} cannot be read: {error}") from error
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise TableError(f"table {name!r} is empty: not even a header")
    header, records = lines[0], lines[1:]
    if header != contract.names:
        raise TableError(f"table {name!r} has columns {header}, expected {contract.names} "
                         f"(the {contract.name} contract, pmcgrad.study.columns)")
    if not text.endswith("\n"):
        raise TableError(f"table {name!r} is truncated: its last line (line {len(lines)}) does not "
                         "end with a newline")
    for index, record in enumerate(records):
        if len(record) != len(header):
            raise TableError(f"table {name!r}, line {index + 2}: {len(record)} fields, "
                             f"expected {len(header)} ({', '.join(header)})")
    if rows is not None and len(records) != rows:
        raise TableError(f"table {name!r} has {len(records)} rows, expected {rows} for its job")
    raw = pd.DataFrame(records, columns=header, dtype=object)
    return pd.DataFrame({column.name: _parse_column(raw[column.name], column, name)
                         for column in contract.columns}, columns=header)


def concat_tables(paths: Sequence[str | os.PathLike], out: str | os.PathLike,
                  contract: TableContract, rows: Sequence[int] | None = None) -> pd.DataFrame:
    """Check each per-job table and write them, in the given order, as one table at ``out``.

    ``rows[i]``, when given, is the number of rows the job behind ``paths[i]`` must have
    written. The first broken table stops the concatenation, naming itself.
    """
    if rows is not None and len(rows) != len(paths):
        raise ValueError(f"{len(paths)} tables but {len(rows)} row counts")
    counts = [None] * len(paths) if rows is None else list(rows)
    frames = [read_table(path, contract, rows=count)
              for path, count in zip(paths, counts, strict=True)]
    frame = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=contract.names))
    return write_table(frame, out, contract)


_BOOLEANS = {"True": True, "False": False}


def _parse_column(cells: pd.Series, column: Column, path: str) -> pd.Series:
    """One column of strings as ``column.kind``; TableError at the first bad cell."""

    def fail(index: int, problem: str) -> TableError:
        return TableError(f"table {path!r}, line {index + 2}, column {column.name!r}: {problem}")

    if column.kind is str:
        if not column.may_be_empty:
            empty = cells.to_numpy() == ""
            if empty.any():
                raise fail(int(empty.argmax()), "no value")
        return cells.astype(str)
    parsed = []
    for index, cell in enumerate(cells):
        if cell == "":
            raise fail(index, "no value")
        if column.kind is bool:
            if cell not in _BOOLEANS:
                raise fail(index, f"{cell!r} is not True or False")
            parsed.append(_BOOLEANS[cell])
            continue
        try:
            value = int(cell) if column.kind is int else float(cell)
        except ValueError:
            raise fail(index, f"could not convert {cell!r} to {column.kind.__name__}") from None
        if column.kind is float and math.isnan(value) and not column.may_be_nan:
            raise fail(index, "NaN where a value is required")
        parsed.append(value)
    return pd.Series(parsed, index=cells.index, dtype=column.kind)
