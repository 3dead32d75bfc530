"""Chapter 10 (sigmoid belief networks): final checkpoints and the grid the files name."""

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
    rows = [["digits", 16, name, seed, step, 1.0, -30.0, 0.1, bound + seed, float("nan")]
            for name, bound in (("disarm", -25.0), ("reinforce", -28.0))
            for seed in (0, 1) for step in (50, 100)]
    rows += [["synthetic", 16, "reinforce", 0, step, 2.0, -20.0, 0.1, -19.0, -18.5]
             for step in (10, 20)]
    images = [_grid(tmp_path / "a.npz", "reinforce", 16, 0),
              _grid(tmp_path / "b.npz", "disarm", 16, 1),
              _grid(tmp_path / "c.npz", "disarm", 16, 0)]
    summary = summarise_sbn(pd.DataFrame(rows, columns=SBN_COLUMNS), images)
    digits = summary.final[summary.final["dataset"] == "digits"]
    assert len(digits) == 4 and (digits["step"] == 100).all()
    best, worst = summary.best["digits"], summary.worst["digits"]
    assert best["estimator"] == "disarm" and best["heldout"] == -24.5
    assert worst["estimator"] == "reinforce"
    assert summary.best["synthetic"]["reference"] == -18.5  # the generating SBN's ceiling
    assert summary.panels == [("digits", 16), ("synthetic", 16)]
    assert summary.grid["path"] == tmp_path / "c.npz"  # disarm, its lowest seed
    assert choose_grid([], "disarm", 16) is None
    assert choose_grid(images[:1], "disarm", 16)["path"] == tmp_path / "a.npz"
