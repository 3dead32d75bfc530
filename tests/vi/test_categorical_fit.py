"""Categorical latents in pmcgrad.fit: mixtures, mixed Bernoulli and categorical models."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy.special import softmax

import pmcgrad
from pmcgrad.vi import UnsupportedLatentError

K, N = 3, 60
MEANS, WEIGHTS, SD = np.array([-3.0, 0.0, 3.0]), np.array([0.3, 0.3, 0.4]), 1.0


@pytest.fixture(scope="module")
def mixture():
    """Known means and weights: the exact assignment posterior is a softmax per observation."""
    rng = np.random.default_rng(0)
    y = rng.normal(MEANS[rng.choice(K, N, p=WEIGHTS)], SD)
    exact = softmax(np.log(WEIGHTS) - 0.5 * ((y[:, None] - MEANS) / SD) ** 2, axis=1)
    with pm.Model(coords={"obs": range(N)}) as model:
        c = pm.Categorical("c", p=WEIGHTS, dims="obs")
        pm.Normal("y", mu=pt.as_tensor(MEANS)[c], sigma=SD, observed=y, dims="obs")
    return model, exact


@pytest.mark.parametrize("estimator", [None, "categorical_reinforce_loo"])
def test_known_mixture_recovers_the_exact_assignments(mixture, estimator):
    """Default (ARSM) and RLOO: per-observation q(c) within 0.02 of the exact softmax (twice
    the stopping rule's tolerance on the averaged answer), and the fit converges."""
    model, exact = mixture
    with model:
        result = pmcgrad.fit(20_000, estimator=estimator, random_seed=0, progressbar=False)
    assert result.estimator == (estimator or "arsm")
    assert result.structure.local is not None  # one row of latents per observation
    assert result.converged
    probabilities = result.category_probabilities["c"]
    assert probabilities.dims == ("obs", "c_category") and probabilities.shape == (N, K)
    assert np.abs(probabilities.values - exact).max() < 0.02


def test_psis_checks_and_corrects_the_assignments(mixture):
    """The PSIS diagnostics apply to categorical latents: with the parameters known, the
    mean-field q(c) can equal the posterior, so a converged fit has a small k-hat, and the
    importance-weighted category probabilities match the exact softmax within four of their
    Monte Carlo standard errors wherever q draws both outcomes often (q between 0.01 and
    0.99: at least 100 of the 10000 draws). Where q gives a category less than that, no
    weight can restore what is hardly drawn (one observation's q(c = 2) is 0.99992 against
    the exact 0.993, and none of the draws has another category)."""
    model, exact = mixture
    with model:
        result = pmcgrad.fit(20_000, random_seed=0, progressbar=False)
    found = result.diagnostics
    assert found.available and found.pareto_k < 0.5, found
    sample = found.importance
    one_hot = np.eye(K)[sample.bits]  # (draws, N, K)
    corrected = result.category_probabilities_corrected["c"].values
    np.testing.assert_allclose(corrected, sample.mean(one_hot))
    raw = result.category_probabilities["c"].values
    drawn = np.minimum(raw, 1 - raw) >= 0.01
    assert drawn.sum() > N  # most observations have two plausible components
    assert np.all(np.abs(corrected - exact)[drawn] <= 4 * sample.mcse(one_hot)[drawn])
    draws = result.sample(2000, random_seed=1, importance=True)
    assert draws.posterior["c"].dtype == np.int64 and "log_weight" in draws.sample_stats


def test_exact_enumeration_reaches_the_softmax(mixture):
    """categorical_exact: no Monte Carlo error, so the fit lands on the softmax itself."""
    model, exact = mixture
    with model:
        result = pmcgrad.fit(20_000, estimator="categorical_exact", random_seed=0,
                             progressbar=False)
    assert result.converged
    np.testing.assert_allclose(result.category_probabilities["c"].values, exact, atol=2e-3)


def test_draws_are_integer_codes_with_the_models_dims(mixture):
    """sample() returns int64 categories with dims; their frequencies follow q."""
    model, _ = mixture
    with model:
        result = pmcgrad.fit(300, random_seed=1, progressbar=False, convergence=False)
    tree = result.sample(4000, random_seed=2)
    draws = tree.posterior["c"]
    assert draws.dtype == np.int64 and draws.dims == ("chain", "draw", "obs")
    assert set(np.unique(draws.values)) <= set(range(K))
    q = result.category_probabilities["c"].values
    frequencies = np.stack([(draws.values[0] == j).mean(0) for j in range(K)], axis=-1)
    se = np.sqrt(q * (1 - q) / 4000)
    assert np.all(np.abs(frequencies - q) < 5 * se + 1e-12)


def test_bernoulli_only_estimator_is_refused_with_the_alternatives(mixture):
    """disarm has no categorical form: the error names the latent and the choices."""
    model, _ = mixture
    with model, pytest.raises(ValueError, match=r"'disarm' handles Bernoulli latents only.*"
                                                r"\['c'\].*arsm"):
        pmcgrad.fit(10, estimator="disarm", progressbar=False)


def test_bernoulli_and_categorical_latents_in_one_model():
    """A bit and a categorical in one model are fitted together (the bit as K = 2)."""
    with pm.Model():
        z = pm.Bernoulli("z", 0.5)
        c = pm.Categorical("c", p=[0.2, 0.3, 0.5])
        pm.Normal("y", mu=3.0 * z + pt.as_tensor([-2.0, 0.0, 2.0])[c], sigma=0.5,
                  observed=[5.0, 5.1, 4.9])
        result = pmcgrad.fit(20_000, estimator="categorical_exact", random_seed=0,
                             progressbar=False)
    # Exact posterior by enumeration of the 6 configurations.
    y = np.array([5.0, 5.1, 4.9])
    log_post = np.array([[np.log(0.5 * pc) - 0.5 * (((y - (3 * zz + m)) / 0.5) ** 2).sum()
                          for pc, m in zip([0.2, 0.3, 0.5], [-2, 0, 2], strict=True)]
                         for zz in (0, 1)])
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    # Mean-field q matches the exact marginals here: the posterior is near a point mass.
    np.testing.assert_allclose(result.inclusion_probabilities["z"].values, post[1].sum(),
                               atol=0.01)
    np.testing.assert_allclose(result.category_probabilities["c"].values, post.sum(0),
                               atol=0.01)


def test_unnormalised_probabilities_are_rescaled_as_pymc_does():
    """p = [2, 3, 5] is rescaled to [0.2, 0.3, 0.5], as PyMC does (with its warning), since
    the fit reads the model's own log density: it lands on the posterior of the rescaled
    prior."""
    y = np.array([0.4])
    with pm.Model():
        with pytest.warns(UserWarning, match="rescaled"):
            c = pm.Categorical("c", p=np.array([2.0, 3.0, 5.0]))
        pm.Normal("y", mu=pt.as_tensor(MEANS)[c], sigma=SD, observed=y)
        result = pmcgrad.fit(20_000, estimator="categorical_exact", random_seed=0,
                             progressbar=False)
    exact = softmax(np.log([0.2, 0.3, 0.5]) - 0.5 * ((y[0] - MEANS) / SD) ** 2)
    np.testing.assert_allclose(result.category_probabilities["c"].values, exact, atol=2e-3)


def test_one_category_is_refused():
    """K = 1 is a constant, not a latent: refused, naming the variable."""
    with pm.Model():
        c = pm.Categorical("c", p=np.ones((1,)))
        pm.Normal("y", mu=c, sigma=1.0, observed=[0.0])
        with pytest.raises(UnsupportedLatentError, match=r"'c' has 1 category"):
            pmcgrad.fit(10, progressbar=False)


@pytest.mark.slow
def test_mixture_with_free_means_and_weights_agrees_with_pm_sample():
    """Free means (informative priors, so no label switching) and Dirichlet weights: the
    mean-field fit's posterior means are within 2 MCMC standard errors plus a quarter of the
    posterior sd of pm.sample's (CategoricalGibbsMetropolis for c). The allowance is for the
    mean-field bias, measured at up to 0.2 posterior sd on the uncertain middle component;
    the fit's sds are smaller than MCMC's (VI is under-dispersed: about 0.5x for mu[1])."""
    import arviz as az

    rng = np.random.default_rng(0)
    y = rng.normal(MEANS[rng.choice(K, N, p=WEIGHTS)], SD)
    with pm.Model(coords={"obs": range(N), "component": range(K)}):
        w = pm.Dirichlet("w", a=np.ones(K), dims="component")
        mu = pm.Normal("mu", mu=MEANS, sigma=1.0, dims="component")
        c = pm.Categorical("c", p=w, dims="obs")
        pm.Normal("y", mu=mu[c], sigma=SD, observed=y, dims="obs")
        reference = pm.sample(1000, tune=1000, chains=2, cores=1, random_seed=1,
                              progressbar=False, compute_convergence_checks=False)
        result = pmcgrad.fit(30_000, random_seed=0, progressbar=False)
    assert result.converged
    summary = az.summary(reference, var_names=["mu", "w"])
    for name in ("mu", "w"):
        rows = summary.loc[[f"{name}[{j}]" for j in range(K)]]
        gap = np.abs(result.mean[name].values - rows["mean"].values)
        allowed = 2 * rows["mcse_mean"].values + 0.25 * rows["sd"].values
        assert np.all(gap < allowed), (name, gap, allowed)
