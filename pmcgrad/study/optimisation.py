"""The optimisation study: minimise the toy ``E_q[sum_i (b_i - t)^2]`` over the logits.

The standard REBAR / RELAX / ARM / DisARM benchmark: with ``t = 0.49`` or ``0.499`` the two
values of each bit differ by only ``1 - 2t`` (0.02 or 0.002), so an estimator's variance, not
the signal, decides how fast it finds ``b = 0``. Every estimator drives the same NumPy Adam on
the logits from ``phi = 0``, at an equal budget of f-evaluations per step; the loss recorded is
the exact ``E_q f`` at the current logits (:func:`pmcgrad.problems.toy_expectation`), not the
noisy estimate. Its minimum is ``k t^2``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.problems import toy_expectation
from pmcgrad.study.columns import OPTIMISATION
from pmcgrad.study.estimates import EstimateFunction, estimate_function, samples_for_cost
from pmcgrad.study.objectives import Problem, make_objective
from pmcgrad.study.seeds import job_seed
from pmcgrad.study.settings import OptimisationSettings
from pmcgrad.study.tables import write_table

__all__ = ["Adam", "optimise_toy", "recorded_steps", "rows_per_job", "run_optimisation_job"]


@dataclass
class Adam:
    """Adam (Kingma and Ba, 2015) on a NumPy vector, with PyMC's defaults for the betas."""

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    _m: NDArray | None = None
    _v: NDArray | None = None
    _t: int = 0

    def step(self, params: NDArray, grad: NDArray) -> NDArray:
        """Return ``params`` moved against ``grad`` (a minimisation step)."""
        if self._m is None:
            self._m, self._v = np.zeros_like(params), np.zeros_like(params)
        self._t += 1
        self._m = self.beta1 * self._m + (1 - self.beta1) * grad
        self._v = self.beta2 * self._v + (1 - self.beta2) * grad**2
        m_hat = self._m / (1 - self.beta1**self._t)
        v_hat = self._v / (1 - self.beta2**self._t)
        return params - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


def optimise_toy(function: EstimateFunction, t: float, seed: int, *, steps: int,
                 learning_rate: float, thin: int) -> list[dict[str, object]]:
    """One run: ``steps`` Adam steps from ``phi = 0``; a row every ``thin`` steps and the last.

    ``seconds`` is wall time since the first step began, so the compile (done before, by a
    warm-up call) is excluded.
    """
    k = function.k
    objective = make_objective(Problem.toy(t), k, instance_seed=0)
    logits = np.zeros((1, k))
    function(logits, objective)  # warm-up: triggers the Numba compile outside the clock
    adam = Adam(learning_rate)
    seed_sequence = job_seed(seed, "optimisation", _t_key(t), k, function.estimator)
    rows = [_row(function, t, seed, 0, 0.0, logits)]
    start = time.perf_counter()
    for step in range(1, steps + 1):
        grad = function(logits, objective, seed_sequence if step == 1 else None)
        logits = adam.step(logits, grad)
        if _recorded(step, steps, thin):
            rows.append(_row(function, t, seed, step, time.perf_counter() - start, logits))
    return rows


def recorded_steps(steps: int, thin: int) -> int:
    """The rows of one run: step 0, every ``thin``-th step and the last."""
    return 1 + sum(_recorded(step, steps, thin) for step in range(1, steps + 1))


def rows_per_job(settings: OptimisationSettings) -> int:
    """The rows one job writes: target x seed x recorded step."""
    return len(settings.t) * len(settings.seeds) * recorded_steps(settings.steps, settings.thin)


def run_optimisation_job(k: int, estimator: str, settings: OptimisationSettings, out: str
                         ) -> None:
    """Write ``out``: every target ``t`` x seed for one estimator at one ``k``.

    Each step's estimate costs ``settings.evaluations_per_step`` f-evaluations where the
    estimator allows (``uniform_boundary`` needs ``k + 1`` for one draw; ``exact`` ``2^k`` and
    it is refused above ``settings.exact_max_k``).
    """
    est = pmcgrad.get_estimator(estimator)
    if est.enumerates and k > settings.exact_max_k:
        raise ValueError(f"estimator {estimator!r} at k={k} is above exact_max_k="
                         f"{settings.exact_max_k}")
    samples = samples_for_cost(estimator, k, settings.evaluations_per_step)
    function = estimate_function(estimator, k, samples, exact_limit=settings.exact_max_k)
    rows = []
    for t in settings.t:
        for seed in settings.seeds:
            rows += optimise_toy(function, t, seed, steps=settings.steps,
                                 learning_rate=settings.learning_rate, thin=settings.thin)
    write_table(rows, out, OPTIMISATION)


def _recorded(step: int, steps: int, thin: int) -> bool:
    return step % thin == 0 or step == steps


def _t_key(t: float) -> int:
    """``t`` as an integer seed part (``0.499`` -> 499000), stable across platforms."""
    return round(t * 1_000_000)


def _row(function: EstimateFunction, t: float, seed: int, step: int, seconds: float,
         logits: NDArray) -> dict[str, object]:
    return {"t": t, "k": function.k, "estimator": function.estimator, "seed": seed,
            "step": step, "seconds": seconds, "loss": float(toy_expectation(logits[0], t))}
