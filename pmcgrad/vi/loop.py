"""The run loop: blocks of compiled steps, the stopping rule, the progress bar, callbacks,
interrupts, and the guards against non-finite and diverging losses.

Every guard keeps the last good state: a block that produced a non-finite step stopped before
applying it; a block whose loss diverged is dropped and the state before it is kept; an
interrupt (Ctrl-C) is answered between blocks, after the block in flight finished, so the
partial fit is never lost inside compiled code.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Sequence

import numpy as np
from pymc.progress_bar import CustomProgress, default_progress_theme
from rich.console import Console
from rich.progress import Progress, TextColumn
from threadpoolctl import threadpool_limits

from pmcgrad.vi.convergence import (
    SATURATED_LOGIT,
    Convergence,
    answer_change,
    gradient_bound,
    next_schedule,
    saturated_bits,
    summarise_window,
)
from pmcgrad.vi.feasibility import explain_non_finite
from pmcgrad.vi.fitter import Fitter
from pmcgrad.vi.state import FitState, WindowSums, frozen_arrays

__all__ = ["DivergenceError", "FitInterrupted", "NonFiniteError", "run"]

logger = logging.getLogger("pmcgrad.vi")

# Steps per compiled call at most: long enough that the call's overhead vanishes, short enough
# that the progress bar moves and an interrupt is answered promptly.
BLOCK_STEPS = 100
# A loss this many times its scale above its running best has diverged (the scale is the
# best loss's size, or 1 nat for a loss near 0).
DIVERGENCE_FACTOR = 100.0


class NonFiniteError(FloatingPointError):
    """A step's loss or gradient was not finite. ``error.result`` holds the fit in its last
    finite state (the failing step was not applied)."""


class DivergenceError(FloatingPointError):
    """The loss grew by orders of magnitude over its running best. ``error.result`` holds
    the fit in the state before the diverging block."""


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C during a fit; ``error.result`` holds the partial fit (continue it with
    ``error.result.refine(n)``)."""


def run(fitter: Fitter, state: FitState, n: int, *, convergence: Convergence,
        progressbar: bool, callbacks: Sequence[Callable], callback_every: int,
        on_divergence: str, blas_threads: int | None, make_result: Callable,
        progress: CustomProgress | None = None) -> tuple[FitState, str]:
    """Run up to ``n`` more steps from ``state``; returns the final state and why it stopped
    (``"converged"``, ``"n"`` or a callback's ``StopIteration`` message)."""
    target = state.step + n
    best = _best_loss(state)
    previous_start = None  # the state the previous block started from
    with contextlib.ExitStack() as stack:
        stack.enter_context(_blas_limit(blas_threads))
        guard = stack.enter_context(_InterruptGuard())
        if progress is None:
            progress = stack.enter_context(progress_bar(progressbar))
        task = progress.add_task("Fitting", total=n, loss="")
        reason = "n"
        while state.step < target:
            if state.schedule.converged:
                reason = "converged"
                break
            size = min(target - state.step, BLOCK_STEPS,
                       convergence.window - state.window.steps,
                       callback_every - state.step % callback_every)
            new_state, block = fitter.step(state, size)
            losses = block.losses.sum(axis=1)
            good = _good_steps(losses, best)
            if good < len(losses):
                # Step `good` saw a bad loss, so the update before it was the bad one: the last
                # good state is one step earlier. States replay bit for bit, so replay to it.
                last_good = _replay(fitter, previous_start, state, state.step + good - 1)
                if not np.isfinite(losses[good]):
                    raise _attach(NonFiniteError(_non_finite_message(last_good, block.losses,
                                                                     fitter)),
                                  make_result(last_good, "non-finite"))
                message = _divergence_message(last_good, new_state, fitter, best, losses)
                if on_divergence == "raise":
                    raise _attach(DivergenceError(message), make_result(last_good, "diverged"))
                logger.warning(message)
                return last_good, "diverged"
            best = min(best, float(np.min(losses)))
            previous_start = state
            state = new_state
            if state.window.steps >= convergence.window:
                state = close_window(state, convergence, fitter.shift_weight,
                                     check_gradients=fitter.structure.local is None)
            progress.update(task, completed=state.step - (target - n),
                            loss=f"Average Loss = {np.mean(losses):,.5g} ({state.schedule.phase})")
            try:
                result = make_result(state, "callback") if callbacks else None
                for callback in callbacks:
                    callback(result, state.history.sum(axis=1), state.step)
            except StopIteration as stop:
                reason = str(stop) or "callback"
                logger.info("stopped by a callback: %s", reason)
                break
            except Exception as error:  # the fit so far is not lost with it
                error.add_note(f"pmcgrad: a callback raised at step {state.step}; the fit so "
                               "far is on this exception's .result")
                raise _attach(error, make_result(state, "callback error")) from None
            if guard.interrupted:
                raise _attach(FitInterrupted(
                    f"fit interrupted at step {state.step}; the partial fit is on this "
                    "exception's .result: continue it with .result.refine(n)"),
                    make_result(state, "interrupted"))
        else:
            if state.schedule.converged:
                reason = "converged"
    return state, reason


def close_window(state: FitState, convergence: Convergence, shift_weight=None, *,
                 check_gradients: bool = True) -> FitState:
    """End the window in progress: average it, apply the stopping rule, start a new one.
    ``shift_weight(params)`` weighs the bit-conditioned shifts (``Fitter.shift_weight``).
    ``check_gradients``: the stop also asks the bits' gradients (not for per-observation
    latents, whose gradients each carry one observation's noise)."""
    window = state.window
    average = {name: total / window.steps for name, total in window.params.items()}
    weight = shift_weight(average) if shift_weight is not None else None
    gradient_variance, gradient_mean = state.gradient_variance, state.gradient_mean
    bound = 0.0
    if window.gradient_sum is not None:
        gradient_mean = window.gradient_sum / window.steps
        gradient_variance = np.maximum(window.gradient_sum_sq / window.steps - gradient_mean**2,
                                       0.0)
        if check_gradients:
            bound = gradient_bound(gradient_mean, gradient_variance, window.steps)
    # The change over the last `lookback` windows: a slow drift shows, a jitter does not.
    baseline = state.recent_averages[0] if state.recent_averages else None
    summary = summarise_window(window.losses, answer_change(baseline, average, weight), bound)
    previous = state.windows[-1] if state.windows else None
    schedule, event = next_schedule(state.schedule, previous, summary, convergence)
    if event:
        logger.info("step %d: %s", state.step, event)
    params = state.params
    if window.gradient_sum is not None:
        if schedule.phase == "settle":
            # From the window that ends exploring on: there a sure bit still sits at the
            # explore bound, where its other state is drawn often enough to measure its
            # push; with the window before it pooled, when there is one.
            mean, variance, steps = _pooled(state, gradient_mean, gradient_variance,
                                            window.steps, convergence.window)
            chosen = saturated_bits(params["logits"], mean, variance, steps, convergence)
            if chosen.any():
                logger.info("step %d: %d bits saturated", state.step, int(chosen.sum()))
                # The answer too: it is the q the fit now draws from.
                params, average = _saturate(params, chosen), _saturate(average, chosen)
    recent = (*state.recent_averages, frozen_arrays(average))[-convergence.lookback:]
    if event in ("explore", "settle"):
        recent = (frozen_arrays(average),)  # compare within one phase only
    return state.replace(
        params=params,
        schedule=schedule, average=average, windows=(*state.windows, summary),
        recent_averages=recent, gradient_variance=gradient_variance,
        gradient_mean=gradient_mean,
        window=WindowSums(losses=np.zeros((0, state.history.shape[1]))),
    )


def _pooled(state: FitState, mean, variance, steps: int, previous_steps: int):
    """The gradient's mean and per-step variance over this window and the one before it."""
    if state.gradient_mean is None:
        return mean, variance, steps
    before, before_variance = state.gradient_mean, state.gradient_variance
    total = steps + previous_steps
    pooled = (steps * mean + previous_steps * before) / total
    # The law of total variance: within the windows, and between their means.
    pooled_variance = ((steps * (variance + (mean - pooled) ** 2)
                        + previous_steps * (before_variance + (before - pooled) ** 2)) / total)
    return pooled, pooled_variance, total


def _saturate(params, chosen: np.ndarray) -> dict:
    """``params`` with the ``chosen`` bits' logits set to +-SATURATED_LOGIT by their sign."""
    logits = np.asarray(params["logits"])
    return {**params, "logits": np.where(chosen, np.sign(logits) * SATURATED_LOGIT, logits)}


def progress_bar(enabled: bool) -> CustomProgress:
    """PyMC's rich progress bar with a running-loss column."""
    return CustomProgress(
        *Progress.get_default_columns(), TextColumn("{task.fields[loss]}"),
        console=Console(theme=default_progress_theme), disable=not enabled,
    )


class _InterruptGuard:
    """Turns Ctrl-C into a flag read between blocks, so that an interrupt never lands inside
    compiled code (where Numba surfaces it as a ``SystemError``) and the fit is not lost.
    A second Ctrl-C while a block runs interrupts at once, as usual."""

    def __init__(self):
        self.interrupted = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False

    def _handle(self, signum, frame):
        if self.interrupted:  # the second Ctrl-C
            raise KeyboardInterrupt
        self.interrupted = True


def _blas_limit(blas_threads: int | None):
    """Each step multiplies small matrices, where BLAS threads cost far more than they save
    (70x slower per step when the cores are shared); so one thread by default."""
    if blas_threads is None:
        return contextlib.nullcontext()
    # threadpoolctl limits only loaded libraries; the Numba backend's dot calls SciPy's BLAS,
    # which otherwise loads lazily at the first compiled call.
    import scipy.linalg  # noqa: F401

    return threadpool_limits(limits=blas_threads, user_api="blas")


def _best_loss(state: FitState) -> float:
    if state.history.shape[0] == 0:
        return float("inf")
    return float(np.min(state.history.sum(axis=1)))


def _replay(fitter: Fitter, previous: FitState | None, current: FitState, step: int
            ) -> FitState:
    """The state at ``step`` (>= the previous block's start), replayed from the nearest
    earlier state we hold; the oldest one we hold when ``step`` lies before it."""
    for origin in (current, previous):
        if origin is not None and origin.step <= step:
            return fitter.step(origin, step - origin.step)[0] if step > origin.step else origin
    return previous if previous is not None else current


def _good_steps(losses: np.ndarray, best: float) -> int:
    """How many leading steps of a block are good: finite, and not far above the running best
    (a loss more than :data:`DIVERGENCE_FACTOR` times its scale above it has diverged)."""
    running = np.minimum.accumulate(np.concatenate([[best], losses[:-1]]))
    running = np.where(np.isfinite(running), running, np.inf)
    scale = np.maximum(np.abs(running), 1.0)
    bad = ~np.isfinite(losses) | (losses - running > DIVERGENCE_FACTOR * scale)
    return int(np.argmax(bad)) if bad.any() else len(losses)


def _divergence_message(before: FitState, after: FitState, fitter: Fitter, best: float,
                        losses: np.ndarray) -> str:
    """Name the parameter block that moved most, so the user knows what ran away."""
    worst, worst_change = None, 0.0
    for name, value in after.params.items():
        change = np.abs(np.asarray(value) - np.asarray(before.params[name]))
        change = np.where(np.isfinite(change), change, np.inf)
        if change.size and np.max(change) > worst_change:
            worst_change = float(np.max(change))
            worst = (name, np.unravel_index(int(np.argmax(change)), change.shape))
    named = _describe(fitter, *worst) if worst else "the parameters"
    bad = losses[min(len(losses) - 1, after.step - before.step)] if len(losses) else np.nan
    reference = min(best, float(np.min(losses[: max(1, after.step - before.step)])))
    return (
        f"the loss diverged after step {before.step}: it rose to {bad:.4g} (or a non-finite "
        f"value) from a best of {reference:.4g}. The parameter that moved most was {named} "
        f"(by {worst_change:.3g}). The fit keeps its last good state, at step {before.step} "
        "(error.result). Lower the learning rate (optimizer=pm.adam(learning_rate=...)), or "
        "check the model's scales and priors"
    )


def _describe(fitter: Fitter, name: str, index: tuple) -> str:
    """``mean[0, 3]`` -> ``the mean of sigma_log__ (start 0)``."""
    structure = fitter.structure
    blocks = structure.bits if name == "logits" else structure.reals
    column = index[1] if len(index) > 1 else 0
    block = next((b for b in blocks if b.start <= column < b.stop), None)
    what = block.name if block is not None else f"coordinate {column}"
    return f"the {name} of {what!r} (start {index[0]})"


def _non_finite_message(state: FitState, losses: np.ndarray, fitter: Fitter | None = None
                        ) -> str:
    finite_rows = np.flatnonzero(np.all(np.isfinite(state.history), axis=1))
    last = (f"the last finite loss was {state.history[finite_rows[-1]].tolist()} at step "
            f"{finite_rows[-1]}" if finite_rows.size else "no step had a finite loss")
    head = (f"non-finite ELBO at step {state.step} (loss per start: {losses[-1].tolist()}; a "
            f"loss or gradient was not finite); {last}. The step was not applied: the fit "
            "keeps its last finite state (error.result). ")
    cause = _infinite_term(fitter, state)
    if cause is not None:  # a log-density term is -inf or NaN: name it, not the step size
        return head + "Cause: " + cause
    return head + ("Check the model's log density at the current values, or lower the "
                   "learning rate")


def _infinite_term(fitter: Fitter | None, state: FitState) -> str | None:
    """The log-density term that is not finite under the approximation, in words (``None``
    when draws show none, or the check itself fails: the error must still be raised)."""
    if fitter is None:
        return None
    try:
        return explain_non_finite(fitter, state)
    except Exception:
        logger.debug("could not evaluate the log-density terms", exc_info=True)
        return None


def _attach(error: BaseException, result) -> BaseException:
    error.result = result
    return error
