"""pmcgrad.study.optimisation: Adam on the toy's logits, the exact loss recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmcgrad.problems import toy_expectation
from pmcgrad.study.estimates import estimate_function
from pmcgrad.study.optimisation import Adam, optimise_toy, recorded_steps

T = 0.49


def test_adam_moves_against_the_gradient():
    """The first Adam step is -learning_rate * sign(grad)."""
    adam = Adam(0.1)
    np.testing.assert_allclose(adam.step(np.zeros(2), np.array([3.0, -0.5])), [-0.1, 0.1],
                               rtol=1e-6)


def test_optimise_toy_reduces_the_exact_loss():
    """DisARM on the k = 1 toy: the exact loss falls towards t^2, rows every `thin` steps."""
    function = estimate_function("disarm", 1, 1)
    rows = pd.DataFrame(optimise_toy(function, T, 0, steps=200, learning_rate=0.1, thin=50))
    assert rows["step"].tolist() == [0, 50, 100, 150, 200]
    assert len(rows) == recorded_steps(200, 50)
    assert rows["loss"].iloc[0] == pytest.approx(float(toy_expectation(np.zeros(1), T)))
    assert rows["loss"].iloc[-1] < rows["loss"].iloc[0]
    assert (rows["seconds"].diff().dropna() >= 0).all()


@pytest.mark.parametrize(("steps", "thin", "rows"), [(50, 10, 6), (55, 10, 7), (3, 10, 2)])
def test_recorded_steps(steps, thin, rows):
    """Step 0, every thin-th step and the last: what the table check expects per run."""
    assert recorded_steps(steps, thin) == rows
