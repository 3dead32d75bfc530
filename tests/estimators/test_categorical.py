"""Categorical estimators: against enumeration, against the Bernoulli ones at K = 2, against
closed-form variances, at extreme logits, under every backend, and with bad input.

One graph is compiled per (estimator, K), with the logits and f's table as inputs, and reused
by every test that needs it (Numba compiles are the slow part).
"""

from __future__ import annotations

import functools
import io

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import pmcgrad
from pmcgrad import streams
from pmcgrad.estimators.coupled import ARM
from pmcgrad.estimators.race import ARSM, RACE_AR
from pmcgrad.estimators.reparam import AR
from tests.conftest import exact_table_gradient, table_function
from tests.estimators.helpers import (
    batched_table_function,
    code_index,
    exact_categorical,
    softmax,
    z_threshold,
)

CATEGORICAL = pmcgrad.estimator_names(support="categorical")
SAMPLING = [name for name in CATEGORICAL if not pmcgrad.get_estimator(name).enumerates]
VARIABLES = {2: 3, 3: 2, 4: 2}  # K -> k: the shapes each (estimator, K) graph is built for
SAMPLES = 40_000


@functools.cache
def _compiled(categories: int):
    """``(function(logits (R, k, K), table (R, K^k)), stream)``: one graph holding every
    categorical estimator, returning ``[gradients, value]`` for each in registry order."""
    k = VARIABLES[categories]
    logits = pt.tensor("logits", shape=(None, k, categories))
    table = pt.matrix("table", shape=(None, categories**k))
    f = batched_table_function(table, k, categories)
    stream = pmcgrad.shared_rng(0)
    outputs = []
    for name in CATEGORICAL:
        samples = 1 if pmcgrad.get_estimator(name).enumerates else SAMPLES
        draws = pmcgrad.gradient_samples(f, logits, name, samples=samples, rng=stream)
        outputs += [draws.gradients, draws.value]
    return pmcgrad.function([logits, table], outputs), stream


_RESULTS: dict = {}


def _draws(name, logits, table, seed):
    """Per-draw gradients ``(S, R, k, K)`` and values ``(R,)`` of ``name``, from a fixed seed.

    One call of the compiled graph serves every estimator; it is kept for the other tests
    that ask for the same logits, table and seed.
    """
    logits = np.ascontiguousarray(logits, dtype="float64")
    table = np.ascontiguousarray(table, dtype="float64")
    key = (logits.tobytes(), logits.shape, table.tobytes(), seed)
    if key not in _RESULTS:
        function, stream = _compiled(logits.shape[-1])
        stream.set_value(streams.stream_state(seed))
        outputs = function(logits, table)
        _RESULTS[key] = dict(zip(CATEGORICAL, zip(outputs[::2], outputs[1::2], strict=True),
                                 strict=True))
    return _RESULTS[key][name]


def _problem(categories: int, seed: int):
    """Two rows of random logits (the second shifted far from normalised) and random tables.

    The logits are N(0, 1), so every category keeps a probability near 1% or more: the sample
    standard error only bounds the mean when the draws include a category's rare events
    (logits 3 N(0, 1) gave one of 2e-5, seen once in 40,000 draws, and a 45 s.e. "miss").
    """
    k = VARIABLES[categories]
    rng = np.random.default_rng(seed)
    logits = np.stack([rng.normal(size=(k, categories)),
                       rng.normal(size=(k, categories)) + 7.0])
    return logits, rng.normal(size=(2, categories**k))


def _assert_unbiased(draws, exact):
    """Every coordinate's mean within a Bonferroni z-bound of its standard error, and the test
    able to fail: some exact coordinate lies many standard errors from zero."""
    mean = draws.mean(axis=0)
    se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    bound = z_threshold(exact.size)
    assert np.all(np.abs(mean - exact) <= bound * se + 1e-12), (mean, exact, se)
    assert np.max(np.abs(exact) / (se + 1e-300)) > 10


@pytest.mark.parametrize("categories", sorted(VARIABLES))
@pytest.mark.parametrize("name", SAMPLING)
def test_unbiased_against_enumeration(name, categories):
    """Each sampling estimator's mean matches the enumerated gradient, K = 2, 3, 4."""
    logits, table = _problem(categories, seed=categories)
    gradients, _ = _draws(name, logits, table, seed=11)
    assert gradients.shape == (SAMPLES, *logits.shape)
    exact = np.stack([exact_categorical(table[r], logits[r])[1] for r in range(2)])
    _assert_unbiased(gradients, exact)


@pytest.mark.parametrize("name", SAMPLING)
def test_padding_with_minus_infinity_gives_fewer_categories(name):
    """A -inf logit is a category of probability 0, so variables with K = 3 can share a K = 4
    tensor: the estimators stay unbiased, and the padded category's gradient has mean 0."""
    logits, table = _problem(4, seed=4)
    logits[:, :, 3] = -np.inf
    gradients, _ = _draws(name, logits, table, seed=12)
    exact = np.stack([exact_categorical(table[r], logits[r])[1] for r in range(2)])
    np.testing.assert_array_equal(exact[..., 3], 0.0)
    _assert_unbiased(gradients, exact)


@pytest.mark.parametrize("categories", sorted(VARIABLES))
def test_categorical_exact_matches_numpy_enumeration(categories):
    """categorical_exact's value and gradient equal an independent enumeration to rounding."""
    logits, table = _problem(categories, seed=categories)
    gradients, value = _draws("categorical_exact", logits, table, seed=11)
    for r in range(2):
        exact_value, exact_gradient = exact_categorical(table[r], logits[r])
        np.testing.assert_allclose(gradients[0, r], exact_gradient, rtol=1e-10, atol=1e-13)
        assert value[r] == pytest.approx(exact_value, rel=1e-12)


@pytest.mark.parametrize("name", CATEGORICAL)
def test_k2_agrees_with_the_bernoulli_estimator(name):
    """At K = 2 the gradient for phi_1 is the Bernoulli one at logit phi_1 - phi_0, and for
    phi_0 its negative: against the enumerated Bernoulli gradient, and, in expectation, against
    the Bernoulli estimator it reduces to, run on the same problem."""
    k = VARIABLES[2]
    logits, table = _problem(2, seed=30)
    bernoulli_logits = logits[..., 1] - logits[..., 0]  # (R, k)
    reference = np.stack([exact_table_gradient(table[r], bernoulli_logits[r]) for r in range(2)])
    # The references agree: the categorical enumeration at K = 2 is the Bernoulli one.
    enumerated = np.stack([exact_categorical(table[r], logits[r])[1] for r in range(2)])
    np.testing.assert_allclose(enumerated[..., 1], reference, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(enumerated[..., 0], -reference, rtol=1e-10, atol=1e-13)

    gradients, _ = _draws(name, logits, table, seed=31)
    bernoulli_draws = _bernoulli_draws(table[0].tobytes(), bernoulli_logits[0].tobytes())[
        pmcgrad.get_estimator(name).reduces_to]  # (S, k), row 0
    if pmcgrad.get_estimator(name).enumerates:
        np.testing.assert_allclose(gradients[0, ..., 1], reference, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(gradients[0, 0, :, 1], bernoulli_draws[0], rtol=1e-10)
        return
    _assert_unbiased(gradients[..., 1], reference)
    _assert_unbiased(gradients[..., 0], -reference)
    se = np.hypot(gradients[:, 0, :, 1].std(axis=0, ddof=1),
                  bernoulli_draws.std(axis=0, ddof=1)) / np.sqrt(gradients.shape[0])
    gap = np.abs(gradients[:, 0, :, 1].mean(axis=0) - bernoulli_draws.mean(axis=0))
    assert np.all(gap <= z_threshold(k) * se), (gap, se)


@functools.cache
def _bernoulli_draws(table_bytes: bytes, logits_bytes: bytes) -> dict:
    """Per-draw gradients of every Bernoulli estimator a categorical one reduces to, on one
    problem (the K = 2 test's row 0), from one compiled graph."""
    table, logits = np.frombuffer(table_bytes), np.frombuffer(logits_bytes)
    k = logits.size
    names = [pmcgrad.get_estimator(name).reduces_to for name in CATEGORICAL]
    outputs = [pmcgrad.gradient_samples(table_function(table, k), pt.constant(logits), name,
                                        samples=SAMPLES, rng=32 + i).gradients
               for i, name in enumerate(names)]
    return dict(zip(names, pytensor.function([], outputs)(), strict=True))


def test_arsm_is_arm_and_race_ar_is_ar_draw_for_draw_at_k2():
    """With w = pi_1 (the race's share of category 1), ARSM's bits are ARM's pair and its
    gradient for phi_1 is ARM's; race_ar's is ar's. The gradient for phi_0 is the negative."""
    rng = np.random.default_rng(5)
    k, samples = 3, 50
    logits = rng.normal(size=(k, 2))
    e = rng.exponential(size=(samples, k, 2))
    w = e[..., 1] / e.sum(-1)
    bernoulli_logits = logits[..., 1] - logits[..., 0]
    table = rng.normal(size=2**k)

    def evaluate(outputs):
        return pytensor.function([], outputs, mode="FAST_COMPILE")()

    phi, noise = pt.constant(logits), (pt.constant(e),)
    bern_phi, uniform = pt.constant(bernoulli_logits), (pt.constant(w),)
    arsm_bits, arm_bits = evaluate([ARSM.bits(phi, noise), ARM.bits(bern_phi, uniform)])
    np.testing.assert_array_equal(arsm_bits, arm_bits)  # [2, S, k]: b1 = 1{w < p}, b2
    fvals = table[code_index(arsm_bits, 2)]  # [2, S]
    arsm, arm = evaluate([ARSM.gradient(phi, noise, pt.constant(fvals)),
                          ARM.gradient(bern_phi, uniform, pt.constant(fvals))])
    np.testing.assert_allclose(arsm[..., 1], arm, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(arsm[..., 0], -arm, rtol=1e-12, atol=1e-15)
    race_ar, ar = evaluate([RACE_AR.gradient(phi, noise, pt.constant(fvals[:1])),
                            AR.gradient(bern_phi, uniform, pt.constant(fvals[:1]))])
    np.testing.assert_allclose(race_ar[..., 1], ar, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(race_ar[..., 0], -ar, rtol=1e-12, atol=1e-15)


# --- closed-form variances of one estimate at k = 1 (docs/math.md derives each). The graphs
# are built for k = 2; a table that depends on z_0 alone makes variable 0's gradient exactly
# the k = 1 estimator.
def _second_moment(name, p, f):
    """E[g_j^2] for one variable with probabilities p and values f (derived in docs/math.md)."""
    categories = p.size
    rest = (p * f**2).sum() - p * f**2  # sum_{z != j} p_z f_z^2
    if name == "categorical_reinforce":  # g_j = f(z) (1{z = j} - p_j)
        return p * f**2 * (1 - p) ** 2 + p**2 * rest
    if name == "race_score":  # g_j = f(z) (1 - e_j); e_z ~ Exp(1/p_z), e_j = p_j E + Exp(1)
        return p * f**2 * (1 - 2 * p + 2 * p**2) + (1 + 2 * p**2) * rest
    if name == "race_ar":  # uniform logits only: E[(1 - K pi_j)^2 | z] = (K - 1)/(K + 1)
        assert np.allclose(p, 1 / categories)
        return np.full(categories, (categories - 1) / (categories + 1) * np.mean(f**2))
    raise KeyError(name)


@pytest.mark.parametrize("name", ["categorical_reinforce", "race_score", "race_ar"])
def test_closed_form_variance_at_k1(name):
    """The variance of one estimate matches its closed form within Monte Carlo error."""
    categories, rows = 3, 5
    rng = np.random.default_rng(40)
    phi = np.zeros(categories) if name == "race_ar" else rng.normal(size=categories)
    f = rng.normal(size=categories) + 1.0
    logits = np.broadcast_to(np.stack([phi, rng.normal(size=categories)]), (rows, 2, categories))
    table = np.broadcast_to(np.tile(f, categories), (rows, categories**2))  # f(z) = f[z_0]
    gradients, _ = _draws(name, logits, table, seed=41)
    draws = gradients[:, :, 0, :].reshape(-1, categories)  # independent rows, variable 0
    p = softmax(phi)
    expected = _second_moment(name, p, f) - (p * (f - (p * f).sum())) ** 2
    _assert_variance(draws, expected)


def test_arsm_variance_at_k2_is_arms():
    """At K = 2, phi = 0, f(z) = (z - t)^2, ARSM's variance is ARM's (1 - 2t)^2 / 48."""
    t, rows, k = 0.49, 5, VARIABLES[2]
    codes = np.array(np.unravel_index(np.arange(2**k), (2,) * k, order="F")).T
    table = np.broadcast_to((codes[:, 0] - t) ** 2, (rows, 2**k))  # depends on z_0 alone
    gradients, _ = _draws("arsm", np.zeros((rows, k, 2)), table, seed=42)
    draws = gradients[:, :, 0, :].reshape(-1, 2)
    _assert_variance(draws, np.full(2, (1 - 2 * t) ** 2 / 48))


def _assert_variance(draws, expected):
    centred_sq = (draws - draws.mean(axis=0)) ** 2
    n = draws.shape[0]
    variance = centred_sq.mean(axis=0) * n / (n - 1)
    se = centred_sq.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(variance - expected) <= z_threshold(expected.size) * se + 1e-15), (
        variance, expected, se)


# --- extreme logits
INFINITE_LOGITS = np.array([[[np.inf, 0.0, -np.inf], [-np.inf, -np.inf, -np.inf]],
                            [[np.inf, np.inf, 1.0], [2.0, -np.inf, 0.0]]])


@pytest.mark.parametrize("name", CATEGORICAL)
def test_nan_logit_gives_nan_and_infinite_logits_stay_finite(name):
    """A NaN logit makes its row's value and gradients NaN (the other row stays finite);
    +-inf logits give finite values and gradients."""
    logits, table = _problem(3, seed=50)
    logits[1, 0, 2] = np.nan
    gradients, value = _draws(name, logits, table, seed=51)
    assert np.isnan(value[1]) and np.all(np.isnan(gradients[:, 1]))
    assert np.isfinite(value[0]) and np.all(np.isfinite(gradients[:, 0]))
    gradients, value = _draws(name, INFINITE_LOGITS, table, seed=52)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(gradients))


def test_categorical_exact_takes_infinite_logits_as_limits():
    """+inf logits share the mass, -inf ones get none, and all -inf is uniform."""
    limits = np.array([[[0.0, -np.inf, -np.inf], [0.0, 0.0, 0.0]],
                       [[0.0, 0.0, -np.inf], [2.0, -np.inf, 0.0]]])
    _, table = _problem(3, seed=50)
    gradients, value = _draws("categorical_exact", INFINITE_LOGITS, table, seed=52)
    for r in range(2):
        exact_value, exact_gradient = exact_categorical(table[r], limits[r])
        assert value[r] == pytest.approx(exact_value, rel=1e-12)
        np.testing.assert_allclose(gradients[0, r], exact_gradient, rtol=1e-10, atol=1e-13)


# --- the op, its name and its backends
@pytest.mark.parametrize("name", CATEGORICAL)
def test_each_categorical_estimator_is_its_own_named_op(name):
    """pytensor.dprint shows the estimator's op, e.g. ARSM{samples=3}."""
    value = pmcgrad.expectation(lambda z: z.sum(-1).astype("float64"),
                                pt.tensor("phi", shape=(2, 3)), name, samples=3)
    out = io.StringIO()
    pytensor.dprint(value, file=out)
    estimator = pmcgrad.get_estimator(name)
    samples = 1 if estimator.enumerates else 3
    assert out.getvalue().splitlines()[0].startswith(f"{estimator.op_name}{{samples={samples}}}")


@pytest.mark.parametrize("mode", ["CVM", "JAX"])
def test_backends_give_the_same_numbers_as_numba(mode):
    """Every categorical estimator's value and logit gradient (through the op's pullback) are
    the same numbers under Numba and the C backend, and JAX when installed; NaN and +-inf
    logits behave alike."""
    if mode == "JAX":
        pytest.importorskip("jax")
    k, categories = 2, 3
    table = np.random.default_rng(60).normal(size=categories**k)
    phi = pt.tensor("phi", shape=(k, categories))
    stream = pmcgrad.shared_rng(61)
    start = stream.get_value()
    f = batched_table_function(pt.constant(table[None]), k, categories)
    outputs = []
    for name in CATEGORICAL:
        value = pmcgrad.expectation(lambda z: f(z[:, None])[:, 0], phi, name, samples=16,
                                    rng=stream)
        outputs += [value, pytensor.grad(value, phi)]
    inputs = {
        "finite": np.random.default_rng(62).normal(size=(k, categories)),
        "nan": np.array([[0.0, np.nan, 1.0], [0.0, 0.0, 0.0]]),
        "inf": np.array([[np.inf, 0.0, -np.inf], [-np.inf, -np.inf, -np.inf]]),
    }
    results = {}
    for backend in ["NUMBA", mode]:
        function = pmcgrad.function([phi], outputs, mode=backend)
        for label, logits in inputs.items():
            stream.set_value(start)
            results[backend, label] = [np.asarray(out) for out in function(logits)]
    for label in inputs:
        for numba_out, other_out in zip(results["NUMBA", label], results[mode, label],
                                        strict=True):
            np.testing.assert_allclose(numba_out, other_out, rtol=1e-9, atol=1e-12)
    values = results["NUMBA", "nan"][::2]
    assert all(np.isnan(v) for v in values)
    assert all(np.all(np.isfinite(out)) for out in results["NUMBA", "inf"])


def test_evaluations_are_counted():
    """ARSM spends K(K - 1)/2 + 1 evaluations a draw whatever k; categorical_exact K^k."""
    phi = pt.tensor("phi", shape=(5, 4))

    def f(z):
        return z.sum(-1).astype("float64")

    assert pmcgrad.gradient_samples(f, phi, "arsm", samples=3).evaluations == 3 * 7
    assert pmcgrad.gradient_samples(f, phi, "race_ar", samples=3).evaluations == 3
    assert pmcgrad.gradient_samples(f, phi, "categorical_exact").evaluations == 4**5
    assert pmcgrad.get_estimator("arsm").evaluations(10, 3) == 4


def test_f_receives_int64_codes_and_logits_need_not_be_normalised():
    """f sees int64 codes (N, ..., k); softmax is shift-invariant, so shifted logits give the
    same exact value and gradient."""
    seen = []

    def f(codes):
        seen.append((codes.dtype, codes.type.shape))
        return pt.eq(codes, 1).sum(-1).astype("float64")

    phi = np.random.default_rng(70).normal(size=(4, 2, 3))
    first = pmcgrad.gradient_samples(f, pt.constant(phi), "categorical_exact")
    second = pmcgrad.gradient_samples(f, pt.constant(phi + 100.0), "categorical_exact")
    assert seen[0] == ("int64", (9, 4, 2))
    a, b = pytensor.function([], [first.gradients, second.gradients])()
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# --- bad input, refused when the graph is built
def _codes_sum(codes):
    return codes.sum(-1).astype("float64")


@pytest.mark.parametrize(
    ("logits", "message"),
    [
        (pt.tensor("phi", shape=(3, 1)), r"needs K >= 2 categories.*K=1"),
        (pt.tensor("phi", shape=(3, None)), r"static number of categories K"),
        (pt.vector("phi", shape=(3,)), r"is categorical: logits must have shape \(\.\.\., k, K\)"),
    ],
    ids=["K=1", "K unknown", "vector logits"],
)
def test_categorical_logits_are_checked(logits, message):
    """K = 1, an unknown K and logits without a category axis are refused, naming the shape."""
    with pytest.raises(ValueError, match=message):
        pmcgrad.expectation(_codes_sum, logits, "arsm", samples=2)


@pytest.mark.parametrize(
    ("shape", "limit", "message"),
    [
        ((1, 10**9), 20, r"K\^k = 1000000000\^1 = 1000000000 configurations.*2\^20 = 1048576"),
        ((20, 3), 20, r"K\^k = 3\^20 = 3486784401 .*K=3 categories, k=20 variables"),
        ((3, 3), 4, r"3\^3 = 27 configurations.*2\^4 = 16 \(exact_limit=4"),
    ],
)
def test_categorical_exact_refuses_too_many_configurations(shape, limit, message):
    """Enumeration above 2^exact_limit is refused before any table is built, naming K, k and
    the limit, and suggesting a sampling estimator."""
    with pytest.raises(ValueError, match=message) as info:
        pmcgrad.expectation(_codes_sum, pt.tensor("phi", shape=shape), "categorical_exact",
                            exact_limit=limit)
    assert "'arsm'" in str(info.value)


def test_categorical_exact_accepts_numpy_integer_limits():
    """exact_limit may be a NumPy integer."""
    pmcgrad.expectation(_codes_sum, pt.tensor("phi", shape=(3, 3)), "categorical_exact",
                        exact_limit=np.int64(5))


def test_f_with_the_wrong_shape_names_category_codes():
    """An f that does not return one value per code vector fails at build, naming shapes."""
    with pytest.raises(ValueError, match=r"category codes of shape .*\(6, 2\)"):
        pmcgrad.expectation(lambda z: z.astype("float64"), pt.tensor("phi", shape=(2, 3)),
                            "categorical_reinforce", samples=6)
