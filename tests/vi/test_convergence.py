"""How the fit decides it is done: the stopping rule on made-up windows, and on real fits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pymc as pm
import pytest

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems.orthogonal import orthogonal_inclusion, simulate_orthogonal_spike_slab
from pmcgrad.vi import Convergence, Schedule
from pmcgrad.vi.convergence import (
    SATURATED_LOGIT,
    answer_change,
    gradient_bound,
    next_schedule,
    saturated_bits,
    summarise_window,
)
from pmcgrad.vi.state import WindowSummary

SETTINGS = Convergence(lookback=2, min_halvings=1, max_halvings=2)


def _window(loss, se=0.1, change=1.0):
    return WindowSummary(loss, se, change)


def _walk(schedule, windows, settings=SETTINGS):
    events = []
    previous = None
    for window in windows:
        schedule, event = next_schedule(schedule, previous, window, settings)
        events.append(event)
        previous = window
    return schedule, events


def test_phases_advance_only_when_the_loss_stops_improving():
    """warmup -> explore -> settle, each at a window that did not improve significantly."""
    start = Schedule(phase="warmup", logit_scale=0.0, logit_bound=4.0)  # bit-conditioned
    improving = [_window(100.0 - 5 * i) for i in range(5)]
    schedule, events = _walk(start, improving)
    assert schedule.phase == "warmup" and not any(events)
    schedule, events = _walk(start, [_window(100.0), _window(99.9), _window(99.95)])
    assert events == ["", "explore", "settle"]
    assert (schedule.cv_weight, schedule.logit_scale, schedule.logit_bound) == (1.0, 1.0, np.inf)


def test_settle_halves_the_step_then_stops_when_the_answer_holds():
    """A stationary loss halves the learning rate (each rate runs `lookback` windows); the
    fit converges once the answer changed less than the tolerance after enough halvings."""
    settle = Schedule(phase="settle", cv_weight=1.0)
    flat = [_window(10.0, change=0.5)] * 6
    schedule, events = _walk(settle, flat)
    assert events.count("halve") == 2 and schedule.learning_rate_scale == 0.25
    assert not schedule.converged  # the answer keeps changing: no stop, however flat
    calm = [_window(10.0, change=0.5)] * 3 + [_window(10.0, change=0.001)] * 3
    schedule, events = _walk(settle, calm)
    # It stops at a calm window (the fourth on), once, and stays stopped.
    assert events.count("converged") == 1 and events.index("converged") >= 3
    assert schedule.converged


def test_no_stop_while_the_gradients_cannot_confirm_the_answer():
    """A calm answer with gradients too noisy (or still pushing) to bound each bit within the
    gradient tolerance of its optimum is not converged: the steps only got too small."""
    settle = Schedule(phase="settle", cv_weight=1.0)
    noisy = [WindowSummary(10.0, 0.1, 0.001, gradient_bound=0.3)] * 12
    schedule, events = _walk(settle, noisy)
    assert not schedule.converged and "converged" not in events
    confirmed = [WindowSummary(10.0, 0.1, 0.001, gradient_bound=0.01)] * 12
    assert _walk(settle, confirmed)[0].converged
    # |mean| + 2 se over the bits: se from the per-step variance over the window's steps
    mean = np.array([[0.01, -0.02, 0.0]])
    variance = np.array([[0.0, 0.0, 200 * 0.05**2]])
    assert gradient_bound(mean, variance, 200) == pytest.approx(0.1)
    assert gradient_bound(np.zeros((1, 0)), np.zeros((1, 0)), 200) == 0.0


def test_no_stop_while_the_loss_still_improves():
    """A loss that keeps improving by more than its noise never converges."""
    settle = Schedule(phase="settle", cv_weight=1.0)
    schedule, events = _walk(settle, [_window(10.0 - i, change=0.0) for i in range(20)])
    assert not schedule.converged and not any(events)


def test_window_standard_error_counts_batches_not_steps():
    """Batch means: a slow drift inside a window raises the standard error."""
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(200, 1))
    drift = noise + np.linspace(0, 10, 200)[:, None]
    assert summarise_window(drift).standard_error > 5 * summarise_window(noise).standard_error
    assert summarise_window(noise).standard_error == pytest.approx(1 / np.sqrt(200), rel=0.5)


def test_answer_change_is_in_the_units_a_user_reads():
    """Probabilities for logits; locations in units of their scale; rarely-on shifts count
    by how often they are on."""
    before = {"logits": np.zeros((1, 2)), "mean": np.zeros((1, 2)),
              "rho": np.full((1, 2), np.log(np.expm1(0.1)))}
    after = dict(before, logits=np.array([[0.0, 0.4]]), mean=np.array([[0.01, 0.0]]))
    change = answer_change(before, after)
    assert change == pytest.approx(max(1 / (1 + np.exp(-0.4)) - 0.5, 0.01 / 0.1))
    shifted = dict(before, mean_shift=np.ones((1, 2)))
    moved = dict(shifted, mean_shift=np.ones((1, 2)) + 0.05)
    assert answer_change(shifted, moved, shift_weight=np.full((1, 2), 0.01)) < 0.01
    assert answer_change(shifted, moved, shift_weight=np.ones((1, 2))) == pytest.approx(0.5)


def test_convergence_settings_are_checked():
    """Bad settings name the field."""
    with pytest.raises(ValueError, match=r"window=\.\.\.\) must be an int >= 20, got 5"):
        Convergence(window=5)
    with pytest.raises(ValueError, match=r"tolerance=\.\.\.\) must be a positive number"):
        Convergence(tolerance=-1)
    with pytest.raises(ValueError, match=r"saturation_margin=\.\.\.\) must be a positive "
                                         r"number \(or inf\), got nan"):
        Convergence(saturation_margin=float("nan"))
    with pytest.raises(ValueError, match=r"saturation_level=\.\.\.\) must be a positive number"):
        Convergence(saturation_level=float("inf"))
    with pytest.raises(ValueError, match=r"saturation_level=\.\.\.\) must be a probability"):
        Convergence(saturation_level=1.5)


def test_saturation_needs_a_confident_push_far_beyond_the_logit():
    """A bit saturates when its mean gradient over p (1 - p), the estimated distance to its
    optimum in logits, exceeds the margin by Bonferroni's z standard errors over all bits;
    never inwards, never at a logit of 0 or one already saturated."""
    settings = Convergence(saturation_margin=10.0, saturation_level=0.01)
    logits = np.array([[4.0, 4.0, -4.0, 4.0, 4.0, 0.0, 4.0, SATURATED_LOGIT]])
    weight = 0.5 * (1 + np.tanh(2.0)) * 0.5 * (1 - np.tanh(2.0))  # p (1 - p) at |phi| = 4
    # The ELBO's outward push: the optimum 200, 200, 200, 12 and 9 logits further out, ...
    push = np.array([[200, 200, 200, 12, 9, 200, -200, 200]]) * weight
    gradient_mean = -push * np.sign(logits)  # the loss's gradient
    variance = np.array([[1.0, 1e6, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]])
    chosen = saturated_bits(logits, gradient_mean, variance, 200, settings)
    # ... sure (either sign), unsure (a huge error), sure beyond the margin, inside it,
    # at a zero logit, inwards, already saturated
    assert chosen.tolist() == [[True, False, True, True, False, False, False, False]]
    off = saturated_bits(logits, gradient_mean, variance, 200,
                         Convergence(saturation_margin=float("inf")))
    assert not off.any()
    # 3.5 standard errors beyond the margin: enough for one bit (z = 2.58), not among 1000
    # (z = 4.42), where several bits would pass 3.5 by chance
    one = saturated_bits(np.array([[4.0]]), -np.array([[10 * weight + 3.5]]),
                         np.array([[200.0]]), 200, settings)
    many = saturated_bits(np.full((1, 1000), 4.0), np.full((1, 1000), -(10 * weight + 3.5)),
                          np.full((1, 1000), 200.0), 200, settings)
    assert one.all() and not many.any()


def test_strong_effects_saturate_and_the_loss_noise_goes():
    """Strong effects (exact inclusion 1 to more than 12 digits) saturate, the other bits do
    not, and the answer reports the q the fit draws from: a sure bit's probability is exactly
    1, so no draw leaves a strong effect out (each such draw cost 30-130 nats here)."""
    data = simulate_orthogonal_spike_slab(80, 40, 4, seed=0, n_weak=3)
    exact = orthogonal_inclusion(data)
    with spike_slab_model(data):
        result = pmcgrad.fit(40_000, family="bit_conditioned", random_seed=0,
                             progressbar=False)
    logits = result.state.params["logits"][0]
    sure = exact > 1 - 1e-12
    assert sure.sum() >= 4
    # (Adam's momentum may carry a saturated logit a little further: sigmoid is 1.0 there.)
    assert np.all(logits[sure] >= SATURATED_LOGIT - 1), logits[sure]
    assert not np.any(np.abs(logits[~sure]) >= SATURATED_LOGIT - 1)
    inclusion = result.inclusion_probabilities["z"].values
    assert np.all(inclusion[sure] == 1.0), inclusion[sure]
    assert np.all(inclusion[~sure] < 1.0)


@pytest.mark.slow
def test_orthogonal_design_converges_to_the_exact_posterior():
    """k = 40, n = 80: the bit-conditioned family contains the posterior, and the fit stops by
    its own rule with every inclusion probability within 0.02 of the closed form."""
    data = simulate_orthogonal_spike_slab(80, 40, 4, seed=0, n_weak=3)
    exact = orthogonal_inclusion(data)
    with spike_slab_model(data):
        result = pmcgrad.fit(40_000, family="bit_conditioned", random_seed=0,
                             progressbar=False)
    assert result.stop_reason == "converged" and result.converged
    assert result.steps < 40_000
    error = np.abs(result.inclusion_probabilities["z"].values - exact)
    assert error.max() < 0.02, (error.max(), exact[error.argmax()])


def test_slow_fit_does_not_stop_early():
    """A mean that is still travelling (tiny learning rate) is not declared converged."""
    with pm.Model():
        mu = pm.Normal("mu", 0.0, 100.0)
        pm.Normal("y", mu=mu, sigma=1.0, observed=np.full(20, 50.0))
        result = pmcgrad.fit(3000, random_seed=0, progressbar=False,
                             optimizer=pm.adam(learning_rate=0.002))
    assert result.stop_reason == "n" and not result.converged
    assert result.mean_unconstrained["mu"] < 20  # still on its way to 50


def test_disabled_rule_runs_every_step_with_a_constant_rate():
    """convergence=False: all n steps, explore phase, learning-rate scale 1."""
    with pm.Model():
        pm.Normal("y", mu=pm.Normal("mu", 0.0, 1.0), sigma=1.0, observed=[0.3])
        result = pmcgrad.fit(900, random_seed=0, progressbar=False, convergence=False)
    assert result.steps == 900 and result.stop_reason == "n"
    assert dataclasses.asdict(result.state.schedule)["learning_rate_scale"] == 1.0
