"""Nothing is lost: interrupts, non-finite and diverging losses, failing callbacks and bad
arguments each leave a clear error, and the fit's last good state where there is one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pymc as pm
import pytest

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import simulate_spike_slab
from pmcgrad.vi import DivergenceError, FitInterrupted

_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np, pymc as pm, pmcgrad
    with pm.Model():
        z = pm.Bernoulli("z", 0.5, shape=3)
        pm.Normal("y", mu=pm.Normal("mu", 0, 1) + z.sum(), sigma=1, observed=[1.0, 2.0])
        def started(result, history, step):
            print("running", step, flush=True)
        if sys.argv[1] == "catch":
            try:
                pmcgrad.fit(10**8, random_seed=0, progressbar=False, convergence=False,
                            callbacks=[started])
            except KeyboardInterrupt as error:
                more = error.result.refine(100, progressbar=False)
                print(json.dumps({"type": type(error).__name__, "message": str(error),
                                  "steps": error.result.steps, "more": more.steps,
                                  "finite": bool(np.isfinite(error.result.hist).all())}))
        else:
            pmcgrad.fit(10**8, random_seed=0, progressbar=False, convergence=False,
                        callbacks=[started])
            print("returned as if finished")
""")


def _interrupted(mode: str) -> tuple[int, str]:
    """Run a long fit in a child process, send SIGINT once it is stepping."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mode], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
        # A background command starts with SIGINT ignored: restore the default in the child.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in child.stdout:  # the timeout below is for hangs, not for speed
        if line.startswith("running"):
            break
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=600)
    return child.returncode, out + err


@pytest.mark.slow
def test_ctrl_c_raises_with_the_partial_fit_attached():
    """SIGINT during fit raises FitInterrupted (a KeyboardInterrupt) with .result, which can
    be continued; it is never swallowed nor turned into a SystemError."""
    code, output = _interrupted("catch")
    assert code == 0, output
    report = json.loads(output.strip().splitlines()[-1])
    assert report["type"] == "FitInterrupted"
    assert "refine" in report["message"]
    assert report["steps"] > 0 and report["finite"]
    assert report["more"] == report["steps"] + 100


@pytest.mark.slow
def test_uncaught_ctrl_c_ends_the_script():
    """An uncaught interrupt ends the script with a non-zero status; fit never returns."""
    code, output = _interrupted("uncaught")
    assert code != 0 and "returned as if finished" not in output
    assert "FitInterrupted" in output


def test_interrupt_is_a_keyboard_interrupt():
    """except KeyboardInterrupt catches it, as for pm.sample."""
    assert issubclass(FitInterrupted, KeyboardInterrupt)


def test_divergence_keeps_the_last_good_state():
    """SGD with a huge step on a model with a scale parameter: a clear error, and the result
    attached holds finite parameters from before the divergence."""
    data = simulate_spike_slab(n=40, k=4, n_true=2, seed=0)
    with spike_slab_model(data, known_sigma=False):
        with pytest.raises(FloatingPointError) as info:
            pmcgrad.fit(2000, random_seed=0, progressbar=False,
                        optimizer=pm.sgd(learning_rate=3.0))
    result = info.value.result
    assert isinstance(info.value, DivergenceError | pmcgrad.vi.NonFiniteError)
    for name, value in result.state.params.items():
        assert np.isfinite(value).all(), name
    assert np.abs(result.state.params["mean"]).max() < 100
    if isinstance(info.value, DivergenceError):
        assert "moved most was the" in str(info.value)


def _oscillating():
    """100 observations make the loss's curvature in mu 100: SGD with a step of 0.05 (more
    than 2 / 100) overshoots further every step, with finite but exploding losses."""
    with pm.Model() as model:
        pm.Normal("y", mu=pm.Normal("mu", 0, 10), sigma=1, observed=np.full(100, 1.0))
    return model


def test_a_diverging_loss_is_caught_while_finite():
    """A loss that grows by orders of magnitude raises DivergenceError naming the parameter;
    the result holds the state before the bad step, with a loss near the best seen."""
    with _oscillating(), pytest.raises(DivergenceError, match=r"moved most was the mean of "
                                                               r"'mu'") as info:
        pmcgrad.fit(500, random_seed=0, progressbar=False, optimizer=pm.sgd(learning_rate=0.05))
    result = info.value.result
    history = result.hist
    assert np.all(np.isfinite(history)) and history[-1] < 100 * max(abs(history.min()), 1)


def test_divergence_can_warn_instead(caplog):
    """on_divergence='warn' logs the reason and returns the fit as it was before."""
    with _oscillating():
        result = pmcgrad.fit(500, random_seed=0, progressbar=False, on_divergence="warn",
                             optimizer=pm.sgd(learning_rate=0.05))
    assert result.stop_reason == "diverged" and "diverged" in caplog.text
    assert result.steps < 500 and np.isfinite(result.state.params["mean"]).all()


def test_a_failing_callback_keeps_the_fit():
    """A callback that raises: the exception propagates with the fit so far attached."""
    def broken(result, history, step):
        raise RuntimeError("callback bug")

    with pm.Model():
        pm.Normal("y", mu=pm.Normal("mu", 0, 1), sigma=1, observed=[0.5])
        with pytest.raises(RuntimeError, match="callback bug") as info:
            pmcgrad.fit(1000, random_seed=0, progressbar=False, callbacks=[broken])
    assert info.value.result.steps == 100
    assert any("fit so far" in note for note in info.value.__notes__)


@pytest.fixture(scope="module")
def tiny():
    with pm.Model() as model:
        z = pm.Bernoulli("z", 0.5, shape=2)
        pm.Normal("y", mu=pm.Normal("mu", 0, 1) + z.sum(), sigma=1, observed=[1.0])
    return model


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": -5}, ValueError, r"n must be >= 0, got -5"),
        ({"n": 2.5}, TypeError, r"n must be an int, got 2.5"),
        ({"samples": 0}, ValueError, r"samples must be >= 1, got 0"),
        ({"n_starts": 0}, ValueError, r"n_starts must be >= 1"),
        ({"optimizer": "adam"}, TypeError, r"optimizer must be a PyMC optimiser .*'adam'"),
        ({"random_seed": -1}, ValueError, r"random_seed.*-1"),
        ({"final_samples": 0}, ValueError, r"final_samples must be >= 2, got 0"),
        ({"model": "notamodel"}, TypeError, r"model must be a pymc.Model, got str"),
        ({"family": "low_rank"}, ValueError, r"valid families: meanfield, fullrank"),
        ({"on_divergence": "ignore"}, ValueError, r"on_divergence must be one of"),
        ({"compile_kwargs": {"mode": "GPU"}}, ValueError, r"compile_kwargs\['mode'\]"),
        ({"start": {"nope": 1.0}}, ValueError, r"start\['nope'\]: 'nope' is not a free"),
        ({"callbacks": [3]}, TypeError, r"callbacks\[0\] is not callable"),
        ({"convergence": "yes"}, TypeError, r"convergence must be"),
    ],
)
def test_bad_arguments_are_named_before_compiling(tiny, kwargs, error, message):
    """Each bad argument fails with its name and value, before anything is compiled."""
    kwargs = {"n": 10, **kwargs}
    model = kwargs.pop("model", tiny)
    with tiny, pytest.raises(error, match=message):
        pmcgrad.fit(model=model, progressbar=False, **kwargs)
    assert getattr(tiny, "_pmcgrad_fitters", None) is None  # nothing was compiled


def test_numpy_integers_and_generators_are_accepted(tiny):
    """Where PyMC takes NumPy integers and Generators, so does fit."""
    with tiny:
        result = pmcgrad.fit(np.int64(20), n_starts=np.int64(2),
                             random_seed=np.random.default_rng(1), progressbar=False)
    assert result.steps == 20 and result.logit_values.shape == (2, 2)
    with pytest.raises(ValueError, match=r"draws must be a positive int, got -1"):
        result.sample(-1)
    with pytest.raises(ValueError, match=r"draws must be a positive int, got 2.5"):
        result.sample(2.5)
    with pytest.raises(ValueError, match=r"start_index must be an int from 0 to 1"):
        result.sample(5, start_index=2)
