"""Shared helpers for the test suite."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest


def table_function(table: np.ndarray, k: int):
    """f(b) = table[index(b)], index(b) = sum_i b_i 2^i: an arbitrary function of k bits."""
    powers = pt.constant(2 ** np.arange(k), dtype="float64")
    table_var = pt.constant(np.asarray(table, dtype="float64"))

    def f(bits):
        return table_var[pt.cast((bits * powers).sum(-1), "int64")]

    return f


def exact_table_gradient(table: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """sum_b q(b) f(b) (b - p) by enumeration in NumPy, independent of pmcgrad."""
    k = logits.shape[-1]
    bits = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(float)
    p = 1 / (1 + np.exp(-logits))
    q = np.prod(np.where(bits == 1, p, 1 - p), axis=1)
    return (q[:, None] * np.asarray(table)[:, None] * (bits - p)).sum(axis=0)


# With pytest-xdist (PYTEST_ARGS="-n auto --dist loadgroup") a test runs on the worker of its
# file's group, so module fixtures (compiled fits) are built once; the files that read the
# tiny study's outputs (`tiny_run`, a session fixture of several minutes) share one group, so
# it runs once, not once per worker.
_TINY_RUN_FILES = {"test_workflow_run.py", "test_report.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group("tiny_run" if name in _TINY_RUN_FILES
                                                else str(item.path)))


@pytest.fixture
def rng():
    return np.random.default_rng(20261126)
