"""Statistical tests: the estimators against enumeration and the closed forms of docs/math.md."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import pmcgrad
from tests.conftest import exact_table_gradient, table_function

UNBIASED_SAMPLING = [n for n in pmcgrad.estimator_names(unbiased_only=True) if n != "exact"]
LOGIT_SETTINGS = {
    "zero": [0.0, 0.0, 0.0, 0.0, 0.0],
    "moderate": [2.0, -2.0, 0.0, 2.0, -2.0],
    "saturated": [6.0, -6.0, 2.0, -2.0, 0.0],
}


def _per_draw(estimator, f, logits, samples, seed, **kwargs):
    logits_var = pt.as_tensor_variable(np.asarray(logits, dtype="float64"))
    draws = pmcgrad.gradient_samples(f, logits_var, estimator, samples, rng=seed, **kwargs)
    return pytensor.function([], draws.gradients)()


def _assert_mean_within(draws, exact, n_se=4.0):
    mean = draws.mean(axis=0)
    se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    slack = n_se * se + 1e-10 * (1 + np.abs(exact))
    assert np.all(np.abs(mean - exact) <= slack), (mean, exact, se)


@pytest.mark.parametrize("setting", list(LOGIT_SETTINGS))
@pytest.mark.parametrize("estimator", UNBIASED_SAMPLING)
def test_unbiased_against_enumeration(estimator, setting):
    """Every unbiased estimator's mean matches the enumerated gradient within 4 SE."""
    k = 3 if setting == "zero" else 5
    logits = np.asarray(LOGIT_SETTINGS[setting][:k])
    table = np.random.default_rng(k * 7 + len(setting)).normal(size=2**k)
    draws = _per_draw(estimator, table_function(table, k), logits, 40_000, seed=11)
    assert draws.shape == (40_000, k)
    _assert_mean_within(draws, exact_table_gradient(table, logits))


@pytest.mark.parametrize("noise", ["normal", "gumbel"])
def test_noise_score_unbiased_for_each_noise(noise):
    """noise_score is unbiased with normal and gumbel noise too (logistic is covered above)."""
    k = 4
    logits = np.array([0.0, 2.0, -2.0, 6.0])
    table = np.random.default_rng(3).normal(size=2**k)
    draws = _per_draw("noise_score", table_function(table, k), logits, 60_000, 5, noise=noise)
    _assert_mean_within(draws, exact_table_gradient(table, logits))


def test_antithetic_noise_unbiased_with_normal_noise():
    """antithetic_noise is unbiased with normal noise (the logistic case equals ARM)."""
    k = 3
    logits = np.array([0.5, -2.0, 2.0])
    table = np.random.default_rng(8).normal(size=2**k)
    draws = _per_draw("antithetic_noise", table_function(table, k), logits, 60_000, 6,
                      noise="normal")
    _assert_mean_within(draws, exact_table_gradient(table, logits))


def test_exact_matches_numpy_enumeration():
    """The exact estimator reproduces an independent NumPy enumeration to rounding."""
    k = 5
    logits = np.array([6.0, -6.0, 2.0, -2.0, 0.0])
    table = np.random.default_rng(1).normal(size=2**k)
    draws = _per_draw("exact", table_function(table, k), logits, 1, seed=0)
    np.testing.assert_allclose(draws[0], exact_table_gradient(table, logits), rtol=1e-12,
                               atol=1e-15)


def test_uniform_naive_is_biased():
    """uniform_naive misses the example gradient of docs/math.md (0.89) by many standard errors."""
    table = np.array([-1.0, 3.0])  # f(0) = -1, f(1) = 3
    logits = np.array([0.7])
    exact = exact_table_gradient(table, logits)
    assert exact[0] == pytest.approx(0.89, abs=0.01)
    draws = _per_draw("uniform_naive", table_function(table, 1), logits, 40_000, seed=2)
    se = draws.std(ddof=1) / np.sqrt(draws.size)
    assert draws.mean() == pytest.approx(0.56, abs=0.02)  # docs/math.md, correction 2: 0.56
    assert abs(draws.mean() - exact[0]) > 20 * se


def test_seed_reinforce_formula_would_be_biased():
    """docs/math.md correction 1: the note's (-1)^b f(b) s(1-s) averages -0.52, not the gradient."""
    phi, f0, f1 = 0.7, -1.0, 3.0
    p = 1 / (1 + np.exp(-phi))
    seed_mean = p * (-f1) * p * (1 - p) + (1 - p) * f0 * p * (1 - p)
    assert seed_mean == pytest.approx(-0.52, abs=0.01)
    table = np.array([f0, f1])
    draws = _per_draw("reinforce", table_function(table, 1), np.array([phi]), 40_000, seed=3)
    _assert_mean_within(draws, exact_table_gradient(table, np.array([phi])))


# docs/math.md, "Closed-form variances at k = 1": one bit, phi = 0, f(b) = (b - t)^2, t = 0.49.
T = 0.49
CLOSED_FORM_VARIANCE = {
    "reinforce": ((1 - T) ** 4 + T**4) / 8 - ((1 - 2 * T) / 4) ** 2,
    "ar": ((1 - T) ** 4 + T**4) / 6 - ((1 - 2 * T) / 4) ** 2,
    "noise_score": ((1 - T) ** 4 + T**4) / 6 - ((1 - 2 * T) / 4) ** 2,  # logistic noise
    "reinforce_loo": (1 - 2 * T) ** 2 / 16,  # the S = 2 average
    "arm": (1 - 2 * T) ** 2 / 48,
    "disarm": 0.0,
    # Derived here: at phi = 0, b = 1{e1 > e2}; E[(e1 - 1)^2 1{e1 > e2}] = 1 - 1/4 = 3/4 and
    # E[(e1 - 1)^2 1{e1 < e2}] = int (x - 1)^2 e^-2x dx = 1/4. The swap's partner is 1 - b with
    # weight e2 - 1, and E[(e1 - 1)(e2 - 1)] = 0, so antithetic_exp halves the second moment.
    "exp_score": 0.75 * (1 - T) ** 4 + 0.25 * T**4 - ((1 - 2 * T) / 4) ** 2,
    "antithetic_exp": 0.5 * (0.75 * (1 - T) ** 4 + 0.25 * T**4) - ((1 - 2 * T) / 4) ** 2,
}


def _toy(bits):
    return ((bits - T) ** 2).sum(-1)


@pytest.mark.parametrize("estimator", list(CLOSED_FORM_VARIANCE))
def test_closed_form_variance_at_k1(estimator):
    """The k = 1 variances of docs/math.md (t = 0.49, phi = 0) hold within Monte Carlo error."""
    replicates = 200_000
    if estimator == "reinforce_loo":
        # The estimator is the average over S = 2 draws; batch rows give independent replicates.
        logits = np.zeros((replicates, 1))
        draws = _per_draw(estimator, _toy, logits, 2, seed=4).mean(axis=0)[:, 0]
    else:
        draws = _per_draw(estimator, _toy, np.zeros(1), replicates, seed=4)[:, 0]
    expected = CLOSED_FORM_VARIANCE[estimator]
    centred_sq = (draws - draws.mean()) ** 2
    variance = centred_sq.mean() * draws.size / (draws.size - 1)
    se = centred_sq.std(ddof=1) / np.sqrt(draws.size)
    assert abs(variance - expected) <= 4 * se + 1e-15, (variance, expected, se)
    assert draws.mean() == pytest.approx((1 - 2 * T) / 4, abs=4 * np.sqrt(expected / draws.size)
                                         + 1e-12)


def test_logistic_noise_couplings_reduce_to_ar_and_arm():
    """With logistic noise, noise_score is ar and antithetic_noise is ARM, draw for draw."""
    k = 4
    logits = np.array([0.3, -1.0, 2.0, 0.0])
    table = np.random.default_rng(9).normal(size=2**k)
    f = table_function(table, k)
    for noisy, coupled in [("noise_score", "ar"), ("antithetic_noise", "arm")]:
        a = _per_draw(noisy, f, logits, 2000, seed=12)
        b = _per_draw(coupled, f, logits, 2000, seed=12)
        # Both turn one uniform into the bits; the logistic noise keeps u inside (eps, 1 - eps).
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_antithetic_exp_gains_little_over_arm():
    """docs/math.md: at t = 0.49, phi = 0, the swap alone has variance ~3e-2, ARM 8.3e-6."""
    draws = _per_draw("antithetic_exp", _toy, np.zeros(1), 100_000, seed=13)[:, 0]
    assert 2e-2 < draws.var() < 4e-2


@pytest.mark.parametrize("estimator", pmcgrad.estimator_names())
def test_pathwise_gradient_of_a_parameter_inside_f(estimator):
    """d/dtheta of the estimate matches the exact derivative of E[sum (b - theta)^2]."""
    samples = 20_000
    logits = np.array([0.4, -1.5, 2.0])
    theta = pt.scalar("theta")
    value = pmcgrad.expectation(lambda b: ((b - theta) ** 2).sum(-1), logits, estimator,
                                samples=samples, rng=21)
    fn = pytensor.function([theta], pytensor.grad(value, theta))
    p = 1 / (1 + np.exp(-logits))
    theta_value = 0.3
    exact = float(np.sum(-2 * (p - theta_value)))
    got = float(fn(theta_value))
    if estimator == "exact":
        assert got == pytest.approx(exact, rel=1e-12)
    else:
        # Each evaluation contributes -2 sum(b - theta); independent draws bound the variance
        # from above (antithetic pairs are negatively correlated, so only tighter).
        se = np.sqrt(4 * np.sum(p * (1 - p)) / samples)
        assert abs(got - exact) <= 4 * se
