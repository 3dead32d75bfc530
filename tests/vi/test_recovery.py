"""Recovery tests: pmcgrad.fit reaches known optima and posteriors (slow, statistical)."""

from __future__ import annotations

import itertools

import numpy as np
import pymc as pm
import pytest

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import best_meanfield_optimum, meanfield_elbo, simulate_spike_slab

pytestmark = pytest.mark.slow

UNBIASED = pmcgrad.estimator_names(unbiased_only=True)
# The 2-evaluation estimators, less antithetic_exp: the exponential swap without
# Rao-Blackwellisation gains little (docs/math.md) and, even with 256 draws per step, lands 1.8
# nats short on 2 of these 3 seeds. The study measures it; a fit should not use it.
TWO_EVALUATION = [
    name for name in UNBIASED
    if pmcgrad.get_estimator(name).evaluations_per_draw == 2 and name != "antithetic_exp"
]
# Score estimators without a baseline or a coupled difference weight every bit's score by the
# whole log joint (about -160 nats here), so their variance is ~f^2 per draw: at the default
# 8 draws they wander (measured gaps of 4-8 nats at k = 8). They get 256 draws per step, the
# budget at which each reached the optimum; the study reports this cost. exp_score's variance
# is about 5x REINFORCE's (k = 1 closed forms in test_statistics): at 256 draws it landed
# 0.5-2.5 nats short on seeds 3-6, at 1024 within 0.2-0.4 nats on all four.
BASELINE_FREE = {"reinforce", "exp_score", "noise_score", "ar", "antithetic_exp"}
SAMPLES_OVERRIDE = {"exp_score": 1024}


def _samples_for(estimator: str) -> int:
    if estimator in SAMPLES_OVERRIDE:
        return SAMPLES_OVERRIDE[estimator]
    return 256 if estimator in BASELINE_FREE else 8


def _exact_inclusion(X, y, sigma, slab_sd, prior):
    """PIPs by enumerating z with the conjugate marginal likelihood (written here, in NumPy)."""
    n, k = X.shape
    log_weights, configs = [], []
    for z in itertools.product([0, 1], repeat=k):
        z = np.array(z, dtype=bool)
        cov = sigma**2 * np.eye(n) + slab_sd**2 * X[:, z] @ X[:, z].T
        _, logdet = np.linalg.slogdet(cov)
        quad = y @ np.linalg.solve(cov, y)
        log_prior = z.sum() * np.log(prior) + (k - z.sum()) * np.log1p(-prior)
        log_weights.append(-0.5 * (logdet + quad) + log_prior)
        configs.append(z)
    w = np.exp(np.array(log_weights) - max(log_weights))
    return (w[:, None] * np.array(configs)).sum(0) / w.sum()


def _fitted_elbo(data, result):
    """The exact mean-field ELBO (closed form) at the fitted parameters."""
    return meanfield_elbo(data, result.inclusion_probabilities["z"].values,
                          result.mean_unconstrained["beta"].values,
                          result.std_unconstrained["beta"].values)


@pytest.fixture(scope="module")
def independent_design():
    data = simulate_spike_slab(n=100, k=8, n_true=3, seed=1)
    exact = _exact_inclusion(data.X, data.y, data.sigma, data.slab_sd, data.prior_inclusion)
    with spike_slab_model(data):
        reference = pmcgrad.fit(estimator="exact", random_seed=0, progressbar=False)
    return data, exact, _fitted_elbo(data, reference)


@pytest.mark.parametrize("estimator", [name for name in UNBIASED if name != "antithetic_exp"])
def test_spike_slab_k8_every_unbiased_estimator(independent_design, estimator):
    """Within 1 nat of the exact-gradient fit; true effects > 0.9; clear nulls < 0.2."""
    data, exact, reference_elbo = independent_design
    with spike_slab_model(data):
        result = pmcgrad.fit(estimator=estimator, samples=_samples_for(estimator), random_seed=3,
                             progressbar=False)
    inclusion = result.inclusion_probabilities["z"].values
    assert _fitted_elbo(data, result) > reference_elbo - 1.0
    assert np.all(inclusion[data.z_true == 1] > 0.9), inclusion
    clear_nulls = (data.z_true == 0) & (exact < 0.1)
    assert clear_nulls.any()
    assert np.all(inclusion[clear_nulls] < 0.2), inclusion


def test_antithetic_exp_says_it_has_not_converged(independent_design):
    """antithetic_exp, even at 256 draws a step, does not settle within the default 10,000
    steps here (it ends 2.3 nats short of the exact-gradient fit on seed 3, 0.5 on seed 4):
    the result says so (not converged, stopped at the cap) rather than claiming an answer."""
    data, _, reference_elbo = independent_design
    with spike_slab_model(data):
        result = pmcgrad.fit(estimator="antithetic_exp", samples=256, random_seed=3,
                             progressbar=False)
    assert _fitted_elbo(data, result) < reference_elbo - 1.0
    assert not result.converged and result.stop_reason == "n"
    assert any("without converging" in message for message in result.diagnostics.messages)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("estimator", TWO_EVALUATION)
def test_correlated_k12_reaches_best_meanfield_optimum(estimator, seed):
    """With default settings and 4 starts, the fit reaches the best CAVI optimum on every seed,
    every inclusion probability within 0.01 of it (DisARM measured within 0.0003)."""
    data = simulate_spike_slab(n=100, k=12, n_true=3, seed=seed, correlation=0.6)
    best = best_meanfield_optimum(data, starts=64, seed=seed)
    with spike_slab_model(data):
        result = pmcgrad.fit(estimator=estimator, n_starts=4, random_seed=seed, progressbar=False)
    assert _fitted_elbo(data, result) > best.elbo - 1.0
    inclusion = result.inclusion_probabilities["z"].values
    np.testing.assert_allclose(inclusion, best.inclusion, atol=0.01)


def test_bernoulli_mixture_recovers_memberships():
    """Binary cluster memberships with continuous cluster means are recovered above 95%."""
    rng = np.random.default_rng(5)
    n = 60
    membership = rng.integers(0, 2, size=n)
    y = np.where(membership == 1, 2.0, -2.0) + rng.normal(size=n)
    with pm.Model(coords={"obs": range(n)}):
        z = pm.Bernoulli("z", p=0.5, dims="obs")
        means = pm.Normal("means", 0.0, 5.0, shape=2)
        pm.Normal("y", mu=means[0] + z * (means[1] - means[0]), sigma=1.0, observed=y,
                  dims="obs")
        result = pmcgrad.fit(estimator="disarm", random_seed=1, progressbar=False)
    assigned = result.inclusion_probabilities["z"].values > 0.5
    accuracy = np.mean(assigned == membership)
    assert max(accuracy, 1 - accuracy) > 0.95  # labels may switch


def test_agrees_with_pymc_advi_without_discrete_latents():
    """Without discrete latents pmcgrad.fit and pm.fit ADVI agree within Monte Carlo error.

    y_i ~ N(mu, 1), mu ~ N(0, 10): the posterior is Gaussian, so both mean-field fits target
    it exactly. The final iterates fluctuate with the optimiser's noise; that error is measured
    as the spread over 4 seeds of each method, and the means must agree within 4 standard
    errors of their difference (and each within 4 of the exact posterior).
    """
    rng = np.random.default_rng(0)
    y = rng.normal(1.5, 1.0, size=50)
    post_var = 1 / (len(y) + 1 / 100)
    post_mean, post_sd = post_var * y.sum(), np.sqrt(post_var)
    ours, advi = [], []
    with pm.Model():
        pm.Normal("y", mu=pm.Normal("mu", 0, 10), sigma=1.0, observed=y)
        for seed in range(4):
            fit = pmcgrad.fit(random_seed=seed, progressbar=False)
            ours.append((float(fit.mean_unconstrained["mu"]),
                         float(fit.std_unconstrained["mu"])))
            approx = pm.fit(n=10_000, method="advi", random_seed=seed, progressbar=False,
                            obj_optimizer=pm.adam(learning_rate=0.02))
            advi.append((float(approx.mean.eval()[0]), float(approx.std.eval()[0])))
    ours, advi = np.array(ours), np.array(advi)  # [seed, (mean, sd)]
    se = np.sqrt(ours.var(0, ddof=1) / len(ours) + advi.var(0, ddof=1) / len(advi))
    assert np.all(np.abs(ours.mean(0) - advi.mean(0)) < 4 * se + 1e-12), (ours, advi)
    for fits in (ours, advi):
        se_one = fits.std(0, ddof=1) / np.sqrt(len(fits))
        assert np.all(np.abs(fits.mean(0) - [post_mean, post_sd]) < 4 * se_one + 1e-3 * post_sd)
