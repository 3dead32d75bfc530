"""Say when the answer is wrong: PSIS k-hat, importance-corrected answers, start agreement.

The first part tests the checks' logic on small made-up inputs (fast, nothing compiled). The
second fits one small model and checks what ``fit`` and ``sample`` return. The last part
(slow) checks the corrected answers against the exact posterior, enumerated.
"""

from __future__ import annotations

import types
import warnings

import arviz as az
import numpy as np
import pymc as pm
import pytest
from scipy import stats

import pmcgrad
from pmcgrad.models import spike_slab_model
from pmcgrad.problems import exact_posterior_inclusion, simulate_spike_slab
from pmcgrad.problems.spike_slab import SpikeSlabData
from pmcgrad.vi import FitResult, FitState
from pmcgrad.vi.diagnostics import (
    START_ANSWER_TOLERANCE,
    FitDiagnostics,
    FitWarning,
    collapsed,
    compare_starts,
    diagnostic_messages,
    gradient_snr,
    khat_verdict,
)
from pmcgrad.vi.importance import (
    DEFAULT_DRAWS,
    ImportanceUnavailableError,
    ProposalDraws,
    importance_sample,
    psis,
    unavailable_reason,
)


# --- PSIS on draws whose importance ratios are known in closed form
@pytest.mark.parametrize(("target_sd", "expected_k"), [(3.0, 1 - 1 / 9), (1.25, 1 - 1 / 1.5625)])
def test_psis_khat_of_a_too_narrow_gaussian_follows_theory(target_sd, expected_k):
    """q = N(0, 1), p = N(0, s^2): the ratios' tail is Pareto with k = 1 - 1/s^2 (0.89 for s = 3,
    0.36 for s = 1.25); PSIS finds the side of 0.7 the theory puts it on."""
    x = np.random.default_rng(0).normal(size=4000)
    log_ratios = stats.norm.logpdf(x, scale=target_sd) - stats.norm.logpdf(x)
    result = psis(log_ratios)
    assert abs(float(result.pareto_k) - expected_k) < 0.15
    assert (float(result.pareto_k) > 0.7) == (expected_k > 0.7)
    np.testing.assert_allclose(np.exp(result.log_weights).sum(), 1.0)


def test_psis_weights_recover_a_shifted_mean():
    """q = N(0, 1), p = N(0.3, 1): the weighted mean is 0.3 within 4 Monte Carlo errors."""
    x = np.random.default_rng(1).normal(size=5000)
    result = psis(stats.norm.logpdf(x, loc=0.3) - stats.norm.logpdf(x))
    w = result.weights
    mean = float(w @ x)
    se = float(np.sqrt(w**2 @ (x - mean) ** 2))
    assert abs(mean - 0.3) < 4 * se
    assert float(result.pareto_k) < 0.5


def test_psis_of_constant_and_nan_ratios():
    """Equal ratios (q is the posterior) give equal weights and k-hat -inf; a NaN gives NaN."""
    equal = psis(np.full((2, 200), -3.0))
    np.testing.assert_allclose(equal.weights, 1 / 200)
    assert np.all(equal.pareto_k == -np.inf)
    ratios = np.random.default_rng(2).normal(size=200)
    ratios[5] = np.nan
    assert np.isnan(psis(ratios).pareto_k)


def test_mixture_of_starts_weighs_each_mode_by_its_posterior_mass():
    """Two starts, each a unit Gaussian on one mode of p = 0.3 N(-3, 1) + 0.7 N(3, 1): pooled and
    weighed against their mixture, the draws give the modes' masses. One start alone draws the
    other mode too rarely to weigh it, and its k-hat says so."""
    rng = np.random.default_rng(3)
    centres, draws = np.array([-3.0, 3.0]), 2000
    reals = centres[None, :, None] + rng.normal(size=(draws, 2, 1))  # (B, M, D=1)
    log_p = np.logaddexp(np.log(0.3) + stats.norm.logpdf(reals[..., 0], -3),
                         np.log(0.7) + stats.norm.logpdf(reals[..., 0], 3))
    log_q = stats.norm.logpdf(reals[:, :, None, 0], loc=centres[None, None, :])  # (B, M, M)
    proposal = ProposalDraws(bits=np.zeros((draws, 2, 0)), reals=reals, log_p=log_p,
                             log_q=log_q)
    pooled = importance_sample(proposal)
    upper = pooled.mean(pooled.reals[:, 0] > 0)
    assert abs(upper - 0.7) < 4 * pooled.mcse(pooled.reals[:, 0] > 0)
    assert pooled.reliable and pooled.size == 2 * draws
    alone = importance_sample(proposal, counts=np.array([draws, 0]))
    assert alone.size == draws and alone.mean(alone.reals[:, 0] > 0) < 0.35
    assert not alone.reliable


# --- the checks
def test_starts_agree_when_equal_and_disagree_on_answers_or_elbos():
    """Equal starts agree; a different inclusion probability, a mean shifted in units of its
    standard deviation, or an ELBO many standard errors and nats lower, disagree."""
    pips = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.1]])
    means = np.array([[1.0], [1.0], [1.0], [1.5], [1.0]])
    sds = np.full((5, 1), 2.0)
    elbos = np.array([-10.0, -10.01, -10.0, -10.0, -13.0])
    se = np.full(5, 0.05)
    found = compare_starts(elbos, se, 0, pips=pips, means=means, sds=sds,
                           bit_labels=("z[a]", "z[b]"), real_labels=("beta",))
    np.testing.assert_array_equal(found.disagree, [False, False, True, True, True])
    assert found.pip_label[2] == "z[a]" and found.pip_change[2] == pytest.approx(0.8)
    assert found.location_change[3] == pytest.approx(0.25)  # 0.5 / sd 2
    assert found.elbo_z[4] == pytest.approx(3 / np.hypot(0.05, 0.05))
    assert not found.agree


def test_elbo_gaps_below_their_standard_errors_or_a_tenth_of_a_nat_agree():
    """A gap of 0.05 nats is 7 standard errors of 0.005, yet changes nothing: no disagreement;
    nor does a gap of 1 nat with standard errors of 0.5 (1.4 SE)."""
    same = np.zeros((2, 3)) + 0.5
    tight = compare_starts(np.array([-5.0, -5.05]), np.array([0.005, 0.005]), 0, pips=same)
    loose = compare_starts(np.array([-5.0, -6.0]), np.array([0.5, 0.5]), 0, pips=same)
    assert tight.agree and loose.agree
    barely = compare_starts(np.array([-5.0, -5.0]), np.ones(2), 0,
                            pips=np.array([[0.5], [0.5 + START_ANSWER_TOLERANCE * 1.5]]))
    assert not barely.agree


def test_collapsed_snr_and_verdicts():
    np.testing.assert_array_equal(collapsed(np.array([0.0005, 0.5, 0.9995, 0.002])),
                                  [True, False, True, False])
    snr = gradient_snr(np.array([[0.5, 0.0, 0.0]]), np.array([[0.25, 0.0, 4.0]]))
    np.testing.assert_allclose(snr, [[1.0, np.nan, 0.0]])
    assert gradient_snr(None, np.ones(2)) is None
    assert [khat_verdict(k) for k in (0.3, 0.6, 0.7, 0.8, 1.2, np.nan)] == [
        "good", "ok", "ok", "unreliable", "failed", "unavailable"]


def _messages(**changes):
    arguments = dict(pareto_k=0.3, pareto_k_corrected=0.3, n_starts=1, starts=None,
                     converged=True, convergence_checked=True, stop_reason="converged",
                     steps=4000)
    return diagnostic_messages(**(arguments | changes))


def test_messages_say_what_is_wrong_in_plain_words():
    """Silent on a good fit; one message for a high k-hat (pointing to the corrected answers
    when their own k-hat allows), for starts that disagree, and for a fit stopped at n."""
    assert _messages() == ()
    (high,) = _messages(pareto_k=0.9, pareto_k_corrected=0.4)
    assert "k-hat is 0.90 (> 0.7)" in high and "inclusion_probabilities_corrected" in high
    (both,) = _messages(pareto_k=1.3, pareto_k_corrected=1.1)
    assert "no better" in both and "pm.sample" in both
    (pooled,) = _messages(pareto_k=0.6, pareto_k_corrected=0.8, n_starts=3)
    assert "pooled over the 3 starts) is 0.80" in pooled and "0.60" in pooled
    starts = compare_starts(np.array([-10.0, -10.0]), np.full(2, 0.05), 0,
                            pips=np.array([[0.9], [0.1]]), bit_labels=("z[x4]",))
    (disagree,) = _messages(n_starts=2, starts=starts)
    assert "disagree" in disagree and "z[x4]" in disagree and "several modes" in disagree
    (capped,) = _messages(converged=False, stop_reason="n", steps=10_000)
    assert "step cap (10000 steps)" in capped and "refine" in capped
    assert _messages(converged=False, convergence_checked=False, stop_reason="n") == ()
    assert _messages(pareto_k=np.nan, pareto_k_corrected=np.nan) == ()


def test_report_reads_out_every_check():
    """str() and the HTML table name k-hat, the ELBO's error, the starts, the collapsed
    probabilities, the signal-to-noise ratio, convergence, and the warnings."""
    starts = compare_starts(np.array([-10.0, -12.0]), np.full(2, 0.05), 0,
                            pips=np.array([[1.0, 0.5], [0.0, 0.5]]), bit_labels=("z[a]", "z[b]"))
    report = FitDiagnostics(
        draws=1000, best_start=0, bit_labels=("z[a]", "z[b]"),
        inclusion_probabilities=np.array([1.0, 0.5]), elbo=-10.0, elbo_se=0.05,
        elbos=np.array([-10.0, -12.0]), elbo_ses=np.full(2, 0.05), starts=starts,
        collapsed=("z[a]",), logit_snr=np.array([np.nan, 0.2]), converged=True,
        stop_reason="converged", steps=3000, convergence_checked=True, pareto_k=0.85,
        pareto_k_starts=np.array([0.85, 0.9]), pareto_k_corrected=0.5, importance_ess=800.0,
        inclusion_probabilities_corrected=np.array([0.7, 0.5]),
        inclusion_probabilities_corrected_mcse=np.array([0.02, 0.01]), log_evidence=-9.5,
        messages=("k-hat says no",),
    )
    text = str(report)
    for phrase in ["PSIS k-hat", "0.85: unreliable", "effective sample size 800 of 2000",
                   "-10.00 +- 0.050", "start 1", "1 of 2: z[a]", "median 0.20",
                   "yes, after 3000 steps", "k-hat says no", "1.000 -> 0.700"]:
        assert phrase in text, phrase
    assert "<table>" in report._repr_html_() and "k-hat says no" in report._repr_html_()
    assert not report.ok and report.corrected_reliable
    row = report.to_dict()
    assert row["pareto_k"] == 0.85 and row["starts_agree"] is False and row["n_warnings"] == 1


def test_minibatched_fit_says_what_is_unavailable_before_drawing():
    """A minibatched fit has no log joint per draw: importance=True raises, naming why."""
    structure = types.SimpleNamespace(codes=(), local=types.SimpleNamespace(rows=10))
    fitter = types.SimpleNamespace(options=types.SimpleNamespace(minibatch_size=2),
                                   structure=structure)
    reason = unavailable_reason(fitter)
    assert "minibatch_size=2 of 10 rows" in reason and "no k-hat" in reason
    result = FitResult(fitter=fitter, state=None, stop_reason="n")
    with pytest.raises(ImportanceUnavailableError, match=r"importance=True.*minibatch_size=2"):
        result.sample(100, importance=True)
    with pytest.raises(ImportanceUnavailableError, match="minibatch"):
        _ = result.inclusion_probabilities_corrected


# --- one small model, fitted once
@pytest.fixture(scope="module")
def small():
    data = simulate_spike_slab(n=40, k=4, n_true=2, seed=0)
    model = spike_slab_model(data)
    with model, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pmcgrad.fit(1500, n_starts=2, random_seed=1, progressbar=False,
                             convergence=False)
    return data, model, result, caught


def test_bad_arguments_are_refused_before_compiling(small):
    _, model, _, _ = small
    with model:
        with pytest.raises(TypeError, match="diagnostics must be True, False or a number"):
            pmcgrad.fit(10, diagnostics="yes", progressbar=False)
        with pytest.raises(ValueError, match=r"diagnostics must be >= 100.*got 10"):
            pmcgrad.fit(10, diagnostics=10, progressbar=False)
    result = small[2]
    with pytest.raises(TypeError, match="importance must be True or False"):
        result.sample(10, importance="yes")
    with pytest.raises(ValueError, match="draws must be >= 100"):
        result.diagnose(draws=5)


def test_fit_ends_with_diagnostics_and_sample_carries_sample_stats(small):
    """``fit`` computes the diagnostics; ``sample`` returns ``lp``, ``log_q`` and PSIS log
    weights per draw that agree with PyMC's log density and the Gaussian's, and ArviZ reads
    the DataTree."""
    _, model, result, caught = small
    found = result.diagnostics
    assert found is not None and found.available and found.draws == DEFAULT_DRAWS
    # What it finds wrong is warned about, message for message; convergence=False is no fault.
    warned = [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
    assert warned == list(found.messages)
    assert not any("step cap" in message for message in warned)
    assert found.pareto_k_starts.shape == (2,) and np.isfinite(found.pareto_k)
    assert found.inclusion_probabilities_corrected.shape == (4,)
    assert found.starts is not None and found.logit_snr.shape == (4,)
    idata = result.sample(200, random_seed=4)
    sample_stats = idata.sample_stats
    assert set(sample_stats.data_vars) == {"lp", "log_q", "log_weight"}
    assert sample_stats["lp"].dims == ("chain", "draw")
    np.testing.assert_allclose(np.exp(sample_stats["log_weight"]).sum(), 1.0)
    # lp is PyMC's own log density at the drawn values (unconstrained; here nothing is).
    logp = model.compile_logp()
    posterior = idata.posterior
    for draw in (0, 57, 199):
        point = {"z": posterior["z"].values[0, draw], "beta": posterior["beta"].values[0, draw]}
        assert sample_stats["lp"].values[0, draw] == pytest.approx(float(logp(point)), rel=1e-9)
    # log_q is the mean-field density: Bernoulli bits times independent Gaussians.
    p = result.inclusion_probabilities["z"].values
    mean = result.mean_unconstrained["beta"].values
    sd = result.std_unconstrained["beta"].values
    z, beta = posterior["z"].values[0], posterior["beta"].values[0]
    expected = (np.where(z == 1, np.log(p), np.log1p(-p)).sum(-1)
                + stats.norm.logpdf(beta, mean, sd).sum(-1))
    np.testing.assert_allclose(sample_stats["log_q"].values[0], expected, rtol=1e-9)
    summary = az.summary(idata, group="sample_stats", var_names=["lp"], kind="stats")
    assert summary.loc["lp", "mean"] == pytest.approx(float(sample_stats["lp"].mean()))
    # The same seed gives the same draws, with or without densities.
    plain = result.sample(200, random_seed=4, return_inferencedata=False)
    np.testing.assert_allclose(plain["beta"], posterior["beta"].values[0])


def test_a_fit_is_never_lost_to_its_diagnostics(small, monkeypatch):
    """Should the diagnostics fail, the fit comes back without them, and a warning says why."""
    _, model, _, _ = small

    def broken(*args, **kwargs):
        raise RuntimeError("no log density today")

    monkeypatch.setattr("pmcgrad.vi.api.diagnose", broken)
    with model, pytest.warns(FitWarning, match="diagnostics failed.*no log density today"):
        result = pmcgrad.fit(100, n_starts=2, random_seed=1, progressbar=False,
                             convergence=False)
    assert result.diagnostics is None and result.steps == 100


def test_the_gradient_mean_behind_the_snr_is_saved_with_the_state(small, tmp_path):
    _, _, result, _ = small
    result.state.save(tmp_path / "state.npz")
    loaded = FitState.load(tmp_path / "state.npz")
    assert result.state.logit_gradient_mean.shape == (2, 4)
    np.testing.assert_array_equal(loaded.logit_gradient_mean, result.state.logit_gradient_mean)


def test_importance_sample_resamples_by_psis_weight(small):
    """importance=True: draws resampled from the starts' mixture, reproducible from the seed,
    with the pool's k-hat and effective sample size in the attrs."""
    _, _, result, _ = small
    first = result.sample(400, random_seed=7, importance=True)
    again = result.sample(400, random_seed=7, importance=True)
    np.testing.assert_array_equal(first.posterior["beta"], again.posterior["beta"])
    attrs = first.sample_stats.attrs
    assert attrs["importance_resampled"] == 1 and attrs["proposal"] == "the mixture of the 2 starts"
    assert 0 < attrs["importance_ess"] <= 400 and np.isfinite(attrs["pareto_k"])
    assert first.posterior.sizes["draw"] == 400
    one = result.sample(300, random_seed=7, importance=True, start_index=1)
    assert one.sample_stats.attrs["proposal"] == "start 1"


def test_corrected_answers_are_labelled_like_the_raw_ones(small):
    _, _, result, _ = small
    corrected = result.inclusion_probabilities_corrected["z"]
    assert corrected.dims == ("predictor",) and np.all((corrected >= 0) & (corrected <= 1))
    np.testing.assert_allclose(corrected, result.diagnostics.inclusion_probabilities_corrected)
    np.testing.assert_allclose(result.mean_corrected["z"], corrected)
    assert result.std_corrected["beta"].dims == ("predictor",)
    assert np.all(result.std_corrected["beta"] > 0)


def test_diagnostics_can_be_turned_off_and_computed_later(small):
    """diagnostics=False: none at the end of fit; result.diagnose() computes them (and does
    not warn); the compiled fitter is reused."""
    _, model, result, _ = small
    with model:
        quiet = pmcgrad.fit(1500, n_starts=2, random_seed=1, progressbar=False,
                            convergence=False, diagnostics=False)
    assert quiet.diagnostics is None and quiet.fitter is result.fitter
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        later = quiet.diagnose(draws=500, random_seed=0)
    assert later.draws == 500 and later.pareto_k_starts.shape == (2,)


def test_models_with_only_bits_or_only_continuous_latents():
    """Without continuous latents, q is Bernoulli alone (four configurations here: the largest
    weights tie, k-hat is -inf and the weights bounded); without bits, q is the Gaussian alone
    and the corrected means are on the model's scale."""
    with pm.Model():
        z = pm.Bernoulli("z", p=0.5, shape=2)
        pm.Normal("y", mu=3.0 * z, sigma=1.0, observed=[3.0, 0.0])
        bits_only = pmcgrad.fit(300, random_seed=2, progressbar=False, diagnostics=500)
    found = bits_only.diagnostics
    assert found is not None and found.pareto_k == -np.inf and found.corrected_reliable
    assert "-inf (the largest weights are all equal" in str(found)
    assert bits_only.inclusion_probabilities_corrected["z"].shape == (2,)
    y = np.random.default_rng(0).normal(1.5, 1.0, size=30)
    with pm.Model():
        mu = pm.Normal("mu", 0, 10)
        pm.Normal("y", mu, pm.HalfNormal("s", 2), observed=y)
        reals_only = pmcgrad.fit(300, n_starts=2, random_seed=0, progressbar=False,
                                 diagnostics=500)
    found = reals_only.diagnostics
    assert found is not None and found.pareto_k_starts.shape == (2,)
    assert found.inclusion_probabilities_corrected is None and found.starts is not None
    assert float(reals_only.mean_corrected["s"]) > 0
    assert "lp" in reals_only.sample(100, random_seed=0, importance=True).sample_stats


# --- against the exact posterior (slow)
def _diabetes() -> SpikeSlabData:
    """scikit-learn's diabetes data: 10 standardised predictors, standardised y, and the noise
    sd known, set to the OLS residual sd (0.70)."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    residual = y - X @ coef
    sigma = float(np.sqrt(residual @ residual / (len(y) - X.shape[1])))
    return SpikeSlabData(X=X, y=y, z_true=np.zeros(10, dtype=np.int64),
                         beta_true=np.zeros(10), sigma=sigma)


def _fit_recording_warnings(data, family, n=10_000, **options):
    with spike_slab_model(data), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pmcgrad.fit(n, estimator="disarm", family=family, n_starts=4, random_seed=0,
                             progressbar=False, **options)
    return result, [str(w.message) for w in caught if issubclass(w.category, FitWarning)]


def _max_error(result, exact):
    return float(np.abs(result.diagnostics.inclusion_probabilities_corrected - exact).max())


@pytest.mark.slow
def test_independent_design_corrected_within_003_of_exact():
    """k = 8 (the study's independent design): bit-conditioned, k-hat good, the corrected
    inclusion probabilities within 0.03 of the exact ones (measured: 0.002), and silent."""
    data = simulate_spike_slab(n=100, k=8, n_true=3, seed=1)
    result, warned = _fit_recording_warnings(data, "bit_conditioned")
    found = result.diagnostics
    assert found.pareto_k <= 0.7 and found.corrected_reliable, str(found)
    assert _max_error(result, exact_posterior_inclusion(data)) < 0.03, str(found)
    assert warned == []


@pytest.fixture(scope="module")
def correlated():
    data = simulate_spike_slab(n=100, k=12, n_true=3, seed=0, correlation=0.6)
    return data, exact_posterior_inclusion(data)


@pytest.mark.slow
def test_correlated_design_corrected_within_003_of_exact_or_flagged(correlated):
    """k = 12, correlation 0.6 (the study's correlated design). The target is corrected
    inclusion probabilities within 0.03 of exact; where they miss it (measured: 0.11 here, the
    factorised q(z) and the beta_j-z_j pairing miss how correlated predictors trade places),
    the fit must say so: a k-hat above 0.7, a FitWarning, and corrected answers flagged."""
    data, exact = correlated
    result, warned = _fit_recording_warnings(data, "bit_conditioned")
    found = result.diagnostics
    if _max_error(result, exact) < 0.03:
        return
    assert max(found.pareto_k, found.pareto_k_corrected) > 0.7, str(found)
    assert any("k-hat" in message for message in warned), warned
    assert not found.corrected_reliable


@pytest.mark.slow
def test_a_fit_stopped_early_is_flagged_not_confident(correlated):
    """60 steps (q far too narrow and in the wrong place): k-hat far above 0.7 and a warning
    saying so, not a confident answer. The same model and options as above: nothing new is
    compiled."""
    data, _ = correlated
    result, warned = _fit_recording_warnings(data, "bit_conditioned", n=60, convergence=False)
    assert result.diagnostics.pareto_k > 1.0, str(result.diagnostics)
    assert any("k-hat" in message and "not to be trusted" in message for message in warned)
    assert not result.diagnostics.corrected_reliable


@pytest.mark.slow
@pytest.mark.parametrize("family", ["meanfield", "bit_conditioned"])
def test_diabetes_corrected_within_005_of_exact_or_warned(family):
    """scikit-learn's diabetes data, 4 starts. Target: corrected inclusion probabilities
    within 0.05 of exact, or a warning. Both families miss the numbers (measured: 0.35 and
    0.31): 16% of the posterior sits on {s1, s2} in place of s3, which no draw of q reaches.
    Bit-conditioned: the pooled k-hat is above 0.7 and warned about. Mean-field: k-hat reads
    0.4-0.6 (PSIS cannot weigh draws it never gets); the warning is that the starts
    disagree (one of them found another optimum)."""
    data = _diabetes()
    result, warned = _fit_recording_warnings(data, family)
    found = result.diagnostics
    if _max_error(result, exact_posterior_inclusion(data)) < 0.05:
        return
    assert warned, str(found)
    if family == "bit_conditioned":
        assert max(found.pareto_k, found.pareto_k_corrected) > 0.7, str(found)
        assert any("k-hat" in message for message in warned), warned
    else:
        assert not found.starts.agree
        assert any("starts disagree" in message for message in warned), warned
