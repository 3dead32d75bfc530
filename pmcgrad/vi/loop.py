"""The optimisation loop: compiled step, progress bar, callbacks, and the non-finite guard."""

from __future__ import annotations

import logging

import numpy as np
import pytensor
import pytensor.tensor as pt
from pymc.progress_bar import CustomProgress, default_progress_theme
from rich.console import Console
from rich.progress import Progress, TextColumn
from threadpoolctl import threadpool_limits

from pmcgrad.estimators import streams
from pmcgrad.ops import function as compile_with_rng_updates
from pmcgrad.vi.family import bernoulli_entropy
from pmcgrad.vi.result import FitResult

__all__ = ["Runner"]

logger = logging.getLogger("pmcgrad.vi")

# Exponential weight of the running gradient-variance diagnostic (about the last 100 steps).
_VARIANCE_DECAY = 0.99


class Runner:
    """Holds the compiled step and final-ELBO functions of one fit, and runs steps."""

    def __init__(self, *, elbo_graph, family, logits, structure, optimizer, final_samples,
                 rngs, starts, blas_threads=1):
        self.blas_threads = blas_threads
        params = ([logits] if logits is not None else []) + (
            list(family.params.values()) if family is not None else []
        )
        grads = pytensor.grad(elbo_graph.loss, params)
        # A step whose loss or gradient is not finite changes nothing (parameters and optimiser
        # state alike), so the fit always holds its last finite state; `run` then stops.
        finite = pt.isfinite(elbo_graph.loss)
        for grad in grads:
            finite = finite & pt.all(pt.isfinite(grad))
        updates = {
            var: pt.switch(finite, new, var) for var, new in optimizer(grads, params).items()
        }
        outputs = [-elbo_graph.elbo, finite]
        if logits is not None:
            outputs.append(grads[0])
        self.step = compile_with_rng_updates([], outputs, updates=updates)
        self._logit_gradient = grads[0] if logits is not None else None
        self._logit_gradient_fn = None
        self._final_elbo = compile_with_rng_updates(
            [], _final_elbo_samples(structure, family, logits, final_samples, rngs, starts)
        )
        self._family = family
        self._draw_reals = None
        self.has_bits = logits is not None
        n_bits = structure.n_bits
        self._grad_mean = np.zeros((starts, n_bits))
        self._grad_sq = np.zeros((starts, n_bits))
        self._steps_seen = 0

    @property
    def gradient_variance(self) -> np.ndarray:
        """Bias-corrected running variance of each logit gradient, ``(M, K)``."""
        correction = 1 - _VARIANCE_DECAY ** max(self._steps_seen, 1)
        mean = self._grad_mean / correction
        return np.maximum(self._grad_sq / correction - mean**2, 0.0)

    def run(self, result: FitResult, n: int, *, progressbar: bool, callbacks) -> None:
        """``n`` steps; on a non-finite loss or gradient stop, in the last finite state."""
        callbacks = list(callbacks or [])
        done = result.hist_starts.shape[0]
        starts = result.hist_starts.shape[1]
        hist = np.concatenate([result.hist_starts, np.full((n, starts), np.nan)])
        variance = np.concatenate([result.gradient_variance_starts, np.full((n, starts), np.nan)])
        total = hist.sum(axis=1)  # what callbacks see: the loss summed over starts
        steps_run = 0
        with self._blas_limit(), CustomProgress(
            *Progress.get_default_columns(), TextColumn("{task.fields[loss]}"),
            console=Console(theme=default_progress_theme), disable=not progressbar,
        ) as progress:
            task = progress.add_task("Fitting:", total=n, loss="")
            try:
                for i in range(n):
                    outputs = self.step()
                    loss = np.asarray(outputs[0])
                    if not outputs[1]:  # the step was not applied: the state is the last finite
                        steps_run = i
                        error = self._non_finite_error(done + i, loss, hist[: done + i])
                        error.result = result
                        raise error
                    hist[done + i] = loss
                    total[done + i] = loss.sum()
                    if self.has_bits:
                        self._track_gradient(np.asarray(outputs[2]))
                        variance[done + i] = self.gradient_variance.mean(axis=1)
                    steps_run = i + 1
                    progress.update(task, advance=1)
                    if i % 10 == 0 or i == n - 1:
                        window = total[max(0, done + i - 999) : done + i + 1]
                        progress.update(task, loss=f"Average Loss = {np.mean(window):,.5g}")
                    for callback in callbacks:
                        callback(result, total[: done + i + 1], done + i + 1)
            except StopIteration as stop:
                logger.info("stopped by a callback: %s", stop)
            except KeyboardInterrupt:
                logger.info("interrupted at step %d", done + steps_run)
            finally:
                result.hist_starts = hist[: done + steps_run]
                result.gradient_variance_starts = variance[: done + steps_run]
                self.finalise(result)

    def logit_gradient_samples(self, draws: int) -> np.ndarray:
        """``draws`` fresh estimates of the ELBO's gradient for the logits, ``(draws, M, K)``,
        at the current parameters (no update is applied)."""
        if self._logit_gradient is None:
            raise ValueError("the model has no Bernoulli latents, so there are no logits")
        if self._logit_gradient_fn is None:
            self._logit_gradient_fn = compile_with_rng_updates([], -self._logit_gradient)
        return np.stack([np.asarray(self._logit_gradient_fn()) for _ in range(draws)])

    def finalise(self, result: FitResult) -> None:
        """Score every start by a low-noise ELBO estimate and select the best."""
        samples = np.asarray(self._final_elbo())  # [F, M]
        result.final_elbos = samples.mean(axis=0)
        result.final_elbo_se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
        finite = np.where(np.isfinite(result.final_elbos), result.final_elbos, -np.inf)
        result.best_start = int(np.argmax(finite))

    def draw_reals(self, eps: np.ndarray, start: int, bits: np.ndarray | None) -> np.ndarray:
        """``theta (draws, D)`` for standard-normal ``eps (draws, D)`` under start ``start``'s
        Gaussian, given the drawn ``bits (draws, K)`` where the family depends on them."""
        if self._draw_reals is None:
            eps_var, bits_var = pt.tensor3("eps"), pt.tensor3("bits")
            theta = self._family.draw(eps_var, bits_var if self._family.conditional else None)
            self._draw_reals = pytensor.function([eps_var, bits_var], theta,
                                                 on_unused_input="ignore")
        starts = self._family.params["mean"].get_value().shape[0]
        bits = np.zeros((eps.shape[0], 0)) if bits is None else bits.astype("float64")

        def per_start(values):  # the same values for every start; only `start` is kept
            return np.ascontiguousarray(np.broadcast_to(
                values[:, None, :], (values.shape[0], starts, values.shape[1])))

        return np.asarray(self._draw_reals(per_start(eps), per_start(bits)))[:, start]

    # --- helpers
    def _blas_limit(self):
        """Each step multiplies small matrices, where BLAS threads cost far more than they
        save (70x slower per step when the cores are shared); so one thread by default."""
        # threadpoolctl limits only loaded libraries; the Numba backend's dot calls SciPy's
        # BLAS, which otherwise loads lazily at the first compiled call.
        import scipy.linalg  # noqa: F401

        return threadpool_limits(limits=self.blas_threads, user_api="blas")

    def _track_gradient(self, grad: np.ndarray) -> None:
        self._steps_seen += 1
        self._grad_mean = _VARIANCE_DECAY * self._grad_mean + (1 - _VARIANCE_DECAY) * grad
        self._grad_sq = _VARIANCE_DECAY * self._grad_sq + (1 - _VARIANCE_DECAY) * grad**2

    @staticmethod
    def _non_finite_error(step: int, loss: np.ndarray, hist: np.ndarray) -> FloatingPointError:
        finite_rows = np.flatnonzero(np.all(np.isfinite(hist), axis=1))
        if finite_rows.size:
            last = finite_rows[-1]
            last_text = f"the last finite loss was {hist[last].tolist()} at step {last}"
        else:
            last_text = "no step had a finite loss"
        return FloatingPointError(
            f"non-finite ELBO at step {step} (loss per start: {loss.tolist()}; a loss or "
            f"gradient was not finite); {last_text}. The step was not applied: the fit keeps "
            "its last finite state, and its history is on the result (FloatingPointError."
            "result). Try a smaller learning rate, more samples, or check the model's log "
            "density."
        )


def _final_elbo_samples(structure, family, logits, draws, rngs, starts):
    """Plain Monte Carlo ELBO samples ``(F, M)``: bits and theta drawn from q, no estimator."""
    bits_rng, gauss_rng = rngs[:2]
    batch = draws * starts
    entropy = pt.zeros((starts,))
    bits = reals = None
    if logits is not None:
        _, u = streams.uniform(bits_rng, (draws, starts, structure.n_bits), "float64")
        bits = (u < pt.sigmoid(logits)).astype("float64")  # [F, M, K]
        entropy = entropy + bernoulli_entropy(logits).sum(-1)
    if family is not None:
        _, eps = streams.normal(gauss_rng, (draws, starts, structure.n_reals), "float64")
        given = bits if family.conditional else None
        reals = family.draw(eps, given).reshape((batch, -1))
        # E[-log q(theta | z) | z] = H[q(theta | z)]: unbiased, with less noise.
        entropy = entropy + family.entropy(given)
    flat_bits = bits.reshape((batch, -1)) if bits is not None else None
    log_joint = structure.log_density(flat_bits, reals).reshape((draws, starts))
    return log_joint + entropy
