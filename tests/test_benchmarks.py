"""Smoke tests of the benchmark suite: each module runs on tiny sizes and writes finite rows, and
the backend check catches wrong numbers. No timing is asserted."""

from __future__ import annotations

import csv
import dataclasses
import math

import numpy as np
import pytest

import benchmarks.common
import pmcgrad
from benchmarks import against_numpy, backends, estimator_overhead, scaling
from benchmarks.harness import DenseQuadratic, Toy, max_z
from pmcgrad.estimators import enumerate_bits

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def csv_in_tmp(tmp_path, monkeypatch):
    """Benchmark CSVs go to a temporary folder, not benchmarks/out/."""
    monkeypatch.setattr(benchmarks.common, "OUT", tmp_path)
    return tmp_path


@pytest.fixture
def isolated_registries(monkeypatch):
    """Registrations made by a test stay inside it."""
    import pmcgrad.estimators as estimators

    monkeypatch.setattr(estimators, "_REGISTRY", dict(estimators._REGISTRY))


def read_csv(path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def assert_finite_rows(rows, path, prefixes):
    assert rows, "no rows"
    written = read_csv(path)
    assert [row["name"] for row in written] == [row["name"] for row in rows]
    for row in written:
        assert set(row) == {"name", "value", "unit", "note"}
        assert math.isfinite(float(row["value"])), row
    for prefix in prefixes:
        assert any(row["name"].startswith(prefix) for row in written), prefix


def test_estimator_overhead_quick(csv_in_tmp):
    """estimator_overhead runs both f's and writes a finite ratio per estimator."""
    rows = estimator_overhead.main(quick=True)
    assert_finite_rows(rows, csv_in_tmp / "estimator_overhead.csv",
                       ["overhead_ratio[dense,", "overhead_ratio[toy,"])
    assert len(rows) == 2 * len(estimator_overhead.QUICK_ESTIMATORS)
    assert all("target" in row["note"] for row in rows)


def test_against_numpy_quick(csv_in_tmp):
    """against_numpy checks agreement and writes finite timing ratios."""
    rows = against_numpy.main(quick=True)
    assert_finite_rows(rows, csv_in_tmp / "against_numpy.csv",
                       ["numpy_agreement_max_z[", "numpy_ratio["])


def test_scaling_quick(csv_in_tmp):
    """scaling writes slopes for the sampling estimators, uniform_boundary and exact."""
    rows = scaling.main(quick=True)
    assert_finite_rows(rows, csv_in_tmp / "scaling.csv",
                       ["scaling_slope[disarm]", "scaling_slope[uniform_boundary]",
                        "exact_factor_per_bit", "exact_k_at_one_second"])


def test_backends_quick(csv_in_tmp):
    """backends agrees across Numba and C on a small case and writes timing ratios."""
    rows = backends.main(quick=True, modes=("NUMBA", "CVM"))
    assert_finite_rows(rows, csv_in_tmp / "backends.csv",
                       ["backend_same_numbers_max_abs_diff[CVM vs NUMBA,",
                        "backend_gradient_vs_expected_max_z[", "backend_time_ratio[CVM/NUMBA,"])
    assert all("PASS" in row["note"] for row in rows if "max" in row["name"])


@pytest.mark.usefixtures("isolated_registries")
def test_backend_check_catches_a_wrong_gradient():
    """An estimator whose gradient is off by a factor fails the backend check."""
    disarm = pmcgrad.get_estimator("disarm")
    wrong = dataclasses.replace(
        disarm, name="disarm_doubled", op_name="DisARMDoubled",
        gradient=lambda *args: 2 * disarm.gradient(*args),
    )
    pmcgrad.register_estimator(wrong)
    _, failures = backends.check_backends(("NUMBA",), ["disarm_doubled"], k=3, calls=200)
    assert any("backend_gradient_vs_expected" in failure for failure in failures)


def test_max_z_judges_deterministic_outputs_by_the_tolerance():
    """A difference within the tolerance is 0 whatever the spread; beyond it, over 0 SE, inf."""
    assert max_z(np.array([1e-16, 2.0]), np.array([1e-19, 1.0])) == 2.0
    assert max_z(np.array([1e-3]), np.array([0.0])) == math.inf


@pytest.mark.parametrize("problem", [Toy(4), DenseQuadratic(4, seed=1)], ids=["toy", "dense"])
def test_closed_form_gradients_match_enumeration(problem):
    """The benchmarks' closed-form means and gradients equal the enumerated ones."""
    logits = np.random.default_rng(5).normal(size=4)
    bits = enumerate_bits(4)
    p = 1 / (1 + np.exp(-logits))
    weights = np.prod(np.where(bits == 1, p, 1 - p), axis=1)
    fvals = problem.numpy(bits)
    np.testing.assert_allclose(problem.mean(logits), weights @ fvals)
    np.testing.assert_allclose(problem.exact_gradient(logits),
                               (weights[:, None] * fvals[:, None] * (bits - p)).sum(0))


def test_sbn_step_quick(csv_in_tmp):
    """The SBN step benchmark runs on 200 images and writes finite ratio rows."""
    from benchmarks import sbn_step

    rows = sbn_step.main(quick=True)
    assert {row["name"] for row in rows} == {"sbn_step_ms", "sbn_step_ratio_vs_log_density"}
    assert all(np.isfinite(row["value"]) and row["value"] > 0 for row in rows)
    assert (csv_in_tmp / "sbn_step.csv").exists()
