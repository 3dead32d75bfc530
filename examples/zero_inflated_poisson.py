"""A zero-inflated Poisson written the usual way, fitted by pmcgrad.fit and by pm.sample.

z_n = 1 marks a structural zero, so a positive count rules it out: y_n ~ Poisson(lam * (1 - z_n))
has log density -inf there. pmcgrad.fit finds those z_n and fixes them at 0 (no floor or clip).

Run: .venv/bin/python examples/zero_inflated_poisson.py   (about a minute, most of it pm.sample)
"""

import numpy as np
import pymc as pm

import pmcgrad
from pmcgrad.problems.gallery import simulate_zero_inflated_poisson

data = simulate_zero_inflated_poisson(n=200, psi=0.3, lam=3.0, seed=0)

with pm.Model(coords={"obs": range(len(data.y))}) as model:
    psi = pm.Beta("psi", 1.0, 1.0)
    lam = pm.Gamma("lam", alpha=2.0, beta=0.5)
    z = pm.Bernoulli("z", p=psi, dims="obs")
    pm.Poisson("y", mu=lam * (1 - z), observed=data.y, dims="obs")

    result = pmcgrad.fit(random_seed=0, progressbar=False)
    # pm.sample starts every z_n at 1 (psi starts at 1/2), which a positive count rules out:
    # it needs possible initial values.
    idata = pm.sample(1000, chains=2, random_seed=1, progressbar=False,
                      initvals={"z": np.zeros(len(data.y), dtype=int)})

print("\n".join(result.structure.fixed.reasons))
print(f"fit: {result.steps} steps, {result.stop_reason}, ELBO {result.elbo:.2f}")
print(f"{'':6} {'pmcgrad mean (sd)':>20} {'pm.sample mean (sd)':>20}  truth")
for name, truth in [("psi", data.psi), ("lam", data.lam)]:
    draws = idata.posterior[name]
    print(f"{name:6} {float(result.mean[name]):11.3f} ({float(result.std[name]):.3f})"
          f" {float(draws.mean()):11.3f} ({float(draws.std()):.3f})  {truth}")
zeros = data.y == 0
print(f"P(structural | y = 0): pmcgrad {result.mean['z'].values[zeros].mean():.3f}, "
      f"pm.sample {float(idata.posterior['z'].values[..., zeros].mean()):.3f}")
