"""Site occupancy with a detection regression, fitted by pmcgrad.fit and by pm.sample.

z_s ~ Bernoulli(psi) says whether the species lives at site s; each visit detects it with
logit p = alpha + beta * effort. y ~ Bernoulli(z * p) makes z_s = 0 impossible at a site with a
detection: pmcgrad.fit fixes those z_s at 1 and fits the rest as written.

Run: .venv/bin/python examples/occupancy.py   (about a minute)
"""

import pymc as pm

import pmcgrad
from pmcgrad.problems.gallery import simulate_occupancy

data = simulate_occupancy(sites=100, visits=4, psi=0.6, alpha=-0.5, beta=1.0, seed=0)
sites, visits = data.y.shape

with pm.Model(coords={"site": range(sites), "visit": range(visits)}) as model:
    psi = pm.Beta("psi", 1.0, 1.0)
    alpha = pm.Normal("alpha", 0.0, 2.0)
    beta = pm.Normal("beta", 0.0, 2.0)
    z = pm.Bernoulli("z", p=psi, dims="site")
    p = pm.math.sigmoid(alpha + beta * data.effort)
    pm.Bernoulli("y", p=z[:, None] * p, observed=data.y, dims=("site", "visit"))

    result = pmcgrad.fit(random_seed=0, progressbar=False)
    idata = pm.sample(1000, chains=2, random_seed=2, progressbar=False)

print("\n".join(result.structure.fixed.reasons))
print(f"fit: {result.steps} steps, {result.stop_reason}, ELBO {result.elbo:.2f}")
print(f"{'':6} {'pmcgrad mean (sd)':>20} {'pm.sample mean (sd)':>20}  truth")
for name, truth in [("psi", data.psi), ("alpha", data.alpha), ("beta", data.beta)]:
    draws = idata.posterior[name]
    print(f"{name:6} {float(result.mean[name]):11.3f} ({float(result.std[name]):.3f})"
          f" {float(draws.mean()):11.3f} ({float(draws.std()):.3f})  {truth}")
never = data.y.sum(1) == 0
print(f"P(occupied | never detected): pmcgrad {result.mean['z'].values[never].mean():.3f}, "
      f"pm.sample {float(idata.posterior['z'].values[..., never].mean()):.3f}")
