"""Chapter 8 (sigmoid belief network): final checkpoints and the grid the files name."""

import numpy as np
import pandas as pd

from pmcgrad.study.columns import SBN_COLUMNS
from pmcgrad.study.report.chapters.sbn import choose_grid, summarise_sbn


def _grid(path, estimator, k, seed):
    images = np.zeros((8, 8, 8))
    np.savez_compressed(path, k=k, estimator=estimator, seed=seed, test=images,
                        reconstruction=images, samples=images)
    return path


def test_summary_and_the_grid_of_the_best_fit(tmp_path):
    """The best held-out bound picks its own grid, read from the file's contents."""
    rows = [[16, name, seed, step, 1.0, -30.0, 0.1, bound + seed]
            for name, bound in (("disarm", -25.0), ("reinforce", -28.0))
            for seed in (0, 1) for step in (50, 100)]
    images = [_grid(tmp_path / "a.npz", "reinforce", 16, 0),
              _grid(tmp_path / "b.npz", "disarm", 16, 1),
              _grid(tmp_path / "c.npz", "disarm", 16, 0)]
    summary = summarise_sbn(pd.DataFrame(rows, columns=SBN_COLUMNS), images)
    assert len(summary.final) == 4 and (summary.final["step"] == 100).all()
    assert summary.best["estimator"] == "disarm" and summary.best["heldout"] == -24.5
    assert summary.worst["estimator"] == "reinforce"
    assert summary.grid["path"] == tmp_path / "c.npz"  # disarm, its lowest seed
    assert choose_grid([], "disarm", 16) is None
    assert choose_grid(images[:1], "disarm", 16)["path"] == tmp_path / "a.npz"
