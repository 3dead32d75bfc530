"""The gradient study's objectives, all written as one quadratic pseudo-Boolean function.

Every problem of the study is ``f(b) = b^T Q b + c^T b + d`` on bits ``b in {0, 1}^k``:

* ``toy`` at a target ``t`` (named ``toy_t{t}``):
  ``sum_i (b_i - t)^2 = (1 - 2t) sum_i b_i + k t^2``, because ``b_i^2 = b_i`` on bits (so
  ``Q = 0``, ``c = 1 - 2t``, ``d = k t^2``).
* ``qubo``: :func:`pmcgrad.problems.random_qubo`, ``Q`` and ``c`` as drawn, ``d = 0``.
* ``spike_slab``: the ELBO integrand ``f(z) = E_{q(beta)}[log p(y, z, beta)]`` of
  spike-and-slab regression at a fixed Gaussian ``q(beta) = N(m, diag(s^2))``. The expectation
  over ``beta`` is exact, not Monte Carlo: ``log p`` is quadratic in ``w = z * beta`` and
  ``E[beta beta^T] = m m^T + diag(s^2)``, so ``f`` is a quadratic in ``z`` (see
  :func:`spike_slab_integrand`). There is no common-random-number noise and no k limit.

One shape of graph then serves every problem: the study compiles one function per
(estimator, k, samples) with ``Q``, ``c`` and ``d`` as inputs. The exact gradient of every
problem is closed form at any k (:func:`pmcgrad.problems.toy_gradient`,
:func:`pmcgrad.problems.qubo_gradient`); the tests check both against enumeration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from pmcgrad.problems import (
    Qubo,
    SpikeSlabData,
    qubo_gradient,
    random_qubo,
    simulate_spike_slab,
    toy_gradient,
)
from pmcgrad.study.seeds import job_seed

__all__ = [
    "PROBLEM_KINDS",
    "PROBLEM_PATTERN",
    "Problem",
    "QuadraticObjective",
    "make_objective",
    "spike_slab_integrand",
]

#: The objectives of the gradient study.
PROBLEM_KINDS = ("toy", "qubo", "spike_slab")

#: How a problem is written in the config, in file paths and in gradient.csv's ``problem``
#: column (unanchored, so the workflow can use it as its wildcard constraint too).
PROBLEM_PATTERN = r"toy_t[0-9]*\.[0-9]+|qubo|spike_slab"

# Size of the simulated regression behind the spike_slab problem.
_SPIKE_SLAB_N = 100
_SPIKE_SLAB_TRUE = 3


@dataclass(frozen=True)
class Problem:
    """One objective of the gradient study: the toy at its target ``t``, ``qubo`` or
    ``spike_slab``.

    The study passes this value around; its :attr:`name` (``toy_t0.49``, ``qubo``) is what the
    config, the file paths and gradient.csv spell, and :meth:`parse` is the one way back.
    """

    kind: Literal["toy", "qubo", "spike_slab"]
    t: float | None = None  # the toy's target; None for the others

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {self.kind!r}; valid kinds: "
                             f"{', '.join(PROBLEM_KINDS)}")
        if (self.kind == "toy") != (self.t is not None):
            raise ValueError(f"a target t is given for the toy problem only, got {self!r}")
        if self.t is not None:  # a plain float, so that the name reads toy_t0.49
            object.__setattr__(self, "t", float(self.t))

    @classmethod
    def toy(cls, t: float) -> Problem:
        """The toy ``sum_i (b_i - t)^2``."""
        return cls("toy", float(t))

    @property
    def name(self) -> str:
        """``toy_t{t}`` (``toy_t0.49``) for the toy, else the kind."""
        return f"toy_t{self.t!r}" if self.kind == "toy" else self.kind

    @classmethod
    def parse(cls, name: str) -> Problem:
        """The problem a name spells; ``ValueError`` naming the valid spellings otherwise.

        A name must be the canonical spelling, ``Problem.parse(name).name == name``
        (``toy_t0.5``, not ``toy_t.50``): file paths and seeds are derived from it.
        """
        if not isinstance(name, str) or re.fullmatch(PROBLEM_PATTERN, name) is None:
            raise ValueError(
                f"unknown problem {name!r}; expected 'toy_t<t>' (e.g. toy_t0.49), 'qubo' or "
                "'spike_slab'"
            )
        problem = cls.toy(float(name[len("toy_t"):])) if name.startswith("toy_t") else cls(name)
        if problem.name != name:
            raise ValueError(f"problem {name!r} is spelled {problem.name!r}")
        return problem


class QuadraticObjective(NamedTuple):
    """``f(b) = b^T Q b + c^T b + d`` and its exact gradient ``grad_phi E_q f``.

    ``Q (k, k)`` symmetric, ``c (k,)``, ``d`` a float.
    """

    problem: Problem
    Q: NDArray[np.float64]
    c: NDArray[np.float64]
    d: float

    @property
    def name(self) -> str:
        """The problem's name, as gradient.csv and the seeds spell it."""
        return self.problem.name

    @property
    def k(self) -> int:
        return self.c.shape[0]

    def __call__(self, bits: NDArray) -> NDArray[np.float64]:
        """``f`` on bits ``(..., k)``, shape ``(...)``."""
        b = np.asarray(bits, dtype=np.float64)
        return np.einsum("...i,ij,...j->...", b, self.Q, b) + b @ self.c + self.d

    def exact_gradient(self, logits: NDArray) -> NDArray[np.float64]:
        """``grad_phi E_q[f(b)]`` in closed form, logits ``(..., k)`` -> ``(..., k)``."""
        if self.problem.kind == "toy":
            return toy_gradient(logits, self.problem.t)
        return qubo_gradient(Qubo(self.Q, self.c), logits)


def make_objective(problem: Problem, k: int, instance_seed: int) -> QuadraticObjective:
    """``problem`` at dimension ``k``; random instances are drawn from ``instance_seed``.

    The QUBO and the regression data depend on (instance_seed, problem, k) only, so every
    estimator, logit setting and seed of the study sees the same instance.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a Problem (Problem.parse('qubo')), got {problem!r}")
    if problem.kind == "toy":
        t = problem.t
        return QuadraticObjective(problem, np.zeros((k, k)), np.full(k, 1.0 - 2.0 * t), k * t * t)
    rng = np.random.default_rng(job_seed(instance_seed, problem.name, k))
    if problem.kind == "qubo":
        qubo = random_qubo(k, rng)
        return QuadraticObjective(problem, qubo.Q, qubo.c, 0.0)
    data = simulate_spike_slab(_SPIKE_SLAB_N, k, min(_SPIKE_SLAB_TRUE, k), rng)
    mean, sd = _all_included_posterior(data)
    Q, c, d = spike_slab_integrand(data, mean, sd)
    return QuadraticObjective(problem, Q, c, d)


def spike_slab_integrand(data: SpikeSlabData, mean: NDArray, sd: NDArray
                         ) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """``(Q, c, d)`` with ``b^T Q b + c^T b + d = E_{q(beta)}[log p(y, z=b, beta)]`` on bits.

    With ``w = z * beta``, ``G = X^T X`` and ``q(beta) = N(m, diag(s^2))``:

        E||y - X w||^2 = y^T y - 2 (X^T y * m)^T z + z^T (G * (m m^T + diag(s^2))) z,
        log p(z)       = logit(pi) sum_j z_j + k log(1 - pi),
        E log p(beta)  = sum_j [-1/2 log(2 pi slab^2) - (m_j^2 + s_j^2) / (2 slab^2)],

    so ``Q = -G * (m m^T + diag(s^2)) / (2 sigma^2)``, ``c = (X^T y * m) / sigma^2 + logit(pi)``
    and ``d`` collects the rest (the Gaussian likelihood's constant included).
    """
    x, y = data.X, data.y
    n, k = x.shape
    m, s2 = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64) ** 2
    sigma2, slab2, pi = data.sigma**2, data.slab_sd**2, data.prior_inclusion
    second_moment = np.outer(m, m) + np.diag(s2)
    Q = -(x.T @ x) * second_moment / (2.0 * sigma2)
    c = (x.T @ y) * m / sigma2 + (math.log(pi) - math.log1p(-pi))
    log_lik_const = -0.5 * n * math.log(2 * math.pi * sigma2) - float(y @ y) / (2.0 * sigma2)
    log_prior_beta = float(np.sum(-0.5 * math.log(2 * math.pi * slab2) - (m**2 + s2) / (2 * slab2)))
    d = log_lik_const + k * math.log1p(-pi) + log_prior_beta
    return Q, c, float(d)


def _all_included_posterior(data: SpikeSlabData) -> tuple[NDArray, NDArray]:
    """Mean and marginal sd of ``p(beta | z = 1, y)``: the fixed ``q(beta)`` of the problem.

    It is a plausible fitted q (conjugate Gaussian posterior with every predictor in), so the
    integrand has the scale and the couplings the model study's ELBO sees.
    """
    x, y = data.X, data.y
    k = x.shape[1]
    precision = x.T @ x / data.sigma**2 + np.eye(k) / data.slab_sd**2
    covariance = np.linalg.inv(precision)
    return covariance @ (x.T @ y) / data.sigma**2, np.sqrt(np.diag(covariance))

