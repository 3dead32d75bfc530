"""Per-observation (local) latents: each row's bits are scored against that row's terms."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import pmcgrad
from pmcgrad.models import binarised_digits, sigmoid_belief_network, spike_slab_model
from pmcgrad.problems import simulate_spike_slab
from pmcgrad.study.sbn import HeldOutBound

ROWS, CODES, PIXELS = 4, 3, 5  # 12 bits in all: small enough to enumerate


def _small_sbn():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(PIXELS, CODES)) * 1.5
    bias = rng.normal(size=PIXELS)
    images = (rng.random((ROWS, PIXELS)) < 0.5).astype("int64")
    return sigmoid_belief_network(images, CODES, weights=weights, bias=bias)


def _gradients(estimator, local_dim, draws, logits):
    with _small_sbn():
        result = pmcgrad.fit(0, estimator=estimator, samples=4, local_dim=local_dim,
                             random_seed=1, progressbar=False)
    result.logits.set_value(logits[None])
    return result, result.logit_gradient_samples(draws)[:, 0]  # [draws, K]


def test_local_and_global_have_the_same_expected_gradient_and_local_less_variance():
    """Exact local == exact global; sampled local gradients match it with lower variance."""
    logits = np.random.default_rng(2).normal(size=ROWS * CODES)
    global_exact_result, global_exact = _gradients("exact", False, 1, logits)
    local_exact_result, local_exact = _gradients("exact", "obs", 1, logits)
    assert global_exact_result.structure.local is None
    assert local_exact_result.structure.local.rows == ROWS
    np.testing.assert_allclose(local_exact[0], global_exact[0], rtol=1e-10, atol=1e-12)
    for estimator in ["disarm", "reinforce_loo"]:
        _, local = _gradients(estimator, "obs", 1500, logits)
        _, global_ = _gradients(estimator, False, 1500, logits)
        se = local.std(0, ddof=1) / np.sqrt(len(local))
        assert np.all(np.abs(local.mean(0) - global_exact[0]) < 4 * se + 1e-12), estimator
        assert local.var(0).mean() < 0.5 * global_.var(0).mean(), estimator


def test_plate_rule_detects_local_and_global_latents():
    """Codes sharing "obs" with the data are local; per-predictor inclusions stay global."""
    from pmcgrad.vi.model import analyse_model

    assert analyse_model(_small_sbn()).local.dim == "obs"
    assert analyse_model(_small_sbn(), local_dim=False).local is None
    data = simulate_spike_slab(n=20, k=3, n_true=1, seed=0)
    assert analyse_model(spike_slab_model(data)).local is None


@pytest.mark.parametrize(
    ("local_dim", "message"),
    [
        ("batch", r"local_dim='batch' is not a dim of the model; its dims are \['code', 'obs'"),
        ("code", r"local_dim='code': no observed variable has it as its first dim"),
    ],
)
def test_bad_local_dims_are_refused(local_dim, message):
    """A named local dim that is not the data's leading dim is refused with the reason."""
    with _small_sbn(), pytest.raises(ValueError, match=message):
        pmcgrad.fit(0, local_dim=local_dim, progressbar=False)


def test_latent_on_another_dim_is_refused_when_local_dim_is_named():
    """Every Bernoulli latent must lead with the named local dim."""
    with pm.Model(coords={"obs": range(3), "group": range(2)}):
        pm.Bernoulli("z", 0.5, dims="obs")
        g = pm.Bernoulli("g", 0.5, dims="group")
        pm.Normal("y", mu=g.sum(), sigma=1.0, observed=[0.0, 1.0, 2.0], dims="obs")
        with pytest.raises(ValueError, match=r"latent 'g' has dims 'group' first"):
            pmcgrad.fit(0, local_dim="obs", progressbar=False)


@pytest.mark.slow
def test_digits_sbn_held_out_bound_improves_during_a_short_fit():
    """On 200 training images (k = 16) the held-out bound rises at every checkpoint."""
    train, test = binarised_digits(seed=0)
    heldout = HeldOutBound(test[:100], 16, steps=200, draws=100, seed=0)
    bounds = []
    with sigmoid_belief_network(train[:200], 16):
        result = pmcgrad.fit(0, estimator="disarm", samples=4, random_seed=0, progressbar=False)
    for _ in range(4):
        result.refine(250, progressbar=False)
        bounds.append(heldout(result.mean["W"].values, result.mean["c"].values))
    assert np.all(np.diff(bounds) > 0), bounds
