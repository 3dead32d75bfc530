"""PyMC models of the study problems and of the gallery, written as a user would write them.

The gallery (``examples/``, ``tests/vi/test_gallery.py``): a zero-inflated Poisson, an
occupancy model with a detection regression, a two-component Gaussian mixture, spike-and-slab
regression on scikit-learn's diabetes data, and the digits sigmoid belief network. Each is
written as it would be for ``pm.sample``: hard zeros as hard zeros (no floor or clip).
"""

from __future__ import annotations

import numpy as np
import pymc as pm

from pmcgrad.problems.gallery import MixtureData, OccupancyData, ZipData, diabetes_data
from pmcgrad.problems.spike_slab import SpikeSlabData

__all__ = [
    "DIABETES_PRIOR",
    "binarised_digits",
    "diabetes_spike_slab",
    "occupancy_model",
    "sigmoid_belief_network",
    "spike_slab_model",
    "two_component_mixture",
    "zero_inflated_poisson",
]

# The diabetes spike-and-slab's priors: z_j ~ Bernoulli(prior), beta_j ~ Normal(0, slab_sd),
# sigma ~ HalfNormal(sigma_scale), on standardised data.
DIABETES_PRIOR = {"prior": 0.5, "slab_sd": 1.0, "sigma_scale": 1.0}


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


def zero_inflated_poisson(data: ZipData) -> pm.Model:
    """``z_n ~ Bernoulli(psi)`` marks a structural zero; ``y_n ~ Poisson(lam * (1 - z_n))``.

    Written as it reads: where ``y_n > 0``, ``z_n = 1`` has probability zero (a Poisson with
    rate 0 cannot give a count), which ``pmcgrad.fit`` finds and fixes.
    """
    with pm.Model(coords={"obs": range(len(data.y))}) as model:
        psi = pm.Beta("psi", 1.0, 1.0)
        lam = pm.Gamma("lam", alpha=2.0, beta=0.5)
        z = pm.Bernoulli("z", p=psi, dims="obs")
        pm.Poisson("y", mu=lam * (1 - z), observed=data.y, dims="obs")
    return model


def occupancy_model(data: OccupancyData) -> pm.Model:
    """Site occupancy ``z_s ~ Bernoulli(psi)``; detections ``y_sv ~ Bernoulli(z_s * p_sv)``,
    ``logit p_sv = alpha + beta * effort_sv``. A site with a detection is occupied for sure."""
    sites, visits = data.y.shape
    with pm.Model(coords={"site": range(sites), "visit": range(visits)}) as model:
        psi = pm.Beta("psi", 1.0, 1.0)
        alpha = pm.Normal("alpha", 0.0, 2.0)
        beta = pm.Normal("beta", 0.0, 2.0)
        z = pm.Bernoulli("z", p=psi, dims="site")
        p = pm.math.sigmoid(alpha + beta * data.effort)
        pm.Bernoulli("y", p=z[:, None] * p, observed=data.y, dims=("site", "visit"))
    return model


def two_component_mixture(data: MixtureData, *, dims: bool = True) -> pm.Model:
    """``z_n ~ Bernoulli(w)``, ``y_n ~ Normal(mu[z_n], sigma[z_n])``, ``mu`` ordered (which
    labels the components for MCMC). ``dims=False`` declares ``z`` with ``shape=N``."""
    n = len(data.y)
    with pm.Model(coords={"obs": range(n), "component": [0, 1]}) as model:
        w = pm.Beta("w", 1.0, 1.0)
        mu = pm.Normal("mu", 0.0, 5.0, dims="component",
                       transform=pm.distributions.transforms.ordered, initval=[-1.0, 1.0])
        sigma = pm.HalfNormal("sigma", 2.0, dims="component")
        if dims:
            z = pm.Bernoulli("z", p=w, dims="obs")
            pm.Normal("y", mu=mu[z], sigma=sigma[z], observed=data.y, dims="obs")
        else:
            z = pm.Bernoulli("z", p=w, shape=n)
            pm.Normal("y", mu=mu[z], sigma=sigma[z], observed=data.y)
    return model


def diabetes_spike_slab() -> pm.Model:
    """Spike-and-slab regression on scikit-learn's diabetes data (442 patients, 10
    standardised predictors, standardised outcome), noise scale unknown (see
    :data:`DIABETES_PRIOR`)."""
    X, y, names = diabetes_data()
    with pm.Model(coords={"predictor": names, "obs": range(len(y))}) as model:
        z = pm.Bernoulli("z", p=DIABETES_PRIOR["prior"], dims="predictor")
        beta = pm.Normal("beta", 0.0, DIABETES_PRIOR["slab_sd"], dims="predictor")
        sigma = pm.HalfNormal("sigma", DIABETES_PRIOR["sigma_scale"])
        pm.Normal("y", mu=X @ (z * beta), sigma=sigma, observed=y, dims="obs")
    return model
