"""Per-observation (local) latents: each row's bits are scored against that row's terms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytest
from pytensor.tensor.variable import TensorConstant

import pmcgrad
from pmcgrad.models import binarised_digits, sigmoid_belief_network, spike_slab_model
from pmcgrad.ops import LARGE_CONSTANT_BYTES
from pmcgrad.problems import simulate_spike_slab
from pmcgrad.study.sbn import HeldOutBound

ROWS, CODES, PIXELS = 4, 3, 5  # 12 bits in all: small enough to enumerate


def _small_sbn():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(PIXELS, CODES)) * 1.5
    bias = rng.normal(size=PIXELS)
    images = (rng.random((ROWS, PIXELS)) < 0.5).astype("int64")
    return sigmoid_belief_network(images, CODES, weights=weights, bias=bias)


def _at_logits(result, logits):
    """The same fit with its logits set to ``logits (K,)``."""
    state = result.state.replace(params={**result.state.params, "logits": logits[None]})
    return dataclasses.replace(result, state=state)


def _gradients(estimator, local_dim, draws, logits):
    with _small_sbn():
        result = pmcgrad.fit(0, estimator=estimator, samples=4, local_dim=local_dim,
                             random_seed=1, progressbar=False)
    result = _at_logits(result, logits)
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
    """On 200 training images (k = 16) the held-out bound rises over the first checkpoints
    and ends well above where it began (from 750 steps on it plateaus, moving by about 0.01
    nats, the size of its Monte Carlo noise)."""
    train, test = binarised_digits(seed=0)
    heldout = HeldOutBound(test[:100], 16, steps=200, draws=100, seed=0)
    bounds = []
    with sigmoid_belief_network(train[:200], 16):
        result = pmcgrad.fit(0, estimator="disarm", samples=4, random_seed=0, progressbar=False)
    for _ in range(4):
        result = result.refine(250, progressbar=False)
        bounds.append(heldout(result.mean_unconstrained["W"].values,
                              result.mean_unconstrained["c"].values))
    assert np.all(np.diff(bounds[:3]) > 0), bounds
    assert bounds[-1] > bounds[0] + 0.5, bounds


# --- minibatching over the local dim
def _data_sbn(as_data: bool = True):
    """The small SBN with fixed weights; its images as pm.Data, so a step can select rows."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(PIXELS, CODES)) * 1.5
    bias = rng.normal(size=PIXELS)
    images = (rng.random((ROWS, PIXELS)) < 0.5).astype("int64")
    coords = {"obs": range(ROWS), "code": range(CODES), "pixel": range(PIXELS)}
    with pm.Model(coords=coords) as model:
        data = pm.Data("images", images, dims=("obs", "pixel")) if as_data else images
        z = pm.Bernoulli("z", 0.5, dims=("obs", "code"))
        pm.Bernoulli("x", logit_p=z @ weights.T + bias, observed=data, dims=("obs", "pixel"))
    return model


def test_minibatch_gradient_and_elbo_are_unbiased_for_the_full_ones():
    """With 2 of 4 rows per step, the mean gradient and ELBO estimate equal the full exact ones."""
    logits = np.random.default_rng(3).normal(size=ROWS * CODES)
    with _data_sbn():
        full = pmcgrad.fit(0, estimator="exact", random_seed=1, progressbar=False)
        batch = pmcgrad.fit(0, estimator="exact", minibatch_size=2, random_seed=1,
                            progressbar=False)
    full, batch = _at_logits(full, logits), _at_logits(batch, logits)
    exact = full.logit_gradient_samples(1)[0, 0]
    draws = batch.logit_gradient_samples(2000)[:, 0]
    se = draws.std(0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - exact) < 4 * se)
    assert draws.var(0).max() > 0  # the rows really change from step to step
    # The loss at fixed parameters (learning rate 0): the minibatch's R/B-scaled estimate.
    with _data_sbn():
        frozen = pmcgrad.fit(0, estimator="exact", minibatch_size=2, random_seed=2,
                             progressbar=False, optimizer=pm.sgd(learning_rate=0.0),
                             convergence=False)
        reference = pmcgrad.fit(0, estimator="exact", random_seed=2, progressbar=False,
                                optimizer=pm.sgd(learning_rate=0.0), convergence=False)
    frozen = _at_logits(frozen, logits).refine(2000, progressbar=False)
    reference = _at_logits(reference, logits).refine(1, progressbar=False)
    se = frozen.hist.std(ddof=1) / np.sqrt(frozen.hist.size)
    assert abs(frozen.hist.mean() - reference.hist[0]) < 4 * se


def test_minibatch_fit_improves_the_elbo():
    """A DisARM fit on 2-row minibatches raises the full ELBO."""
    with _data_sbn():
        result = pmcgrad.fit(0, estimator="disarm", minibatch_size=2, random_seed=4,
                             progressbar=False)
        start = result.elbo
        result = result.refine(1500, progressbar=False)
    assert result.elbo > start + 1.0


def _constants(fgraph) -> list:
    """Every constant of a compiled graph, inner graphs (the step's scan) included."""
    found = [var for var in fgraph.variables if isinstance(var, TensorConstant)]
    for node in fgraph.apply_nodes:
        inner = getattr(node.op, "fgraph", None)
        if inner is not None:
            found += _constants(inner)
    return found


def test_large_index_tables_are_passed_in_not_frozen_into_the_compiled_step():
    """With 20,000 rows, the minibatch's row index table (20,000 x 4 ints, 640 kB) and the
    hard-zero masks would be constants of the step, which Numba freezes into machine code:
    slow to compile, and such code cannot be cached on disk. They are shared variables."""
    rng = np.random.default_rng(0)
    rows = 20_000
    images = (rng.random((rows, 3)) < 0.5).astype("int64")
    with sigmoid_belief_network(images, 4):
        result = pmcgrad.fit(3, estimator="disarm", samples=2, minibatch_size=10,
                             random_seed=0, progressbar=False, diagnostics=False,
                             final_samples=2)
    sizes = [var.data.nbytes for var in _constants(result.fitter.block.maker.fgraph)]
    assert max(sizes) < LARGE_CONSTANT_BYTES, sorted(sizes)[-3:]
    assert np.isfinite(result.hist).all()


@pytest.mark.parametrize(
    ("make_model", "kwargs", "message"),
    [
        (lambda: _data_sbn(as_data=False), {"minibatch_size": 2},
         r"'x' has a fixed number of rows; pass it as pm.Data"),
        (_data_sbn, {"minibatch_size": 5}, r"from 1 to the 4 rows of dim 'obs', got 5"),
        (_data_sbn, {"minibatch_size": 2, "local_dim": False}, r"latents are global"),
    ],
)
def test_bad_minibatches_are_refused(make_model, kwargs, message):
    """Minibatching says why it cannot run."""
    with make_model(), pytest.raises(ValueError, match=message):
        pmcgrad.fit(0, progressbar=False, **kwargs)
