"""pmcgrad.fit compiles for PyTensor's backends: Numba (default), C, and JAX when installed."""

from __future__ import annotations

import numpy as np
import pytest

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import simulate_spike_slab


def _fit(mode):
    data = simulate_spike_slab(n=40, k=4, n_true=2, seed=0)
    with spike_slab_model(data):
        return pmcgrad.fit(250, family="bit_conditioned", random_seed=1, progressbar=False,
                           convergence=False, compile_kwargs={"mode": mode})


@pytest.fixture(scope="module")
def numba_fit():
    return _fit("NUMBA")


@pytest.mark.parametrize("mode", ["JAX", "CVM"])
def test_backend_gives_the_same_fit_as_numba(numba_fit, mode):
    """Same seed, same draws (pmcgrad's counter streams), same arithmetic: to 1e-6."""
    if mode == "JAX":
        pytest.importorskip("jax")
    other = _fit(mode)
    np.testing.assert_allclose(other.hist, numba_fit.hist, rtol=1e-6, atol=1e-6)
    for name, value in numba_fit.state.params.items():
        np.testing.assert_allclose(other.state.params[name], value, rtol=1e-6, atol=1e-6,
                                   err_msg=name)


def test_jax_mode_without_jax_says_what_to_install(numba_fit, monkeypatch):
    """Asking for JAX without jax installed names the extra to install."""
    import builtins

    real_import = builtins.__import__

    def no_jax(name, *args, **kwargs):
        if name == "jax":
            raise ImportError("No module named 'jax'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jax)
    with numba_fit.model, pytest.raises(ImportError, match=r"pip install 'pmcgrad\[jax\]'"):
        pmcgrad.fit(10, progressbar=False, compile_kwargs={"mode": "JAX"})
