"""The bit-conditioned family q(theta | z): spike-and-slab accuracy the mean-field family lacks."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import best_meanfield_optimum, exact_posterior_inclusion, simulate_spike_slab
from pmcgrad.vi.family import pairing
from pmcgrad.vi.model import analyse_model


def test_pairing_is_sparse_when_shapes_match_and_dense_otherwise():
    """beta_j pairs with z_j; an unpaired sigma depends on no bit; no match at all is dense."""
    data = simulate_spike_slab(n=20, k=3, n_true=1, seed=0)
    paired = pairing(analyse_model(spike_slab_model(data, known_sigma=False)))
    # reals: beta (3), sigma_log__ (1); bits: z (3)
    np.testing.assert_array_equal(paired, [0, 1, 2, -1])
    with pm.Model() as unmatched:
        z = pm.Bernoulli("z", 0.5, shape=2)
        mu = pm.Normal("mu", 0, 1, shape=3)
        pm.Normal("y", mu=mu.sum() + z.sum(), sigma=1, observed=[1.0])
    assert pairing(analyse_model(unmatched)) is None


@pytest.mark.slow
def test_independent_design_inclusion_within_005_of_exact_where_meanfield_misses():
    """k = 8, weak effects: bit_conditioned within 0.05 of the exact PIPs; mean-field is not."""
    data = simulate_spike_slab(n=100, k=8, n_true=3, seed=1, effect_size=(0.25, 0.5))
    exact = exact_posterior_inclusion(data)
    errors = {}
    for family in ["bit_conditioned", "meanfield"]:
        with spike_slab_model(data):
            result = pmcgrad.fit(estimator="disarm", family=family, n_starts=4, random_seed=0,
                                 progressbar=False)
        errors[family] = np.abs(result.inclusion_probabilities["z"].values - exact).max()
    assert errors["bit_conditioned"] < 0.05
    assert errors["meanfield"] > 0.1 > errors["bit_conditioned"]


@pytest.mark.slow
def test_correlated_design_elbo_beats_best_meanfield_optimum():
    """The bit-conditioned ELBO exceeds the best mean-field (CAVI) ELBO by > 4 standard errors."""
    data = simulate_spike_slab(n=100, k=12, n_true=3, seed=2, correlation=0.6,
                               effect_size=(0.25, 0.5))
    best_meanfield = best_meanfield_optimum(data, starts=64, seed=0)
    with spike_slab_model(data):
        result = pmcgrad.fit(estimator="disarm", family="bit_conditioned", n_starts=4,
                             random_seed=0, progressbar=False, final_samples=20_000)
    se = result.final_elbo_se[result.best_start]
    assert result.elbo - best_meanfield.elbo > 4 * se, (result.elbo, best_meanfield.elbo, se)


def test_works_with_other_estimators_starts_refine_and_sample():
    """Any estimator, several starts, refine and sample (theta drawn given the drawn z)."""
    data = simulate_spike_slab(n=40, k=3, n_true=1, seed=3)
    with spike_slab_model(data):
        result = pmcgrad.fit(400, estimator="reinforce_loo", family="bit_conditioned", n_starts=2,
                             random_seed=1, progressbar=False, convergence=False)
    result = result.refine(100, progressbar=False)
    assert result.hist.shape == (500,)
    shift = result.state.answer["mean_shift"]
    assert shift.shape == (2, 3)  # paired: one shift per coordinate, O(k)
    idata = result.sample(2000, random_seed=4)
    z = idata.posterior["z"].values[0]
    beta = idata.posterior["beta"].values[0]
    # Given z_j = 0, beta_j follows the scale at z = 0; given z_j = 1 it is shifted by W_jj.
    best = result.best_start
    for j in range(3):
        off = beta[z[:, j] == 0, j]
        on = beta[z[:, j] == 1, j]
        if len(off) > 50 and len(on) > 50:
            expected_shift = shift[best, j]
            se = np.sqrt(off.var() / len(off) + on.var() / len(on))
            assert abs((on.mean() - off.mean()) - expected_shift) < 5 * se


def test_degenerate_model_without_continuous_latents_falls_back_to_bits():
    """With no continuous latents the family is dropped and the bits are fitted alone."""
    with pm.Model():
        z = pm.Bernoulli("z", p=0.5, shape=2)
        pm.Normal("y", mu=3.0 * z, sigma=1.0, observed=[3.0, 0.0])
        result = pmcgrad.fit(600, family="bit_conditioned", random_seed=2, progressbar=False)
    assert result.family is None
    inclusion = result.inclusion_probabilities["z"].values
    assert inclusion[0] > 0.9 and inclusion[1] < 0.1
