"""pmcgrad.study.objectives: the gradient study's problems as one quadratic, and their names."""

from __future__ import annotations

import numpy as np
import pytest

from pmcgrad.problems import all_bit_vectors, exact_gradient, simulate_spike_slab, toy_objective
from pmcgrad.study.objectives import Problem, make_objective, spike_slab_integrand


@pytest.mark.parametrize("problem", [Problem.toy(0.49), Problem("qubo"), Problem("spike_slab")])
def test_closed_form_gradient_matches_enumeration(problem):
    """Each problem's closed-form gradient equals sum_b q(b) f(b) (b - p) by enumeration."""
    objective = make_objective(problem, 5, instance_seed=3)
    logits = np.random.default_rng(0).normal(size=(2, 5)) * 2
    np.testing.assert_allclose(objective.exact_gradient(logits), exact_gradient(objective, logits),
                               rtol=1e-10, atol=1e-12)


def test_toy_as_quadratic_is_the_toy():
    """On bits, (1 - 2t) sum b + k t^2 is exactly sum (b - t)^2."""
    bits = all_bit_vectors(4)
    np.testing.assert_allclose(make_objective(Problem.toy(0.499), 4, 0)(bits),
                               toy_objective(bits, 0.499))


def test_spike_slab_integrand_is_expected_log_joint():
    """b'Qb + c'b + d equals E_q(beta)[log p(y, z, beta)], checked by Monte Carlo over beta."""
    data = simulate_spike_slab(30, 3, 2, seed=1)
    mean, sd = np.array([0.5, -1.0, 0.1]), np.array([0.2, 0.3, 0.4])
    Q, c, d = spike_slab_integrand(data, mean, sd)
    beta = mean + sd * np.random.default_rng(1).standard_normal((200_000, 3))
    sigma2, slab2, pi = data.sigma**2, data.slab_sd**2, data.prior_inclusion
    n = data.y.shape[0]
    for z in all_bit_vectors(3):
        resid = data.y[None, :] - (beta * z) @ data.X.T
        log_joint = (-0.5 * n * np.log(2 * np.pi * sigma2) - (resid**2).sum(1) / (2 * sigma2)
                     + np.sum(z * np.log(pi) + (1 - z) * np.log1p(-pi))
                     + np.sum(-0.5 * np.log(2 * np.pi * slab2) - beta**2 / (2 * slab2), axis=1))
        se = log_joint.std() / np.sqrt(log_joint.size)
        assert abs(z @ Q @ z + c @ z + d - log_joint.mean()) < 5 * se


@pytest.mark.parametrize("name", ["toy_t0.49", "toy_t0.499", "toy_t0.45", "qubo", "spike_slab"])
def test_problem_names_round_trip(name):
    """A name parses to a problem whose name is the same string (paths and seeds use it)."""
    assert Problem.parse(name).name == name


def test_problem_parse_refuses_what_it_cannot_spell():
    """An unknown or non-canonical name is refused with the valid spellings."""
    assert Problem.parse("toy_t0.49") == Problem.toy(0.49) == Problem("toy", 0.49)
    with pytest.raises(ValueError, match="'qubo'"):
        Problem.parse("rastrigin")
    with pytest.raises(ValueError, match=r"spelled 'toy_t0\.5'"):
        Problem.parse("toy_t0.50")
    with pytest.raises(ValueError, match="target t"):
        Problem("qubo", 0.5)
    with pytest.raises(TypeError, match=r"Problem\.parse"):
        make_objective("qubo", 3, 0)
