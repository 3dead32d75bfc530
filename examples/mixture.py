"""A two-component Gaussian mixture, fitted by pmcgrad.fit (both families) and by pm.sample.

z_n ~ Bernoulli(w) picks the component of y_n; mu is ordered, which labels the components.
z is declared with shape=N here: pmcgrad.fit finds from the shapes that it has one bit per
observation and scores each row's bit against that row's terms, as it would with dims="obs".

Run: .venv/bin/python examples/mixture.py   (about a minute)
"""

import numpy as np
import pymc as pm

import pmcgrad
from pmcgrad.problems.gallery import simulate_mixture

data = simulate_mixture(n=200, weight=0.4, mu=(-1.0, 3.0), sigma=(1.0, 0.5), seed=0)
n = len(data.y)

with pm.Model() as model:
    w = pm.Beta("w", 1.0, 1.0)
    mu = pm.Normal("mu", 0.0, 5.0, shape=2, transform=pm.distributions.transforms.ordered,
                   initval=[-1.0, 1.0])
    sigma = pm.HalfNormal("sigma", 2.0, shape=2)
    z = pm.Bernoulli("z", p=w, shape=n)
    pm.Normal("y", mu=mu[z], sigma=sigma[z], observed=data.y)

    fits = {family: pmcgrad.fit(4000, family=family, random_seed=0, progressbar=False)
            for family in ["meanfield", "bit_conditioned"]}
    idata = pm.sample(1000, chains=2, random_seed=3, progressbar=False)

mcmc_z = idata.posterior["z"].mean(("chain", "draw")).values
for family, result in fits.items():
    print(f"{family}: ELBO {result.elbo:.2f}, per-observation rows: "
          f"{result.structure.local.rows}")
    for name in ["w", "mu", "sigma"]:
        print(f"  {name:5} pmcgrad {np.round(result.mean[name].values, 3)}"
              f"  pm.sample {np.round(idata.posterior[name].mean(('chain', 'draw')).values, 3)}")
    gap = np.abs(result.inclusion_probabilities["z"].values - mcmc_z)
    print(f"  P(z_n = 1): largest difference from pm.sample {gap.max():.3f}")
