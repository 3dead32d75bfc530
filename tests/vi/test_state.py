"""The explicit fit state: init / step / run over frozen states, snapshot and restore."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import simulate_spike_slab
from pmcgrad.vi import FitState


@pytest.fixture(scope="module")
def model():
    return spike_slab_model(simulate_spike_slab(n=40, k=4, n_true=2, seed=0))


@pytest.fixture(scope="module")
def first(model):
    with model:
        return pmcgrad.fit(300, family="bit_conditioned", random_seed=3, progressbar=False)


def _same(a: FitState, b: FitState) -> None:
    np.testing.assert_array_equal(a.history, b.history)
    for group in ("params", "optimizer", "streams"):
        left, right = getattr(a, group), getattr(b, group)
        assert list(left) == list(right)
        for name in left:
            np.testing.assert_array_equal(left[name], right[name], err_msg=f"{group}/{name}")
    assert a.schedule == b.schedule and a.step == b.step


def test_a_state_is_frozen(first):
    """States cannot be changed in place: their arrays are read-only, their fields fixed."""
    state = first.state
    with pytest.raises(ValueError, match="read-only"):
        state.params["logits"][0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.step = 5
    with pytest.raises(TypeError):
        state.params["logits"] = np.zeros(1)


def test_restored_state_continues_bit_for_bit(first, tmp_path):
    """Continuing a saved state (in memory, pickled or from a file) repeats every number."""
    reference = first.refine(250, progressbar=False)
    again = first.refine(250, progressbar=False)
    _same(reference.state, again.state)
    path = tmp_path / "state.npz"
    first.state.save(path)
    restored = FitState.load(path)
    _same(restored, first.state)
    unpickled = pickle.loads(pickle.dumps(first.state))
    for state in (restored, unpickled):
        resumed = dataclasses.replace(first, state=state).refine(250, progressbar=False)
        _same(resumed.state, reference.state)


def test_step_is_a_function_of_the_state(first):
    """Fitter.step(state, n) returns a new state and leaves the old one as it was."""
    fitter, state = first.fitter, first.state
    before = state.params["logits"].copy()
    one, _ = fitter.step(state, 20)
    two, _ = fitter.step(state, 20)
    _same(one, two)
    np.testing.assert_array_equal(state.params["logits"], before)
    assert one.step == state.step + 20 and one.history.shape[0] == state.history.shape[0] + 20


def test_a_second_fit_of_the_same_model_compiles_nothing(model, first):
    """Fitters are cached per model and options: a second fit reuses the compiled one."""
    with model:
        second = pmcgrad.fit(10, family="bit_conditioned", random_seed=4, progressbar=False)
    assert second.fitter is first.fitter
    # A new seed is a new state, not a new graph.
    assert any(not np.array_equal(second.state.params[name], first.state.params[name])
               for name in first.state.params)
