"""Registered estimators as PyTensor ops.

``expectation(f, logits, estimator=...)`` builds ``E[f(b)]`` as one named op per estimator
(``pytensor.dprint`` shows ``DisARM{samples=8}``). Its value is the Monte Carlo mean of ``f``;
its pullback gives the estimator's gradient for the logits and the pathwise gradient for every
parameter inside ``f``. ``gradient_samples`` returns the per-draw estimates for variance studies.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from pymc.pytensorf import compile as pymc_compile
from pytensor.compile.builders import OpFromGraph
from pytensor.gradient import disconnected_grad, disconnected_type
from pytensor.tensor.random.type import RandomGeneratorType
from pytensor.tensor.variable import TensorVariable

from pmcgrad.estimators import Estimator, NoiseDistribution, get_estimator, get_noise, streams

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "EstimatorOp",
    "GradientSamples",
    "compile",
    "expectation",
    "gradient_samples",
    "shared_rng",
]

DEFAULT_EXACT_LIMIT = 20

BitFunction = Callable[[TensorVariable], TensorVariable]

# The newest RNG state each shared RNG reached in graphs built so far (see `_build`).
_LATEST_RNG_STATE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class GradientSamples(NamedTuple):
    """Per-draw output of :func:`gradient_samples`.

    ``gradients``: ``(S, ..., k)`` one estimate of ``grad_logits E[f(b)]`` per draw.
    ``value``: ``(...)`` the Monte Carlo estimate of ``E[f(b)]``.
    ``evaluations``: f-evaluations spent by all ``S`` draws (an int when k is static).
    """

    gradients: TensorVariable
    value: TensorVariable
    evaluations: int | TensorVariable


class EstimatorOp(OpFromGraph):
    """``E[f(b)]`` from precomputed f-values, with the estimator's gradient as its pullback.

    Inputs: ``logits (..., k)``, the estimator's noise tensors ``(S, ..., k)`` and the f-values
    ``(E, S, ...)``. Output: the estimate ``(...)``.
    """

    def __init__(self, *args, samples: int, **kwargs):
        self.samples = samples
        super().__init__(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.name}{{samples={self.samples}}}"


def compile(inputs, outputs, *, updates=None, mode=None, **kwargs) -> pytensor.compile.Function:
    """``pytensor.function`` that advances every random stream in the graph on each call.

    A plain ``pytensor.function`` without these updates would repeat the same draws. This is
    PyMC's ``compile`` without its reseeding (the seed given to ``expectation`` stays in force),
    plus the updates of pmcgrad's counter streams (:mod:`pmcgrad.estimators.streams`).
    """
    updates = dict(updates or {})
    listed = outputs if isinstance(outputs, list | tuple) else [outputs]
    for stream, state in streams.stream_updates([*listed, *updates.values()]).items():
        updates.setdefault(stream, state)
    return pymc_compile(inputs, outputs, random_seed=False, mode=mode, updates=updates, **kwargs)


def shared_rng(rng=None) -> pytensor.compile.SharedVariable:
    """A shared random stream from a seed, a ``numpy.random.Generator`` or ``None``.

    A stream (:mod:`pmcgrad.estimators.streams`) is a ``uint64`` ``(key, counter)`` vector:
    its draws cost no per-call overhead, and every backend gives the same numbers. A shared
    stream or a shared PyTensor ``Generator`` variable passes through unchanged (the latter
    draws through PyTensor's ``RandomVariable``s).
    """
    if streams.is_stream(rng) or isinstance(getattr(rng, "type", None), RandomGeneratorType):
        return rng
    return streams.shared_stream(rng)


def expectation(
    f: BitFunction,
    logits,
    estimator: str | Estimator = "disarm",
    samples: int = 1,
    rng=None,
    *,
    noise: str | NoiseDistribution = "logistic",
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> TensorVariable:
    """Monte Carlo estimate of ``E[f(b)]``, ``b ~ Bernoulli(sigmoid(logits))``, as one named op.

    Parameters
    ----------
    f
        Maps a batch of bit vectors ``(N, ..., k)`` (floats, 0 or 1) to values ``(N, ...)``.
    logits
        ``(k,)`` or ``(..., k)``. With leading batch dimensions each batch row's bits are scored
        against that row's f-value only.
    estimator
        A registered name (see ``pmcgrad.estimator_names()``) or an ``Estimator``.
    samples
        Draws ``S``; an estimator with ``E`` evaluations per draw calls f on ``E * S`` vectors.
        Ignored by ``exact``.
    rng
        Seed, ``numpy.random.Generator`` or shared RNG variable. Compile with
        :func:`pmcgrad.compile` (or pass its RNG updates) to draw afresh on every call.
    noise
        Noise distribution for ``noise_score`` and ``antithetic_noise``.
    exact_limit
        Largest k that ``exact`` enumerates.

    Returns
    -------
    A variable of shape ``(...)`` (a scalar for vector logits). Its gradient with respect to
    ``logits`` is the estimator; with respect to parameters inside ``f`` it is pathwise.
    """
    pieces = _build(f, logits, estimator, samples, rng, noise, exact_limit)
    est, noise_dist = pieces.estimator, pieces.noise
    inner_logits = pieces.logits.type()
    inner_noise = [tensor.type() for tensor in pieces.noise_tensors]
    inner_fvals = pieces.fvals.type()

    def pullback(inputs, outputs, output_grads):
        logits_in, *noise_in, fvals_in = inputs
        (cotangent,) = output_grads
        per_draw = est.gradient(logits_in, tuple(noise_in), fvals_in, noise_dist)
        logits_grad = cotangent[..., None] * per_draw.mean(axis=0)
        # The value is linear in the f-values; its weights give the pathwise gradient.
        pathwise = (est.value(disconnected_grad(logits_in), fvals_in) * cotangent).sum()
        fvals_grad = pytensor.grad(pathwise, fvals_in)
        return [logits_grad, *(disconnected_type() for _ in noise_in), fvals_grad]

    op = EstimatorOp(
        [inner_logits, *inner_noise, inner_fvals],
        [est.value(inner_logits, inner_fvals)],
        pullback=pullback,
        connection_pattern=[[True], *([False] for _ in inner_noise), [True]],
        inline=True,
        name=est.op_name,
        samples=pieces.samples,
        on_unused_input="ignore",
    )
    return op(pieces.logits, *pieces.noise_tensors, pieces.fvals)


def gradient_samples(
    f: BitFunction,
    logits,
    estimator: str | Estimator = "disarm",
    samples: int = 1,
    rng=None,
    *,
    noise: str | NoiseDistribution = "logistic",
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> GradientSamples:
    """Per-draw gradient estimates, as optax's ``score_function_jacobians`` returns them.

    Same arguments as :func:`expectation`. Returns ``GradientSamples(gradients (S, ..., k),
    value (...), evaluations)``; ``exact`` returns a single "draw" (``S = 1``).
    """
    pieces = _build(f, logits, estimator, samples, rng, noise, exact_limit)
    est = pieces.estimator
    logits_const = disconnected_grad(pieces.logits)
    gradients = est.gradient(logits_const, pieces.noise_tensors, pieces.fvals, pieces.noise)
    value = est.value(logits_const, pieces.fvals)
    return GradientSamples(gradients, value, pieces.evaluations)


class _Pieces(NamedTuple):
    estimator: Estimator
    noise: NoiseDistribution
    logits: TensorVariable
    noise_tensors: tuple[TensorVariable, ...]
    fvals: TensorVariable  # [E, S, ...]
    samples: int
    evaluations: int | TensorVariable


def _build(f, logits, estimator, samples, rng, noise, exact_limit) -> _Pieces:
    """Validate the inputs, draw the noise, build the bits and evaluate f once on all of them."""
    est = get_estimator(estimator)
    logits = _as_logits(logits)
    k = logits.type.shape[-1]
    noise_dist = get_noise(noise)
    if est.uses_noise:
        est.check_noise(noise_dist)
    samples = _check_samples(est, samples)
    if est.enumerates:
        _check_exact_limit(est, k, exact_limit)
        samples = 1

    rng = shared_rng(rng)
    # Chain from the RNG's last use, so two estimates built on one shared RNG draw different
    # noise rather than the same noise twice (and `compile` finds one update per RNG). A
    # stream's draws chain by themselves.
    start = rng if streams.is_stream(rng) else _LATEST_RNG_STATE.get(rng, rng)
    try:
        next_rng, noise_tensors = est.draw(start, (samples, *logits.shape), logits.dtype,
                                           noise_dist)
    except TypeError as error:
        if not streams.is_stream(rng):
            raise
        raise TypeError(
            f"estimator {est.name!r}: its draw failed on pmcgrad's random stream ({error}). "
            "Draw with pmcgrad.streams.uniform / exponential / normal (or "
            "pmcgrad.estimators.draw_uniform, noise.sample), which take a stream, or pass "
            "rng=pytensor.shared(np.random.default_rng(seed)) to draw with PyTensor's random "
            "variables"
        ) from error
    if noise_tensors and not streams.is_stream(rng):
        _LATEST_RNG_STATE[rng] = next_rng

    # Bits are built from constant logits: they are thresholds, and the estimator, not
    # autodiff, supplies every logit gradient.
    bits = est.bits(disconnected_grad(logits), noise_tensors, noise_dist)  # [E, S, ..., k]
    groups = bits.shape[0]
    flat_bits = bits.reshape((groups * samples, *logits.shape))  # [E * S, ..., k]
    fvals = _evaluate(f, flat_bits, logits)  # [E * S, ...]
    fvals = fvals.reshape((groups, samples, *logits.shape[:-1]))  # [E, S, ...]

    evaluations = samples * est.evaluations(k) if k is not None else groups * samples
    return _Pieces(est, noise_dist, logits, tuple(noise_tensors), fvals, samples, evaluations)


def _as_logits(logits) -> TensorVariable:
    logits = pt.as_tensor_variable(logits)
    if logits.dtype not in ("float32", "float64"):
        raise TypeError(
            f"logits must be float32 or float64, got dtype {logits.dtype}; "
            "cast them, e.g. pt.as_tensor_variable(logits).astype('float64')"
        )
    if logits.ndim < 1:
        raise ValueError("logits must have at least one dimension (..., k); got a scalar")
    return logits


def _check_samples(est: Estimator, samples) -> int:
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise TypeError(f"samples must be an int, got {samples!r}")
    if samples < est.min_samples:
        raise ValueError(
            f"estimator {est.name!r} needs samples >= {est.min_samples}, got samples={samples}"
        )
    return int(samples)


def _check_exact_limit(est: Estimator, k: int | None, exact_limit: int) -> None:
    if k is None:
        raise ValueError(
            f"estimator {est.name!r} enumerates all 2^k bit vectors and needs a static k; "
            "give logits a known last dimension (e.g. pt.specify_shape)"
        )
    if k > exact_limit:
        raise ValueError(
            f"estimator {est.name!r} would enumerate 2^{k} bit vectors: k={k} is above its "
            f"limit of {exact_limit} (raise exact_limit=... to allow it); for large k use a "
            "sampling estimator such as 'disarm' or 'reinforce_loo'"
        )


def _evaluate(f: BitFunction, flat_bits: TensorVariable, logits: TensorVariable) -> TensorVariable:
    """Call f and check, at graph build, that it returns one value per bit vector."""
    fvals = pt.as_tensor_variable(f(flat_bits))
    expected_ndim = logits.ndim  # (N, ...) for bits of shape (N, ..., k)
    expected = ("N", *logits.type.shape[:-1])
    if fvals.ndim != expected_ndim:
        raise ValueError(
            f"f must map bits of shape (N, ..., k) = {_shape_text(flat_bits)} to one value per "
            f"vector, shape {_shape_text(expected)}; it returned shape {_shape_text(fvals)}"
        )
    static_in = flat_bits.type.shape[:-1]
    for got, want in zip(fvals.type.shape, static_in, strict=True):
        if got is not None and want is not None and got != want:
            raise ValueError(
                f"f returned shape {_shape_text(fvals)} for bits of shape "
                f"{_shape_text(flat_bits)}; expected {_shape_text(static_in)}"
            )
    if fvals.dtype not in ("float32", "float64"):
        fvals = fvals.astype(logits.dtype)
    # Pin the shape so a mismatch the static check could not see fails at run time.
    return pt.specify_shape(fvals, static_in)


def _shape_text(value) -> str:
    shape = value.type.shape if hasattr(value, "type") else value
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
