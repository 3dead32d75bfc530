"""PyMC models of the study problems, written as a user would write them."""

from __future__ import annotations

import numpy as np
import pymc as pm

from pmcgrad.problems.spike_slab import SpikeSlabData

__all__ = ["binarised_digits", "sigmoid_belief_network", "spike_slab_model"]


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


def binarised_digits(seed: int = 0, test_fraction: float = 0.2):
    """scikit-learn's 8x8 digits (shipped with it: nothing is downloaded), pixels binarised at
    half intensity; returns ``(train, test)`` int arrays of shape ``(n, 64)``."""
    from sklearn.datasets import load_digits

    images = (load_digits().data / 16.0 > 0.5).astype("int64")
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = round(test_fraction * len(images))
    return images[order[n_test:]], images[order[:n_test]]


def sigmoid_belief_network(images: np.ndarray, k: int, *, weights=None, bias=None) -> pm.Model:
    """A one-layer sigmoid belief network: ``z_n ~ Bernoulli(1/2)^k``,
    ``x_n ~ Bernoulli(sigmoid(W z_n + c))``, ``W ~ Normal(0, 1)``, ``c ~ Normal(0, 1)``.

    The codes ``z`` and the pixels ``x`` share the dim ``"obs"``, so ``pmcgrad.fit`` treats
    the codes as local. With ``weights (64, k)`` and ``bias (64,)`` given, W and c are fixed
    ``pm.Data`` (for held-out inference) instead of latent.
    """
    n, pixels = images.shape
    coords = {"obs": list(range(n)), "code": list(range(k)), "pixel": list(range(pixels))}
    with pm.Model(coords=coords) as model:
        if weights is None:
            W = pm.Normal("W", 0.0, 1.0, dims=("pixel", "code"))
            c = pm.Normal("c", 0.0, 1.0, dims="pixel")
        else:
            W = pm.Data("W", weights, dims=("pixel", "code"))
            c = pm.Data("c", bias, dims="pixel")
        z = pm.Bernoulli("z", p=0.5, dims=("obs", "code"))
        # pm.Data, so that pmcgrad.fit(minibatch_size=...) can select rows in the graph.
        data = pm.Data("images", images, dims=("obs", "pixel"))
        pm.Bernoulli("x", logit_p=z @ W.T + c, observed=data, dims=("obs", "pixel"))
    return model
