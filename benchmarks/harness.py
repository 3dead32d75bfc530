"""What the estimator benchmarks share: interleaved ratio timing, the two test functions f with
their exact gradients, compiled value-and-gradient calls, and a plain-text table.

Every figure is a ratio against a reference timed side by side in the same process: the two are
called alternately, call for call, so a load change on a shared machine moves both sides of a
ratio together; each round's ratio compares the fastest call of each side (the least disturbed
by other jobs), and the figure is the median over rounds, with the interquartile range as its
spread (:func:`time_ratio`).

Each module's ``main`` runs with BLAS limited to one thread (:func:`single_threaded_blas`), for
NumPy and for the Numba backend alike: both sides of a ratio then do the same single-threaded
work, and BLAS threads do not compete with other jobs on a small shared machine.
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
    "verdict",
]

TOY_TARGET = 0.49  # t in the toy objective E[sum (b - t)^2] (docs/math.md)


@dataclass(frozen=True)
class Ratio:
    """Candidate seconds / reference seconds over interleaved rounds.

    ``median`` and ``iqr`` are taken over the per-round ratios; ``candidate`` and ``reference``
    are the medians over rounds of each side's fastest call in a round, in seconds.
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
        warmup=3, repeats=11, block_seconds=0.2
    )


def single_threaded_blas(main: Callable) -> Callable:
    """Run ``main`` with every loaded BLAS (NumPy's, SciPy's for Numba) on one thread."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        # threadpoolctl limits only the libraries already loaded; SciPy's OpenBLAS, which the
        # Numba backend calls, loads with scipy.linalg, otherwise only at the first compiled dot.
        import scipy.linalg  # noqa: F401

        with threadpool_limits(limits=1, user_api="blas"):
            return main(*args, **kwargs)

    return wrapped


def time_ratio(candidate: Callable[[], object], reference: Callable[[], object],
               settings: Settings) -> Ratio:
    """Time ``candidate`` against ``reference``, call for call; see the module docstring.

    Each round makes ``n`` pairs of calls, alternating which side goes first, with ``n`` chosen
    so a round lasts about ``settings.block_seconds``. A round's ratio is the ratio of the two
    sides' fastest calls in it: another job's time slice only ever adds time, so the fastest
    call of a round is the one least disturbed. The result is the median and interquartile
    range of the ratios over ``settings.repeats`` rounds. A pair slower than a second gets one
    warm-up pair and at most 3 rounds of one pair each.
    """
    pair = _seconds(candidate) + _seconds(reference)  # the first warm-up: compiles, caches
    slow = pair > 1.0
    for _ in range(0 if slow else settings.warmup - 1):
        pair = _seconds(candidate) + _seconds(reference)
    pairs = max(1, min(200, int(settings.block_seconds / max(pair, 1e-7))))
    repeats = min(settings.repeats, 3) if slow else settings.repeats
    fastest_c, fastest_r = np.empty(repeats), np.empty(repeats)
    for round_ in range(repeats):
        seconds_c, seconds_r = [], []
        for call in range(pairs):
            if (round_ + call) % 2 == 0:
                seconds_c.append(_seconds(candidate))
                seconds_r.append(_seconds(reference))
            else:
                seconds_r.append(_seconds(reference))
                seconds_c.append(_seconds(candidate))
        fastest_c[round_], fastest_r[round_] = min(seconds_c), min(seconds_r)
    ratios = fastest_c / fastest_r
    return Ratio(
        median=float(np.median(ratios)),
        iqr=float(np.subtract(*np.percentile(ratios, [75, 25]))),
        candidate=float(np.median(fastest_c)),
        reference=float(np.median(fastest_r)),
        rounds=repeats,
    )


def verdict(ratio: Ratio, target: float) -> str:
    """``PASS`` when the median ratio is at most ``target``; a miss by less than the ratio's own
    interquartile range is marked as within the spread."""
    if ratio.median <= target:
        return "PASS"
    return "FAIL (within spread)" if ratio.median - ratio.iqr <= target else "FAIL"


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- the test functions: both have closed-form gradients at any k


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Toy:
    """The separable toy ``f(b) = sum_i (b_i - t)^2``: f costs O(k), so overhead dominates."""

    name = "toy"

    def __init__(self, k: int, t: float = TOY_TARGET):
        self.k, self.t = k, t

    def pytensor(self, bits):
        t = pt.constant(self.t, dtype=bits.dtype)  # a float64 t would upcast float32 bits
        return ((bits - t) ** 2).sum(axis=-1)

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

    One compiled ``pmcgrad.function([logits], [value, pytensor.grad(value, logits)])``; the RNG
    advances on every call. JAX outputs are converted with ``np.asarray``, which waits for the
    device, so the time includes the whole computation.
    """
    logits_var = pt.vector("logits", shape=(k,), dtype=dtype)
    value = pmcgrad.expectation(problem.pytensor, logits_var, estimator, samples=samples,
                                rng=seed, exact_limit=exact_limit)
    gradient = pytensor.grad(value, logits_var)
    function = pmcgrad.function([logits_var], [value, gradient], mode=mode)
    logits = np.zeros(k) if logits is None else logits
    logits = np.asarray(logits, dtype=dtype)
    if mode == "JAX":
        return lambda: tuple(np.asarray(out) for out in function(logits))
    return lambda: function(logits)


def fonly_call(problem, bits: np.ndarray, *, mode: str | None = None) -> Callable[[], object]:
    """A zero-argument call that only evaluates f on the precomputed ``bits (N, k)``."""
    bits_var = pt.matrix("bits", shape=bits.shape, dtype=bits.dtype)
    function = pmcgrad.function([bits_var], problem.pytensor(bits_var), mode=mode)
    return lambda: function(bits)


def random_bits(n: int, k: int, seed: int = 0, dtype: str = "float64") -> np.ndarray:
    """``(n, k)`` Bernoulli(1/2) bits, the f-only reference's input."""
    return np.random.default_rng(seed).integers(0, 2, size=(n, k)).astype(dtype)


def max_z(difference: np.ndarray, se: np.ndarray, tolerance: float = 1e-9) -> float:
    """Largest ``|difference| / se``; a difference within ``tolerance`` counts as 0.

    A deterministic output (``exact``) has a standard error of 0 up to rounding, so only the
    tolerance can judge it: a difference above it with ``se == 0`` counts as infinity.
    """
    difference, se = np.abs(np.asarray(difference)), np.asarray(se)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(difference <= tolerance, 0.0, difference / se)
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
