"""pmcgrad.study.sbn_study.train_sbn on a tiny problem."""

import math

import numpy as np
import pytest

from pmcgrad.study.columns import SBN, SBN_COLUMNS
from pmcgrad.study.sbn import importance_sampled_log_likelihood, known_sbn
from pmcgrad.study.sbn_study import (
    GRID_IMAGES,
    GRID_PANELS,
    load_images,
    rows_per_job,
    run_sbn_job,
    train_sbn,
)
from pmcgrad.study.settings import SbnDataset, SbnSettings
from pmcgrad.study.tables import read_table

DIGITS = SbnDataset("digits", train_size=60, test_size=20, steps=120, minibatch_size=0)
SETTINGS = SbnSettings(k=(8,), estimators=("disarm",), seeds=(0,), datasets=(DIGITS,),
                       samples=4, checkpoints=3, heldout_steps=50, heldout_draws=20,
                       synthetic_codes=4, synthetic_seed=7)


def test_train_sbn_tiny():
    """Checkpoint rows with finite values, a rising ELBO, and the image grid."""
    trace, heldout, images = train_sbn(DIGITS, 8, "disarm", 0, SETTINGS)
    assert list(trace.columns) == SBN_COLUMNS
    assert list(trace["step"]) == [40, 80, 120]
    assert (trace["dataset"] == "digits").all()
    assert trace["reference_log_likelihood"].isna().all()  # no known model behind the digits
    numeric = trace[["seconds", "train_elbo", "logit_gradient_variance",
                     "heldout_log_likelihood"]].to_numpy(dtype=float)
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
    """run_sbn_job on minibatches of synthetic images: rows_per_job checkpoint rows with the
    known SBN's log-likelihood; the npz records its data set, k, estimator and seed."""
    synthetic = SbnDataset("synthetic", train_size=40, test_size=8, steps=6, minibatch_size=10)
    small = SbnSettings(k=(4,), estimators=("disarm",), seeds=(3,), datasets=(synthetic,),
                        samples=2, checkpoints=2, heldout_steps=2, heldout_draws=4,
                        synthetic_codes=3, synthetic_seed=7)
    run_sbn_job("synthetic", 4, "disarm", 3, small, out=str(tmp_path / "s3.csv"),
                images=str(tmp_path / "s3.npz"))
    rows = read_table(tmp_path / "s3.csv", SBN, rows=rows_per_job(small))
    assert len(rows) == 2 and (rows["dataset"] == "synthetic").all()
    assert (rows["reference_log_likelihood"] < 0).all()
    with np.load(tmp_path / "s3.npz") as grid:
        assert (str(grid["dataset"]), int(grid["k"]), str(grid["estimator"]),
                int(grid["seed"])) == ("synthetic", 4, "disarm", 3)
        assert grid["test"].shape == (GRID_IMAGES, 8, 8)


def test_known_sbn_log_likelihood_is_exact_and_normalised():
    """Enumeration: the probabilities of every 2^pixels image would sum to 1; checked on a
    4-pixel corner against brute force, and the sampler's pixel means against the model."""
    truth = known_sbn(3, seed=7)
    small = type(truth)(truth.weights[:4], truth.bias[:4])
    images = ((np.arange(16)[:, None] >> np.arange(4)) & 1)
    total = np.exp(small.log_likelihood(images)).sum()
    assert total == pytest.approx(1.0, abs=1e-12)
    draws = truth.sample(20000, np.random.default_rng(0))
    codes = ((np.arange(8)[:, None] >> np.arange(3)) & 1).astype(float)
    expected = (1 / (1 + np.exp(-(codes @ truth.weights.T + truth.bias)))).mean(axis=0)
    se = np.sqrt(expected * (1 - expected) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - expected) <= 5 * se + 1e-12)
    with pytest.raises(ValueError, match="codes"):
        known_sbn(40, seed=0)


def test_importance_sampled_bound_is_exact_with_the_exact_posterior_in_any_chunking():
    """With one code the posterior is a Bernoulli, so q can be exact: every importance weight
    is then p(x) and the estimate equals enumeration's log p(x) to rounding, whatever the
    number of images scored at a time. A poorer q (the prior) gives less, never more, on
    average (a lower bound)."""
    truth = known_sbn(1, seed=7)
    images = truth.sample(50, np.random.default_rng(1))
    on = images @ np.log(truth_pixel(truth, 1)) + (1 - images) @ np.log(1 - truth_pixel(truth, 1))
    off = images @ np.log(truth_pixel(truth, 0)) + (1 - images) @ np.log(1 - truth_pixel(truth, 0))
    posterior = (on - off)[:, None]  # the exact logit of z = 1 given each image
    exact = truth.log_likelihood(images)
    for chunk in (1, 64 * 7, 1 << 22):
        estimate = importance_sampled_log_likelihood(
            images, truth.weights, truth.bias, posterior, 30, seed=2, chunk_elements=chunk)
        np.testing.assert_allclose(estimate, exact, atol=1e-9)
    prior = importance_sampled_log_likelihood(images, truth.weights, truth.bias,
                                              np.zeros((50, 1)), 30, seed=2)
    assert prior.mean() < exact.mean()


def truth_pixel(truth, code: int) -> np.ndarray:
    """Each pixel's probability of being on when the one code is ``code``."""
    return 1 / (1 + np.exp(-(truth.weights[:, 0] * code + truth.bias)))


def test_synthetic_images_are_the_same_for_every_job():
    """Synthetic images come from the config's synthetic_seed alone; the digits' subset from
    the job's seed."""
    synthetic = SbnDataset("synthetic", train_size=30, test_size=10, steps=5, minibatch_size=0)
    settings = SbnSettings(k=(4,), estimators=("disarm",), seeds=(0, 1), datasets=(synthetic,),
                           samples=2, checkpoints=1, heldout_steps=2, heldout_draws=2,
                           synthetic_codes=3, synthetic_seed=5)
    first, second = load_images(synthetic, 0, settings), load_images(synthetic, 1, settings)
    assert np.array_equal(first[0], second[0]) and first[2] == second[2]
    assert first[0].shape == (30, 64) and first[1].shape == (10, 64)
    assert math.isnan(load_images(DIGITS, 0, SETTINGS)[2])
    assert not np.array_equal(load_images(DIGITS, 0, SETTINGS)[0],
                              load_images(DIGITS, 1, SETTINGS)[0])
