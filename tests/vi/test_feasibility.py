"""Hard zeros and fixed bits (pmcgrad.vi.feasibility): which Bernoulli states a model rules
out, what is fixed, and the errors when no factorised q has a finite ELBO.

The analysis compiles one small function per model (FAST_COMPILE), so these tests are quick;
the fits of the gallery models are in test_gallery.py.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from pymc.exceptions import SamplingError

import pmcgrad
from pmcgrad.models import occupancy_model, zero_inflated_poisson
from pmcgrad.problems.gallery import simulate_occupancy, simulate_zero_inflated_poisson
from pmcgrad.vi.feasibility import InfeasibleModelError, analyse_feasibility
from pmcgrad.vi.model import analyse_model


def _fixed(model):
    return analyse_feasibility(analyse_model(model)).fixed


def test_zero_inflated_poisson_fixes_z_where_the_count_is_positive():
    """z_n = 1 (a structural zero) is impossible where y_n > 0: those z_n are fixed at 0,
    the others stay latent."""
    data = simulate_zero_inflated_poisson(n=60, seed=1)
    fixed = _fixed(zero_inflated_poisson(data))
    np.testing.assert_array_equal(fixed.index, np.flatnonzero(data.y > 0))
    np.testing.assert_array_equal(fixed.values, 0.0)
    assert fixed.reasons == (f"z: {(data.y > 0).sum()} of 60 bits fixed ({(data.y > 0).sum()} "
                             "at 0, 0 at 1); their other state makes 'y' -inf",)


def test_occupancy_fixes_z_at_sites_with_a_detection():
    """y ~ Bernoulli(z * p): a site with a detection is occupied (z = 1) for sure."""
    data = simulate_occupancy(sites=30, visits=3, seed=2)
    fixed = _fixed(occupancy_model(data))
    np.testing.assert_array_equal(fixed.index, np.flatnonzero(data.y.sum(1) > 0))
    np.testing.assert_array_equal(fixed.values, 1.0)


def test_bernoulli_with_p_zero_or_one_fixes_those_coordinates():
    """p exactly 0 or 1 makes a coordinate a constant; 0 < p < 1 stays latent (6 bits: more
    than ENUMERATE_MAX_BITS, so found one flip at a time)."""
    with pm.Model() as model:
        z = pm.Bernoulli("z", p=np.array([0.0, 0.3, 1.0, 0.5, 0.2, 0.0]))
        pm.Normal("y", mu=z.sum(), sigma=1.0, observed=[2.0])
    fixed = _fixed(model)
    np.testing.assert_array_equal(fixed.index, [0, 2, 5])
    np.testing.assert_array_equal(fixed.values, [0.0, 1.0, 0.0])
    assert "their other state makes 'z' -inf" in fixed.reasons[0]


def test_a_state_impossible_at_some_continuous_values_only_is_not_fixed():
    """Only -inf at every continuous point tried fixes a bit: here z = 1 is impossible only
    where mu > 0.5, so z stays latent."""
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        z = pm.Bernoulli("z", p=0.5, shape=2)
        pm.Potential("wall", pt.switch(pt.gt(mu * z.sum(), 0.5), -np.inf, 0.0))
        pm.Normal("y", mu=mu, sigma=1.0, observed=[0.1])
    assert _fixed(model) is None


def test_states_that_are_not_a_product_set_are_refused_naming_the_term():
    """z0 = z1 = 1 impossible, the other three states possible: no factorised q gives zero
    mass to exactly that state; the error names the bits, the state and the term."""
    with pm.Model() as model:
        z = pm.Bernoulli("z", p=0.5, shape=2)
        pm.Potential("not_both", pt.switch(pt.eq(z.sum(), 2), -np.inf, 0.0))
        pm.Normal("y", mu=z.sum(), sigma=1.0, observed=[1.0])
    with pytest.raises(InfeasibleModelError, match=r"not a product set: z\[0\] = 1, z\[1\] = 1: "
                                                   r"\{'not_both': -inf\}.*Supported"):
        analyse_feasibility(analyse_model(model))


def test_a_row_with_no_possible_state_is_refused_naming_the_row_and_term():
    """A count of 3 with lam * (1 - z) * 0 as its rate: neither z is possible in row 1."""
    with pm.Model(coords={"obs": range(3)}) as model:
        lam = pm.Gamma("lam", 2.0, 0.5)
        z = pm.Bernoulli("z", p=0.5, dims="obs")
        rate = lam * (1 - z) * np.array([1.0, 0.0, 1.0])
        pm.Poisson("y", mu=rate, observed=[0, 3, 1], dims="obs")
    with pytest.raises(InfeasibleModelError,
                       match=r"every state of the Bernoulli latents of row 1 of 'obs'.*"
                             r"z\[1\] = 0: \{'y': -inf\}; z\[1\] = 1: \{'y': -inf\}"):
        pmcgrad.fit(10, model=model, progressbar=False)
    assert issubclass(InfeasibleModelError, SamplingError)


def test_new_data_are_analysed_again():
    """The analysis is cached per data values: pm.Data changes give new fixed bits."""
    with pm.Model() as model:
        counts = pm.Data("counts", np.array([0, 2, 0, 1]))
        lam = pm.Gamma("lam", 2.0, 0.5)
        z = pm.Bernoulli("z", p=0.3, shape=4)
        pm.Poisson("y", mu=lam * (1 - z), observed=counts, shape=counts.shape)
    np.testing.assert_array_equal(_fixed(model).index, [1, 3])
    with model:
        pm.set_data({"counts": np.array([5, 0, 0, 0])})
    np.testing.assert_array_equal(_fixed(model).index, [0])
