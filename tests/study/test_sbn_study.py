"""pmcgrad.study.sbn_study.train_sbn on a tiny problem."""

import numpy as np

from pmcgrad.study.columns import SBN_COLUMNS
from pmcgrad.study.sbn_study import GRID_IMAGES, train_sbn


def test_train_sbn_tiny():
    trace, heldout, images = train_sbn(8, "disarm", 0, steps=120, samples=4, checkpoints=3,
                                       train_size=60, test_size=20, heldout_steps=50,
                                       heldout_draws=20)
    assert list(trace.columns) == SBN_COLUMNS
    assert list(trace["step"]) == [40, 80, 120]
    numeric = trace[SBN_COLUMNS[3:]].to_numpy(dtype=float)
    assert np.isfinite(numeric).all()
    assert trace["seconds"].is_monotonic_increasing
    assert trace["train_elbo"].iloc[-1] > trace["train_elbo"].iloc[0]
    assert (trace["heldout_log_likelihood"] < 0).all()
    assert len(heldout) == 1 and heldout["step"].iloc[0] == 120
    assert set(images) == {"test", "reconstruction", "samples"}
    for grid in images.values():
        assert grid.shape == (GRID_IMAGES, 8, 8)
        assert ((grid >= 0) & (grid <= 1)).all()
