"""All of pmcgrad's randomness: counter-based streams, how draws chain, the updates that
:func:`pmcgrad.function` adds, and seed derivation.

Streams: uniform numbers as a hash of (key, counter), inside the graph.

Why not PyTensor's ``RandomVariable``s: under the Numba backend a compiled call that takes a
NumPy ``Generator`` pays about 20 us to pass it in and back out, whatever the draw's size
(``benchmarks/estimator_overhead``); at k <= 256 that was most of an estimator's cost. A
stream is a shared ``uint64`` vector ``(key, counter)``. Number ``i`` of a draw of ``n`` is
SplitMix64's output for the Weyl state ``key + (counter + i) * gamma`` (Steele, Lea and Flood
2014), which passes BigCrush; the draw moves the counter on by ``n``. The hash is plain
elementwise integer arithmetic, so it fuses with the estimator's own loops and gives the same
numbers under Numba, C and JAX.

Draws on one stream chain: each starts where the previous one built on that stream ended, so
two estimates in one graph never share noise. :func:`stream_updates` finds, for a compiled
graph, the furthest state of each stream it used; :func:`function_updates` adds them to a
caller's updates, and ``pmcgrad.function`` applies them.

Every draw function also accepts a PyTensor ``RandomGeneratorType`` variable, and then draws
with PyTensor's own ``RandomVariable`` (NumPy's algorithms), as earlier versions did. Such a
shared Generator chains by the same rule (:func:`draw_start`, :func:`record_draw`), and PyMC's
``compile`` collects its updates.

Seeds: :func:`spawn_seeds` derives independent ``SeedSequence`` children from any seed PyMC
accepts as ``random_seed``; :func:`stream_state` turns one seed into a stream's state.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.builders import OpFromGraph
from pytensor.graph.traversal import ancestors
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.random.type import RandomGeneratorType
from pytensor.tensor.variable import TensorVariable

__all__ = [
    "SeedLike",
    "draw_start",
    "exponential",
    "function_updates",
    "is_stream",
    "normal",
    "numpy_rng",
    "record_draw",
    "shared_rng",
    "shared_stream",
    "spawn_seeds",
    "stream_state",
    "stream_updates",
    "uniform",
]

#: What a seed may be, as PyMC's ``random_seed``: None (fresh entropy), a non-negative int or
#: NumPy integer, a NumPy ``Generator`` (one number is drawn from it) or a ``SeedSequence``.
SeedLike = int | np.integer | np.random.Generator | np.random.SeedSequence | None

_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's Weyl increment, 2^64 / golden ratio, odd
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
# Random bits kept per float: the largest count whose (m + 1/2) / 2^bits stays below 1 in the
# dtype, so every number lies strictly inside (0, 1).
_MANTISSA_BITS = {"float64": 52, "float32": 23}
# A draw of at most this many numbers hashes the counters of one constant range, which fuses
# into the hashing loop; larger draws add one short range per axis (see _flat_index).
_CONSTANT_RANGE_LIMIT = 2**16  # 512 KiB of uint64: small enough for Numba's on-disk cache

# Per stream (the shared variable), the state after its latest draw in graphs built so far.
_LATEST_STATE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Per shared PyTensor Generator, the newest RNG output of the draws built on it so far.
_LATEST_GENERATOR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def spawn_seeds(random_seed: SeedLike, n: int, *, name: str = "random_seed"
                ) -> list[np.random.SeedSequence]:
    """``n`` independent ``SeedSequence`` children of ``random_seed``.

    ``random_seed`` is what PyMC accepts: ``None`` (fresh entropy), a non-negative int or NumPy
    integer, a ``SeedSequence``, or a NumPy ``Generator`` (one number is drawn from it, so the
    Generator advances, as in PyMC). An int gives exactly ``SeedSequence(seed).spawn(n)``.
    Each child seeds a stream (:func:`shared_rng`) or a ``numpy.random.default_rng``.

    Raises ``TypeError`` for any other type and ``ValueError`` for a negative seed or ``n``,
    naming the argument ``name`` and the value.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return _seed_sequence(random_seed, name).spawn(int(n))


def numpy_rng(seed: SeedLike = None, *, name: str = "random_seed") -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` (the same numbers) for a :data:`SeedLike`, refusing
    what :func:`spawn_seeds` refuses, naming the argument ``name`` and the value."""
    if seed is not None and not isinstance(seed, np.random.Generator | np.random.SeedSequence):
        _seed_sequence(seed, name)
    return np.random.default_rng(seed)


def stream_state(seed: SeedLike = None, *, name: str = "rng") -> np.ndarray:
    """The ``(key, counter)`` of a fresh stream from a seed (:data:`SeedLike`).

    A ``Generator`` gives one number drawn from it; anything else goes through a
    ``SeedSequence``. Errors name the argument ``name`` and the value.
    """
    if isinstance(seed, np.random.Generator):
        key = seed.integers(0, 2**64, dtype=np.uint64)
    else:
        key = _seed_sequence(seed, name).generate_state(1, dtype=np.uint64)[0]
    return np.array([key, 0], dtype=np.uint64)


def shared_stream(seed: SeedLike = None, name: str = "pmcgrad_rng"
                  ) -> pytensor.compile.SharedVariable:
    """A shared stream variable seeded by :func:`stream_state`."""
    return pytensor.shared(stream_state(seed), name=name, shape=(2,))


def shared_rng(rng=None, *, name: str = "rng") -> pytensor.compile.SharedVariable:
    """A shared random stream from a seed (:data:`SeedLike`).

    A stream is a ``uint64`` ``(key, counter)`` vector: its draws cost no per-call overhead,
    and every backend gives the same numbers. A shared stream or a shared PyTensor
    ``Generator`` variable passes through unchanged (the latter draws through PyTensor's
    ``RandomVariable``s). ``name`` is the argument named in errors.
    """
    if is_stream(rng) or _is_generator(rng):
        return rng
    if _is_variable(rng):
        raise TypeError(
            f"{name} must be a seed, a numpy Generator, a pmcgrad stream (pmcgrad.shared_rng) "
            f"or a shared PyTensor Generator; got the variable {rng!r} of type {rng.type}"
        )
    return pytensor.shared(stream_state(rng, name=name), name="pmcgrad_rng", shape=(2,))


def is_stream(variable) -> bool:
    """Whether ``variable`` is a stream state: a ``uint64`` vector of length 2."""
    var_type = getattr(variable, "type", None)
    return (getattr(var_type, "dtype", None) == "uint64"
            and getattr(var_type, "shape", None) in ((2,), (None,)))


def draw_start(rng):
    """Where the next draw on ``rng`` must start: the chaining rule.

    Two estimates built on one shared RNG must draw different noise, not the same noise twice,
    and one update per RNG must cover all its draws. A stream chains by itself (each
    :func:`uniform` starts after the stream's latest draw), so it is returned as is; a shared
    Generator starts from the newest output recorded by :func:`record_draw`.
    """
    if is_stream(rng):
        return rng
    return _LATEST_GENERATOR.get(rng, rng)


def record_draw(rng, next_rng) -> None:
    """Record ``next_rng`` as the newest state of the shared Generator ``rng`` (no-op for a
    stream, which records its own draws)."""
    if _is_generator(rng) and next_rng is not rng:
        _LATEST_GENERATOR[rng] = next_rng


def function_updates(outputs, updates=None) -> dict:
    """``updates`` plus, for every stream that ``outputs`` (or the updates) draw from, its
    furthest state: what ``pmcgrad.function`` passes on, so that every call draws afresh.

    A caller's own update of a stream wins. Shared Generators are left to PyMC's ``compile``,
    which collects their updates itself.
    """
    updates = dict(updates or {})
    listed = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
    for stream, state in stream_updates([*listed, *updates.values()]).items():
        updates.setdefault(stream, state)
    return updates


class StreamAdvance(OpFromGraph):
    """``(key, counter) -> (key, counter + n)``: marks a draw, so that :func:`stream_updates`
    can find it after graph rewrites and clones (it is inlined when compiled)."""


def uniform(rng, shape, dtype: str = "float64", low: float = 0.0, high: float = 1.0
            ) -> tuple[TensorVariable, TensorVariable]:
    """``U(low, high)`` of ``shape``, strictly inside the interval; returns ``(next_rng, u)``."""
    if _is_generator(rng):
        return pt.random.uniform(low, high, size=shape, rng=rng, dtype=dtype,
                                 return_next_rng=True)
    next_state, u = _draw_unit(rng, shape, dtype)
    if (low, high) != (0.0, 1.0):
        u = pt.cast(low + (high - low) * u, dtype)
    return next_state, u


def exponential(rng, shape, dtype: str = "float64") -> tuple[TensorVariable, TensorVariable]:
    """``Exp(1)`` of ``shape``, by inversion; returns ``(next_rng, e)``."""
    if _is_generator(rng):
        return pt.random.exponential(1.0, size=shape, rng=rng, dtype=dtype,
                                     return_next_rng=True)
    next_state, u = _draw_unit(rng, shape, dtype)
    return next_state, -pt.log(u)


def normal(rng, shape, dtype: str = "float64") -> tuple[TensorVariable, TensorVariable]:
    """Standard normal of ``shape`` (Box-Muller on two uniform draws); ``(next_rng, z)``."""
    if _is_generator(rng):
        return pt.random.normal(0.0, 1.0, size=shape, rng=rng, dtype=dtype,
                                return_next_rng=True)
    rng, radius = _draw_unit(rng, shape, dtype)
    next_state, angle = _draw_unit(rng, shape, dtype)
    z = pt.sqrt(-2.0 * pt.log(radius)) * pt.cos(2.0 * math.pi * angle)
    return next_state, pt.cast(z, dtype)


def stream_updates(outputs) -> dict:
    """``{stream: its furthest state}`` for each stream that ``outputs`` draw from."""
    furthest: dict = {}
    for variable in ancestors(list(outputs)):
        node = variable.owner
        if node is None or not isinstance(node.op, StreamAdvance):
            continue
        root, depth = _root_and_depth(variable)
        if root not in furthest or depth > furthest[root][1]:
            furthest[root] = (variable, depth)
    return {root: state for root, (state, _) in furthest.items()}


def _is_generator(rng) -> bool:
    return isinstance(getattr(rng, "type", None), RandomGeneratorType)


def _is_variable(value) -> bool:
    return hasattr(value, "type") and hasattr(value, "owner")


def _seed_sequence(seed, name: str) -> np.random.SeedSequence:
    """A ``SeedSequence`` from any :data:`SeedLike`, refusing what PyMC would refuse."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        # As PyMC does with a Generator random_seed: draw the entropy from it.
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"{name} must be None, a non-negative int, a numpy Generator or a SeedSequence; "
            f"got {seed!r} of type {type(seed).__name__}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int seed, got {name}={int(seed)}")
    return np.random.SeedSequence(int(seed))


def _root_and_depth(state):
    depth = 0
    while state.owner is not None and isinstance(state.owner.op, StreamAdvance):
        state, depth = state.owner.inputs[0], depth + 1
    return state, depth


def _draw_unit(rng, shape, dtype) -> tuple[TensorVariable, TensorVariable]:
    """``n = prod(shape)`` numbers in (0, 1) from the state after the stream's latest draw."""
    if not is_stream(rng):
        raise TypeError(
            "a pmcgrad draw needs a stream (pmcgrad.shared_rng(seed)) or a PyTensor shared "
            f"Generator; got {rng!r} of type {getattr(rng, 'type', type(rng))}"
        )
    if dtype not in _MANTISSA_BITS:
        raise TypeError(f"uniform draws are float32 or float64, got dtype {dtype!r}")
    root, _ = _root_and_depth(rng)
    start = _LATEST_STATE.get(root, rng)
    shape = tuple(shape)
    n = pt.prod(pt.as_tensor_variable([pt.as_tensor_variable(s) for s in shape]))
    n = pt.cast(n, "uint64")
    next_state = _advance(start, n)
    _LATEST_STATE[root] = next_state
    # The numbers hash the counters just passed, read off next_state, so that the draw is
    # downstream of it and stream_updates sees every draw a graph makes.
    # The hash runs on the flattened counters: PyTensor fuses the whole chain into one loop
    # over a 1-d input, but splits it into many loops when the input broadcasts.
    counter = _flat_index(next_state[1] - n, shape)
    hashed = _splitmix64(next_state[0] + _times(counter, _GAMMA))
    bits = _MANTISSA_BITS[dtype]
    mantissa = hashed // _u64(2 ** (64 - bits))
    u = (mantissa.astype(dtype) + np.asarray(0.5, dtype)) * np.asarray(2.0**-bits, dtype)
    return next_state, u.reshape(shape)


def _flat_index(base, shape):
    """``base`` plus the row-major position of every element of ``shape``, flattened.

    A draw of a known size up to ``_CONSTANT_RANGE_LIMIT`` adds one range, which PyTensor
    folds into a constant that fuses into the hashing loop. Larger draws, and draws whose size
    is known only at run time, add one range per axis (:func:`_index_by_axis`): a Numba
    function holding a constant above 1 MB cannot be cached on disk. (A 1-d draw's one axis
    is still one range, so a 1-d draw of more than 2^17 numbers is not cached.)
    """
    base = pt.cast(base, "uint64")
    sizes = [_static_size(size) for size in shape]
    if None not in sizes and math.prod(sizes) <= _CONSTANT_RANGE_LIMIT:
        return base + pt.arange(math.prod(sizes), dtype="uint64")
    return _index_by_axis(base, shape).reshape((-1,))


def _static_size(size) -> int | None:
    """An axis length known when the graph is built, or ``None``."""
    try:
        return int(pt.get_underlying_scalar_constant_value(pt.as_tensor_variable(size)))
    except NotScalarConstantError:
        return None


def _index_by_axis(base, shape):
    """``base`` plus the row-major positions, as a sum of one range per axis.

    Every constant stays as short as an axis, at the price of a loop of its own: PyTensor does
    not fuse the broadcasting sum into the hashing loop (0.2-0.5 us more a call at n = 512-1536).
    """
    index, stride = base, None
    for axis in reversed(range(len(shape))):
        size = pt.as_tensor_variable(shape[axis])
        positions = pt.arange(size).astype("uint64")
        if stride is not None:
            positions = positions * stride
        index = pt.shape_padright(positions, len(shape) - 1 - axis) + index
        stride = pt.cast(size, "uint64") if stride is None else stride * pt.cast(size, "uint64")
    return index


def _advance(state, n):
    inner_state = state.type()
    inner_n = pt.scalar(dtype="uint64")
    advanced = pt.inc_subtensor(inner_state[1], inner_n)
    op = StreamAdvance([inner_state, inner_n], [advanced], inline=True, name="StreamAdvance")
    return op(state, n)


def _splitmix64(z):
    z = _times(z ^ (z // _u64(2**30)), _MIX1)
    z = _times(z ^ (z // _u64(2**27)), _MIX2)
    return z ^ (z // _u64(2**31))


def _times(z, constant: int):
    """``z * constant mod 2^64``. The constant goes in as 32-bit halves: PyTensor's rewrites
    round a ``uint64`` constant above 2^53 through float64 (seen in PyTensor 3.3)."""
    low, high = constant & 0xFFFFFFFF, constant >> 32
    return z * _u64(low) + (z * _u64(high)) * _u64(2**32)


def _u64(value: int):
    return pt.constant(np.uint64(value), dtype="uint64")
