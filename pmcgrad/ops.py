"""Registered estimators as PyTensor ops.

``expectation(f, logits, estimator=...)`` builds ``E[f]`` as one named op per estimator
(``pytensor.dprint`` shows ``DisARM{samples=8}``). Its value is the Monte Carlo mean of ``f``;
its pullback gives the estimator's gradient for the logits and the pathwise gradient for every
parameter inside ``f``. ``gradient_samples`` returns the per-draw estimates for variance studies.
``function`` compiles such graphs so that every call draws afresh.

Two supports (each estimator declares its own, ``Estimator.support``):

- Bernoulli: ``logits (..., k)``; ``f`` maps float bits ``(N, ..., k)`` (0.0 or 1.0) to
  ``(N, ...)``; gradients ``(S, ..., k)``.
- Categorical: ``logits (..., k, K)`` (``K >= 2``, static; any real logits, softmax is
  shift-invariant); ``f`` maps int64 category codes ``(N, ..., k)`` in ``0..K-1`` to
  ``(N, ...)``; gradients ``(S, ..., k, K)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from pymc.pytensorf import compile as pymc_compile
from pytensor.compile.builders import OpFromGraph
from pytensor.gradient import disconnected_grad, disconnected_type
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from pytensor.tensor.variable import TensorConstant, TensorVariable

from pmcgrad import streams
from pmcgrad.estimators import (
    BUILT_IN_ESTIMATORS,
    Estimator,
    NoiseDistribution,
    get_estimator,
    get_noise,
)
from pmcgrad.estimators.contract import (
    check_draw_result,
    checked_bits,
    checked_gradient,
    checked_shape,
    checked_value,
)
from pmcgrad.estimators.enumeration import DEFAULT_EXACT_LIMIT, check_enumeration_size
from pmcgrad.estimators.support import BERNOULLI, nan_rows, variable_ndim
from pmcgrad.streams import shared_rng

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "EstimatorOp",
    "GradientSamples",
    "compile",
    "expectation",
    "function",
    "gradient_samples",
    "share_large_constants",
    "shared_rng",
]

LatentFunction = Callable[[TensorVariable], TensorVariable]
# Constant arrays of at least this many bytes are passed to a compiled function as shared
# variables: Numba freezes a constant into the machine code, which compiles slowly for
# megabytes (a 50,000-row model's index tables) and cannot be cached on disk.
LARGE_CONSTANT_BYTES = 1 << 16
# The noise an estimator with uses_noise=True gets when none is named.
_DEFAULT_NOISE = "logistic"


class GradientSamples(NamedTuple):
    """Per-draw output of :func:`gradient_samples`.

    ``gradients``: ``(S, *logits.shape)`` one estimate of ``grad_logits E[f]`` per draw.
    ``value``: ``(...)`` the Monte Carlo estimate of ``E[f]``.
    ``evaluations``: f-evaluations spent by all ``S`` draws (an int when k is static).
    """

    gradients: TensorVariable
    value: TensorVariable
    evaluations: int | TensorVariable


class EstimatorOp(OpFromGraph):
    """``E[f]`` from precomputed f-values, with the estimator's gradient as its pullback.

    Inputs: ``logits``, the estimator's noise tensors ``(S, *logits.shape)`` and the f-values
    ``(E, S, ...)``. Output: the estimate ``(...)``.
    """

    def __init__(self, *args, samples: int, **kwargs):
        self.samples = samples
        super().__init__(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.name}{{samples={self.samples}}}"


def share_large_constants(outputs: list, min_bytes: int = LARGE_CONSTANT_BYTES) -> list:
    """``outputs`` with every tensor constant of at least ``min_bytes`` among their ancestors
    replaced by a shared variable of the same type and value (the graphs are cloned; the
    originals are unchanged)."""
    replace = {var: pytensor.shared(var.data, shape=var.type.shape, name=var.name)
               for var in ancestors(outputs)
               if isinstance(var, TensorConstant) and var.data.nbytes >= min_bytes}
    return graph_replace(outputs, replace, strict=False) if replace else list(outputs)


def function(inputs, outputs, *, updates=None, mode=None, **kwargs) -> pytensor.compile.Function:
    """``pytensor.function`` that advances every random stream in the graph on each call.

    A plain ``pytensor.function`` without these updates would repeat the same draws. This is
    PyMC's ``compile`` without its reseeding (the seed given to ``expectation`` stays in force),
    plus the updates of pmcgrad's counter streams (:func:`pmcgrad.streams.function_updates`).
    Large constants become shared variables (:func:`share_large_constants`).
    """
    single = not isinstance(outputs, list | tuple)
    outputs = share_large_constants([outputs] if single else list(outputs))
    outputs = outputs[0] if single else outputs
    updates = streams.function_updates(outputs, updates)
    return pymc_compile(inputs, outputs, random_seed=False, mode=mode, updates=updates, **kwargs)


def compile(inputs, outputs, **kwargs) -> pytensor.compile.Function:
    """Deprecated name of :func:`function` (it shadowed the builtin ``compile``).

    Emits a ``FutureWarning``; it will be removed after one round.
    """
    warnings.warn(
        "pmcgrad.compile is deprecated and will be removed; use pmcgrad.function, which "
        "takes the same arguments",
        FutureWarning,
        stacklevel=2,
    )
    return function(inputs, outputs, **kwargs)


def expectation(
    f: LatentFunction,
    logits,
    estimator: str | Estimator = "disarm",
    samples: int = 1,
    rng=None,
    *,
    noise: str | NoiseDistribution | None = None,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> TensorVariable:
    """Monte Carlo estimate of ``E_q[f]`` as one named op, with the estimator as its gradient.

    ``q`` is ``Bernoulli(sigmoid(logits))`` per coordinate for a Bernoulli estimator, and
    ``Categorical(softmax(logits))`` per variable for a categorical one (``Estimator.support``).

    Parameters
    ----------
    f
        Bernoulli: maps float bits ``(N, ..., k)`` (0.0 or 1.0) to values ``(N, ...)``.
        Categorical: maps int64 category codes ``(N, ..., k)`` (``0 .. K-1``) to ``(N, ...)``.
    logits
        Bernoulli: ``(k,)`` or ``(..., k)``. Categorical: ``(k, K)`` or ``(..., k, K)`` with a
        static ``K >= 2``; any real values (softmax is shift-invariant). With leading batch
        dimensions each batch row is scored against that row's f-value only. A NaN logit makes
        that row's value and gradient NaN; +-inf logits are taken as limits.
    estimator
        A registered name (``pmcgrad.estimator_names(support=...)``) or an ``Estimator``.
    samples
        Draws ``S`` (an int >= the estimator's ``min_samples``); an estimator with ``E``
        evaluations per draw calls f on ``E * S`` inputs. Ignored by the exact estimators.
    rng
        A seed (None, a non-negative int, a ``numpy.random.Generator``) or a shared stream
        (``pmcgrad.shared_rng``). Compile with :func:`pmcgrad.function` (or pass its updates)
        to draw afresh on every call.
    noise
        Noise distribution (registered name or ``NoiseDistribution``) for the estimators that
        use one (``noise_score``, ``antithetic_noise``; default ``"logistic"``). Other
        estimators check it and do not see it.
    exact_limit
        The exact estimators enumerate at most ``2^exact_limit`` configurations: ``k`` bits up
        to ``exact_limit``, or ``K^k <= 2^exact_limit`` categorical codes.

    Returns
    -------
    A variable of shape ``(...)`` (a scalar for one row of logits). Its gradient with respect to
    ``logits`` is the estimator; with respect to parameters inside ``f`` it is pathwise.
    """
    pieces = _build(f, logits, estimator, samples, rng, noise, exact_limit)
    est, noise_dist, support = pieces.estimator, pieces.noise, pieces.estimator.support
    inner_logits = pieces.logits.type()
    inner_noise = [tensor.type() for tensor in pieces.noise_tensors]
    inner_fvals = pieces.fvals.type()

    def pullback(inputs, outputs, output_grads):
        logits_in, *noise_in, fvals_in = inputs
        (cotangent,) = output_grads
        per_draw = checked_gradient(est, logits_in, tuple(noise_in), fvals_in, noise_dist,
                                    pieces.samples, run_time=pieces.run_time)
        padded = pt.shape_padright(cotangent, logits_in.ndim - cotangent.ndim)
        logits_grad = _nan_guard(padded * per_draw.mean(axis=0), logits_in, support)
        # The value is linear in the f-values; its weights give the pathwise gradient.
        pathwise = (est.value(disconnected_grad(logits_in), fvals_in) * cotangent).sum()
        fvals_grad = pytensor.grad(pathwise, fvals_in)
        return [logits_grad, *(disconnected_type() for _ in noise_in), fvals_grad]

    op = EstimatorOp(
        [inner_logits, *inner_noise, inner_fvals],
        [_nan_guard(checked_value(est, inner_logits, inner_fvals, run_time=pieces.run_time),
                    inner_logits, support)],
        pullback=pullback,
        connection_pattern=[[True], *([False] for _ in inner_noise), [True]],
        inline=True,
        name=est.op_name,
        samples=pieces.samples,
        on_unused_input="ignore",
    )
    return op(pieces.logits, *pieces.noise_tensors, pieces.fvals)


def gradient_samples(
    f: LatentFunction,
    logits,
    estimator: str | Estimator = "disarm",
    samples: int = 1,
    rng=None,
    *,
    noise: str | NoiseDistribution | None = None,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> GradientSamples:
    """Per-draw gradient estimates, as optax's ``score_function_jacobians`` returns them.

    Same arguments as :func:`expectation`. Returns ``GradientSamples(gradients
    (S, *logits.shape), value (...), evaluations)``; the exact estimators return a single
    "draw" (``S = 1``).
    """
    pieces = _build(f, logits, estimator, samples, rng, noise, exact_limit)
    est, support = pieces.estimator, pieces.estimator.support
    logits_const = disconnected_grad(pieces.logits)
    gradients = checked_gradient(est, logits_const, pieces.noise_tensors, pieces.fvals,
                                 pieces.noise, pieces.samples, run_time=pieces.run_time)
    value = checked_value(est, logits_const, pieces.fvals, run_time=pieces.run_time)
    return GradientSamples(_nan_guard(gradients, pieces.logits, support, leading=1),
                           _nan_guard(value, pieces.logits, support), pieces.evaluations)


class _Pieces(NamedTuple):
    estimator: Estimator
    noise: NoiseDistribution
    logits: TensorVariable
    noise_tensors: tuple[TensorVariable, ...]
    fvals: TensorVariable  # [E, S, ...]
    samples: int
    evaluations: int | TensorVariable
    run_time: bool  # check symbolic shapes when the graph runs (user estimators only)


def _build(f, logits, estimator, samples, rng, noise, exact_limit) -> _Pieces:
    """Validate every argument, draw the noise, build the inputs of f and evaluate f once on
    all of them. Everything is checked here, before anything is compiled."""
    est = get_estimator(estimator)
    if not callable(f):
        raise TypeError(f"f must be a callable that maps the latents to values; got {f!r}")
    samples = _check_samples(est, samples)
    exact_limit = _check_exact_limit(exact_limit)
    noise_dist = get_noise(_DEFAULT_NOISE if noise is None else noise)
    if est.uses_noise:
        est.check_noise(noise_dist)
    logits = _as_logits(logits, est)
    k, categories = _sizes(logits, est.support)
    if est.enumerates:
        check_enumeration_size(est.name, k, categories, exact_limit)
        samples = 1
    rng = shared_rng(rng)
    # A user's estimator also gets its symbolic shapes checked when the graph runs; the
    # built-in ones are tested, and their graphs are left free to fuse.
    run_time = not any(est is built_in for built_in in BUILT_IN_ESTIMATORS)

    start = streams.draw_start(rng)
    shape = (samples, *_shape_of(logits))
    try:
        drawn = est.draw(start, shape, logits.dtype, *est.noise_arguments(noise_dist))
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
    next_rng, noise_tensors = check_draw_result(est, drawn, shape, run_time=run_time)
    if noise_tensors:
        streams.record_draw(rng, next_rng)

    # The inputs of f are built from constant logits: they are thresholds, and the estimator,
    # not autodiff, supplies every logit gradient.
    bits = checked_bits(est, disconnected_grad(logits), noise_tensors, noise_dist, samples,
                        run_time=run_time)
    groups = bits.shape[0]
    variable_shape = _shape_of(logits)[: variable_ndim(logits.ndim, est.support)]
    flat_bits = bits.reshape((groups * samples, *variable_shape))  # [E * S, ..., k]
    fvals = _evaluate(f, flat_bits, logits, est.support)  # [E * S, ...]
    fvals = fvals.reshape((groups, samples, *variable_shape[:-1]))  # [E, S, ...]

    if k is None:
        evaluations = groups * samples
    else:
        evaluations = samples * est.evaluations(k, categories)
    # Build the gradient once now, so that a wrong shape fails here, not when grad is taken.
    checked_gradient(est, disconnected_grad(logits), tuple(noise_tensors), fvals, noise_dist,
                     samples, run_time=False)
    return _Pieces(est, noise_dist, logits, tuple(noise_tensors), fvals, samples, evaluations,
                   run_time)


def _as_logits(logits, est: Estimator) -> TensorVariable:
    try:
        logits = pt.as_tensor_variable(logits)
    except (TypeError, ValueError, NotImplementedError) as error:
        raise TypeError(f"logits must be a tensor or an array of floats; got {logits!r} "
                        f"({error})") from None
    if logits.dtype not in ("float32", "float64"):
        raise TypeError(
            f"logits must be float32 or float64, got dtype {logits.dtype}; "
            "cast them, e.g. pt.as_tensor_variable(logits).astype('float64')"
        )
    if est.support == BERNOULLI:
        if logits.ndim < 1:
            raise ValueError("logits must have at least one dimension (..., k); got a scalar")
        return logits
    if logits.ndim < 2:
        raise ValueError(
            f"estimator {est.name!r} is categorical: logits must have shape (..., k, K), one "
            f"row of K category logits per variable; got {logits.ndim} dimension(s), shape "
            f"{_shape_text(logits)}"
        )
    categories = logits.type.shape[-1]
    if categories is None:
        raise ValueError(
            f"estimator {est.name!r} needs a static number of categories K, the last dimension "
            f"of logits {_shape_text(logits)}; give it a known shape (e.g. pt.specify_shape)"
        )
    if categories < 2:
        raise ValueError(
            f"estimator {est.name!r}: a categorical variable needs K >= 2 categories; logits "
            f"of shape {_shape_text(logits)} have K={categories}"
        )
    return logits


def _sizes(logits: TensorVariable, support: str) -> tuple[int | None, int]:
    """``(k, K)``: the static number of variables (or None) and of categories (2 for bits)."""
    if support == BERNOULLI:
        return logits.type.shape[-1], 2
    return logits.type.shape[-2], logits.type.shape[-1]


def _check_samples(est: Estimator, samples) -> int:
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise TypeError(f"samples must be an int, got samples={samples!r} "
                        f"({type(samples).__name__})")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got samples={int(samples)}")
    if samples < est.min_samples:
        raise ValueError(
            f"estimator {est.name!r} needs samples >= {est.min_samples}, got samples={samples}"
        )
    return int(samples)


def _check_exact_limit(exact_limit) -> int:
    if isinstance(exact_limit, bool) or not isinstance(exact_limit, int | np.integer):
        raise TypeError(f"exact_limit must be an int (log2 of the most configurations to "
                        f"enumerate), got exact_limit={exact_limit!r} "
                        f"({type(exact_limit).__name__})")
    if exact_limit < 0:
        raise ValueError(f"exact_limit must be >= 0, got exact_limit={int(exact_limit)}")
    return int(exact_limit)


def _nan_guard(tensor: TensorVariable, logits: TensorVariable, support: str,
               leading: int = 0) -> TensorVariable:
    """``tensor`` with NaN in every batch row whose logits hold a NaN.

    A NaN logit would otherwise read as ``p = 0`` (``u < sigmoid(nan)`` is false) and give a
    finite, wrong value. ``tensor`` has ``leading`` axes (the draws) before the batch axes, and
    any number after them.
    """
    rows = nan_rows(logits, support)  # [...]
    mask = pt.shape_padright(rows, tensor.ndim - leading - rows.ndim)
    return pt.switch(mask, np.asarray(np.nan, dtype=tensor.dtype), tensor)


def _evaluate(f: LatentFunction, flat_bits: TensorVariable, logits: TensorVariable,
              support: str) -> TensorVariable:
    """Call f and check, at graph build, that it returns one value per input."""
    fvals = pt.as_tensor_variable(f(flat_bits))
    inputs = "bits" if support == BERNOULLI else "category codes"
    expected_ndim = flat_bits.ndim - 1  # (N, ...) for inputs of shape (N, ..., k)
    expected = ("N", *flat_bits.type.shape[1:-1])
    if fvals.ndim != expected_ndim:
        raise ValueError(
            f"f must map {inputs} of shape (N, ..., k) = {_shape_text(flat_bits)} to one value "
            f"per vector, shape {_shape_text(expected)}; it returned shape {_shape_text(fvals)}"
        )
    static_in = flat_bits.type.shape[:-1]
    for got, want in zip(fvals.type.shape, static_in, strict=True):
        if got is not None and want is not None and got != want:
            raise ValueError(
                f"f returned shape {_shape_text(fvals)} for {inputs} of shape "
                f"{_shape_text(flat_bits)}; expected {_shape_text(static_in)}"
            )
    if fvals.dtype not in ("float32", "float64"):
        fvals = fvals.astype(logits.dtype)
    # Pin the shape so a mismatch the static check could not see fails at run time.
    return checked_shape(fvals, flat_bits.type.shape[:-1], "f")


def _shape_of(tensor: TensorVariable) -> tuple:
    """Each dimension as an int when known at graph build, else as a symbolic size."""
    return tuple(size if size is not None else tensor.shape[axis]
                 for axis, size in enumerate(tensor.type.shape))


def _shape_text(value) -> str:
    shape = value.type.shape if hasattr(value, "type") else value
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
