"""NumPyro's TraceGraph_ELBO step on the study's spike-and-slab model, for ``fit_cost`` (d).

This script does not import pmcgrad and runs in its own environment, outside the repository
(NumPyro is not a dependency of pmcgrad), for example:

    python3 -m venv /tmp/numpyro-venv
    /tmp/numpyro-venv/bin/pip install numpyro jax
    /tmp/numpyro-venv/bin/python benchmarks/numpyro_tracegraph.py
    .venv/bin/python -m benchmarks.fit_cost --parts loop --numpyro-ms <the printed figures>

The model is the study's: k = 12, n = 200, an equicorrelated design (0.3), 3 effects,
``z ~ Bernoulli(0.2)``, ``beta ~ Normal(0, 1)``, ``y ~ Normal(X (z * beta), 1)`` (the same
recipe as ``pmcgrad.problems.simulate_spike_slab``, its own draws). The guide is mean-field:
``Bernoulli(logits)`` for z, ``Normal(mu, softplus(rho))`` for beta. ``TraceGraph_ELBO`` with
32 particles evaluates the model 32 times a step (score-function gradients for z with
NumPyro's baselines), as pmcgrad's DisARM with S = 16. float64, XLA on one thread (pmcgrad
runs with one BLAS thread).

Per-step time: ``SVI.run`` (one compiled loop, no progress bar) for N1 and N2 steps, each
length compiled once first; each round times both, and the per-step time is
``(T(N2) - T(N1)) / (N2 - N1)`` with each T the fastest over the rounds (the least disturbed
by other jobs), so the call's fixed cost cancels, as ``fit_cost`` measures pmcgrad. Prints it,
the interquartile range of the same figure round by round, and the first call's time
(compilation included).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import SVI, TraceGraph_ELBO

numpyro.enable_x64()

N, K, N_TRUE, CORRELATION, PARTICLES = 200, 12, 3, 0.3, 32
STEPS = (400, 8000)


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((N, 1))
    x = np.sqrt(CORRELATION) * shared + np.sqrt(1 - CORRELATION) * rng.standard_normal((N, K))
    x = (x - x.mean(0)) / x.std(0)
    beta = np.zeros(K)
    active = rng.choice(K, N_TRUE, replace=False)
    beta[active] = rng.choice([-1, 1], N_TRUE) * rng.uniform(1, 2, N_TRUE)
    return jnp.asarray(x), jnp.asarray(x @ beta + rng.standard_normal(N))


def model(x, y):
    z = numpyro.sample("z", dist.Bernoulli(0.2).expand([K]).to_event(1))
    beta = numpyro.sample("beta", dist.Normal(0.0, 1.0).expand([K]).to_event(1))
    numpyro.sample("y", dist.Normal(x @ (z * beta), 1.0).to_event(1), obs=y)


def guide(x, y):
    logits = numpyro.param("logits", jnp.zeros(K))
    mu = numpyro.param("mu", jnp.zeros(K))
    rho = numpyro.param("rho", jnp.full(K, -2.25))
    numpyro.sample("z", dist.Bernoulli(logits=logits).to_event(1))
    numpyro.sample("beta", dist.Normal(mu, jax.nn.softplus(rho)).to_event(1))


def main(rounds: int = 7, steps: tuple[int, int] = STEPS) -> None:
    x, y = data()
    svi = SVI(model, guide, numpyro.optim.Adam(0.05), TraceGraph_ELBO(num_particles=PARTICLES))

    def run(n):
        start = time.perf_counter()
        result = svi.run(jax.random.PRNGKey(0), n, x, y, progress_bar=False)
        jax.block_until_ready(result.losses)
        return time.perf_counter() - start

    first = run(steps[0])  # compiles the loop of this length
    run(steps[1])
    seconds = {n: [] for n in steps}
    for round_ in range(rounds):
        for n in (steps if round_ % 2 == 0 else steps[::-1]):
            seconds[n].append(run(n))
    short, long = (np.array(seconds[n]) for n in steps)
    ms = (long.min() - short.min()) / (steps[1] - steps[0]) * 1e3
    by_round = (long - short) / (steps[1] - steps[0]) * 1e3
    print(f"jax {jax.__version__}, numpyro {numpyro.__version__}, {jax.devices()}")
    print(f"first call ({steps[0]} steps, compilation included): {first:.2f} s")
    print(f"TraceGraph_ELBO, {PARTICLES} particles: {ms:.4f} ms per step (fastest calls; "
          f"round by round IQR {np.subtract(*np.percentile(by_round, [75, 25])):.4f}) over "
          f"{rounds} rounds")
    print(f"numpyro_ms_per_step {ms:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    main(rounds=args.rounds)
