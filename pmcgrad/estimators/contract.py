"""The estimator contract: typed functions in one frozen record, and the checks of their shapes.

An estimator is three small pure functions of PyTensor variables, plus metadata:

1. ``draw(rng, shape, dtype)`` draws the noise of ``S`` draws and returns
   ``(next_rng, noise_tensors)``, a tuple of tensors each of ``shape = (S, *logits.shape)``.
2. ``bits(logits, noise_tensors)`` builds what ``f`` must see, stacked ``(E, S, ..., k)``:
   ``E`` evaluation groups of ``S`` draws (``E = 2`` for an antithetic pair). Float bits for a
   Bernoulli estimator, int64 category codes for a categorical one.
3. ``gradient(logits, noise_tensors, fvals)`` turns the ``(E, S, ...)`` values of ``f`` into one
   gradient estimate per draw, ``(S, *logits.shape)``.

``value(logits, fvals)`` is the Monte Carlo estimate of ``E[f]`` whose pathwise gradient flows
into ``f``'s own parameters; by default the mean over every evaluation.

An estimator with ``uses_noise=True`` (``noise_score``, ``antithetic_noise``) gets the noise
distribution as one more last argument of all three functions; no other estimator sees it.

``ops`` calls :func:`check_draw_result`, :func:`checked_bits`, :func:`checked_gradient` and
:func:`checked_value` when it builds a graph, so a function returning the wrong shape fails
then, naming the function, the shape it returned and the shape expected.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.raise_op import Assert
from pytensor.tensor.variable import TensorVariable

from pmcgrad.estimators.noise import NoiseDistribution
from pmcgrad.estimators.support import BERNOULLI, CATEGORICAL, SUPPORTS, variable_ndim

__all__ = [
    "KINDS",
    "Bits",
    "Draw",
    "Estimator",
    "Gradient",
    "NoiseBits",
    "NoiseDraw",
    "NoiseGradient",
    "NoiseTensors",
    "Value",
    "check_draw_result",
    "checked_bits",
    "checked_gradient",
    "checked_shape",
    "checked_value",
    "mean_value",
]

#: What an estimator is, for tables and the study: exact enumeration, a score-function
#: estimator on the latent itself, a score on a continuous reparameterisation of it, or an
#: estimator that couples several correlated evaluations per draw.
KINDS = ("exact", "score", "reparameterised", "antithetic")

NoiseTensors = tuple[TensorVariable, ...]


class Draw(Protocol):
    """``(rng, shape, dtype) -> (next_rng, noise_tensors)``, each tensor of ``shape``."""

    def __call__(self, rng: Variable, shape: tuple, dtype: str, /
                 ) -> tuple[Variable, NoiseTensors]: ...


class NoiseDraw(Protocol):
    """:class:`Draw` with the noise distribution as a last argument (``uses_noise=True``)."""

    def __call__(self, rng: Variable, shape: tuple, dtype: str, noise: NoiseDistribution, /
                 ) -> tuple[Variable, NoiseTensors]: ...


class Bits(Protocol):
    """``(logits, noise_tensors) -> (E, S, ..., k)``: what ``f`` is evaluated on."""

    def __call__(self, logits: TensorVariable, noise_tensors: NoiseTensors, /
                 ) -> TensorVariable: ...


class NoiseBits(Protocol):
    """:class:`Bits` with the noise distribution as a last argument."""

    def __call__(self, logits: TensorVariable, noise_tensors: NoiseTensors,
                 noise: NoiseDistribution, /) -> TensorVariable: ...


class Gradient(Protocol):
    """``(logits, noise_tensors, fvals (E, S, ...)) -> (S, *logits.shape)``, one per draw."""

    def __call__(self, logits: TensorVariable, noise_tensors: NoiseTensors,
                 fvals: TensorVariable, /) -> TensorVariable: ...


class NoiseGradient(Protocol):
    """:class:`Gradient` with the noise distribution as a last argument."""

    def __call__(self, logits: TensorVariable, noise_tensors: NoiseTensors,
                 fvals: TensorVariable, noise: NoiseDistribution, /) -> TensorVariable: ...


class Value(Protocol):
    """``(logits, fvals (E, S, ...)) -> (...)``: the Monte Carlo estimate of ``E[f]``."""

    def __call__(self, logits: TensorVariable, fvals: TensorVariable, /) -> TensorVariable: ...


def mean_value(logits: TensorVariable, fvals: TensorVariable) -> TensorVariable:
    """Mean of ``f`` over every evaluation, ``(E, S, ...) -> (...)``.

    Every evaluation group of the built-in sampling estimators is marginally a draw from ``q``,
    so the plain mean is an unbiased estimate of ``E[f]``.
    """
    return fvals.mean(axis=(0, 1))


@dataclass(frozen=True)
class Estimator:
    """A registered gradient estimator for ``grad_logits E_q[f]``.

    ``q`` is ``Bernoulli(sigmoid(logits))`` per coordinate (``support="bernoulli"``) or
    ``Categorical(softmax(logits))`` per variable (``support="categorical"``). The metadata
    fields are the rows of the README's and the report's estimator table.

    ``kind`` is one of :data:`KINDS`; ``evaluations_per_draw`` is an int or a function of
    ``k`` (Bernoulli) or of ``(k, K)`` (categorical); ``reduces_to`` names, for a categorical
    estimator, the Bernoulli estimator it equals in expectation at ``K = 2``.
    """

    name: str
    op_name: str
    kind: str
    unbiased: bool
    formula: str
    reference: str
    draw: Draw | NoiseDraw
    bits: Bits | NoiseBits
    gradient: Gradient | NoiseGradient
    support: str = BERNOULLI
    evaluations_per_draw: int | Callable[..., int] = 1
    min_samples: int = 1
    value: Value = mean_value
    uses_noise: bool = False
    needs_symmetric_noise: bool = False
    # True for an estimator that evaluates f on every configuration (capped by exact_limit).
    enumerates: bool = False
    evaluations_text: str = field(default="")
    reduces_to: str | None = None

    def __post_init__(self) -> None:
        for attribute in ("name", "op_name"):
            text = getattr(self, attribute)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"an estimator's {attribute} must be a non-empty string; "
                                 f"got {attribute}={text!r}")
        if not self.op_name.isidentifier():
            raise ValueError(f"op_name of {self.name!r} must be an identifier, such as "
                             f"'MyEstimator'; got {self.op_name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} of {self.name!r} is not one of {KINDS}")
        if self.support not in SUPPORTS:
            raise ValueError(
                f"support {self.support!r} of {self.name!r} is not one of {SUPPORTS}")
        if (isinstance(self.min_samples, bool) or not isinstance(self.min_samples, int)
                or self.min_samples < 1):
            raise ValueError(f"min_samples of {self.name!r} must be an int >= 1, "
                             f"got {self.min_samples!r}")
        noise = ("noise",) if self.uses_noise else ()
        _check_signature(self, "draw", ("rng", "shape", "dtype", *noise))
        _check_signature(self, "bits", ("logits", "noise_tensors", *noise))
        _check_signature(self, "gradient", ("logits", "noise_tensors", "fvals", *noise))
        _check_signature(self, "value", ("logits", "fvals"))

    @property
    def family(self) -> str:
        """The old name of :attr:`kind`, kept for one round: read ``kind`` instead."""
        return self.kind

    def evaluations(self, k: int, categories: int = 2) -> int:
        """f-evaluations spent per draw at ``k`` variables of ``categories`` categories."""
        per_draw = self.evaluations_per_draw
        if not callable(per_draw):
            return per_draw
        return per_draw(k) if self.support == BERNOULLI else per_draw(k, categories)

    @property
    def evaluations_label(self) -> str:
        """Human-readable f-evaluations per draw, for tables."""
        if self.evaluations_text:
            return self.evaluations_text
        return str(self.evaluations_per_draw)

    def check_noise(self, noise: NoiseDistribution) -> None:
        """Refuse a noise distribution this estimator cannot use."""
        if self.needs_symmetric_noise and not noise.symmetric:
            raise ValueError(
                f"estimator {self.name!r} needs a noise distribution symmetric about 0 "
                f"(its antithetic partner is -eps); {noise.name!r} is not symmetric"
            )

    def noise_arguments(self, noise: NoiseDistribution) -> tuple[NoiseDistribution, ...]:
        """``(noise,)`` for an estimator that uses noise, ``()`` for every other."""
        return (noise,) if self.uses_noise else ()


def check_draw_result(est: Estimator, result, shape: tuple, *, run_time: bool = True
                      ) -> tuple[Any, NoiseTensors]:
    """Check what ``est.draw`` returned: ``(next_rng, (tensor, ...))``, each of ``shape``.

    Returns the pair with each tensor pinned to ``shape`` (``run_time``: see
    :func:`checked_shape`).
    """
    where = _function_name(est, "draw")
    expected = "(next_rng, (tensor, ...)), each tensor of shape (S, *logits.shape)"
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise TypeError(f"{where} must return {expected}; it returned {_describe(result)}")
    next_rng, noise_tensors = result
    if not isinstance(noise_tensors, tuple | list) or not all(
            isinstance(tensor, Variable) for tensor in noise_tensors):
        raise TypeError(
            f"{where} must return {expected}; its second item is {_describe(noise_tensors)}. "
            "Wrap a single tensor in a tuple: return rng, (u,)"
        )
    noise_tensors = tuple(pt.as_tensor_variable(tensor) for tensor in noise_tensors)
    return next_rng, tuple(
        checked_shape(tensor, shape, f"{where}'s noise tensor {i}", run_time=run_time)
        for i, tensor in enumerate(noise_tensors))


def checked_bits(est: Estimator, logits: TensorVariable, noise_tensors: NoiseTensors,
                 noise: NoiseDistribution, samples: int, *, run_time: bool = True
                 ) -> TensorVariable:
    """Call ``est.bits`` and check ``(E, S, ..., k)`` and the dtype its support needs.

    Bernoulli bits come back as ``logits``' float dtype (booleans and integers are cast);
    categorical codes as int64 (a float dtype is refused).
    """
    bits = pt.as_tensor_variable(est.bits(logits, noise_tensors, *est.noise_arguments(noise)))
    where = _function_name(est, "bits")
    variable_shape = _variable_shape(logits, est.support)
    expected = ("E", samples, *variable_shape)
    if bits.ndim != len(expected):
        raise ValueError(
            f"{where} must return shape (E, S, ..., k) = {_text(expected)} (E evaluation "
            f"groups of S draws; E = 1 for one group: add it with [None]); it returned shape "
            f"{_text(bits)}"
        )
    bits = checked_shape(bits, (None, *expected[1:]), where, shown=expected, run_time=run_time)
    if est.support == CATEGORICAL:
        if not bits.dtype.startswith(("int", "uint")):
            raise TypeError(
                f"{where} must return integer category codes for a categorical estimator; "
                f"it returned dtype {bits.dtype}"
            )
        return bits.astype("int64")
    return bits if bits.dtype == logits.dtype else bits.astype(logits.dtype)


def checked_gradient(est: Estimator, logits: TensorVariable, noise_tensors: NoiseTensors,
                     fvals: TensorVariable, noise: NoiseDistribution, samples: int, *,
                     run_time: bool = True) -> TensorVariable:
    """Call ``est.gradient`` and check it returned ``(S, *logits.shape)``."""
    gradient = pt.as_tensor_variable(
        est.gradient(logits, noise_tensors, fvals, *est.noise_arguments(noise)))
    return checked_shape(gradient, (samples, *_shape_of(logits)),
                         _function_name(est, "gradient"), run_time=run_time)


def checked_value(est: Estimator, logits: TensorVariable, fvals: TensorVariable, *,
                  run_time: bool = True) -> TensorVariable:
    """Call ``est.value`` and check it returned one estimate per batch row, ``(...)``."""
    value = pt.as_tensor_variable(est.value(logits, fvals))
    batch = _variable_shape(logits, est.support)[:-1]
    return checked_shape(value, batch, _function_name(est, "value"), run_time=run_time)


def _check_signature(est: Estimator, attribute: str, arguments: Sequence[str]) -> None:
    """Refuse, at construction, a function that cannot be called with ``arguments``."""
    function = getattr(est, attribute)
    if not callable(function):
        raise TypeError(f"{attribute} of estimator {est.name!r} must be callable, "
                        f"got {function!r}")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin or C function: nothing to inspect
        return
    try:
        signature.bind(*arguments)
    except TypeError:
        note = (" (the noise distribution is passed only to estimators with uses_noise=True)"
                if "noise" in signature.parameters or est.uses_noise else "")
        raise TypeError(
            f"{_function_name(est, attribute)} must be callable as "
            f"{attribute}({', '.join(arguments)}); its signature is {signature}{note}"
        ) from None


def checked_shape(tensor: TensorVariable, expected: Sequence, where: str,
                  shown: Sequence | None = None, *, run_time: bool = True) -> TensorVariable:
    """``tensor``, checked against ``expected`` (ints, symbolic sizes, or None for any).

    Dimensions known when the graph is built are compared now, and pinned with
    ``specify_shape``. With ``run_time``, symbolic ones are checked when the graph runs, by an
    ``Assert`` that names ``where`` (PyTensor's rewrites may drop a ``specify_shape`` whose
    size is symbolic, and the tensor would then broadcast silently); without it they are not
    checked, and the graph is left as free to fuse as before. ``shown`` is the expected shape
    as the message writes it.
    """
    shown = expected if shown is None else shown
    if tensor.ndim != len(expected):
        raise ValueError(f"{where} returned shape {_text(tensor)}; expected {_text(shown)}")
    static, conditions = [], []
    for axis, (got, want) in enumerate(zip(tensor.type.shape, expected, strict=True)):
        if want is None or isinstance(want, int):
            if got is not None and want is not None and got != want:
                raise ValueError(
                    f"{where} returned shape {_text(tensor)}; expected {_text(shown)}")
            static.append(want)
        else:
            static.append(None)
            if run_time:
                conditions.append(pt.eq(tensor.shape[axis], want))
    tensor = pt.specify_shape(tensor, tuple(static))
    if conditions:
        message = f"{where} returned a shape other than the expected {_text(shown)}"
        tensor = Assert(message)(tensor, pt.all(pt.stack(conditions)))
    return tensor


def _variable_shape(logits: TensorVariable, support: str) -> tuple:
    return _shape_of(logits)[: variable_ndim(logits.ndim, support)]


def _shape_of(tensor: TensorVariable) -> tuple:
    """Each dimension as an int when known at graph build, else as a symbolic size."""
    return tuple(size if size is not None else tensor.shape[axis]
                 for axis, size in enumerate(tensor.type.shape))


def _text(value) -> str:
    shape = value.type.shape if hasattr(value, "type") else value
    parts = []
    for size in shape:
        parts.append("?" if size is None or isinstance(size, Variable) else str(size))
    return "(" + ", ".join(parts) + ")"


def _function_name(est: Estimator, attribute: str) -> str:
    function = getattr(est, attribute)
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return f"estimator {est.name!r}: its {attribute} function {name}"


def _describe(value) -> str:
    if isinstance(value, tuple | list):
        inner = ", ".join(type(item).__name__ for item in value)
        return f"a {type(value).__name__} of ({inner})"
    return f"a {type(value).__name__}"
