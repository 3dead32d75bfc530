"""Spike-and-slab regression with pmcgrad.fit: inclusion probabilities next to the exact ones.

Run: .venv/bin/python examples/spike_and_slab.py   (well under a minute)
"""

import arviz as az
import numpy as np
import pymc as pm

import pmcgrad
from pmcgrad.problems import exact_posterior_inclusion, simulate_spike_slab

# n = 100 observations, k = 8 predictors, 3 true effects, noise sd known (1.0).
data = simulate_spike_slab(n=100, k=8, n_true=3, seed=1)
coords = {"predictor": [f"x{j}" for j in range(8)]}

with pm.Model(coords=coords) as model:
    z = pm.Bernoulli("z", p=0.2, dims="predictor")
    beta = pm.Normal("beta", 0, 1, dims="predictor")
    pm.Normal("y", mu=data.X @ (z * beta), sigma=1.0, observed=data.y)
    result = pmcgrad.fit(10_000, estimator="disarm", n_starts=4, random_seed=1, progressbar=False)

idata = result.sample(1000, random_seed=2)
print(az.summary(idata, var_names=["beta"], kind="stats"))

exact = exact_posterior_inclusion(data)
print(f"\nfinal ELBO {result.elbo:.2f} nats (all starts: {np.round(result.final_elbos, 2)})")
print(f"{'predictor':>9}  {'truth':>5}  {'pmcgrad':>7}  {'exact':>6}")
for name, truth, fitted, reference in zip(
    coords["predictor"], data.z_true, result.inclusion_probabilities["z"].values, exact,
    strict=True,
):
    print(f"{name:>9}  {truth:>5}  {fitted:7.3f}  {reference:6.3f}")
