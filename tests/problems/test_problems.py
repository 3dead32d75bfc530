"""Tests of the exact-reference layer ``pmcgrad.problems`` (pure NumPy / SciPy)."""

import itertools
import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import stats
from scipy.special import expit, logsumexp

from pmcgrad.problems import (
    all_bit_vectors,
    best_meanfield_optimum,
    exact_expectation,
    exact_gradient,
    exact_log_evidence,
    exact_model_posterior,
    exact_posterior_inclusion,
    meanfield_cavi,
    meanfield_elbo,
    qubo_expectation,
    qubo_gradient,
    qubo_objective,
    random_qubo,
    simulate_spike_slab,
    toy_expectation,
    toy_gradient,
    toy_objective,
)

LOGIT_VALUES = [0.0, 2.0, -2.0, 6.0, -6.0, 50.0, -50.0]


def _logit_grid(k: int) -> np.ndarray:
    """Rows of k logits drawn (cyclically shifted) from LOGIT_VALUES; shape (7, k)."""
    vals = np.array(LOGIT_VALUES)
    return np.stack([np.roll(vals, -r)[np.arange(k) % vals.size] for r in range(vals.size)])


# --------------------------------------------------------------------------- enumeration


def test_all_bit_vectors_binary_order():
    """Row r of all_bit_vectors(k) is r in binary, most significant bit first."""
    bits = all_bit_vectors(3)
    assert bits.shape == (8, 3)
    assert bits.dtype == np.float64
    expected = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    np.testing.assert_array_equal(bits, expected)
    assert all_bit_vectors(0).shape == (1, 0)


def test_all_bit_vectors_refuses_large_k():
    """all_bit_vectors raises a ValueError naming k above k = 24."""
    with pytest.raises(ValueError, match="k=25"):
        all_bit_vectors(25)


def test_enumeration_gradient_matches_finite_differences():
    """exact_gradient equals a central finite difference of exact_expectation."""
    rng = np.random.default_rng(3)
    k = 4
    weights = rng.standard_normal(2**k)
    table_index = 2 ** np.arange(k - 1, -1, -1)

    def f(bits):
        return weights[(bits @ table_index).astype(int)]

    logits = rng.normal(0.0, 1.5, size=k)
    grad = exact_gradient(f, logits)
    h = 1e-5
    fd = np.array(
        [
            (exact_expectation(f, logits + h * e) - exact_expectation(f, logits - h * e)) / (2 * h)
            for e in np.eye(k)
        ]
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_enumeration_accepts_value_table():
    """A table of f values in all_bit_vectors order gives the same result as the callable."""
    k, t = 3, 0.3
    logits = np.array([0.5, -1.0, 2.0])
    table = toy_objective(all_bit_vectors(k), t)
    assert exact_expectation(table, logits) == pytest.approx(
        exact_expectation(lambda b: toy_objective(b, t), logits), rel=1e-14
    )
    np.testing.assert_allclose(
        exact_gradient(table, logits), exact_gradient(lambda b: toy_objective(b, t), logits)
    )
    with pytest.raises(ValueError, match="2\\^k = 8"):
        exact_expectation(np.zeros(7), logits)


# --------------------------------------------------------------------------- toy


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("t", [0.3, 0.9])
def test_toy_closed_forms_match_enumeration(k, t):
    """toy_expectation / toy_gradient equal enumeration, to full relative precision at +-50."""
    logits = _logit_grid(k)  # (7, k): exercises the batch path as well

    def f(bits):
        return toy_objective(bits, t)

    np.testing.assert_allclose(toy_expectation(logits, t), exact_expectation(f, logits), rtol=1e-12)
    grad = exact_gradient(f, logits)
    assert grad.shape == logits.shape
    np.testing.assert_allclose(toy_gradient(logits, t), grad, rtol=1e-10, atol=0.0)
    for row in logits:  # unbatched calls agree with the batched ones
        np.testing.assert_allclose(toy_gradient(row, t), exact_gradient(f, row), rtol=1e-10)


def test_toy_gradient_nonzero_in_saturated_tails():
    """At logits +-50 the toy gradient is (1 - 2t) e^-50-ish, not rounded to 0."""
    g = toy_gradient(np.array([50.0, -50.0]), 0.3)
    np.testing.assert_allclose(g, 0.4 * math.exp(-50.0), rtol=1e-12)


# --------------------------------------------------------------------------- qubo


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qubo_closed_form_matches_enumeration(seed):
    """qubo_gradient (closed form) and qubo_expectation equal enumeration."""
    k = 6
    qubo = random_qubo(k, seed)
    np.testing.assert_array_equal(qubo.Q, qubo.Q.T)
    rng = np.random.default_rng(100 + seed)
    logits = np.vstack([rng.normal(0.0, 2.0, size=(4, k)), _logit_grid(k)])

    def f(bits):
        return qubo_objective(qubo, bits)

    np.testing.assert_allclose(
        qubo_expectation(qubo, logits), exact_expectation(f, logits), rtol=1e-11, atol=1e-12
    )
    # Enumeration sums terms of size |f| to get the gradient: allow that rounding.
    scale = np.abs(qubo.Q).sum() + np.abs(qubo.c).sum()
    np.testing.assert_allclose(
        qubo_gradient(qubo, logits), exact_gradient(f, logits), rtol=1e-9, atol=1e-13 * scale
    )


def test_qubo_objective_matches_explicit_sum():
    """qubo_objective is b^T Q b + c^T b."""
    qubo = random_qubo(4, 7)
    b = np.array([1.0, 0.0, 1.0, 1.0])
    expected = sum(qubo.Q[i, j] * b[i] * b[j] for i in range(4) for j in range(4)) + qubo.c @ b
    assert qubo_objective(qubo, b) == pytest.approx(expected, rel=1e-13)


# --------------------------------------------------------------------------- spike and slab


def test_simulated_design_is_standardised():
    """Simulated columns are centred with ||X_j||^2 = n and n_true active predictors."""
    data = simulate_spike_slab(200, 6, 2, seed=4, correlation=0.7)
    np.testing.assert_allclose(data.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose((data.X**2).sum(axis=0), 200.0, rtol=1e-12)
    assert data.z_true.sum() == 2
    assert np.all((data.beta_true != 0) == (data.z_true == 1))
    off_diag = np.corrcoef(data.X.T)[np.triu_indices(6, 1)]
    assert 0.5 < off_diag.mean() < 0.85  # equicorrelated at rho = 0.7


def test_exact_posterior_matches_dense_gaussian_marginals():
    """PIPs and log evidence equal a brute force over z with the n x n marginal covariance."""
    data = simulate_spike_slab(15, 4, 2, seed=11, correlation=0.5, sigma=0.8, slab_sd=1.3)
    n, k = data.X.shape
    log_joint = []
    configs = list(itertools.product([0, 1], repeat=k))
    for z in configs:
        xz = data.X[:, np.array(z, dtype=bool)]
        cov = data.sigma**2 * np.eye(n) + data.slab_sd**2 * xz @ xz.T
        log_lik = stats.multivariate_normal.logpdf(data.y, np.zeros(n), cov)
        log_prior = stats.bernoulli.logpmf(z, data.prior_inclusion).sum()
        log_joint.append(log_lik + log_prior)
    log_joint = np.array(log_joint)
    post = np.exp(log_joint - logsumexp(log_joint))

    np.testing.assert_allclose(
        exact_posterior_inclusion(data), post @ np.array(configs), rtol=1e-9, atol=1e-12
    )
    assert exact_log_evidence(data) == pytest.approx(logsumexp(log_joint), rel=1e-11)
    bits, log_post = exact_model_posterior(data)
    np.testing.assert_array_equal(bits, np.array(configs, dtype=float))
    np.testing.assert_allclose(np.exp(log_post), post, rtol=1e-9, atol=1e-14)


def test_meanfield_elbo_matches_quadrature():
    """meanfield_elbo equals E_q[log p(y, z, beta) - log q] by exact enumeration + quadrature."""
    data = simulate_spike_slab(12, 3, 1, seed=5, correlation=0.3, sigma=0.7, slab_sd=1.5)
    alpha = np.array([0.2, 0.7, 0.95])
    m = np.array([0.4, -1.1, 0.8])
    s = np.array([0.3, 0.5, 1.2])
    # log p(y | z, beta) is quadratic in beta: 3-point Gauss-Hermite per axis is exact.
    nodes, weights = hermegauss(3)
    weights = weights / weights.sum()
    total = 0.0
    for z in itertools.product([0, 1], repeat=3):
        z = np.array(z)
        log_qz = stats.bernoulli.logpmf(z, alpha).sum()
        for idx in itertools.product(range(3), repeat=3):
            beta = m + s * nodes[list(idx)]
            w = np.prod(weights[list(idx)])
            log_p = (
                stats.norm.logpdf(data.y, data.X @ (z * beta), data.sigma).sum()
                + stats.bernoulli.logpmf(z, data.prior_inclusion).sum()
                + stats.norm.logpdf(beta, 0.0, data.slab_sd).sum()
            )
            log_q = log_qz + stats.norm.logpdf(beta, m, s).sum()
            total += np.exp(log_qz) * w * (log_p - log_q)
    assert meanfield_elbo(data, alpha, m, s) == pytest.approx(total, rel=1e-11)


def test_cavi_elbo_monotone_and_below_evidence():
    """CAVI's ELBO never decreases over sweeps and every fit's ELBO is <= log p(y)."""
    data = simulate_spike_slab(100, 10, 3, seed=2, correlation=0.6)
    log_z = exact_log_evidence(data)
    rng = np.random.default_rng(0)
    inits = [np.full(10, 0.5), np.full(10, 0.01), np.full(10, 0.99)]
    inits += [rng.uniform(size=10) for _ in range(10)]
    for init in inits:
        fit = meanfield_cavi(data, init)
        assert fit.converged
        assert np.all(np.diff(fit.history) >= -1e-9)
        assert fit.history[-1] > fit.history[0]
        assert fit.elbo == pytest.approx(meanfield_elbo(data, fit.inclusion, fit.mean, fit.sd))
        assert fit.elbo <= log_z
    assert best_meanfield_optimum(data, starts=16).elbo <= log_z


def test_cavi_optimum_is_local_maximum():
    """At a CAVI optimum no +-1e-3 step in one of logit(alpha), m, log(s) raises the ELBO."""
    data = simulate_spike_slab(100, 8, 3, seed=6, correlation=0.5)
    for init in (np.full(8, 0.5), np.random.default_rng(1).uniform(size=8)):
        fit = meanfield_cavi(data, init)
        params = {
            "logit_alpha": fit.inclusion_logit.copy(),
            "m": fit.mean.copy(),
            "log_s": np.log(fit.sd),
        }

        def elbo(p):
            alpha = expit(p["logit_alpha"])
            return meanfield_elbo(data, alpha, p["m"], np.exp(p["log_s"]))

        base = elbo(params)
        assert base == pytest.approx(fit.elbo, abs=1e-9)
        for name, j, step in itertools.product(params, range(8), (-1e-3, 1e-3)):
            moved = {key: val.copy() for key, val in params.items()}
            moved[name][j] += step
            assert elbo(moved) <= base + 1e-9, (name, j, step)


def test_exact_pips_find_true_effects_in_independent_design():
    """With an independent design (n=100, k=8, 3 effects) every true predictor has PIP > 0.9."""
    data = simulate_spike_slab(100, 8, 3, seed=1)
    pip = exact_posterior_inclusion(data)
    assert np.all(pip[data.z_true == 1] > 0.9)
    assert np.all(pip[data.z_true == 0] < 0.5)


def test_cavi_is_multimodal_in_correlated_design():
    """Correlated design (rho=0.6, k=12, seed 0): CAVI starts reach optima > 0.1 nats apart."""
    data = simulate_spike_slab(100, 12, 3, seed=0, correlation=0.6)
    best = best_meanfield_optimum(data, starts=32, seed=0)
    assert best.all_elbos is not None
    assert best.all_elbos.size >= 2
    assert best.all_elbos[0] == best.elbo
    assert best.all_elbos[0] - best.all_elbos[1] > 0.1
    assert best.elbo <= exact_log_evidence(data)


def test_problems_package_imports_only_numpy_and_scipy():
    """No module in pmcgrad.problems imports pytensor or pymc (it is the exact reference):
    NumPy, SciPy and scikit-learn's bundled data sets only."""
    import ast
    from pathlib import Path

    import pmcgrad.problems

    allowed = {"numpy", "scipy", "pmcgrad", "math", "dataclasses", "typing", "collections"}
    allowed |= {"__future__"}
    allowed |= {"sklearn"}  # the gallery's diabetes data ship with scikit-learn (a loader only)
    for path in Path(pmcgrad.problems.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, (path.name, roots)
