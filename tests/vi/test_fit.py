"""pmcgrad.fit's API: signature, result object, DataTree output and errors."""

from __future__ import annotations

import re

import arviz as az
import matplotlib
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
import xarray as xr
from pymc.exceptions import SamplingError
from pymc.variational.callbacks import CheckParametersConvergence

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import simulate_spike_slab
from pmcgrad.vi import UnsupportedLatentError

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def small_data():
    return simulate_spike_slab(n=40, k=4, n_true=2, seed=0)


@pytest.fixture(scope="module")
def fitted(small_data):
    model = spike_slab_model(small_data)
    with model:
        result = pmcgrad.fit(1500, estimator="disarm", n_starts=3, random_seed=1,
                             progressbar=False, convergence=False)
    return model, result


def test_result_holds_history_inclusion_and_diagnostics(fitted, small_data):
    """Loss history, named inclusion probabilities with dims, per-start ELBOs, variances."""
    _, result = fitted
    assert result.hist.shape == (1500,) and np.all(np.isfinite(result.hist))
    inclusion = result.inclusion_probabilities["z"]
    assert inclusion.dims == ("predictor",)
    assert list(inclusion.coords["predictor"].values) == ["x0", "x1", "x2", "x3"]
    assert np.all((inclusion >= 0) & (inclusion <= 1))
    assert result.final_elbos.shape == (3,) and result.final_elbo_se.shape == (3,)
    assert result.elbo == result.final_elbos.max()
    variance = result.gradient_variance["z"]
    assert variance.dims == ("predictor",) and np.all(variance >= 0)
    assert result.hist_starts.shape == (1500, 3)


def test_starts_run_as_one_vectorised_graph(fitted):
    """n_starts=M is one compiled step over (M, K) logits, not M Python loops."""
    _, result = fitted
    assert result.logit_values.shape == (3, 4)
    assert result.state.params["mean"].shape[0] == 3
    # Different starts end in different places: they are independent fits.
    assert not np.allclose(result.logit_values[0], result.logit_values[1])


def test_sample_returns_a_datatree_like_pm_sample(fitted, small_data):
    """Integers for Bernoulli, dims and coords, deterministics, observed and constant data."""
    _, result = fitted
    idata = result.sample(300, random_seed=2)
    assert isinstance(idata, xr.DataTree)
    posterior = idata.posterior
    assert posterior["z"].dtype == np.int64
    assert posterior["z"].dims == ("chain", "draw", "predictor")
    assert posterior.sizes["draw"] == 300
    np.testing.assert_array_equal(posterior["effect"], posterior["z"] * posterior["beta"])
    np.testing.assert_array_equal(idata.observed_data["y"], small_data.y)
    assert "X" in idata.constant_data
    # Reproducible from the seed; the mean of z follows the inclusion probabilities.
    again = result.sample(300, random_seed=2)
    np.testing.assert_array_equal(again.posterior["beta"], posterior["beta"])
    inclusion = result.inclusion_probabilities["z"].values
    se = np.sqrt(inclusion * (1 - inclusion) / 300) + 1e-9
    assert np.all(np.abs(posterior["z"].mean(("chain", "draw")).values - inclusion) < 5 * se)
    summary = az.summary(idata, var_names=["z", "beta"], kind="stats")
    assert len(summary) == 8


def test_arviz_plots_work_on_the_result(fitted, tmp_path):
    """arviz_plots draws a forest plot and distribution plots from the DataTree."""
    import arviz_plots as azp

    _, result = fitted
    idata = result.sample(200, random_seed=3)
    azp.plot_forest(idata, var_names=["beta"], backend="matplotlib").savefig(tmp_path / "f.png")
    # Not z: here every draw of each z_j is the same (inclusion 0 or 1), and arviz_plots'
    # histogram of a constant has no bins (a ValueError from its y-range).
    azp.plot_dist(idata, var_names=["beta"], backend="matplotlib").savefig(tmp_path / "d.png")
    assert (tmp_path / "f.png").stat().st_size > 0 and (tmp_path / "d.png").stat().st_size > 0


def test_refine_continues_where_the_fit_stopped(small_data):
    """refine(n) returns a new result with n more steps; the first result is unchanged."""
    with spike_slab_model(small_data):
        result = pmcgrad.fit(200, random_seed=4, progressbar=False, convergence=False)
    logits_before = result.logit_values.copy()
    refined = result.refine(100, progressbar=False)
    assert refined.hist.shape == (300,) and result.hist.shape == (200,)
    np.testing.assert_array_equal(refined.hist[:200], result.hist)
    np.testing.assert_array_equal(result.logit_values, logits_before)
    assert not np.array_equal(refined.logit_values, logits_before)


def test_refine_of_a_converged_fit_takes_its_steps():
    """A fit its rule stopped still refines: refine(n) with the rule off takes all n steps
    (it returned at once before); with the rule on it takes at least a window's steps."""
    with pm.Model():
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu=mu, sigma=1.0, observed=np.linspace(-1.0, 3.0, 20))
        result = pmcgrad.fit(20_000, random_seed=0, progressbar=False)
    assert result.converged and result.steps < 20_000
    more = result.refine(300, progressbar=False, convergence=False)
    assert more.steps == result.steps + 300 and more.stop_reason == "n"
    again = result.refine(1000, progressbar=False)
    assert again.steps >= result.steps + 200 and again.hist.shape == (again.steps,)


def test_pymc_callbacks_stop_the_fit(small_data):
    """PyMC's CheckParametersConvergence reads result.params and stops the loop."""
    seen = []
    with spike_slab_model(small_data):
        result = pmcgrad.fit(
            5000, random_seed=5, progressbar=False, callback_every=50,
            callbacks=[CheckParametersConvergence(every=50, tolerance=1e9),
                       lambda res, hist, i: seen.append((i, hist.shape[0]))],
        )
    # Callbacks run every 50 steps. The first check (step 50) records the parameters, the
    # second (step 100) compares and, with this tolerance, stops; callbacks after it in the
    # list do not run for that step.
    assert result.hist.shape == (100,) and result.stop_reason == "Convergence achieved at 100"
    assert seen == [(50, 50)]


def test_progressbar_shows_the_running_loss(small_data, capsys):
    """The rich progress bar runs and prints the running average loss."""
    with spike_slab_model(small_data):
        pmcgrad.fit(50, random_seed=6, progressbar=True)
    assert "Average Loss" in capsys.readouterr().out


def test_bernoulli_of_any_shape_with_p_or_logit_p():
    """Bernoulli latents of shape (2, 3) with logit_p, plus a scalar one with p, are fitted."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=(2, 3)) + 2.0
    with pm.Model(coords={"row": ["a", "b"], "col": [0, 1, 2]}):
        z = pm.Bernoulli("z", logit_p=0.3, dims=("row", "col"))
        w = pm.Bernoulli("w", p=0.5)
        shift = pm.Normal("shift", 0.0, 1.0)
        pm.Normal("y", mu=2.0 * z + shift * w, sigma=0.5, observed=y)
        result = pmcgrad.fit(300, estimator="arm", random_seed=7, progressbar=False)
    assert result.inclusion_probabilities["z"].dims == ("row", "col")
    assert result.inclusion_probabilities["z"].shape == (2, 3)
    assert result.inclusion_probabilities["w"].shape == ()
    idata = result.sample(50, random_seed=0)
    assert idata.posterior["z"].shape == (1, 50, 2, 3)


def test_fullrank_family_and_exact_estimator():
    """family='fullrank' and estimator='exact' fit; the fullrank family has a full scale."""
    data = simulate_spike_slab(n=40, k=3, n_true=1, seed=2)
    with spike_slab_model(data):
        result = pmcgrad.fit(300, estimator="exact", family="fullrank", random_seed=8,
                             progressbar=False)
    assert result.state.params["scale_tril_raw"].shape == (1, 3, 3)
    assert result.std["beta"].shape == (3,)
    assert np.isfinite(result.elbo)


def test_model_without_continuous_latents():
    """A model with only Bernoulli latents fits the bits alone."""
    with pm.Model():
        z = pm.Bernoulli("z", p=0.5, shape=3)
        pm.Normal("y", mu=3.0 * z, sigma=1.0, observed=[3.0, 0.0, 3.0])
        result = pmcgrad.fit(800, random_seed=9, progressbar=False)
    assert result.family is None
    inclusion = result.inclusion_probabilities["z"].values
    assert inclusion[0] > 0.9 and inclusion[1] < 0.1 and inclusion[2] > 0.9


# --- bad input: a clear error, and nothing lost
@pytest.mark.parametrize(
    ("make_rv", "distribution"),
    [
        (lambda: pm.Poisson("c", 2.0), "Poisson"),
        (lambda: pm.Binomial("c", 3, 0.5), "Binomial"),
        (lambda: pm.DiscreteUniform("c", 0, 3), "DiscreteUniform"),
    ],
)
def test_non_bernoulli_discrete_latent_is_refused(make_rv, distribution):
    """The error names the variable, its distribution and what is supported."""
    with pm.Model():
        c = make_rv()
        pm.Normal("y", mu=c, sigma=1.0, observed=[1.0])
        with pytest.raises(UnsupportedLatentError,
                           match=f"'c' is discrete with distribution {distribution}.*Bernoulli"):
            pmcgrad.fit(10, progressbar=False)


def test_unknown_estimator_and_family_are_refused(small_data):
    """Unknown names list the valid ones."""
    with spike_slab_model(small_data):
        with pytest.raises(ValueError, match="registered estimators: exact, reinforce"):
            pmcgrad.fit(10, estimator="dis_arm", progressbar=False)
        with pytest.raises(ValueError, match="valid families: meanfield, fullrank"):
            pmcgrad.fit(10, family="low_rank", progressbar=False)


def test_non_finite_start_names_the_variables():
    """A non-finite log density at the initial point is refused, naming the variable."""
    with pm.Model():
        z = pm.Bernoulli("z", p=0.5)
        pm.Normal("y", mu=z, sigma=1.0, observed=[np.inf])
        with pytest.raises(SamplingError, match=r"'y': [^,}]*-inf"):
            pmcgrad.fit(10, progressbar=False)


def test_non_finite_loss_stops_with_history_kept():
    """A NaN ELBO raises FloatingPointError naming the step; the history stays on the result."""
    with pm.Model():
        z = pm.Bernoulli("z", p=0.5)
        mu = pm.Normal("mu", 0.0, 10.0)
        # The density turns NaN once mu drifts past 3 towards the data at 10.
        pm.Potential("boom", pt.switch(mu > 3.0, np.nan, 0.0))
        pm.Normal("y", mu=mu + z, sigma=1.0, observed=[10.0, 10.0, 10.0])
        with pytest.raises(FloatingPointError, match=r"non-finite ELBO at step (\d+).*last finite "
                                                     r"loss was .* at step") as info:
            pmcgrad.fit(5000, random_seed=10, progressbar=False)
    result = info.value.result
    assert 0 < result.hist.shape[0] < 5000
    assert np.all(np.isfinite(result.hist))
    assert np.isfinite(result.state.params["mean"]).all()
    assert f"at step {result.hist.shape[0]}" in str(info.value)


# --- pm.fit's habits (issue 15): start values, names, plain draws, the compiling status
def test_start_gives_initial_values_on_the_models_scale(fitted, small_data):
    """start= sets start 0: Gaussian means at the given values (unconstrained), logits at the
    given inclusion probabilities (0 and 1 read as 0.05 and 0.95); n_starts keeps its name."""
    model, _ = fitted
    beta = np.array([0.5, -1.0, 2.0, 0.0])
    with model:
        result = pmcgrad.fit(0, estimator="disarm", n_starts=3, random_seed=1,
                             progressbar=False, convergence=False,
                             start={"beta": beta, "z": [0.3, 1, 0, 0.5]})
    np.testing.assert_allclose(result.state.params["mean"][0], beta)
    np.testing.assert_allclose(result.state.params["logits"][0],
                               np.log([0.3 / 0.7, 0.95 / 0.05, 0.05 / 0.95, 1.0]))
    with model, pytest.raises(ValueError, match=r"start\['b'\]: 'b' is not a free variable"):
        pmcgrad.fit(0, progressbar=False, start={"b": 1.0})


def test_mean_and_std_are_keyed_by_model_names_on_the_models_scale(fitted):
    """result.mean / result.std use the model's names (sigma, not sigma_log__): Bernoulli
    variables give their inclusion probabilities, the others Monte Carlo moments."""
    _, result = fitted
    assert set(result.mean) == set(result.std) == {"z", "beta"}
    np.testing.assert_array_equal(result.mean["z"], result.inclusion_probabilities["z"])
    draws = result.sample(4000, random_seed=20261128).posterior["beta"]
    np.testing.assert_allclose(result.mean["beta"], draws.mean(("chain", "draw")))
    np.testing.assert_allclose(result.std["beta"], draws.std(("chain", "draw")))
    with pm.Model():
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", 0.0, sigma, observed=[0.5, -1.0, 2.0])
        fit = pmcgrad.fit(300, random_seed=2, progressbar=False)
    assert set(fit.mean) == {"sigma"} and set(fit.mean_unconstrained) == {"sigma_log__"}
    assert float(fit.mean["sigma"]) > 0


def test_sample_without_inferencedata_returns_a_dict_of_arrays(fitted):
    """return_inferencedata=False: {name: (draws, *shape)} with deterministics, no chain."""
    _, result = fitted
    draws = result.sample(50, random_seed=3, return_inferencedata=False)
    assert isinstance(draws, dict) and set(draws) == {"z", "beta", "effect"}
    assert draws["z"].shape == (50, 4) and draws["z"].dtype == np.int64
    np.testing.assert_array_equal(draws["effect"], draws["z"] * draws["beta"])
    tree = result.sample(50, random_seed=3)
    # The same draws; the DataTree's constraining may round differently in the last bit.
    np.testing.assert_allclose(tree.posterior["beta"].values[0], draws["beta"], rtol=1e-14)


def test_progress_bar_shows_compiling_while_the_fitter_is_built(small_data, monkeypatch):
    """A first fit of a model shows a "Compiling" task while the fitter is built; a second
    fit of the same model compiles nothing and shows none."""
    from pmcgrad.vi import api

    shown = []

    class Recording:
        def __init__(self, progress):
            self.progress = progress

        def __enter__(self):
            self.inner = self.progress.__enter__()
            return self

        def __exit__(self, *exc):
            return self.progress.__exit__(*exc)

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def update(self, task, **fields):
            if fields.get("visible"):
                shown.append(next(t.description for t in self.inner.tasks if t.id == task))
            return self.inner.update(task, **fields)

    original = api.progress_bar
    monkeypatch.setattr(api, "progress_bar", lambda enabled: Recording(original(enabled)))
    with spike_slab_model(small_data):
        pmcgrad.fit(20, random_seed=6, progressbar=True, samples=4)
        assert len(shown) == 1 and shown[0].startswith("Compiling")
        pmcgrad.fit(20, random_seed=7, progressbar=True, samples=4)
    assert len(shown) == 1


@pytest.mark.parametrize("block", [10, 100])
def test_a_diverging_loss_raises_and_keeps_the_last_good_state(caplog, block):
    """Plain SGD with a step past the stability limit: every step overshoots the data's mean
    by 10% more than the last, so the loss grows geometrically (x1.21 a step). The fit raises
    DivergenceError naming what moved most; error.result holds the last state before the
    step whose loss ran away (finite, and below the loss it rose to), the same with blocks of
    10 or 100 steps, although with 100 the fit diverges inside its first block.
    on_divergence="warn" logs the message and returns that state instead."""
    rng = np.random.default_rng(11)
    y = rng.normal(2.0, 1.0, size=50)
    with pm.Model():
        z = pm.Bernoulli("z", p=0.5)
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu=mu + z, sigma=1.0, observed=y)
        # d loss / d mean = 50 (mean - ybar): a step of 0.042 multiplies the error by -1.1.
        options = dict(optimizer=pm.sgd(learning_rate=0.042), random_seed=12,
                       progressbar=False, convergence=False, callback_every=block)
        with pytest.raises(pmcgrad.vi.DivergenceError) as info:
            pmcgrad.fit(2000, **options)
        with caplog.at_level("WARNING", logger="pmcgrad.vi"):
            warned = pmcgrad.fit(2000, on_divergence="warn", **options)
    message = str(info.value)
    found = re.search(r"the loss diverged after step (\d+): it rose to (\S+) \(or a non-finite "
                      r"value\) from a best of (\S+)\. The parameter that moved most was the "
                      r"\w+ of '\w+'.*last good state, at step (\d+)", message)
    assert found, message
    stop, rose_to = int(found.group(1)), float(found.group(2))
    result = info.value.result
    # The bad step is found inside the block and the state before it replayed, so the last
    # good state does not depend on the block length.
    assert result.stop_reason == "diverged" and result.steps == stop == int(found.group(4))
    assert 0 < stop < 100
    assert np.all(np.isfinite(result.hist)) and np.all(result.hist < rose_to)
    assert warned.stop_reason == "diverged" and warned.steps == stop
    assert "the loss diverged" in caplog.text
