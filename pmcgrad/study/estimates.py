"""Many independent gradient estimates from one compiled graph per (estimator, k, samples).

The graph takes batched logits ``(R, k)``: row ``r`` is an independent replicate, so one call
returns ``R`` independent estimates (``pmcgrad.gradient_samples`` scores each row's bits against
that row's f-value only). ``Q``, ``c`` and ``d`` of the quadratic objective are inputs, so the
same compiled function serves every problem, logit setting and seed: a job compiles one graph
per estimator, and the Numba compile (0.5 to 20 s cold) is paid once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytensor.tensor as pt
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.study.objectives import QuadraticObjective

__all__ = ["EstimateFunction", "estimate_function", "samples_for_cost"]

# Bits per call are (E, S, R, k); chunk R so a call holds at most this many elements. Keeps
# uniform_boundary (E = k + 1) at k = 64 within tens of MB.
_MAX_ELEMENTS_PER_CALL = 2_000_000


@dataclass
class EstimateFunction:
    """A compiled map from logits ``(R, k)`` and an objective to ``R`` gradient estimates.

    Each estimate averages ``samples`` draws of ``estimator`` and costs ``evaluations``
    f-evaluations. Given a ``SeedSequence`` the shared RNG is reset from it first, so the
    estimates depend on that seed alone, not on what the function computed before; without one
    the draws continue from the last call (an optimisation run reseeds once, then steps).
    """

    estimator: str
    k: int
    samples: int
    evaluations: int
    _function: object = field(repr=False)
    _rng: object = field(repr=False)

    def __call__(self, logits: NDArray, objective: QuadraticObjective,
                 seed: np.random.SeedSequence | None = None) -> NDArray[np.float64]:
        """Estimates ``(R, k)``, one independent row per row of ``logits (R, k)``."""
        logits = np.ascontiguousarray(logits, dtype=np.float64)
        if logits.ndim != 2 or logits.shape[1] != self.k:
            raise ValueError(f"logits must have shape (R, {self.k}), got {logits.shape}")
        if seed is not None:
            self._rng.set_value(pmcgrad.streams.stream_state(seed), borrow=True)
        per_row = max(1, self.evaluations * self.k)
        chunk = max(1, _MAX_ELEMENTS_PER_CALL // per_row)
        parts = [
            np.asarray(self._function(logits[start : start + chunk], objective.Q, objective.c,
                                      objective.d))
            for start in range(0, logits.shape[0], chunk)
        ]
        return np.concatenate(parts, axis=0)


def estimate_function(estimator: str, k: int, samples: int, *,
                      exact_limit: int = DEFAULT_EXACT_LIMIT) -> EstimateFunction:
    """Compile the estimates of ``estimator`` at dimension ``k`` with ``samples`` draws each.

    The objective ``f(b) = b^T Q b + c^T b + d`` maps bits ``(N, R, k)`` to ``(N, R)``.
    """
    est = pmcgrad.get_estimator(estimator)
    logits = pt.matrix("logits", shape=(None, k), dtype="float64")
    Q = pt.matrix("Q", shape=(k, k), dtype="float64")
    c = pt.vector("c", shape=(k,), dtype="float64")
    d = pt.scalar("d", dtype="float64")

    def f(bits):  # [N, R, k] -> [N, R]
        return ((bits @ Q) * bits).sum(axis=-1) + bits @ c + d

    rng = pmcgrad.shared_rng(0)
    draws = pmcgrad.gradient_samples(f, logits, est, samples=samples, rng=rng,
                                     exact_limit=exact_limit)
    estimate = draws.gradients.mean(axis=0)  # [R, k]: the estimator's S-sample estimate
    function = pmcgrad.function([logits, Q, c, d], estimate)
    effective_samples = 1 if est.enumerates else samples
    return EstimateFunction(
        estimator=est.name,
        k=k,
        samples=effective_samples,
        evaluations=effective_samples * est.evaluations(k),
        _function=function,
        _rng=rng,
    )


def samples_for_cost(estimator: str, k: int, evaluations: int) -> int:
    """Draws per estimate so that it costs ``evaluations`` f-evaluations (rounded down).

    At least the estimator's ``min_samples`` and at least one draw, so an estimator dearer
    than the budget (``uniform_boundary`` at ``k + 1``, ``exact`` at ``2^k``) gets one draw
    and spends more; callers record the evaluations actually spent.
    """
    est = pmcgrad.get_estimator(estimator)
    if est.enumerates:
        return 1
    return max(est.min_samples, 1, evaluations // est.evaluations(k))
