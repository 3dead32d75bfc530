"""pmcgrad.study.sbn_study.train_sbn on a tiny problem."""

import numpy as np

from pmcgrad.study.columns import SBN, SBN_COLUMNS
from pmcgrad.study.sbn_study import GRID_IMAGES, GRID_PANELS, rows_per_job, run_sbn_job, train_sbn
from pmcgrad.study.settings import SbnSettings
from pmcgrad.study.tables import read_table

SETTINGS = SbnSettings(k=(8,), estimators=("disarm",), seeds=(0,), train_size=60, test_size=20,
                       steps=120, samples=4, checkpoints=3, heldout_steps=50, heldout_draws=20)


def test_train_sbn_tiny():
    """Checkpoint rows with finite values, a rising ELBO, and the image grid."""
    trace, heldout, images = train_sbn(8, "disarm", 0, SETTINGS)
    assert list(trace.columns) == SBN_COLUMNS
    assert list(trace["step"]) == [40, 80, 120]
    numeric = trace[SBN_COLUMNS[3:]].to_numpy(dtype=float)
    assert np.isfinite(numeric).all()
    assert trace["seconds"].is_monotonic_increasing
    assert trace["train_elbo"].iloc[-1] > trace["train_elbo"].iloc[0]
    assert (trace["heldout_log_likelihood"] < 0).all()
    assert len(heldout) == 1 and heldout["step"].iloc[0] == 120
    assert set(images) == set(GRID_PANELS)
    for grid in images.values():
        assert grid.shape == (GRID_IMAGES, 8, 8)
        assert ((grid >= 0) & (grid <= 1)).all()


def test_a_job_writes_its_rows_and_a_grid_that_names_itself(tmp_path):
    """run_sbn_job: rows_per_job checkpoint rows; the npz records its k, estimator and seed."""
    small = SbnSettings(k=(4,), estimators=("disarm",), seeds=(3,), train_size=20, test_size=8,
                        steps=6, samples=2, checkpoints=2, heldout_steps=2, heldout_draws=4)
    run_sbn_job(4, "disarm", 3, small, out=str(tmp_path / "s3.csv"),
                images=str(tmp_path / "s3.npz"))
    assert len(read_table(tmp_path / "s3.csv", SBN, rows=rows_per_job(small))) == 2
    with np.load(tmp_path / "s3.npz") as grid:
        assert (int(grid["k"]), str(grid["estimator"]), int(grid["seed"])) == (4, "disarm", 3)
        assert grid["test"].shape == (GRID_IMAGES, 8, 8)
