"""The op layer: naming, backends, RNG behaviour, batching, extreme logits and bad input."""

from __future__ import annotations

import io

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import pmcgrad
from pmcgrad.estimators import Estimator
from pmcgrad.estimators.noise import NoiseDistribution
from tests.conftest import exact_table_gradient, table_function


def _toy(bits):
    return ((bits - 0.45) ** 2).sum(-1)


def _value_and_grad(estimator, logits, f=_toy, samples=4, rng=0, mode=None, **kwargs):
    phi = pt.vector("phi", shape=(len(logits),))
    value = pmcgrad.expectation(f, phi, estimator, samples=samples, rng=rng, **kwargs)
    fn = pmcgrad.function([phi], [value, pytensor.grad(value, phi)], mode=mode)
    return fn, np.asarray(logits, dtype="float64")


@pytest.mark.parametrize("name", pmcgrad.estimator_names())
def test_each_estimator_is_its_own_named_op(name):
    """pytensor.dprint shows the estimator's op name, e.g. DisARM{samples=...}."""
    samples = 2 if name == "reinforce_loo" else 3
    value = pmcgrad.expectation(_toy, pt.vector("phi", shape=(3,)), name, samples=samples)
    out = io.StringIO()
    pytensor.dprint(value, file=out)
    op_name = pmcgrad.get_estimator(name).op_name
    expected_samples = 1 if name == "exact" else samples
    assert out.getvalue().splitlines()[0].startswith(f"{op_name}{{samples={expected_samples}}}")


# One estimator of each family, under PyTensor's default Numba linker and the C linker.
@pytest.mark.parametrize("name", ["exact", "reinforce_loo", "exp_score", "disarm"])
def test_numba_and_c_backends_agree_on_statistics(name):
    """Numba and C give the exact gradient exactly, and the same statistics for sampling ones."""
    logits = [0.5, -1.0, 2.0]
    k = len(logits)
    p = 1 / (1 + np.exp(-np.array(logits)))
    exact = (1 - 2 * 0.45) * p * (1 - p)
    results = {}
    # "CVM" is the C backend: C thunks, with a Python fallback for the RNG ops (no C code).
    for mode in ["NUMBA", "CVM"]:
        phi = pt.vector("phi", shape=(k,))
        draws = pmcgrad.gradient_samples(_toy, phi, name, samples=20_000, rng=5)
        fn = pmcgrad.function([phi], draws.gradients, mode=mode)
        results[mode] = fn(np.array(logits))
    if name == "exact":
        np.testing.assert_allclose(results["NUMBA"][0], exact, rtol=1e-12)
        np.testing.assert_allclose(results["NUMBA"], results["CVM"], rtol=1e-12)
        return
    for mode, draws in results.items():
        se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
        assert np.all(np.abs(draws.mean(axis=0) - exact) < 4 * se), mode


@pytest.mark.parametrize("name", pmcgrad.estimator_names())
@pytest.mark.parametrize("noise", ["logistic", "normal", "gumbel"])
def test_extreme_and_nan_logits(name, noise):
    """|logits| = 50 and +-inf give finite values and gradients for every estimator (exact
    included); a NaN logit gives a NaN value, never a finite one."""
    estimator = pmcgrad.get_estimator(name)
    if noise != "logistic" and not estimator.uses_noise:
        pytest.skip("noise only matters to the noise estimators")
    if noise == "gumbel" and estimator.needs_symmetric_noise:
        pytest.skip("gumbel noise is not symmetric")
    fn, _ = _value_and_grad(name, [0.0, 0.0, 0.0], samples=8, noise=noise)
    for logits in ([50.0, -50.0, 0.0], [np.inf, -np.inf, 0.0], [-np.inf, -np.inf, np.inf]):
        value, grad = fn(np.array(logits))
        assert np.isfinite(value) and np.all(np.isfinite(grad)), logits
    value, grad = fn(np.array([np.nan, 0.5, -0.5]))
    assert np.isnan(value) and np.all(np.isnan(grad))


def test_same_seed_same_draws_and_next_call_fresh():
    """A seed fixes the draws; each call of the compiled function draws afresh."""
    logits = [0.3, -0.2, 0.1]
    first_fn, phi = _value_and_grad("reinforce", logits, samples=2, rng=123)
    second_fn, _ = _value_and_grad("reinforce", logits, samples=2, rng=123)
    call_1, call_2 = first_fn(phi), first_fn(phi)
    np.testing.assert_array_equal(call_1[1], second_fn(phi)[1])
    assert not np.array_equal(call_1[1], call_2[1])


def test_two_estimates_on_one_shared_rng_draw_different_noise():
    """Two estimates built on the same shared RNG use different draws, not the same twice."""
    rng = pmcgrad.shared_rng(7)
    phi = pt.vector("phi", shape=(4,))
    first = pmcgrad.gradient_samples(_toy, phi, "reinforce", samples=16, rng=rng)
    second = pmcgrad.gradient_samples(_toy, phi, "reinforce", samples=16, rng=rng)
    a, b = pmcgrad.function([phi], [first.gradients, second.gradients])(np.zeros(4))
    assert not np.array_equal(a, b)


def test_batched_exact_equals_rows_looped():
    """Batched logits (R, k) give each row's own exact gradient, as a loop over rows does."""
    k, rows = 3, 4
    logits = np.random.default_rng(0).normal(size=(rows, k)) * 2
    targets = np.linspace(0.1, 0.9, rows)

    def f(bits):  # bits (N, R, k) -> (N, R); row r has its own target
        return ((bits - pt.constant(targets)[None, :, None]) ** 2).sum(-1)

    batched = pmcgrad.gradient_samples(f, pt.constant(logits), "exact")
    batched_grad = pytensor.function([], batched.gradients)()[0]
    for r in range(rows):
        row = pmcgrad.gradient_samples(
            lambda b, t=targets[r]: ((b - t) ** 2).sum(-1), pt.constant(logits[r]), "exact"
        )
        np.testing.assert_allclose(batched_grad[r], pytensor.function([], row.gradients)()[0])


@pytest.mark.parametrize("name", [n for n in pmcgrad.estimator_names() if n != "exact"])
def test_batched_rows_see_only_their_own_f(name):
    """Changing another row's f leaves a row's gradient unchanged; each row is unbiased."""
    rows = 3
    logits = np.array([[0.5, -1.0], [2.0, 0.0], [-0.5, 1.5]])
    scale = pt.vector("scale", shape=(rows,))

    def f(bits):
        return scale[None, :] * ((bits - 0.3) ** 2).sum(-1)

    draws = pmcgrad.gradient_samples(f, pt.constant(logits), name, samples=20_000, rng=3)
    fn = pytensor.function([scale], draws.gradients)
    base = fn(np.ones(rows))
    changed = fn(np.array([1.0, 5.0, -3.0]))
    np.testing.assert_array_equal(base[:, 0], changed[:, 0])
    p = 1 / (1 + np.exp(-logits))
    exact = (1 - 2 * 0.3) * p * (1 - p)
    if pmcgrad.get_estimator(name).unbiased:
        se = base.std(axis=0, ddof=1) / np.sqrt(base.shape[0]) + 1e-12
        assert np.all(np.abs(base.mean(axis=0) - exact) < 4 * se)


def test_value_is_an_unbiased_estimate_of_the_expectation():
    """The op's value is the Monte Carlo mean of f, unbiased for E[f(b)]."""
    logits = np.array([0.5, -1.0, 2.0])
    p = 1 / (1 + np.exp(-logits))
    exact = np.sum(p * 0.55**2 + (1 - p) * 0.45**2)
    for name in ["reinforce", "disarm", "uniform_boundary", "exact"]:
        fn, phi = _value_and_grad(name, logits, samples=50_000, rng=1)
        assert fn(phi)[0] == pytest.approx(exact, abs=4 * 0.5 / np.sqrt(50_000))


def test_evaluations_are_counted():
    """gradient_samples reports S times the estimator's f-evaluations per draw."""
    phi = pt.vector("phi", shape=(5,))
    assert pmcgrad.gradient_samples(_toy, phi, "disarm", samples=4).evaluations == 8
    assert pmcgrad.gradient_samples(_toy, phi, "reinforce", samples=4).evaluations == 4
    assert pmcgrad.gradient_samples(_toy, phi, "uniform_boundary", samples=4).evaluations == 24
    assert pmcgrad.gradient_samples(_toy, phi, "exact").evaluations == 32


# --- bad input
def test_unknown_estimator_lists_the_registered_names():
    """An unknown name raises ValueError listing every registered estimator."""
    with pytest.raises(ValueError, match="registered estimators: exact, reinforce") as info:
        pmcgrad.expectation(_toy, np.zeros(3), "disarn")
    assert "disarn" in str(info.value) and "disarm" in str(info.value)


def test_reinforce_loo_needs_two_samples():
    """reinforce_loo with samples < 2 is refused, naming the estimator and the value."""
    with pytest.raises(ValueError, match=r"'reinforce_loo' needs samples >= 2, got samples=1"):
        pmcgrad.expectation(_toy, np.zeros(3), "reinforce_loo", samples=1)


def test_exact_above_its_limit_names_k_limit_and_alternative():
    """exact above k = 20 names k, the limit and a sampling estimator; the limit is settable."""
    with pytest.raises(ValueError, match=r"k=21 is above its limit of 20.*'disarm'"):
        pmcgrad.expectation(_toy, np.zeros(21), "exact")
    with pytest.raises(ValueError, match=r"k=5 is above its limit of 4"):
        pmcgrad.expectation(_toy, np.zeros(5), "exact", exact_limit=4)


@pytest.mark.parametrize(
    ("f", "message"),
    [
        (lambda b: b.sum(), r"shape \(N\); it returned shape \(\)"),
        (lambda b: b, r"it returned shape \(4, 3\)"),
        (lambda b: b[:2].sum(-1), r"f returned shape \(2\) for bits of shape \(4, 3\)"),
    ],
)
def test_f_with_the_wrong_shape_fails_at_build(f, message):
    """An f that does not return one value per bit vector fails at graph build, naming shapes."""
    with pytest.raises(ValueError, match=message):
        pmcgrad.expectation(f, pt.vector("phi", shape=(3,)), "reinforce", samples=4)


def test_integer_logits_raise_type_error():
    """Integer logits are refused with TypeError naming the dtype."""
    with pytest.raises(TypeError, match="logits must be float32 or float64, got dtype int64"):
        pmcgrad.expectation(_toy, np.zeros(3, dtype="int64"), "disarm")


def test_asymmetric_noise_refused_for_antithetic_noise():
    """antithetic_noise with gumbel noise is refused: its partner -eps needs symmetry."""
    with pytest.raises(ValueError, match="'gumbel' is not symmetric"):
        pmcgrad.expectation(_toy, np.zeros(3), "antithetic_noise", noise="gumbel")


def test_unknown_noise_lists_registered_noise():
    """An unknown noise name lists the registered ones."""
    with pytest.raises(ValueError, match=r"registered: .*gumbel.*logistic.*normal"):
        pmcgrad.expectation(_toy, np.zeros(3), "noise_score", noise="cauchyy")


# --- user extensions
@pytest.fixture
def isolated_registries(monkeypatch):
    """Registrations made by a test stay inside it."""
    import pmcgrad.estimators as estimators
    import pmcgrad.estimators.noise as noise

    monkeypatch.setattr(estimators, "_REGISTRY", dict(estimators._REGISTRY))
    monkeypatch.setattr(noise, "_REGISTRY", dict(noise._REGISTRY))


@pytest.mark.usefixtures("isolated_registries")
def test_user_registered_estimator_is_usable_and_unbiased():
    """A user's own estimator (REINFORCE with a constant baseline) registers and is unbiased."""

    mine = _reinforce_baseline_one(pmcgrad.streams.uniform)
    pmcgrad.register_estimator(mine)
    assert "reinforce_baseline_one" in pmcgrad.estimator_names()
    k = 3
    table = np.random.default_rng(2).normal(size=2**k)
    logits = np.array([0.4, -1.0, 1.0])
    draws = pmcgrad.gradient_samples(table_function(table, k), pt.constant(logits),
                                     "reinforce_baseline_one", samples=40_000, rng=9)
    g = pytensor.function([], draws.gradients)()
    se = g.std(axis=0, ddof=1) / np.sqrt(g.shape[0])
    assert np.all(np.abs(g.mean(axis=0) - exact_table_gradient(table, logits)) < 4 * se)
    with pytest.raises(ValueError, match="already registered"):
        pmcgrad.register_estimator(mine)


def _reinforce_baseline_one(uniform) -> Estimator:
    """REINFORCE with a constant baseline, drawing its uniforms with ``uniform``."""

    def draw(rng, shape, dtype):
        rng, u = uniform(rng, shape, dtype)
        return rng, (u,)

    def bits(logits, noise_tensors):
        return (noise_tensors[0] < pt.sigmoid(logits)).astype(logits.dtype)[None]

    def gradient(logits, noise_tensors, fvals):
        b = bits(logits, noise_tensors)[0]
        return (fvals[0] - 1.0)[..., None] * (b - pt.sigmoid(logits))  # constant baseline 1

    return Estimator(
        name="reinforce_baseline_one", op_name="ReinforceBaselineOne", kind="score",
        unbiased=True, formula="(f(b) - 1) (b - p)", reference="test", draw=draw, bits=bits,
        gradient=gradient,
    )


def test_an_estimator_drawing_with_pytensor_random_variables_needs_a_generator_rng():
    """A draw written with ``pt.random`` works on a shared Generator and, on pmcgrad's default
    stream, fails with a message that says what to do."""

    def pytensor_uniform(rng, shape, dtype):
        return pt.random.uniform(size=shape, rng=rng, dtype=dtype, return_next_rng=True)

    mine = _reinforce_baseline_one(pytensor_uniform)
    k = 3
    table = np.random.default_rng(2).normal(size=2**k)
    logits = pt.constant(np.array([0.4, -1.0, 1.0]))
    generator = pytensor.shared(np.random.default_rng(3))
    draws = pmcgrad.gradient_samples(table_function(table, k), logits, mine, samples=4,
                                     rng=generator)
    step = pmcgrad.function([], draws.gradients)
    assert not np.array_equal(step(), step())  # the Generator advances between calls
    expected = r"draw failed on pmcgrad's random stream.*pmcgrad\.streams\.uniform"
    with pytest.raises(TypeError, match=expected):
        pmcgrad.gradient_samples(table_function(table, k), logits, mine, samples=4, rng=3)


@pytest.mark.usefixtures("isolated_registries")
def test_user_registered_noise_from_cdf_and_pdf_only():
    """Laplace noise given only as a CDF/PDF pair works in noise_score and antithetic_noise."""
    laplace = NoiseDistribution(
        name="laplace_test",
        cdf=lambda x: pt.switch(x < 0, 0.5 * pt.exp(x), 1 - 0.5 * pt.exp(-x)),
        pdf=lambda x: 0.5 * pt.exp(-pt.abs(x)),
        symmetric=True,
    )
    pmcgrad.register_noise(laplace)
    assert "laplace_test" in pmcgrad.noise_names()
    k = 3
    table = np.random.default_rng(4).normal(size=2**k)
    logits = np.array([0.4, -1.0, 2.0])
    exact = exact_table_gradient(table, logits)
    for name in ["noise_score", "antithetic_noise"]:
        draws = pmcgrad.gradient_samples(table_function(table, k), pt.constant(logits), name,
                                         samples=40_000, rng=10, noise="laplace_test")
        g = pytensor.function([], draws.gradients)()
        se = g.std(axis=0, ddof=1) / np.sqrt(g.shape[0])
        assert np.all(np.abs(g.mean(axis=0) - exact) < 4 * se), name


# --- arguments checked before anything is compiled (each message names argument and value)
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"noise": ["normal"]}, TypeError, r"noise must be a registered name .*\['normal'\]"),
        ({"rng": -1}, ValueError, r"rng must be a non-negative int seed, got rng=-1"),
        ({"rng": True}, TypeError, r"rng must be None, a non-negative int.*True"),
        ({"rng": "seven"}, TypeError, r"rng must be None, a non-negative int.*'seven'"),
        ({"exact_limit": "5"}, TypeError, r"exact_limit must be an int.*'5'"),
        ({"exact_limit": -1}, ValueError, r"exact_limit must be >= 0, got exact_limit=-1"),
        ({"samples": 0}, ValueError, r"samples must be >= 1, got samples=0"),
        ({"samples": 2.5}, TypeError, r"samples must be an int, got samples=2\.5"),
    ],
    ids=["noise-list", "rng-negative", "rng-bool", "rng-str", "exact_limit-str",
         "exact_limit-negative", "samples-zero", "samples-float"],
)
def test_bad_arguments_are_named(kwargs, error, message):
    """Loose arguments fail at build, naming the argument and its value."""
    with pytest.raises(error, match=message):
        pmcgrad.expectation(_toy, pt.vector("phi", shape=(3,)), "reinforce",
                            **{"samples": 2, **kwargs})


def test_numpy_integers_are_accepted_wherever_ints_are():
    """samples, rng and exact_limit take NumPy integers; rng takes a NumPy Generator."""
    phi = pt.vector("phi", shape=(3,))
    pmcgrad.expectation(_toy, phi, "reinforce_loo", samples=np.int64(2), rng=np.int32(4))
    pmcgrad.expectation(_toy, phi, "exact", exact_limit=np.int64(3))
    pmcgrad.expectation(_toy, phi, "disarm", samples=np.uint8(3),
                        rng=np.random.default_rng(1))


def test_f_must_be_callable():
    """A non-callable f is refused, naming it."""
    with pytest.raises(TypeError, match=r"f must be a callable .*got 3"):
        pmcgrad.expectation(3, np.zeros(3), "reinforce")


def test_compile_is_a_deprecated_alias_of_function():
    """pmcgrad.compile still compiles, with a FutureWarning that names pmcgrad.function."""
    stream = pmcgrad.shared_rng(3)
    _, u = pmcgrad.streams.uniform(stream, (2,), "float64")
    with pytest.warns(FutureWarning, match="use pmcgrad.function"):
        draw = pmcgrad.compile([], u, mode="FAST_COMPILE")
    assert not np.array_equal(draw(), draw())


def test_family_is_a_read_only_alias_of_kind():
    """Estimator.family reads kind, for one round; it cannot be set."""
    disarm = pmcgrad.get_estimator("disarm")
    assert disarm.family == disarm.kind == "antithetic"
    with pytest.raises(AttributeError):
        disarm.family = "score"
    rows = {row["name"]: row for row in pmcgrad.estimator_table()}
    assert rows["arsm"]["kind"] == rows["arsm"]["family"] == "antithetic"
    assert rows["arsm"]["support"] == "categorical" and rows["arm"]["support"] == "bernoulli"


def test_estimator_names_by_support():
    """The default lists the Bernoulli estimators, as before; support selects, None lists all."""
    bernoulli = pmcgrad.estimator_names()
    categorical = pmcgrad.estimator_names(support="categorical")
    assert "disarm" in bernoulli and "arsm" not in bernoulli
    assert "arsm" in categorical and "disarm" not in categorical
    assert pmcgrad.estimator_names(support=None) == bernoulli + categorical
    with pytest.raises(ValueError, match="unknown support 'poisson'"):
        pmcgrad.estimator_names(support="poisson")


# --- the extension contract: shapes checked when a graph is built, naming the function
def _custom(name="custom", **changes) -> Estimator:
    """REINFORCE with a constant baseline, with any of its functions replaced."""
    base = _reinforce_baseline_one(pmcgrad.streams.uniform)
    fields = {"name": name, "op_name": "Custom", "kind": "score", "unbiased": True,
              "formula": "", "reference": "test", "draw": base.draw, "bits": base.bits,
              "gradient": base.gradient}
    return Estimator(**{**fields, **changes})


def _gradient_of_shape(shape_of):
    def gradient(logits, noise_tensors, fvals):
        return pt.zeros(shape_of(fvals, logits))
    return gradient


@pytest.mark.parametrize(
    ("shape_of", "returned"),
    [
        (lambda fvals, logits: (fvals.shape[1],), r"\(4\)"),
        (lambda fvals, logits: (logits.shape[0],), r"\(3\)"),
        (lambda fvals, logits: (fvals.shape[1], logits.shape[0] + 1), r"\(4, 4\)"),
    ],
    ids=["(S,)", "(k,)", "(S, k + 1)"],
)
def test_a_gradient_of_the_wrong_shape_is_refused(shape_of, returned):
    """(S,), (k,) or (S, k + 1) gradients were broadcast silently; now each is refused at build,
    naming the function, the shape returned and the shape expected."""
    mine = _custom(gradient=_gradient_of_shape(shape_of))
    expected = rf"estimator 'custom': its gradient function .*gradient returned shape {returned};"
    with pytest.raises(ValueError, match=expected + r" expected \(4, 3\)"):
        pmcgrad.expectation(_toy, pt.vector("phi", shape=(3,)), mine, samples=4)


def test_a_gradient_of_the_wrong_run_time_shape_fails_instead_of_broadcasting():
    """With k unknown at build, a (S, 1) gradient fails when run rather than broadcast."""
    mine = _custom(gradient=_gradient_of_shape(lambda fvals, logits: (fvals.shape[1], 1)))
    phi = pt.vector("phi")
    draws = pmcgrad.gradient_samples(_toy, phi, mine, samples=4)
    with pytest.raises(AssertionError):
        pytensor.function([phi], draws.gradients, mode="FAST_COMPILE")(np.zeros(3))


def test_a_draw_returning_a_bare_tensor_is_refused():
    """draw returning (rng, u) instead of (rng, (u,)) names the function and the fix."""
    def draw(rng, shape, dtype):
        return pmcgrad.streams.uniform(rng, shape, dtype)  # (rng, u): u not in a tuple

    with pytest.raises(TypeError, match=r"its draw function .*draw must return \(next_rng, "
                                        r"\(tensor, \.\.\.\)\).*return rng, \(u,\)"):
        pmcgrad.expectation(_toy, np.zeros(3), _custom(draw=draw), samples=4)


def test_a_draw_of_the_wrong_shape_is_refused():
    """Noise tensors must have the shape the draw was given, (S, *logits.shape)."""
    def draw(rng, shape, dtype):
        rng, u = pmcgrad.streams.uniform(rng, shape[1:], dtype)
        return rng, (u,)

    with pytest.raises(ValueError, match=r"noise tensor 0 returned shape \(3\); expected "
                                         r"\(4, 3\)"):
        pmcgrad.expectation(_toy, np.zeros(3), _custom(draw=draw), samples=4)


def test_bits_without_the_evaluation_axis_are_refused():
    """bits of shape (S, k), missing E, named with the fix instead of a reshape error."""
    base = _reinforce_baseline_one(pmcgrad.streams.uniform)

    def bits(logits, noise_tensors):
        return base.bits(logits, noise_tensors)[0]  # drops the E axis

    with pytest.raises(ValueError, match=r"its bits function .*must return shape \(E, S, \.\.\., "
                                         r"k\) = \(E, 4, 3\).*\[None\].*returned shape \(4, 3\)"):
        pmcgrad.expectation(_toy, np.zeros(3), _custom(bits=bits), samples=4)


def test_categorical_bits_must_be_integer_codes():
    """A categorical estimator whose bits are floats is refused, naming the dtype."""
    base = pmcgrad.get_estimator("categorical_reinforce")

    def bits(logits, noise_tensors):
        return base.bits(logits, noise_tensors).astype("float64")

    mine = _custom(draw=base.draw, bits=bits, gradient=base.gradient, support="categorical")
    with pytest.raises(TypeError, match=r"integer category codes .*dtype float64"):
        pmcgrad.expectation(lambda z: z.sum(-1), pt.tensor("phi", shape=(2, 3)), mine)


def test_a_value_of_the_wrong_shape_is_refused():
    """value must give one estimate per batch row."""
    mine = _custom(value=lambda logits, fvals: fvals.mean(axis=0))
    with pytest.raises(ValueError, match=r"its value function .* returned shape \(4\); "
                                         r"expected \(\)"):
        pmcgrad.expectation(_toy, np.zeros(3), mine, samples=4)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"name": ""}, ValueError, r"name must be a non-empty string; got name=''"),
        ({"name": "  "}, ValueError, r"name must be a non-empty string"),
        ({"op_name": "My Op"}, ValueError, r"op_name of 'custom' must be an identifier"),
        ({"kind": "magic"}, ValueError, r"kind 'magic' of 'custom' is not one of"),
        ({"support": "poisson"}, ValueError, r"support 'poisson' of 'custom' is not one of"),
        ({"min_samples": 0}, ValueError, r"min_samples of 'custom' must be an int >= 1"),
        ({"draw": lambda rng, shape, dtype, noise: None}, TypeError,
         r"draw function .* must be callable as draw\(rng, shape, dtype\).*uses_noise=True"),
        ({"gradient": "not a function"}, TypeError, r"gradient of estimator 'custom' must be "
                                                    r"callable"),
    ],
    ids=["empty-name", "blank-name", "op-name", "kind", "support", "min-samples",
         "draw-takes-noise", "gradient-not-callable"],
)
def test_an_estimator_record_is_checked_when_built(changes, error, message):
    """Bad names, kinds, supports and function signatures are refused at construction."""
    with pytest.raises(error, match=message):
        _custom(**changes)


def test_register_estimator_and_register_noise_check_their_argument():
    """register_noise('logistic') and register_estimator('disarm') name what they expect."""
    with pytest.raises(TypeError, match=r"register_noise expects a pmcgrad.NoiseDistribution"
                                        r".*got 'logistic'"):
        pmcgrad.register_noise("logistic")
    with pytest.raises(TypeError, match=r"expected a pmcgrad\.Estimator, got str"):
        pmcgrad.register_estimator("disarm")
    with pytest.raises(ValueError, match="noise distribution's name must be a non-empty"):
        NoiseDistribution(name="", cdf=pt.sigmoid, pdf=pt.sigmoid)
    with pytest.raises(TypeError, match="pdf of noise 'x' must be a callable"):
        NoiseDistribution(name="x", cdf=pt.sigmoid, pdf=1.0)
