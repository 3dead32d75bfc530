"""The categorical study: bias and variance of every categorical estimator against the exact
gradient, against K (categories) and k (variables), on two objectives with closed forms.

Both objectives are sums over the variables of a term that depends on that variable's
category only, ``f(z) = sum_v C[v, z_v] + d`` with ``C (k, K)``, so that

    E_q f = sum_v p_v . C_v + d,     d/dphi_vj E_q f = p_vj (C_vj - p_v . C_v)

(``p_v = softmax(phi_v)``) is exact at any K and k. The other variables still add their noise
to every score-function estimate, as in the Bernoulli study.

* ``toy_t<t>``: ``f(z) = sum_v 1/2 ||onehot(z_v) - t_vec||^2`` with the target
  ``t_vec = ((1 - t)/(K - 1), ..., (1 - t)/(K - 1), t)``. At ``K = 2`` a category code is a bit
  and ``f`` is the Bernoulli toy ``sum_v (b_v - t)^2`` of the gradient study.
* ``mixture``: the ELBO integrand of a K-component Gaussian mixture with k observations at a
  fixed ``q(mu)``: ``f(z) = sum_v E_{q(mu)}[log w_{z_v} + log N(x_v | mu_{z_v}, sigma)]`` (the
  terms free of z dropped). Component ``j`` has mean ``3 (j - (K - 1)/2)``, ``sigma = 1``, equal
  weights; ``x_v`` is drawn from the mixture and ``q(mu_j) = N(true mean, 0.3^2)``, so
  ``C_vj = log(1/K) - 1/2 log(2 pi) - ((x_v - m_j)^2 + 0.3^2)/2``.

One job covers one K: it compiles one graph per sampling estimator, with ``k``, ``C`` and ``d``
left symbolic, and reuses it for every k, problem, logit setting and seed (the compile is most
of the cost); ``categorical_exact`` enumerates ``K^k`` configurations and needs k when its
graph is built, so it compiles one graph per k where it runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pytensor.tensor as pt
from numpy.typing import NDArray

import pmcgrad
from pmcgrad.study.columns import CATEGORICAL
from pmcgrad.study.gradient import SATURATED_LOGIT, bias_statistics
from pmcgrad.study.seeds import job_seed
from pmcgrad.study.tables import write_table

if TYPE_CHECKING:
    from pmcgrad.study.settings import CategoricalSettings

__all__ = [
    "LOGIT_SETTINGS",
    "MIXTURE_Q_SD",
    "MIXTURE_SPACING",
    "CategoricalObjective",
    "categorical_function",
    "categorical_logits",
    "categorical_rows",
    "check_problem",
    "make_categorical_objective",
    "rows_per_job",
    "run_categorical_job",
]

LOGIT_SETTINGS = ("zero", "random", "saturated")
PROBLEM_PATTERN = r"toy_t[0-9]*\.[0-9]+|mixture"
#: Distance between neighbouring component means of the mixture, in units of sigma = 1.
MIXTURE_SPACING = 3.0
#: Standard deviation of the fixed q(mu_j) of the mixture.
MIXTURE_Q_SD = 0.3
# Elements per compiled call at most (codes are (E, S, R, k)).
_MAX_ELEMENTS_PER_CALL = 2_000_000


def check_problem(name: str) -> str:
    """``name`` if it spells a categorical problem (``toy_t<t>`` with 0 < t < 1, ``mixture``);
    ``ValueError`` naming the valid spellings otherwise."""
    if not isinstance(name, str) or re.fullmatch(PROBLEM_PATTERN, name) is None:
        raise ValueError(f"unknown categorical problem {name!r}; expected 'toy_t<t>' (e.g. "
                         "toy_t0.49) or 'mixture'")
    if name.startswith("toy_t"):
        t = float(name[len("toy_t"):])
        if not 0 < t < 1 or f"toy_t{t!r}" != name:
            raise ValueError(f"categorical problem {name!r}: t must be in (0, 1) and spelled "
                             f"as Python prints it (toy_t{t!r})")
    return name


@dataclass(frozen=True)
class CategoricalObjective:
    """``f(z) = sum_v C[v, z_v] + d`` on category codes ``z (..., k)``, and its closed forms."""

    name: str
    C: NDArray[np.float64]  # (k, K)
    d: float

    @property
    def k(self) -> int:
        return self.C.shape[0]

    @property
    def K(self) -> int:
        return self.C.shape[1]

    def __call__(self, codes: NDArray) -> NDArray[np.float64]:
        """``f`` on integer codes ``(..., k)``, shape ``(...)``."""
        codes = np.asarray(codes)
        return self.C[np.arange(self.k), codes].sum(axis=-1) + self.d

    def expectation(self, logits: NDArray) -> NDArray[np.float64]:
        """``E_q f`` for logits ``(..., k, K)``, shape ``(...)``."""
        return (_softmax(logits) * self.C).sum(axis=(-2, -1)) + self.d

    def exact_gradient(self, logits: NDArray) -> NDArray[np.float64]:
        """``grad_phi E_q f``, logits ``(..., k, K)`` -> ``(..., k, K)``."""
        p = _softmax(logits)
        return p * (self.C - (p * self.C).sum(axis=-1, keepdims=True))


def make_categorical_objective(problem: str, K: int, k: int, instance_seed: int
                               ) -> CategoricalObjective:
    """``problem`` with ``k`` variables of ``K`` categories; the mixture's observations are
    drawn from (instance_seed, K, k) only, so every estimator and seed sees the same ones."""
    check_problem(problem)
    if K < 2 or k < 1:
        raise ValueError(f"need K >= 2 and k >= 1, got K={K}, k={k}")
    if problem.startswith("toy_t"):
        t = float(problem[len("toy_t"):])
        target = np.full(K, (1.0 - t) / (K - 1))
        target[-1] = t
        # 1/2 ||e_j - target||^2 = 1/2 (1 - 2 target_j + ||target||^2)
        row = 0.5 * (1.0 - 2.0 * target + target @ target)
        return CategoricalObjective(problem, np.tile(row, (k, 1)), 0.0)
    rng = np.random.default_rng(job_seed(instance_seed, problem, K, k))
    means = MIXTURE_SPACING * (np.arange(K) - (K - 1) / 2)
    x = means[rng.integers(K, size=k)] + rng.standard_normal(k)
    C = (math.log(1.0 / K) - 0.5 * math.log(2 * math.pi)
         - ((x[:, None] - means[None, :]) ** 2 + MIXTURE_Q_SD**2) / 2)
    return CategoricalObjective(problem, C, 0.0)


def categorical_logits(name: str, K: int, k: int, seed: int) -> NDArray[np.float64]:
    """The logits ``(k, K)`` of a setting.

    ``zero``: all 0 (uniform). ``random``: iid N(0, 1) from (seed, K, k). ``saturated``:
    variable ``v`` has logit 6 on category ``v mod K`` and 0 elsewhere (probability
    ``e^6 / (e^6 + K - 1)``: 0.9975 at K = 2, 0.978 at K = 10).
    """
    if name == "zero":
        return np.zeros((k, K))
    if name == "random":
        return np.random.default_rng(job_seed(seed, K, k, "categorical_logits")
                                     ).standard_normal((k, K))
    if name == "saturated":
        logits = np.zeros((k, K))
        logits[np.arange(k), np.arange(k) % K] = SATURATED_LOGIT
        return logits
    raise ValueError(f"unknown logit setting {name!r}; valid settings: "
                     f"{', '.join(LOGIT_SETTINGS)}")


@dataclass
class CategoricalFunction:
    """A compiled map from logits ``(R, k, K)`` and an objective to ``R`` gradient estimates
    ``(R, k, K)``, each the mean of ``samples`` draws. The stream is reset from the given seed
    before each call."""

    estimator: str
    K: int
    samples: int
    _function: object = field(repr=False)
    _rng: object = field(repr=False)

    def evaluations(self, k: int) -> int:
        """f-evaluations of one estimate at k variables."""
        return self.samples * pmcgrad.get_estimator(self.estimator).evaluations(k, self.K)

    def __call__(self, logits: NDArray, objective: CategoricalObjective,
                 seed: np.random.SeedSequence) -> NDArray[np.float64]:
        logits = np.ascontiguousarray(logits, dtype=np.float64)
        if logits.ndim != 3 or logits.shape[2] != self.K:
            raise ValueError(f"logits must have shape (R, k, {self.K}), got {logits.shape}")
        self._rng.set_value(pmcgrad.streams.stream_state(seed), borrow=True)
        per_row = max(1, self.evaluations(objective.k) * objective.k * self.K)
        chunk = max(1, _MAX_ELEMENTS_PER_CALL // per_row)
        return np.concatenate([
            np.asarray(self._function(logits[start:start + chunk], objective.C, objective.d))
            for start in range(0, logits.shape[0], chunk)
        ], axis=0)


def categorical_function(estimator: str, K: int, k: int | None = None, *,
                         exact_limit: int = 20) -> CategoricalFunction:
    """Compile the estimates of a categorical ``estimator`` for variables of ``K``
    categories, with the estimator's minimum number of draws each. ``k=None`` leaves the
    number of variables symbolic (one graph for every k); an enumerating estimator needs it."""
    est = pmcgrad.get_estimator(estimator)
    if est.enumerates and k is None:
        raise ValueError(f"{estimator!r} enumerates K^k configurations: give k")
    samples = 1 if est.enumerates else max(1, est.min_samples)
    logits = pt.tensor3("logits", shape=(None, k, K), dtype="float64")
    C = pt.matrix("C", shape=(k, K), dtype="float64")
    d = pt.scalar("d", dtype="float64")

    def f(codes):  # int64 codes (N, R, k) -> (N, R)
        onehot = pt.eq(codes[..., None], pt.arange(K))
        return (onehot * C).sum(axis=(-2, -1)) + d

    rng = pmcgrad.shared_rng(0)
    draws = pmcgrad.gradient_samples(f, logits, est, samples=samples, rng=rng,
                                     exact_limit=exact_limit)
    function = pmcgrad.function([logits, C, d], draws.gradients.mean(axis=0))
    return CategoricalFunction(est.name, K, samples, function, rng)


def categorical_rows(objective: CategoricalObjective, function: CategoricalFunction,
                     logit_names: Sequence[str], seeds: Sequence[int], replicates: int
                     ) -> list[dict[str, object]]:
    """One row per logit setting x seed for one compiled estimator on one objective
    (``replicates`` estimates each, one for an enumerating estimator)."""
    est = pmcgrad.get_estimator(function.estimator)
    K, k = objective.K, objective.k
    count = 1 if est.enumerates else replicates
    rows = []
    for logit_name in logit_names:
        for seed in seeds:
            logits = categorical_logits(logit_name, K, k, seed)
            exact = objective.exact_gradient(logits).reshape(-1)
            noise = job_seed(seed, objective.name, K, k, logit_name, est.name)
            estimates = function(np.tile(logits, (count, 1, 1)), objective, noise)
            stats = bias_statistics(estimates.reshape(count, -1), exact)
            rows.append({
                "problem": objective.name, "estimator": est.name, "K": K, "k": k,
                "logits": logit_name, "seed": seed,
                "evaluations_per_draw": function.evaluations(k), "unbiased": est.unbiased,
                **stats,
                "variance_x_evaluations": stats["variance"] * function.evaluations(k),
                "exact_gradient_norm": float(np.linalg.norm(exact)),
            })
    return rows


def rows_per_job(settings: CategoricalSettings, K: int) -> int:
    """The rows one job at K writes: k x problem x estimator x logit setting x seed."""
    return sum(len(settings.problems) * len(settings.estimators_at(K, k))
               * len(settings.logits) * len(settings.seeds) for k in settings.k)


def run_categorical_job(K: int, settings: CategoricalSettings, out: str) -> None:
    """Write ``out`` (a per-job slice of ``categorical.csv``) for one K: every k, problem,
    estimator, logit setting and seed, in that order.

    A row spends at most ``settings.max_evaluations`` f-evaluations: ``arsm`` at large K
    (``K(K-1)/2 + 1`` a draw) gets fewer replicates, never fewer than 2; ``draws`` records how
    many.
    """
    limit = max(1, math.ceil(math.log2(settings.exact_max_configurations)))
    shared: dict[str, CategoricalFunction] = {}
    rows = []
    for k in settings.k:
        for problem in settings.problems:
            objective = make_categorical_objective(problem, K, k, settings.instance_seed)
            for name in settings.estimators_at(K, k):
                if pmcgrad.get_estimator(name).enumerates:
                    function = categorical_function(name, K, k, exact_limit=limit)
                else:
                    if name not in shared:
                        shared[name] = categorical_function(name, K)
                    function = shared[name]
                affordable = max(2, min(settings.replicates,
                                        settings.max_evaluations // function.evaluations(k)))
                rows += categorical_rows(objective, function, settings.logits, settings.seeds,
                                         affordable)
    write_table(rows, out, CATEGORICAL)


def _softmax(logits: NDArray) -> NDArray[np.float64]:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)
