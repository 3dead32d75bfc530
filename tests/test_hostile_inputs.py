"""A hostile probe: bad and odd input to every public entry point.

Each case asserts the documented behaviour (README, the three "Errors" sections): an error of
a clear type whose message names the argument and the bad value, or a correct result. Most
cases fail before anything is compiled; the few that need a fit share one tiny compiled model.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import yaml
from pymc.exceptions import SamplingError

import pmcgrad
from pmcgrad import Estimator, NoiseDistribution
from pmcgrad.vi import Convergence, UnsupportedLatentError
from pmcgrad.vi.feasibility import InfeasibleModelError

FAST = dict(progressbar=False, diagnostics=False, convergence=False)


def _tiny_model() -> pm.Model:
    with pm.Model() as model:
        z = pm.Bernoulli("z", 0.5, shape=3)
        mu = pm.Normal("mu", 0, 1)
        pm.Normal("y", mu=mu + z.sum(), sigma=1, observed=[1.0, 2.0])
    return model


@pytest.fixture(scope="module")
def model():
    return _tiny_model()


@pytest.fixture(scope="module")
def fitted(model):
    """One compiled fit of the tiny model (the other fits of it reuse the compiled graph)."""
    return pmcgrad.fit(20, model=model, random_seed=0, final_samples=16, **FAST)


# --- pmcgrad.fit: every argument, refused before compiling
BAD_FIT_ARGUMENTS = [
    (dict(n="10"), TypeError, r"n must be an int, got '10'"),
    (dict(n=-1), ValueError, r"n must be >= 0, got -1"),
    (dict(n=2.5), TypeError, r"n must be an int, got 2\.5"),
    (dict(n=True), TypeError, r"n must be an int, got True"),
    (dict(samples=0), ValueError, r"samples must be >= 1, got 0"),
    (dict(samples="8"), TypeError, r"samples must be an int, got '8'"),
    (dict(samples=np.float64(4)), TypeError, r"samples must be an int, got .*4\.0"),
    (dict(samples=1, estimator="reinforce_loo"), ValueError,
     r"'reinforce_loo' needs samples >= 2, got samples=1"),
    (dict(estimator="disram"), ValueError, r"unknown estimator 'disram'; registered .*disarm"),
    (dict(estimator=3), ValueError, r"unknown estimator 3; registered"),
    (dict(family="lowrank"), ValueError, r"unknown family 'lowrank'; valid families"),
    (dict(family=None), ValueError, r"unknown family None"),
    (dict(n_starts=0), ValueError, r"n_starts must be >= 1, got 0"),
    (dict(n_starts=1.5), TypeError, r"n_starts must be an int, got 1\.5"),
    (dict(start="z"), TypeError, r"start must be a dict .* got 'z'"),
    (dict(start={"nope": 1}), ValueError, r"start\['nope'\].*not a free variable"),
    (dict(start={"y": 1.0}), ValueError, r"start\['y'\].*not a free variable"),
    (dict(start={"z": 1.5}), ValueError, r"start\['z'\] is an inclusion probability.* got 1\.5"),
    (dict(start={"z": -0.2}), ValueError, r"start\['z'\] is an inclusion probability.* got -0\.2"),
    (dict(start={"mu": np.nan}), ValueError, r"start\['mu'\] must be finite, got nan"),
    (dict(start={"z": [0.5, 0.5]}), ValueError, r"start\['z'\].*shape \(2,\).*\(3,\)"),
    (dict(start={"mu": "a"}), TypeError, r"start\['mu'\] must be a number .* got 'a'"),
    (dict(random_seed=-1), ValueError, r"random_seed.*-1"),
    (dict(random_seed="a"), TypeError, r"random_seed.*'a'"),
    (dict(random_seed=1.5), TypeError, r"random_seed.*1\.5"),
    (dict(random_seed=True), TypeError, r"random_seed.*True"),
    (dict(random_seed=np.int64(-3)), ValueError, r"random_seed.*-3"),
    (dict(optimizer="adam"), TypeError, r"optimizer must be a PyMC optimiser.*'adam'"),
    (dict(optimizer=0.01), TypeError, r"optimizer must be a PyMC optimiser.*0\.01"),
    (dict(callbacks=[1]), TypeError, r"callbacks\[0\] is not callable: 1"),
    (dict(callbacks=print), TypeError, r"callbacks must be a list of callables.*print"),
    (dict(callbacks="abc"), TypeError, r"callbacks must be a list of callables.*'abc'"),
    (dict(callback_every=0), ValueError, r"callback_every must be >= 1, got 0"),
    (dict(callback_every=1.0), TypeError, r"callback_every must be an int, got 1\.0"),
    (dict(convergence="yes"), TypeError, r"convergence must be .* got 'yes'"),
    (dict(final_samples=0), ValueError, r"final_samples must be >= 2, got 0"),
    (dict(final_samples=1), ValueError, r"final_samples must be >= 2, got 1"),
    (dict(final_samples=2.0), TypeError, r"final_samples must be an int, got 2\.0"),
    (dict(minibatch_size=2), ValueError, r"minibatch_size=2: .*latents are global"),
    (dict(local_dim="obs"), ValueError, r"'obs'"),
    (dict(compile_kwargs={"mode": "GPU"}), ValueError, r"compile_kwargs\['mode'\].*'GPU'"),
    (dict(compile_kwargs={"optimizer": "fast"}), ValueError, r"compile_kwargs takes only"),
    (dict(compile_kwargs="JAX"), ValueError, r"compile_kwargs takes only .* got 'JAX'"),
    (dict(on_divergence="ignore"), ValueError, r"on_divergence must be one of .* 'ignore'"),
    (dict(diagnostics=50), ValueError, r"diagnostics must be >= 100.*got 50"),
    (dict(diagnostics="yes"), TypeError, r"diagnostics must be True, False .* 'yes'"),
    (dict(diagnostics=1.5), TypeError, r"diagnostics must be True, False .* 1\.5"),
    (dict(noise="cauchy"), ValueError, r"unknown noise distribution 'cauchy'"),
    (dict(noise=None), TypeError, r"noise must be a registered name .* None"),
    (dict(exact_limit=0), ValueError, r"exact_limit must be >= 1, got 0"),
    (dict(exact_limit="5"), TypeError, r"exact_limit must be an int, got '5'"),
    (dict(blas_threads=0), ValueError, r"blas_threads must be >= 1, got 0"),
    (dict(progressbar="no"), TypeError, r"progressbar must be True or False, got 'no'"),
    (dict(optimizer=lambda grads, params: None), TypeError,
     r"optimizer <function .*> returned NoneType, not the updates of every parameter"),
    (dict(optimizer=lambda: {}), TypeError,
     r"optimizer <function .*> failed when called as optimizer\(grads, params\)"),
    (dict(local_dim=True), ValueError, r"local_dim=True is not a dim of the model"),
    (dict(estimator="exact", exact_limit=2), ValueError, r"exact.*k = 3.*exact_limit|2\^"),
]


def _case_id(kwargs: dict) -> str:
    """A test id the same in every process (pytest-xdist compares them): a callable is
    named, not shown with its address."""
    shown = {name: (f"<{type(value).__name__}>" if callable(value) else value)
             for name, value in kwargs.items()}
    return repr(shown)[:60]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_FIT_ARGUMENTS,
                         ids=[_case_id(case[0]) for case in BAD_FIT_ARGUMENTS])
def test_fit_refuses_a_bad_argument_naming_it(model, kwargs, error, message):
    with pytest.raises(error, match=message):
        pmcgrad.fit(**(dict(n=5, model=model) | FAST | kwargs))


@pytest.mark.parametrize("not_a_model", [42, "model", object()])
def test_fit_refuses_what_is_not_a_model(not_a_model):
    with pytest.raises(TypeError, match=r"model must be a pymc\.Model, got"):
        pmcgrad.fit(5, model=not_a_model, **FAST)


def test_a_model_without_free_variables_is_refused():
    with pm.Model() as model:
        pm.Normal("y", mu=0, sigma=1, observed=[1.0])
    with pytest.raises(ValueError, match=r"no free variables.*\['y'\]"):
        pmcgrad.fit(5, model=model, **FAST)


def test_a_start_outside_the_support_is_named():
    with pm.Model() as model:
        z = pm.Bernoulli("z", 0.5, shape=2)
        pm.Normal("y", mu=z.sum(), sigma=pm.HalfNormal("s"), observed=[1.0])
    with pytest.raises(ValueError, match=r"start\['s'\] = -1\.0 is outside the support of 's'"):
        pmcgrad.fit(5, model=model, start={"s": -1.0}, **FAST)


def test_a_start_for_a_categorical_latent_is_refused_not_ignored():
    """A categorical latent's q starts uniform: its start used to be dropped silently."""
    with pm.Model() as model:
        c = pm.Categorical("c", p=[0.2, 0.3, 0.5], shape=2)
        pm.Normal("y", mu=c.sum(), sigma=1, observed=[1.0])
    with pytest.raises(ValueError, match=r"start\['c'\]: 'c' is a categorical latent"):
        pmcgrad.fit(5, model=model, start={"c": 7}, **FAST)


def test_a_start_of_the_wrong_shape_is_named_for_a_variable_with_dims():
    with pm.Model(coords={"obs": range(4)}) as model:
        z = pm.Bernoulli("z", 0.5, dims="obs")
        pm.Normal("y", mu=z, sigma=1, observed=np.ones(4), dims="obs")
    with pytest.raises(ValueError, match=r"start\['z'\] has shape \(2,\), which does not fit "
                                         r"'z''s shape \(4,\)"):
        pmcgrad.fit(5, model=model, start={"z": [0.5, 0.5]}, local_dim=False, **FAST)


def test_fit_without_a_model_in_context_says_so():
    with pytest.raises(TypeError, match="No model on context stack"):
        pmcgrad.fit(5, **FAST)


# --- models pmcgrad cannot fit, refused naming the variable
@pytest.mark.parametrize(
    ("latent", "distribution"),
    [(lambda: pm.Poisson("c", 2.0), "Poisson"),
     (lambda: pm.Binomial("c", 5, 0.3), "Binomial"),
     (lambda: pm.DiscreteUniform("c", 0, 4), "DiscreteUniform"),
     (lambda: pm.Geometric("c", 0.3), "Geometric")],
    ids=["poisson", "binomial", "discrete-uniform", "geometric"],
)
def test_non_bernoulli_discrete_latents_are_refused(latent, distribution):
    with pm.Model() as model:
        c = latent()
        pm.Normal("y", mu=c, sigma=1, observed=[1.0])
    with pytest.raises(UnsupportedLatentError, match=rf"'c'.*{distribution}"):
        pmcgrad.fit(5, model=model, **FAST)


def test_a_categorical_with_one_category_is_refused():
    with pm.Model() as model:
        c = pm.Categorical("c", p=[1.0])
        pm.Normal("y", mu=c, sigma=1, observed=[1.0])
    with pytest.raises(UnsupportedLatentError, match=r"'c'.*one category"):
        pmcgrad.fit(5, model=model, **FAST)


def test_nan_in_the_data_is_named_before_compiling():
    """A NaN covariate makes the likelihood NaN: PyMC's start check names the term."""
    with pm.Model() as model:
        z = pm.Bernoulli("z", 0.5)
        pm.Normal("y", mu=z * np.array([1.0, np.nan]), sigma=1, observed=[1.0, 2.0])
    with pytest.raises(SamplingError, match=r"'y': nan"):
        pmcgrad.fit(5, model=model, **FAST)


@pytest.mark.parametrize("p", [np.nan, np.inf, -0.5, 1.5],
                         ids=["nan", "inf", "negative", "above-one"])
def test_an_impossible_bernoulli_p_is_named(p):
    with pm.Model() as model:
        z = pm.Bernoulli("z", p=np.array([0.5, p]))
        pm.Normal("y", mu=z.sum(), sigma=1, observed=[1.0])
    with pytest.raises(SamplingError, match=r"parameters of \['z'\] are outside their "
                                            r"support: 0 <= p <= 1"):
        pmcgrad.fit(5, model=model, **FAST)


def test_impossible_hard_zeros_are_infeasible():
    """Every state of z is -inf (a potential forbidding both 0 and 1)."""
    with pm.Model() as model:
        z = pm.Bernoulli("z", 0.5, shape=2)
        pm.Potential("never", pt.switch(pt.eq(z.sum(), 1), -np.inf, 0.0) +
                     pt.switch(pt.neq(z.sum(), 1), -np.inf, 0.0))
        pm.Normal("y", mu=z.sum(), sigma=1, observed=[1.0])
    with pytest.raises(InfeasibleModelError, match=r"never"):
        pmcgrad.fit(5, model=model, **FAST)


def test_fixed_bits_are_fitted_as_constants():
    """p in {0, 1} fixes a bit: its inclusion probability is exactly 0 or 1."""
    with pm.Model() as model:
        z = pm.Bernoulli("z", p=np.array([0.0, 1.0, 0.5]))
        pm.Normal("y", mu=z.sum(), sigma=1, observed=[1.0])
    result = pmcgrad.fit(10, model=model, random_seed=0, final_samples=8, **FAST)
    probs = result.inclusion_probabilities["z"].values
    assert probs[0] == 0.0 and probs[1] == 1.0 and 0 < probs[2] < 1


# --- odd but valid fit arguments give the documented result
def test_numpy_integers_are_ints_and_seed_the_same_fit(model, fitted):
    again = pmcgrad.fit(np.int64(20), model=model, random_seed=np.int32(0),
                        samples=np.int16(8), final_samples=np.int64(16), **FAST)
    np.testing.assert_array_equal(again.hist, fitted.hist)


def test_a_generator_seed_is_drawn_from_and_advances(model):
    generator = np.random.default_rng(5)
    first = pmcgrad.fit(10, model=model, random_seed=generator, final_samples=16, **FAST)
    second = pmcgrad.fit(10, model=model, random_seed=generator, final_samples=16, **FAST)
    assert not np.array_equal(first.hist, second.hist)
    replay = pmcgrad.fit(10, model=model, random_seed=np.random.default_rng(5),
                         final_samples=16, **FAST)
    np.testing.assert_array_equal(first.hist, replay.hist)


def test_n_zero_runs_no_step(model):
    result = pmcgrad.fit(0, model=model, random_seed=0, final_samples=16, **FAST)
    assert result.steps == 0 and np.isfinite(result.elbo)


def test_final_samples_two_is_the_least(model):
    result = pmcgrad.fit(5, model=model, random_seed=0, final_samples=2, **FAST)
    assert result.final_elbos.shape == (1,) and np.isfinite(result.final_elbos).all()


def test_callbacks_run_every_callback_every_steps(model):
    seen = []
    pmcgrad.fit(10, model=model, random_seed=0, final_samples=16,
                callbacks=(lambda result, hist, step: seen.append(step),), callback_every=5,
                **FAST)
    assert seen == [5, 10]


def test_a_start_probability_of_one_counts_as_095(model):
    result = pmcgrad.fit(0, model=model, random_seed=0, final_samples=16,
                         start={"z": np.array([1.0, 0.0, 0.5])}, **FAST)
    np.testing.assert_allclose(result.inclusion_probabilities["z"].values, [0.95, 0.05, 0.5],
                               atol=1e-6)


def test_a_scalar_start_probability_is_broadcast(model):
    """One inclusion probability for a vector of bits sets every bit (it used to reach PyMC's
    initial point and fail casting a scalar to the bits' vector)."""
    result = pmcgrad.fit(0, model=model, random_seed=0, final_samples=16,
                         start={"z": 0.3, "mu": 0.5}, **FAST)
    np.testing.assert_allclose(result.inclusion_probabilities["z"].values, 0.3, atol=1e-6)
    np.testing.assert_allclose(result.mean_unconstrained["mu"].values, 0.5, atol=1e-6)


def test_a_convergence_object_is_taken(model):
    result = pmcgrad.fit(5, model=model, random_seed=0, final_samples=16, progressbar=False,
                         diagnostics=False, convergence=Convergence(enabled=False))
    assert result.steps == 5


# --- FitResult methods
@pytest.mark.parametrize(
    ("draws", "error", "message"),
    [(0, ValueError, r"draws must be a positive int, got 0"),
     (-1, ValueError, r"draws must be a positive int, got -1"),
     (2.5, ValueError, r"draws must be a positive int, got 2\.5"),
     ("10", ValueError, r"draws must be a positive int, got '10'"),
     (True, ValueError, r"draws must be a positive int, got True")],
    ids=["zero", "negative", "float", "string", "bool"],
)
def test_sample_refuses_a_bad_draw_count(fitted, draws, error, message):
    with pytest.raises(error, match=message):
        fitted.sample(draws)


@pytest.mark.parametrize("start_index", [1, -1, 0.0, "0"])
def test_sample_refuses_a_start_index_out_of_range(fitted, start_index):
    with pytest.raises(ValueError, match=rf"start_index must be an int from 0 to 0 .*got "
                                         rf"{start_index!r}"):
        fitted.sample(10, start_index=start_index)


def test_sample_refuses_a_non_boolean_importance(fitted):
    with pytest.raises(TypeError, match=r"importance must be True or False, got 'yes'"):
        fitted.sample(10, importance="yes")


def test_sample_refuses_a_non_boolean_return_inferencedata(fitted):
    with pytest.raises(TypeError, match=r"return_inferencedata must be True or False, got 'no'"):
        fitted.sample(10, return_inferencedata="no")


@pytest.mark.parametrize("draws", [0, -1, 2.5], ids=["zero", "negative", "float"])
def test_logit_gradient_samples_refuses_a_bad_draw_count(fitted, draws):
    """It used to fail in NumPy (need at least one array to stack; 'float' object cannot be
    interpreted as an integer)."""
    with pytest.raises(ValueError, match=rf"draws must be a positive int, got {draws}"):
        fitted.logit_gradient_samples(draws)


def test_sample_refuses_a_negative_seed_naming_it(fitted):
    with pytest.raises(ValueError, match=r"random_seed.*-1"):
        fitted.sample(10, random_seed=-1)


@pytest.mark.parametrize("draws", [1, 5, 24])
def test_a_few_draws_are_returned(fitted, draws):
    """Fewer draws than PSIS can smooth: the draws come back, k-hat is NaN."""
    tree = fitted.sample(draws, random_seed=0)
    assert tree.posterior["z"].shape == (1, draws, 3)
    assert tree.sample_stats["lp"].shape == (1, draws)
    assert np.isnan(tree.sample_stats.attrs["pareto_k"])
    weights = tree.sample_stats["log_weight"].values
    np.testing.assert_allclose(np.logaddexp.reduce(weights, axis=-1), 0.0, atol=1e-9)


def test_sample_without_inferencedata_returns_arrays(fitted):
    draws = fitted.sample(3, random_seed=0, return_inferencedata=False)
    assert draws["z"].shape == (3, 3) and set(np.unique(draws["z"])) <= {0, 1}


@pytest.mark.parametrize(
    ("n", "options", "error", "message"),
    [(-1, {}, ValueError, r"n must be >= 0, got -1"),
     (2.5, {}, TypeError, r"n must be an int, got 2\.5"),
     (5, {"learning_rate": 0.1}, TypeError, r"unknown options \['learning_rate'\]"),
     (5, {"diagnostics": 10}, ValueError, r"diagnostics must be >= 100.*got 10"),
     (5, {"callbacks": [1]}, TypeError, r"callbacks\[0\] is not callable"),
     (5, {"on_divergence": "ignore"}, ValueError, r"on_divergence must be one of .*'ignore'"),
     (5, {"callback_every": 0}, ValueError, r"callback_every must be >= 1, got 0"),
     (5, {"final_samples": 1}, ValueError, r"final_samples must be >= 2, got 1"),
     (5, {"convergence": "yes"}, TypeError, r"convergence must be .* got 'yes'"),
     (5, {"blas_threads": 0}, ValueError, r"blas_threads must be >= 1, got 0")],
    ids=["negative", "float", "unknown", "diagnostics", "callbacks", "on_divergence",
         "callback_every", "final_samples", "convergence", "blas_threads"],
)
def test_refine_refuses_bad_options(fitted, n, options, error, message):
    with pytest.raises(error, match=message):
        fitted.refine(n, progressbar=False, **options)


def test_refine_continues_the_fit(fitted):
    more = fitted.refine(5, progressbar=False)
    assert more.steps == fitted.steps + 5 and fitted.steps == 20


@pytest.mark.parametrize(
    ("draws", "error", "message"),
    [(10, ValueError, r"draws must be >= 100.*got 10"),
     (2.5, TypeError, r"draws must be an int.*2\.5"),
     (-100, ValueError, r"draws must be >= 100.*got -100")],
    ids=["few", "float", "negative"],
)
def test_diagnose_refuses_a_bad_draw_count(fitted, draws, error, message):
    with pytest.raises(error, match=message):
        fitted.diagnose(draws=draws)


def test_diagnose_with_the_least_draws_reports(fitted):
    report = fitted.diagnose(draws=100, random_seed=0)
    assert np.isfinite(report.pareto_k)


# --- expectation / gradient_samples
def _sum(bits):
    return bits.sum(-1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [(lambda: pmcgrad.expectation(_sum, np.zeros(3, dtype="int64")), TypeError,
      r"logits must be float32 or float64, got dtype int64"),
     (lambda: pmcgrad.expectation(_sum, 0.5), ValueError, r"logits must have at least one"),
     (lambda: pmcgrad.expectation(_sum, "abc"), TypeError, r"logits must be"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), samples=0), ValueError,
      r"samples must be >= 1, got samples=0"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), samples=2.5), TypeError,
      r"samples must be an int, got samples=2\.5"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), samples=True), TypeError,
      r"samples must be an int, got samples=True"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), "nope"), ValueError,
      r"unknown estimator 'nope'; registered estimators: .*disarm"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), "noise_score", noise="cauchy"),
      ValueError, r"unknown noise distribution 'cauchy'; registered: .*logistic"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), "noise_score", noise=["normal"]),
      TypeError, r"noise must be a registered name .*\['normal'\]"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), "antithetic_noise", noise="gumbel"),
      ValueError, r"gumbel.*symmetric"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), "reinforce_loo", samples=1),
      ValueError, r"'reinforce_loo' needs samples >= 2, got samples=1"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), rng=-1), ValueError, r"rng.*-1"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), rng="seed"), TypeError, r"rng.*'seed'"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), rng=True), TypeError, r"rng.*True"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), exact_limit="5"), TypeError,
      r"exact_limit must be an int .*'5'"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(25), "exact"), ValueError,
      r"k = 25|25 bits|2\^25"),
     (lambda: pmcgrad.expectation("f", np.zeros(3)), TypeError, r"f must be a callable.*'f'"),
     (lambda: pmcgrad.expectation(lambda b: b, np.zeros(3), samples=4), ValueError,
      r"it returned shape \(8, 3\)"),
     (lambda: pmcgrad.expectation(_sum, np.zeros(3), "arsm"), ValueError,
      r"'arsm' is categorical: logits must have shape \(\.\.\., k, K\)"),
     (lambda: pmcgrad.expectation(_sum, np.zeros((3, 1)), "arsm"), ValueError,
      r"K >= 2 categories; logits of shape \(3, 1\) have K=1"),
     (lambda: pmcgrad.expectation(_sum, pt.matrix("phi"), "arsm"), ValueError,
      r"'arsm' needs a static number of categories K"),
     (lambda: pmcgrad.expectation(_sum, np.zeros((20, 3)), "categorical_exact"), ValueError,
      r"K = 3|K=3"),
     (lambda: pmcgrad.gradient_samples(_sum, np.zeros(3, dtype="int32")), TypeError,
      r"dtype int32"),
     (lambda: pmcgrad.gradient_samples(_sum, np.zeros(3), samples=0), ValueError,
      r"samples=0"),
     (lambda: pmcgrad.gradient_samples(_sum, np.zeros(3), "nope"), ValueError,
      r"unknown estimator 'nope'")],
    ids=["int-logits", "scalar-logits", "string-logits", "samples-zero", "samples-float",
         "samples-bool", "unknown-estimator", "unknown-noise", "noise-list", "asymmetric-noise",
         "loo-one-sample", "negative-rng", "string-rng", "bool-rng", "exact-limit-string",
         "exact-too-big", "f-not-callable", "f-wrong-shape", "categorical-1d",
         "categorical-k1", "categorical-unknown-k", "categorical-exact-too-big",
         "gs-int-logits", "gs-samples-zero", "gs-unknown-estimator"],
)
def test_the_estimator_api_refuses_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_nan_logit_gives_nan_for_its_row_only():
    logits = np.array([[0.0, np.nan, 1.0], [0.0, 0.5, 1.0]])
    value = pmcgrad.expectation(_sum, logits, "disarm", samples=4, rng=0).eval()
    assert np.isnan(value[0]) and np.isfinite(value[1])
    draws = pmcgrad.gradient_samples(_sum, logits, "disarm", samples=4, rng=0)
    gradients = draws.gradients.eval()
    assert np.isnan(gradients[:, 0]).all() and np.isfinite(gradients[:, 1]).all()


def test_infinite_logits_give_the_limit():
    value = pmcgrad.expectation(_sum, np.array([np.inf, -np.inf, np.inf]), "exact").eval()
    assert value == 2.0


def test_float32_logits_keep_their_dtype():
    value = pmcgrad.expectation(_sum, np.zeros(3, dtype="float32"), "disarm", samples=2, rng=0)
    assert value.dtype == "float32"


def test_function_draws_afresh_on_every_call():
    value = pmcgrad.expectation(_sum, np.zeros(6), "reinforce", samples=1, rng=1)
    draw = pmcgrad.function([], value)
    assert len({float(draw()) for _ in range(10)}) > 1


# --- your own estimator or noise
def _draw(rng, shape, dtype):
    rng, u = pmcgrad.streams.uniform(rng, shape, dtype)
    return rng, (u,)


def _bits(logits, noise_tensors):
    return (noise_tensors[0] < pt.sigmoid(logits)).astype(logits.dtype)[None]


def _custom(**changes) -> Estimator:
    def gradient(logits, noise_tensors, fvals):
        return fvals[0][..., None] * (_bits(logits, noise_tensors)[0] - pt.sigmoid(logits))

    fields = dict(name="hostile", op_name="Hostile", kind="score", unbiased=True,
                  formula="f (b - p)", reference="test", draw=_draw, bits=_bits,
                  gradient=gradient)
    return Estimator(**(fields | changes))


def _gradient_returning(shape_of):
    def wrong_gradient(logits, noise_tensors, fvals):
        return pt.zeros(shape_of(fvals, logits))
    return wrong_gradient


@pytest.mark.parametrize(
    ("shape_of", "returned"),
    [(lambda fvals, logits: (fvals.shape[1],), r"\(4\)"),
     (lambda fvals, logits: (logits.shape[0],), r"\(3\)"),
     (lambda fvals, logits: (fvals.shape[1], logits.shape[0] + 1), r"\(4, 4\)")],
    ids=["(S,)", "(k,)", "(S, k+1)"],
)
def test_a_registered_gradient_of_the_wrong_shape_is_refused(shape_of, returned,
                                                              isolated_registries):
    mine = pmcgrad.register_estimator(_custom(gradient=_gradient_returning(shape_of)))
    with pytest.raises(ValueError, match=rf"'hostile'.*wrong_gradient.* returned shape "
                                         rf"{returned}.*\(4, 3\)"):
        pmcgrad.expectation(_sum, pt.vector("phi", shape=(3,)), mine.name, samples=4)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [(dict(name=""), ValueError, r"name"),
     (dict(op_name="not an identifier"), ValueError, r"op_name.*'not an identifier'"),
     (dict(kind="magic"), ValueError, r"kind.*'magic'"),
     (dict(support="poisson"), ValueError, r"support.*'poisson'"),
     (dict(min_samples=0), ValueError, r"min_samples.*0"),
     (dict(draw="uniform"), TypeError, r"draw.*'uniform'")],
    ids=["empty-name", "op-name", "kind", "support", "min-samples", "draw-not-callable"],
)
def test_an_estimator_record_is_checked_at_construction(changes, error, message):
    with pytest.raises(error, match=message):
        _custom(**changes)


def test_bits_without_the_evaluation_axis_are_refused():
    mine = _custom(bits=lambda logits, noise: _bits(logits, noise)[0])
    with pytest.raises(ValueError, match=r"'hostile'.*bits"):
        pmcgrad.expectation(_sum, pt.vector("phi", shape=(3,)), mine, samples=4)


def test_a_draw_returning_a_bare_tensor_is_refused():
    mine = _custom(draw=lambda rng, shape, dtype: pmcgrad.streams.uniform(rng, shape, dtype))
    with pytest.raises((TypeError, ValueError), match=r"'hostile'.*draw"):
        pmcgrad.expectation(_sum, pt.vector("phi", shape=(3,)), mine, samples=4)


@pytest.fixture
def isolated_registries(monkeypatch):
    import pmcgrad.estimators as estimators
    import pmcgrad.estimators.noise as noise

    monkeypatch.setattr(estimators, "_REGISTRY", dict(estimators._REGISTRY))
    monkeypatch.setattr(noise, "_REGISTRY", dict(noise._REGISTRY))


def _laplace(**changes) -> NoiseDistribution:
    fields = dict(name="laplace_probe",
                  cdf=lambda x: pt.switch(x < 0, 0.5 * pt.exp(x), 1 - 0.5 * pt.exp(-x)),
                  pdf=lambda x: 0.5 * pt.exp(-pt.abs(x)), symmetric=True)
    return NoiseDistribution(**(fields | changes))


@pytest.mark.parametrize(
    ("register", "error", "message"),
    [(lambda: pmcgrad.register_estimator("disarm"), TypeError, r"pmcgrad\.Estimator.*str"),
     (lambda: pmcgrad.register_estimator(_custom(name="disarm")), ValueError,
      r"'disarm'.*already registered.*overwrite=True"),
     (lambda: pmcgrad.register_noise("logistic"), TypeError, r"NoiseDistribution"),
     (lambda: pmcgrad.register_noise(_laplace(name="normal")), ValueError,
      r"'normal'.*already registered"),
     (lambda: _laplace(name=""), ValueError, r"name"),
     (lambda: _laplace(cdf="cdf"), TypeError, r"cdf.*'cdf'"),
     (lambda: _laplace(pdf=None), TypeError, r"pdf.*None"),
     (lambda: pmcgrad.register_noise(_laplace(name="normal"), overwrite="no"), TypeError,
      r"register_noise\(overwrite=\.\.\.\) must be True or False, got 'no'"),
     (lambda: pmcgrad.register_estimator(_custom(name="disarm"), overwrite=1), TypeError,
      r"register_estimator\(overwrite=\.\.\.\) must be True or False, got 1")],
    ids=["estimator-string", "estimator-taken", "noise-string", "noise-taken", "noise-name",
         "noise-cdf", "noise-pdf", "noise-overwrite-string", "estimator-overwrite-int"],
)
def test_registration_is_checked(register, error, message, isolated_registries):
    with pytest.raises(error, match=message):
        register()


def test_an_asymmetric_registered_noise_is_refused_by_antithetic_noise(isolated_registries):
    pmcgrad.register_noise(_laplace(name="skewed", symmetric=False))
    with pytest.raises(ValueError, match=r"'skewed'.*symmetric"):
        pmcgrad.expectation(_sum, np.zeros(3), "antithetic_noise", noise="skewed")


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)],
    ids=["negative", "float", "bool", "string"],
)
def test_spawn_seeds_refuses_bad_seeds(seed, error):
    with pytest.raises(error, match=rf"random_seed.*{seed!r}"):
        pmcgrad.spawn_seeds(seed, 2)


# --- the study: config and tables
def _tiny_config() -> dict:
    from pathlib import Path

    return yaml.safe_load((Path(__file__).parent.parent / "config" / "tiny.yaml").read_text())


def _validate(config):
    from pathlib import Path

    from snakemake.utils import validate

    validate(config, str(Path(__file__).parent.parent / "workflow" / "schemas" /
                          "config.schema.yaml"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [(lambda c: c["model"]["mcmc"].pop("tune"), r"'tune' is a required property"),
     (lambda c: c.pop("chain"), r"'chain' is a required property"),
     (lambda c: c["chain"].update(evaluations=10**12), r"greater than the maximum"),
     (lambda c: c["chain"].update(evaluations="many"), r"'many' is not of type"),
     (lambda c: c["chain"].update(colour="blue"), r"colour")],
    ids=["missing-key", "missing-section", "absurd-size", "wrong-type", "unknown-key"],
)
def test_the_schema_names_the_bad_field(edit, message):
    from snakemake.exceptions import WorkflowError

    config = _tiny_config()
    edit(config)
    with pytest.raises(WorkflowError, match=message):
        _validate(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [(lambda c: c["gradient"].update(problems=["rastrigin"]),
      r"gradient\.problems\[0\].*'rastrigin'"),
     (lambda c: c["gradient"].update(estimators=["disram"]),
      r"gradient\.estimators\[0\].*'disram'"),
     (lambda c: c["model"]["mcmc"].pop("draws"), r"'model\.mcmc\.draws' is missing")],
    ids=["unknown-problem", "unknown-estimator", "missing-key"],
)
def test_the_settings_name_the_bad_field(edit, message):
    from pmcgrad.study.settings import ConfigError, StudySettings

    config = _tiny_config()
    edit(config)
    with pytest.raises(ConfigError, match=message):
        StudySettings.from_config(config)


def _chain_table(tmp_path, edit=None):
    import math

    from pmcgrad.study.columns import CHAIN
    from pmcgrad.study.tables import write_table

    rows = [{"estimator": "disarm", "k": 1, "t": 0.49, "seed": 0, "evaluations": 2,
             "variance": 1e-3, "variance_se": 1e-5, "closed_form": math.nan}
            for _ in range(3)]
    path = tmp_path / "k1.csv"
    write_table(rows, path, CHAIN)
    if edit is not None:
        path.write_text(edit(path.read_text()))
    return path, CHAIN


@pytest.mark.parametrize(
    ("edit", "rows", "message"),
    [(lambda text: text.replace("0.001", "abc", 1), None,
      r"line 2, column 'variance': could not convert 'abc' to float"),
     (None, 5, r"has 3 rows, expected 5 for its job"),
     (lambda text: text[:-5], None, r"truncated"),
     (lambda text: text.replace("variance_se", "spread", 1), None, r"has columns"),
     (lambda text: "", None, r"empty"),
     (lambda text: text.replace("disarm", "disarm,extra", 1), None, r"line 2: 9 fields"),
     (lambda text: text.replace("disarm", "", 1), None, r"column 'estimator'.*no value")],
    ids=["bad-cell", "row-count", "truncated", "header", "empty", "extra-field",
         "missing-key"],
)
def test_a_broken_table_is_named(tmp_path, edit, rows, message):
    from pmcgrad.study.tables import TableError, read_table

    path, contract = _chain_table(tmp_path, edit)
    with pytest.raises(TableError, match=message):
        read_table(path, contract, rows=rows)


def test_write_table_refuses_a_missing_column(tmp_path):
    from pmcgrad.study.columns import CHAIN
    from pmcgrad.study.tables import TableError, write_table

    with pytest.raises(TableError, match=r"missing"):
        write_table([{"estimator": "disarm"}], tmp_path / "bad.csv", CHAIN)
    assert not (tmp_path / "bad.csv").exists()


def test_a_configfile_missing_a_key_fails_naming_it(tmp_path):
    """snakemake --configfile with a required key removed stops at validation, naming it."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).parent.parent
    config = _tiny_config()
    config["model"]["mcmc"].pop("tune")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake = Path(sys.executable).parent / "snakemake"
    run = subprocess.run([str(snakemake), "-s", str(repo / "Snakefile"), "-n", "--cores", "1",
                          "--configfile", str(path)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode != 0
    assert "'tune' is a required property" in run.stdout + run.stderr

