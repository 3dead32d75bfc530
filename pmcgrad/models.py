"""PyMC models of the study problems, written as a user would write them."""

from __future__ import annotations

import pymc as pm

from pmcgrad.problems.spike_slab import SpikeSlabData

__all__ = ["spike_slab_model"]


def spike_slab_model(data: SpikeSlabData, *, known_sigma: bool = True) -> pm.Model:
    """Spike-and-slab regression ``y ~ N(X (z * beta), sigma)`` with named dims.

    ``z_j ~ Bernoulli(prior_inclusion)``, ``beta_j ~ Normal(0, slab_sd)``. With
    ``known_sigma=False`` the noise sd gets a ``HalfNormal(1)`` prior.
    """
    n, k = data.X.shape
    coords = {"predictor": [f"x{j}" for j in range(k)], "obs": list(range(n))}
    with pm.Model(coords=coords) as model:
        X = pm.Data("X", data.X, dims=("obs", "predictor"))
        z = pm.Bernoulli("z", p=data.prior_inclusion, dims="predictor")
        beta = pm.Normal("beta", 0.0, data.slab_sd, dims="predictor")
        sigma = data.sigma if known_sigma else pm.HalfNormal("sigma", 1.0)
        pm.Deterministic("effect", z * beta, dims="predictor")
        pm.Normal("y", mu=X @ (z * beta), sigma=sigma, observed=data.y, dims="obs")
    return model
