"""pmcgrad.study.categorical: the objectives' closed forms against enumeration, and one
compiled estimator against them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pmcgrad.study.categorical import (
    categorical_function,
    categorical_logits,
    categorical_rows,
    check_problem,
    make_categorical_objective,
    rows_per_job,
)
from pmcgrad.study.settings import CategoricalSettings


def _enumerated(objective, logits):
    """E_q f and its gradient by enumerating every configuration (score-function identity)."""
    k, K = logits.shape
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    value, gradient = 0.0, np.zeros((k, K))
    for codes in itertools.product(range(K), repeat=k):
        codes = np.array(codes)
        q = np.prod(p[np.arange(k), codes])
        f = objective(codes)
        value += q * f
        gradient += q * f * (np.eye(K)[codes] - p)
    return value, gradient


@pytest.mark.parametrize("problem", ["toy_t0.49", "mixture"])
@pytest.mark.parametrize(("K", "k"), [(2, 3), (3, 2), (4, 2)])
def test_closed_forms_match_enumeration(problem, K, k):
    """E_q f and grad_phi E_q f in closed form equal the sums over all K^k configurations."""
    objective = make_categorical_objective(problem, K, k, instance_seed=1)
    logits = categorical_logits("random", K, k, seed=3)
    value, gradient = _enumerated(objective, logits)
    assert objective.expectation(logits) == pytest.approx(value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(objective.exact_gradient(logits), gradient, atol=1e-12)


def test_the_toy_at_two_categories_is_the_bernoulli_toy():
    """At K = 2 a code is a bit and f(z) = sum_v (z_v - t)^2."""
    objective = make_categorical_objective("toy_t0.49", 2, 3, instance_seed=0)
    for codes in itertools.product(range(2), repeat=3):
        assert objective(np.array(codes)) == pytest.approx(
            sum((b - 0.49) ** 2 for b in codes), abs=1e-12)


def test_logit_settings_and_names():
    """Saturated logits put 6 on one category per variable; bad names are refused by name."""
    saturated = categorical_logits("saturated", 3, 4, seed=0)
    assert (saturated.max(axis=1) == 6).all() and (np.sort(saturated, 1)[:, :-1] == 0).all()
    assert (categorical_logits("zero", 3, 2, 0) == 0).all()
    np.testing.assert_array_equal(categorical_logits("random", 3, 2, 5),
                                  categorical_logits("random", 3, 2, 5))
    with pytest.raises(ValueError, match="unknown logit setting"):
        categorical_logits("hot", 3, 2, 0)
    with pytest.raises(ValueError, match="'qubo'"):
        check_problem("qubo")
    with pytest.raises(ValueError, match=r"toy_t0\.5"):
        check_problem("toy_t.50")
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        check_problem("toy_t1.5")


@pytest.mark.slow
def test_arsm_rows_are_unbiased_and_cost_what_the_registry_says():
    """One compiled ARSM graph (k symbolic) serves two k; its rows pass the study's bias rule
    against the closed form, with K(K-1)/2 + 1 evaluations per draw."""
    function = categorical_function("arsm", 3)
    for k in (1, 2):
        objective = make_categorical_objective("mixture", 3, k, instance_seed=2026)
        rows = categorical_rows(objective, function, ["zero", "random"], [0], replicates=4000)
        assert [row["k"] for row in rows] == [k, k]
        assert all(row["bias_within_error"] for row in rows), rows
        assert all(row["evaluations_per_draw"] == 4 for row in rows)
        assert all(row["variance"] > 0 for row in rows)


def test_rows_per_job():
    """Problems x estimators (enumeration only where K^k fits) x logits x seeds, over k."""
    settings = CategoricalSettings(
        problems=("toy_t0.49", "mixture"), estimators=("categorical_exact", "arsm"), K=(3,),
        k=(1, 4), logits=("zero",), seeds=(0, 1), replicates=10, max_evaluations=100,
        exact_max_configurations=27, instance_seed=0)
    assert rows_per_job(settings, 3) == 2 * 2 * 2 + 2 * 1 * 2  # k = 4: 81 > 27, no exact
