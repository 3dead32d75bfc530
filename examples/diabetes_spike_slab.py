"""Spike-and-slab regression on scikit-learn's diabetes data (10 predictors, noise scale
unknown): inclusion probabilities from pmcgrad.fit, pm.sample and exact enumeration.

The exact posterior enumerates all 1024 inclusion vectors, with the coefficients integrated out
and sigma on a grid (pmcgrad.problems.gallery.exact_inclusion_unknown_sigma).

Run: .venv/bin/python examples/diabetes_spike_slab.py   (about a minute)
"""

import pymc as pm

import pmcgrad
from pmcgrad.problems.gallery import diabetes_data, exact_inclusion_unknown_sigma

X, y, names = diabetes_data()  # standardised columns and outcome

with pm.Model(coords={"predictor": names}) as model:
    z = pm.Bernoulli("z", p=0.5, dims="predictor")
    beta = pm.Normal("beta", 0.0, 1.0, dims="predictor")
    sigma = pm.HalfNormal("sigma", 1.0)
    pm.Normal("y", mu=X @ (z * beta), sigma=sigma, observed=y)

    result = pmcgrad.fit(family="bit_conditioned", n_starts=4, random_seed=0,
                         progressbar=False)
    idata = pm.sample(1000, chains=2, random_seed=4, progressbar=False)

exact, log_evidence = exact_inclusion_unknown_sigma(X, y, prior=0.5, slab_sd=1.0,
                                                    sigma_scale=1.0)
mcmc = idata.posterior["z"].mean(("chain", "draw")).values
print(f"ELBO {result.elbo:.2f}, exact log evidence {log_evidence:.2f} "
      f"(gap = KL(q || posterior) = {log_evidence - result.elbo:.2f} nats)")
print(f"{'predictor':>9}  {'pmcgrad':>7}  {'pm.sample':>9}  {'exact':>6}")
for name, fitted, sampled, reference in zip(
        names, result.inclusion_probabilities["z"].values, mcmc, exact, strict=True):
    print(f"{name:>9}  {fitted:7.3f}  {sampled:9.3f}  {reference:6.3f}")
