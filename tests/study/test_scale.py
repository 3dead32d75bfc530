"""pmcgrad.study.scale: the designs, their references and the rows (the timed jobs run in the
workflow test)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from pmcgrad.models import spike_slab_model
from pmcgrad.problems.orthogonal import orthogonal_inclusion
from pmcgrad.study.columns import SCALE_COLUMNS, SCALE_REFERENCE
from pmcgrad.study.scale import (
    effect_counts,
    error_row,
    reference_inclusion,
    scale_data,
    scale_model,
)
from pmcgrad.study.settings import ScaleJob, StudySettings
from pmcgrad.study.tables import write_table

REPO = Path(__file__).resolve().parents[2]
SETTINGS = StudySettings.from_config(
    yaml.safe_load((REPO / "config" / "config.yaml").read_text())).scale


def test_designs_have_the_configured_size_and_effects():
    """n = rows_per_predictor k; orthogonal columns; strong and weak effects as configured."""
    data = scale_data("orthogonal", 100, SETTINGS)
    assert data.X.shape == (200, 100)
    np.testing.assert_allclose(data.X.T @ data.X, 200 * np.eye(100), atol=1e-8)
    assert effect_counts(100, SETTINGS, "orthogonal") == (10, 5)
    assert effect_counts(100, SETTINGS, "correlated") == (10, 0)
    assert effect_counts(3, SETTINGS, "orthogonal") == (1, 0)
    assert int(data.z_true.sum()) == 15
    correlated = scale_data("correlated", 30, SETTINGS)
    assert correlated.X.shape == (60, 30) and int(correlated.z_true.sum()) == 3
    np.testing.assert_array_equal(scale_data("correlated", 30, SETTINGS).y, correlated.y)
    with pytest.raises(ValueError, match="unknown design"):
        scale_data("banded", 10, SETTINGS)


def test_references(tmp_path):
    """The closed form for an orthogonal design (no error); a correlated one's MCMC table with
    its largest standard error, and a clear error without it."""
    inclusion, error, name = reference_inclusion("orthogonal", 10, SETTINGS, None)
    np.testing.assert_array_equal(inclusion, orthogonal_inclusion(scale_data("orthogonal", 10,
                                                                              SETTINGS)))
    assert (error, name) == (0.0, "closed_form")
    path = tmp_path / "k3.csv"
    write_table([{"k": 3, "predictor": j, "inclusion": 0.1 * j, "mcse": 0.01 * (j + 1),
                  "draws": 100, "chains": 2, "seconds": 1.0} for j in (2, 0, 1)], path,
                SCALE_REFERENCE)
    inclusion, error, name = reference_inclusion("correlated", 3, SETTINGS, str(path))
    np.testing.assert_allclose(inclusion, [0.0, 0.1, 0.2])
    assert (error, name) == (pytest.approx(0.03), "mcmc_reference")
    with pytest.raises(ValueError, match="MCMC reference"):
        reference_inclusion("correlated", 3, SETTINGS, None)


def test_error_row_says_whether_the_target_was_reached():
    """max and mean errors against the reference, and reached <=> max <= target."""
    job = ScaleJob("orthogonal", 3, "meanfield", "disarm")
    common = {"reference_name": "closed_form", "reference_error": 0.0, "target": 0.02,
              "seconds": 1.0, "warmup_seconds": 2.0, "steps": 10, "attempts": 1,
              "converged": True}
    row = error_row(job, 6, [0.1, 0.5, 0.9], np.array([0.1, 0.515, 0.9]), **common)
    assert list(row) == SCALE_COLUMNS
    assert row["max_abs_error"] == pytest.approx(0.015) and row["reached"]
    row = error_row(job, 6, [0.1, 0.5, 0.9], np.array([0.1, 0.53, 0.9]), **common)
    assert not row["reached"] and row["mean_abs_error"] == pytest.approx(0.01)


def test_scale_model_is_the_study_model_with_y_as_data():
    """The same log density as pmcgrad.models.spike_slab_model at any point; only y moved into
    pm.Data."""
    data = scale_data("orthogonal", 4, dataclasses.replace(SETTINGS, true_share=0.5))
    ours, theirs = scale_model(data), spike_slab_model(data)
    point = {"z": np.array([1, 0, 1, 1]), "beta": np.array([0.3, -1.0, 2.0, 0.1])}
    assert ours.compile_logp()(point) == pytest.approx(theirs.compile_logp()(point))
    assert "y_obs" in ours.named_vars
