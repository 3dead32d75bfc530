"""pmcgrad.study.estimates: one compiled graph gives many independent, seeded estimates."""

from __future__ import annotations

import numpy as np

from pmcgrad.study.estimates import estimate_function, samples_for_cost
from pmcgrad.study.objectives import Problem, make_objective
from pmcgrad.study.seeds import job_seed


def test_estimates_depend_on_the_seed_only():
    """The same seed reproduces the estimates, whatever was drawn before; another seed differs."""
    function = estimate_function("reinforce", 2, 1)
    objective = make_objective(Problem("qubo"), 2, 0)
    logits = np.zeros((50, 2))
    first = function(logits, objective, job_seed(1))
    function(logits, objective, job_seed(2))
    np.testing.assert_array_equal(function(logits, objective, job_seed(1)), first)
    assert not np.array_equal(function(logits, objective, job_seed(2)), first)


def test_equal_cost_accounting():
    """1-evaluation estimators get 2 draws, 2-evaluation ones 1 pair; dearer ones 1 draw."""
    assert samples_for_cost("reinforce", 4, 2) == 2
    assert samples_for_cost("exp_score", 4, 2) == 2
    assert samples_for_cost("reinforce_loo", 4, 2) == 2
    assert samples_for_cost("disarm", 4, 2) == 1
    assert samples_for_cost("antithetic_exp", 4, 2) == 1
    assert samples_for_cost("uniform_boundary", 4, 2) == 1  # costs k + 1 = 5
    assert samples_for_cost("exact", 4, 2) == 1
