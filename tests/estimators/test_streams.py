"""The counter-based random streams: exact SplitMix64 numbers, their laws, chaining, updates."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest
from scipy import stats

import pmcgrad
from pmcgrad import streams

GAMMA, MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def splitmix64_uniforms(key: int, counter: int, n: int, bits: int = 52) -> np.ndarray:
    """The reference: SplitMix64 written with NumPy's shifts, ``(m + 1/2) / 2^bits``."""
    u64 = np.uint64
    with np.errstate(over="ignore"):
        z = u64(key) + (u64(counter) + np.arange(n, dtype=u64)) * u64(GAMMA)
        z = (z ^ (z >> u64(30))) * u64(MIX1)
        z = (z ^ (z >> u64(27))) * u64(MIX2)
        z = z ^ (z >> u64(31))
    return ((z >> u64(64 - bits)).astype(np.float64) + 0.5) * 2.0**-bits


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_uniforms_are_splitmix64_bit_for_bit_and_the_counter_advances(mode):
    stream = pmcgrad.shared_rng(5)
    key = int(stream.get_value()[0])
    _, u = streams.uniform(stream, (3, 7), "float64")
    draw = pmcgrad.function([], u, mode=mode)
    first, second = draw(), draw()
    np.testing.assert_array_equal(first.ravel(), splitmix64_uniforms(key, 0, 21))
    np.testing.assert_array_equal(second.ravel(), splitmix64_uniforms(key, 21, 21))
    assert stream.get_value()[1] == 42


def test_a_plain_pytensor_function_repeats_its_draws():
    """Only pmcgrad.function (or the updates it adds) advances a stream, as the README says."""
    stream = pmcgrad.shared_rng(1)
    _, u = streams.uniform(stream, (4,), "float64")
    plain = pytensor.function([], u)
    np.testing.assert_array_equal(plain(), plain())


def test_two_draws_on_one_stream_chain_and_one_update_covers_both():
    stream = pmcgrad.shared_rng(2)
    key = int(stream.get_value()[0])
    _, a = streams.uniform(stream, (5,), "float64")
    _, b = streams.uniform(stream, (3,), "float64")
    draw = pmcgrad.function([], [a, b])
    first_a, first_b = draw()
    np.testing.assert_array_equal(first_a, splitmix64_uniforms(key, 0, 5))
    np.testing.assert_array_equal(first_b, splitmix64_uniforms(key, 5, 3))
    second_a, _ = draw()
    np.testing.assert_array_equal(second_a, splitmix64_uniforms(key, 8, 5))


def test_float32_uniforms_stay_strictly_inside_the_unit_interval():
    stream = pmcgrad.shared_rng(3)
    _, u = streams.uniform(stream, (200_000,), "float32")
    values = pmcgrad.function([], u)()
    assert values.dtype == np.float32
    assert values.min() > 0 and values.max() < 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_extreme_uniforms_each_dtype_can_produce_stay_inside_the_unit_interval(dtype):
    """``(m + 1/2) / 2^bits`` for the smallest and largest mantissa ``m``, rounded to dtype."""
    bits = streams._MANTISSA_BITS[dtype]
    scale = np.asarray(2.0**-bits, dtype)
    smallest = np.asarray(0.5, dtype) * scale
    largest = (np.asarray(2**bits - 1, dtype) + np.asarray(0.5, dtype)) * scale
    assert 0 < smallest and largest < 1


@pytest.mark.parametrize(
    ("draw", "law"),
    [
        (streams.uniform, stats.uniform()),
        (streams.exponential, stats.expon()),
        (streams.normal, stats.norm()),
    ],
    ids=["uniform", "exponential", "normal"],
)
def test_draws_follow_their_law(draw, law):
    """Kolmogorov-Smirnov at n = 100000 (fixed seed) and the first two moments within 5 SE."""
    n = 100_000
    _, x = draw(pmcgrad.shared_rng(11), (n,), "float64")
    values = pmcgrad.function([], x)()
    assert stats.kstest(values, law.cdf).pvalue > 1e-3
    mean, var = law.mean(), law.var()
    assert abs(values.mean() - mean) < 5 * np.sqrt(var / n)
    fourth = law.moment(4) - 4 * mean * law.moment(3) + 6 * mean**2 * law.moment(2) - 3 * mean**4
    assert abs(values.var() - var) < 5 * np.sqrt((fourth - var**2) / n)


@pytest.mark.parametrize(
    "shape",
    [(4, 5), (3, 2**15), "symbolic"],
    ids=["one-constant-range", "range-per-axis", "size-known-at-run-time"],
)
def test_every_way_of_counting_a_draw_gives_the_same_numbers(shape):
    """Small draws count with one constant range, large or symbolic ones with a range per axis
    (``streams._flat_index``); both must give SplitMix64's numbers in row-major order."""
    stream = pmcgrad.shared_rng(8)
    key = int(stream.get_value()[0])
    inputs, values = [], ()
    if shape == "symbolic":
        rows = pytensor.tensor.iscalar("rows")
        shape, inputs, values = (rows, 7), [rows], (6,)
    _, u = streams.uniform(stream, shape, "float64")
    drawn = pmcgrad.function(inputs, u)(*values)
    np.testing.assert_array_equal(drawn.ravel(), splitmix64_uniforms(key, 0, drawn.size))


def test_seeds_give_independent_looking_streams():
    """Two seeds' uniforms are uncorrelated (|r| < 5 / sqrt(n)); one seed repeats exactly."""
    n = 50_000

    def first_draw(seed):
        _, u = streams.uniform(pmcgrad.shared_rng(seed), (n,), "float64")
        return pmcgrad.function([], u)()

    assert abs(np.corrcoef(first_draw(1), first_draw(2))[0, 1]) < 5 / np.sqrt(n)
    np.testing.assert_array_equal(first_draw(1), first_draw(1))


def test_a_generator_seed_and_bad_seeds():
    state = streams.stream_state(np.random.default_rng(0))
    assert state.dtype == np.uint64 and state[1] == 0
    np.testing.assert_array_equal(state, streams.stream_state(np.random.default_rng(0)))
    with pytest.raises(TypeError, match="rng must be None, a non-negative int"):
        pmcgrad.shared_rng("seven")
    with pytest.raises(TypeError, match="needs a stream"):
        streams.uniform(pytensor.shared(np.zeros(2)), (3,), "float64")


def test_the_split_exponential_pair_is_two_independent_exponentials():
    """``(s (1 - w), s w)`` from ``draw_exponential_pair_split``: each Exp(1) by KS, their
    correlation within 5 / sqrt(n) of 0, and ``1{e^phi e1 > e2} = 1{w < sigmoid(phi)}``."""
    from pmcgrad.estimators import draw_exponential_pair_split

    n = 100_000
    _, (s, w) = draw_exponential_pair_split(pmcgrad.shared_rng(12), (n,), "float64")
    total, share = pmcgrad.function([], [s, w])()
    e1, e2 = total * (1 - share), total * share
    for e in (e1, e2):
        assert stats.kstest(e, stats.expon().cdf).pvalue > 1e-3
    assert abs(np.corrcoef(e1, e2)[0, 1]) < 5 / np.sqrt(n)
    phi = 0.7
    np.testing.assert_array_equal(np.exp(phi) * e1 > e2, share < 1 / (1 + np.exp(-phi)))


# --- seed derivation
def test_spawn_seeds_from_an_int_is_seedsequence_spawn():
    """An int (or NumPy integer) gives exactly SeedSequence(seed).spawn(n)."""
    for seed in (7, np.int64(7), np.uint32(7)):
        children = streams.spawn_seeds(seed, 3)
        expected = np.random.SeedSequence(7).spawn(3)
        assert [c.generate_state(2).tolist() for c in children] == [
            e.generate_state(2).tolist() for e in expected]


def test_spawn_seeds_from_a_generator_advances_it_and_is_reproducible():
    """A Generator gives children drawn from it, as PyMC's random_seed does, and advances."""
    generator = np.random.default_rng(3)
    first = streams.spawn_seeds(generator, 2)
    second = streams.spawn_seeds(generator, 2)
    again = streams.spawn_seeds(np.random.default_rng(3), 2)
    assert first[0].generate_state(1) != second[0].generate_state(1)
    assert first[0].generate_state(1) == again[0].generate_state(1)
    assert len(streams.spawn_seeds(None, 4)) == 4
    # Each child seeds a stream or a NumPy Generator.
    pmcgrad.shared_rng(first[0])
    np.random.default_rng(first[1])


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (-1, ValueError, r"random_seed must be a non-negative int seed, got random_seed=-1"),
        (np.int64(-5), ValueError, r"got random_seed=-5"),
        (True, TypeError, r"random_seed must be None, a non-negative int.*True"),
        (2.5, TypeError, r"random_seed must be None, a non-negative int.*2\.5 of type float"),
        ("1", TypeError, r"random_seed must be None.*'1' of type str"),
    ],
)
def test_spawn_seeds_refuses_bad_seeds_naming_the_argument(seed, error, message):
    """Negative, boolean, float and string seeds are refused before anything is drawn."""
    with pytest.raises(error, match=message):
        streams.spawn_seeds(seed, 2)


def test_spawn_seeds_names_the_callers_argument_and_checks_n():
    """The name in the message is the caller's; n must be a non-negative int."""
    with pytest.raises(ValueError, match=r"seed must be a non-negative int seed, got seed=-3"):
        streams.spawn_seeds(-3, 1, name="seed")
    with pytest.raises(ValueError, match=r"n must be a non-negative int, got -1"):
        streams.spawn_seeds(0, -1)
    assert streams.spawn_seeds(0, np.int64(0)) == []


def test_shared_rng_refuses_a_variable_that_is_no_rng():
    """A tensor variable that is neither a stream nor a Generator is named."""
    with pytest.raises(TypeError, match=r"rng must be a seed, a numpy Generator, a pmcgrad "
                                        r"stream"):
        pmcgrad.shared_rng(pytensor.tensor.vector("x"))
