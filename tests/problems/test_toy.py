"""The toy's closed-form variances at k = 1 (pmcgrad.problems.toy), against integrals computed
here from each estimator's definition, independently of the formulas."""

from __future__ import annotations

import math

import pytest
from scipy import integrate

from pmcgrad.problems import K1_CLOSED_FORM_ESTIMATORS, k1_variance, k1_variance_at_cost

P = 0.5  # phi = 0


def _moments(g, weight_integral) -> float:
    """Variance from E[g] and E[g^2], each given by ``weight_integral``."""
    mean = weight_integral(g)
    second = weight_integral(lambda *x: g(*x) ** 2)
    return second - mean**2


def _over_w(g):
    """E over w ~ U(0, 1), split at 1/2 where the bits jump."""
    return sum(integrate.quad(g, lo, hi, epsabs=1e-14, epsrel=1e-13)[0]
               for lo, hi in ((0, 0.5), (0.5, 1)))


def _exact_variance(estimator: str, t: float) -> float:
    """The variance of one estimate, from the estimator's own definition at k = 1, phi = 0."""
    def f(b):
        return (b - t) ** 2

    if estimator == "reinforce":  # f(b)(b - p), b ~ Bernoulli(1/2)
        values = [f(b) * (b - P) for b in (0, 1)]
        return sum(v**2 for v in values) / 2 - (sum(values) / 2) ** 2
    if estimator in ("ar", "noise_score"):  # f(b)(1 - 2w), b = 1{w < p}; logistic noise: same
        return _moments(lambda w: f(float(w < P)) * (1 - 2 * w), _over_w)
    if estimator == "arm":  # (f(b1) - f(b2))(1/2 - w), b1 = 1{w < p}, b2 = 1{1 - w < p}
        return _moments(lambda w: (f(float(w < P)) - f(float(1 - w < P))) * (0.5 - w), _over_w)
    if estimator == "disarm":  # 1/2 (f(b1) - f(b2)) (-1)^b2 1{b1 != b2} sigmoid(|phi|)
        def g(w):
            b1, b2 = float(w < P), float(1 - w < P)
            return 0.5 * (f(b1) - f(b2)) * (-1) ** b2 * (b1 != b2) * 0.5
        return _moments(g, _over_w)
    if estimator == "reinforce_loo":  # S = 2: (f(b_s) - f(b_other)) (b_s - p), averaged
        values = [0.5 * ((f(a) - f(b)) * (a - P) + (f(b) - f(a)) * (b - P))
                  for a in (0, 1) for b in (0, 1)]
        return sum(v**2 for v in values) / 4 - (sum(values) / 4) ** 2

    def over_pair(g):  # E over e1, e2 ~ Exp(1), split along e1 = e2 where the bits jump
        def density(e2, e1):
            return g(e1, e2) * math.exp(-e1 - e2)
        below = integrate.dblquad(density, 0, 60, 0, lambda e1: e1, epsabs=1e-14, epsrel=1e-12)
        above = integrate.dblquad(density, 0, 60, lambda e1: e1, 60, epsabs=1e-14, epsrel=1e-12)
        return below[0] + above[0]

    if estimator == "exp_score":  # f(b)(e1 - 1), b = 1{e^phi e1 > e2}
        # e2 integrated out: P(e2 < e1) = 1 - exp(-e1).
        def over_e1(g):
            return integrate.quad(lambda e1: math.exp(-e1) * (
                (1 - math.exp(-e1)) * g(e1, 1.0) + math.exp(-e1) * g(e1, 0.0)), 0, 60,
                epsabs=1e-14, epsrel=1e-13)[0]
        return _moments(lambda e1, b: f(b) * (e1 - 1), over_e1)
    if estimator == "antithetic_exp":  # 1/2 [f(b)(e1 - 1) + f(b')(e2 - 1)], b' from the swap
        return _moments(lambda e1, e2: 0.5 * (f(float(e1 > e2)) * (e1 - 1)
                                              + f(float(e2 > e1)) * (e2 - 1)), over_pair)
    raise AssertionError(estimator)


@pytest.mark.parametrize("t", [0.49, 0.3])
@pytest.mark.parametrize("estimator", K1_CLOSED_FORM_ESTIMATORS)
def test_closed_forms_equal_the_estimators_own_variance(estimator, t):
    """Each closed form is the variance its estimator's definition gives, by quadrature."""
    form = k1_variance(estimator, t)
    assert form.evaluations == (2 if estimator in ("reinforce_loo", "arm", "disarm",
                                                   "antithetic_exp") else 1)
    assert form.variance == pytest.approx(_exact_variance(estimator, t), rel=1e-7, abs=1e-13)


def test_closed_forms_at_t049_are_the_published_numbers():
    """At t = 0.49: 1.5625e-2, 2.0858e-2, 2.5e-5, 8.333e-6, 0, and 3.26e-2 for the swap alone."""
    assert k1_variance("reinforce", 0.49).variance == pytest.approx(1.5625e-2, rel=1e-3)
    assert k1_variance("ar", 0.49).variance == pytest.approx(2.0858e-2, rel=1e-4)
    assert k1_variance("reinforce_loo", 0.49).variance == pytest.approx(2.5e-5)
    assert k1_variance("arm", 0.49).variance == pytest.approx(8.333e-6, rel=1e-3)
    assert k1_variance("disarm", 0.49).variance == 0
    assert k1_variance("antithetic_exp", 0.49).variance == pytest.approx(3.26e-2, rel=1e-2)


def test_variance_at_a_cost_averages_independent_estimates():
    """n independent estimates divide the variance by n; LOO is known at S = 2 only."""
    one = k1_variance("reinforce", 0.49).variance
    assert k1_variance_at_cost("reinforce", 0.49, 2) == one / 2
    assert k1_variance_at_cost("arm", 0.49, 4) == k1_variance("arm", 0.49).variance / 2
    assert k1_variance_at_cost("reinforce_loo", 0.49, 2) == k1_variance("reinforce_loo",
                                                                        0.49).variance
    assert math.isnan(k1_variance_at_cost("reinforce_loo", 0.49, 4))
    assert math.isnan(k1_variance_at_cost("arm", 0.49, 3))
    assert math.isnan(k1_variance_at_cost("uniform_boundary", 0.49, 2))
    assert k1_variance("uniform_boundary", 0.49) is None
