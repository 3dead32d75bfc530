"""What the estimator benchmarks share: interleaved ratio timing, the two test functions f with
their exact gradients, compiled value-and-gradient calls, and a plain-text table.

Every figure is a ratio against a reference timed side by side in the same process: the two are
timed in alternating blocks (candidate first in even rounds, reference first in odd ones), and
the median and interquartile range are taken over the per-round ratios, so a load change on a
shared machine moves both sides of a ratio together.

Each module's ``main`` runs with BLAS limited to one thread (:func:`single_threaded_blas`): on
a small machine shared with other jobs, a threaded OpenBLAS made the same 32 x 256 x 256 product
vary twentyfold within one run. NumPy's and the Numba backend's BLAS are both limited.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from threadpoolctl import threadpool_limits

import pmcgrad

__all__ = [
    "TOY_TARGET",
    "DenseQuadratic",
    "Ratio",
    "Settings",
    "Toy",
    "fonly_call",
    "format_table",
    "max_z",
    "random_bits",
    "sigmoid",
    "single_threaded_blas",
    "size_settings",
    "time_ratio",
    "value_and_gradient_call",
]

TOY_TARGET = 0.49  # t in the toy objective E[sum (b - t)^2] (MATH.md)


@dataclass(frozen=True)
class Ratio:
    """Candidate seconds / reference seconds over interleaved rounds.

    ``median`` and ``iqr`` are taken over the per-round ratios; ``candidate`` and ``reference``
    are the median seconds per call of each side.
    """

    median: float
    iqr: float
    candidate: float
    reference: float
    rounds: int

    def __str__(self) -> str:
        return f"{self.median:.3f} (IQR {self.iqr:.3f}, {self.rounds} rounds)"


@dataclass(frozen=True)
class Settings:
    """How hard to time: warm-up calls, interleaved rounds, seconds per timed block."""

    warmup: int
    repeats: int
    block_seconds: float


def size_settings(quick: bool) -> Settings:
    """Timing effort: tiny for smoke tests, enough rounds for a stable median otherwise."""
    return Settings(warmup=1, repeats=3, block_seconds=0.002) if quick else Settings(
        warmup=3, repeats=9, block_seconds=0.1
    )


def single_threaded_blas(main: Callable) -> Callable:
    """Run ``main`` with every loaded BLAS (NumPy's, SciPy's for Numba) on one thread."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return main(*args, **kwargs)

    return wrapped


def time_ratio(candidate: Callable[[], object], reference: Callable[[], object],
               settings: Settings) -> Ratio:
    """Time ``candidate`` against ``reference`` in alternating blocks; see the module docstring.

    Each side's block holds as many calls as fit in ``settings.block_seconds`` (at least one).
    A call slower than a second gets one warm-up call and at most 3 rounds.
    """
    first = _block(candidate, 1) + _block(reference, 1)  # the first warm-up: compiles, caches
    slow = first > 1.0
    for _ in range(0 if slow else settings.warmup - 1):
        candidate()
        reference()
    calls_c = _calls_per_block(candidate, settings.block_seconds)
    calls_r = _calls_per_block(reference, settings.block_seconds)
    repeats = min(settings.repeats, 3) if slow else settings.repeats
    seconds_c, seconds_r = [], []
    for round_ in range(repeats):
        if round_ % 2 == 0:
            seconds_c.append(_block(candidate, calls_c))
            seconds_r.append(_block(reference, calls_r))
        else:
            seconds_r.append(_block(reference, calls_r))
            seconds_c.append(_block(candidate, calls_c))
    ratios = np.array(seconds_c) / np.array(seconds_r)
    return Ratio(
        median=float(np.median(ratios)),
        iqr=float(np.subtract(*np.percentile(ratios, [75, 25]))),
        candidate=float(np.median(seconds_c)),
        reference=float(np.median(seconds_r)),
        rounds=repeats,
    )


def _calls_per_block(fn: Callable[[], object], block_seconds: float) -> int:
    seconds = _block(fn, 1)
    return max(1, int(block_seconds / max(seconds, 1e-7)))


def _block(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


# --- the test functions: both have closed-form gradients at any k


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Toy:
    """The separable toy ``f(b) = sum_i (b_i - t)^2``: f costs O(k), so overhead dominates."""

    name = "toy"

    def __init__(self, k: int, t: float = TOY_TARGET):
        self.k, self.t = k, t

    def pytensor(self, bits):
        return ((bits - self.t) ** 2).sum(axis=-1)

    def numpy(self, bits: np.ndarray) -> np.ndarray:
        return ((bits - self.t) ** 2).sum(axis=-1)

    def mean(self, logits: np.ndarray) -> float:
        p = sigmoid(logits)
        return float((p * (1 - self.t) ** 2 + (1 - p) * self.t**2).sum())

    def exact_gradient(self, logits: np.ndarray) -> np.ndarray:
        # d/dphi_i [p_i (1 - t)^2 + (1 - p_i) t^2] = p_i (1 - p_i) (1 - 2 t)
        p = sigmoid(logits)
        return p * (1 - p) * (1 - 2 * self.t)


class DenseQuadratic:
    """``f(b) = b^T Q b + c^T b`` with a dense symmetric ``Q``: f costs O(k^2) per vector.

    ``Q`` and ``c`` live in shared variables (not graph constants), so a 4096 x 4096 matrix is
    neither copied into the compiled graph nor cached on disk by the Numba backend.
    """

    name = "dense"

    def __init__(self, k: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        a = rng.normal(size=(k, k)) / np.sqrt(k)
        self.k = k
        self.Q = (a + a.T) / 2
        self.c = rng.normal(size=k)
        self.Q_shared = pytensor.shared(self.Q, name="Q", borrow=True)
        self.c_shared = pytensor.shared(self.c, name="c", borrow=True)

    def pytensor(self, bits):
        return ((bits @ self.Q_shared) * bits).sum(axis=-1) + bits @ self.c_shared

    def numpy(self, bits: np.ndarray) -> np.ndarray:
        return ((bits @ self.Q) * bits).sum(axis=-1) + bits @ self.c

    def mean(self, logits: np.ndarray) -> float:
        p = sigmoid(logits)
        diagonal = np.diag(self.Q)
        return float(p @ self.Q @ p - (p**2) @ diagonal + p @ diagonal + self.c @ p)

    def exact_gradient(self, logits: np.ndarray) -> np.ndarray:
        # E f = sum_{i != j} Q_ij p_i p_j + sum_i Q_ii p_i + c.p, so for symmetric Q
        # d/dphi_i = p_i (1 - p_i) (2 sum_{j != i} Q_ij p_j + Q_ii + c_i).
        p = sigmoid(logits)
        diagonal = np.diag(self.Q)
        off_diagonal = self.Q @ p - diagonal * p
        return p * (1 - p) * (2 * off_diagonal + diagonal + self.c)


# --- compiled calls


def value_and_gradient_call(problem, k: int, estimator: str, samples: int, *, seed: int = 0,
                            mode: str | None = None, dtype: str = "float64",
                            logits: np.ndarray | None = None, exact_limit: int = 20
                            ) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """A zero-argument call returning ``(value, gradient (k,))`` as NumPy arrays.

    One compiled ``pmcgrad.compile([logits], [value, pytensor.grad(value, logits)])``; the RNG
    advances on every call. JAX outputs are converted with ``np.asarray``, which waits for the
    device, so the time includes the whole computation.
    """
    logits_var = pt.vector("logits", shape=(k,), dtype=dtype)
    value = pmcgrad.expectation(problem.pytensor, logits_var, estimator, samples=samples,
                                rng=seed, exact_limit=exact_limit)
    gradient = pytensor.grad(value, logits_var)
    function = pmcgrad.compile([logits_var], [value, gradient], mode=mode)
    logits = np.zeros(k) if logits is None else logits
    logits = np.asarray(logits, dtype=dtype)
    if mode == "JAX":
        return lambda: tuple(np.asarray(out) for out in function(logits))
    return lambda: function(logits)


def fonly_call(problem, bits: np.ndarray, *, mode: str | None = None) -> Callable[[], object]:
    """A zero-argument call that only evaluates f on the precomputed ``bits (N, k)``."""
    bits_var = pt.matrix("bits", shape=bits.shape, dtype=bits.dtype)
    function = pmcgrad.compile([bits_var], problem.pytensor(bits_var), mode=mode)
    return lambda: function(bits)


def random_bits(n: int, k: int, seed: int = 0, dtype: str = "float64") -> np.ndarray:
    """``(n, k)`` Bernoulli(1/2) bits, the f-only reference's input."""
    return np.random.default_rng(seed).integers(0, 2, size=(n, k)).astype(dtype)


def max_z(difference: np.ndarray, se: np.ndarray, tolerance: float = 1e-9) -> float:
    """Largest ``|difference| / se``; where ``se`` is 0 the difference must be within
    ``tolerance`` (then it counts as 0, else as infinity)."""
    difference, se = np.abs(np.asarray(difference)), np.asarray(se)
    z = np.where(se > 0, difference / np.where(se > 0, se, 1.0), 0.0)
    z = np.where((se == 0) & (difference > tolerance), np.inf, z)
    return float(np.max(z))


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned plain-text columns."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)
