"""The plate rule from shapes: latents declared with shape= instead of dims are per-observation
when their leading length is the data's; anything unclear warns how dims would decide it."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pymc as pm
import pytest

from pmcgrad.models import two_component_mixture
from pmcgrad.problems.gallery import simulate_mixture
from pmcgrad.vi.model import PlateWarning, analyse_model

N = 6


def test_shape_n_latent_is_local_like_dims():
    """z with shape=N and y with N rows (no dims): one row per observation, as with dims."""
    data = simulate_mixture(n=N, seed=0)
    with_shape = analyse_model(two_component_mixture(data, dims=False)).local
    with_dims = analyse_model(two_component_mixture(data, dims=True)).local
    assert with_shape is not None and with_dims is not None
    assert with_shape.rows == with_dims.rows == N
    np.testing.assert_array_equal(with_shape.row_index, with_dims.row_index)
    assert with_shape.local_terms == with_dims.local_terms  # z's prior and y
    assert with_shape.dim == "z_dim_0" and with_dims.dim == "obs"


def test_shape_latent_takes_the_data_dim_name_and_leads_two_dimensional_latents():
    """A (N, 2) latent against data with dims ("obs",): local on "obs", 2 bits a row."""
    with pm.Model(coords={"obs": range(N)}) as model:
        z = pm.Bernoulli("z", 0.5, shape=(N, 2))
        pm.Normal("y", mu=z.sum(1), sigma=1.0, observed=np.zeros(N), dims="obs")
    local = analyse_model(model).local
    assert local.dim == "obs" and local.row_index.shape == (N, 2)


def test_per_predictor_latents_stay_global_without_warning():
    """Spike-and-slab: z leads with k = 3 predictors, the data with n = 6 rows."""
    with pm.Model() as model:
        z = pm.Bernoulli("z", 0.5, shape=3)
        beta = pm.Normal("beta", 0.0, 1.0, shape=3)
        pm.Normal("y", mu=np.ones((N, 3)) @ (z * beta), sigma=1.0, observed=np.zeros(N))
    with _no_plate_warning():
        assert analyse_model(model).local is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: (pm.Bernoulli("z", 0.5, shape=N), pm.Bernoulli("g", 0.5)),
         r"some discrete latents lead with the 6 rows of the observed 'y', but 'g' \(shape "
         r"\(\)\) does not.*dims=\('obs', \.\.\.\)"),
        (lambda: (pm.Bernoulli("z", 0.5, shape=4),),
         r"lead with length 4, a later axis of the observed 'y' \(shape \(6, 4\)\).*give both "
         r"the same first dim, e.g. dims=\('obs', \.\.\.\)"),
        (lambda: (pm.Bernoulli("z", 0.5, dims="code"),),
         r"'z' has dims \('code', \.\.\.\) and the observed 'y' has no dims but the same "
         r"leading length 6.*dims=\('obs', \.\.\.\)"),
    ],
)
def test_ambiguous_shapes_warn_how_dims_decide_and_stay_global(build, message):
    with pm.Model(coords={"code": range(N)}) as model:
        latents = build()
        shape = (N, 4) if latents[0].type.shape == (4,) else (N,)
        mean = sum(latent.sum() for latent in latents)
        pm.Normal("y", mu=mean, sigma=1.0, observed=np.zeros(shape))
    with pytest.warns(PlateWarning, match=message):
        assert analyse_model(model).local is None
    with _no_plate_warning():  # local_dim=False is the user's answer: no warning
        assert analyse_model(model, local_dim=False).local is None


@contextlib.contextmanager
def _no_plate_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlateWarning)
        yield
