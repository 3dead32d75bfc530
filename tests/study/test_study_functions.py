"""Unit tests of pmcgrad.study's functions on tiny inputs (the workflow's jobs call these)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import pmcgrad
from pmcgrad.problems import (
    all_bit_vectors,
    exact_gradient,
    simulate_spike_slab,
    toy_expectation,
    toy_objective,
)
from pmcgrad.study.chain import chain_rows, closed_form_variance, variance_with_error
from pmcgrad.study.columns import GRADIENT_COLUMNS, MODEL_COLUMNS, RUNTIME_COLUMNS
from pmcgrad.study.config import (
    ConfigError,
    check_config,
    fit_jobs,
    optimisation_jobs,
    resolve_estimators,
)
from pmcgrad.study.estimates import estimate_function, samples_for_cost
from pmcgrad.study.gradient import (
    bias_statistics,
    bias_threshold,
    gradient_rows,
    logit_setting,
)
from pmcgrad.study.io import job_seed, read_table, runtime_rows, write_table
from pmcgrad.study.model_study import model_rows, trace_rows
from pmcgrad.study.objectives import make_objective, spike_slab_integrand
from pmcgrad.study.optimisation import Adam, optimise_toy

REPO = Path(__file__).resolve().parents[2]
T = 0.49
MU = (1 - 2 * T) / 4  # exact gradient at k = 1, phi = 0


# --- objectives
@pytest.mark.parametrize("problem", ["toy_t0.49", "qubo", "spike_slab"])
def test_closed_form_gradient_matches_enumeration(problem):
    """Each problem's closed-form gradient equals sum_b q(b) f(b) (b - p) by enumeration."""
    objective = make_objective(problem, 5, instance_seed=3)
    logits = np.random.default_rng(0).normal(size=(2, 5)) * 2
    np.testing.assert_allclose(objective.exact_gradient(logits), exact_gradient(objective, logits),
                               rtol=1e-10, atol=1e-12)


def test_toy_as_quadratic_is_the_toy():
    """On bits, (1 - 2t) sum b + k t^2 is exactly sum (b - t)^2."""
    bits = all_bit_vectors(4)
    np.testing.assert_allclose(make_objective("toy_t0.499", 4, 0)(bits), toy_objective(bits, 0.499))


def test_spike_slab_integrand_is_expected_log_joint():
    """b'Qb + c'b + d equals E_q(beta)[log p(y, z, beta)], checked by Monte Carlo over beta."""
    data = simulate_spike_slab(30, 3, 2, seed=1)
    mean, sd = np.array([0.5, -1.0, 0.1]), np.array([0.2, 0.3, 0.4])
    Q, c, d = spike_slab_integrand(data, mean, sd)
    beta = mean + sd * np.random.default_rng(1).standard_normal((200_000, 3))
    sigma2, slab2, pi = data.sigma**2, data.slab_sd**2, data.prior_inclusion
    n = data.y.shape[0]
    for z in all_bit_vectors(3):
        resid = data.y[None, :] - (beta * z) @ data.X.T
        log_joint = (-0.5 * n * np.log(2 * np.pi * sigma2) - (resid**2).sum(1) / (2 * sigma2)
                     + np.sum(z * np.log(pi) + (1 - z) * np.log1p(-pi))
                     + np.sum(-0.5 * np.log(2 * np.pi * slab2) - beta**2 / (2 * slab2), axis=1))
        se = log_joint.std() / np.sqrt(log_joint.size)
        assert abs(z @ Q @ z + c @ z + d - log_joint.mean()) < 5 * se


def test_unknown_problem_is_refused():
    """A problem name outside the study's set raises with the valid names."""
    with pytest.raises(ValueError, match="qubo"):
        make_objective("rastrigin", 3, 0)


# --- estimates and the gradient table
def test_estimates_depend_on_the_seed_only():
    """The same seed reproduces the estimates, whatever was drawn before; another seed differs."""
    function = estimate_function("reinforce", 2, 1)
    objective = make_objective("qubo", 2, 0)
    logits = np.zeros((50, 2))
    first = function(logits, objective, job_seed(1))
    function(logits, objective, job_seed(2))
    np.testing.assert_array_equal(function(logits, objective, job_seed(1)), first)
    assert not np.array_equal(function(logits, objective, job_seed(2)), first)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("estimator", "variance"),
    [
        ("reinforce", ((1 - T) ** 4 + T**4) / 8 - MU**2),
        ("ar", ((1 - T) ** 4 + T**4) / 6 - MU**2),
        ("reinforce_loo", (1 - 2 * T) ** 2 / 16),
        ("arm", (1 - 2 * T) ** 2 / 48),
        ("disarm", 0.0),
    ],
)
def test_gradient_rows_reproduce_math_md_variances(estimator, variance):
    """At k = 1, phi = 0 the table's per-draw variance is MATH.md's exact one, and unbiased."""
    objective = make_objective("toy_t0.49", 1, 0)
    est = pmcgrad.get_estimator(estimator)
    function = estimate_function(estimator, 1, max(1, est.min_samples))
    (row,) = gradient_rows(objective, function, ["zero"], [0], 200_000)
    # The variance of a sample variance: (m4 - s^4) / R, with m4 <= a few s^4 here.
    assert abs(row["variance"] - variance) <= 5 * variance * math.sqrt(8 / row["draws"]) + 1e-12
    assert row["bias_within_error"]
    cost = 2 if estimator in ("reinforce_loo", "arm", "disarm") else 1
    assert row["evaluations_per_draw"] == cost
    assert row["variance_x_evaluations"] == pytest.approx(row["variance"] * cost)
    assert set(row) == set(GRADIENT_COLUMNS)


def test_biased_estimator_is_flagged():
    """uniform_naive (the seed's dropped boundary term) fails the bias check on the toy."""
    objective = make_objective("toy_t0.49", 2, 0)
    function = estimate_function("uniform_naive", 2, 1)
    (row,) = gradient_rows(objective, function, ["zero"], [0], 5000)
    assert not row["unbiased"]
    assert not row["bias_within_error"]
    assert row["max_bias_z"] > 100


def test_bias_statistics_columns():
    """bias, se, z-score and mse from known estimates; se == 0 gives NaN z and an exact check."""
    estimates = np.array([[1.0, 0.0], [3.0, 0.0]])  # means (2, 0), variances (2, 0)
    stats = bias_statistics(estimates, np.array([2.0, 0.5]))
    assert stats["bias"] == pytest.approx(0.25)  # mean of |0|, |-0.5|
    assert stats["variance"] == pytest.approx(1.0)
    assert stats["mse"] == pytest.approx((2 + 0 + 0 + 0.25) / 2)
    assert stats["bias_se"] == pytest.approx(math.sqrt((1.0 + 0.0) / 2))
    assert stats["max_bias_z"] == pytest.approx(0.0)
    assert not stats["bias_within_error"]  # coordinate 2: off by 0.5 with se 0
    exact = bias_statistics(np.array([[0.25, 1.0]]), np.array([0.25, 1.0]))
    assert exact["variance"] == 0 and math.isnan(exact["max_bias_z"]) and exact["bias_within_error"]


def test_bias_threshold_is_corrected_for_k():
    """4 se at k = 1; higher with more coordinates, so a row's false-flag rate stays 6.3e-5."""
    assert bias_threshold(1) == pytest.approx(4.0)
    assert bias_threshold(64) == pytest.approx(4.894, abs=1e-3)
    assert bias_threshold(2) < bias_threshold(16) < bias_threshold(64)


def test_logit_settings():
    """zero, seeded random (same for every problem), and saturated +-6 alternating."""
    assert np.all(logit_setting("zero", 3, 0) == 0)
    np.testing.assert_array_equal(logit_setting("random", 3, 1), logit_setting("random", 3, 1))
    assert not np.array_equal(logit_setting("random", 3, 1), logit_setting("random", 3, 2))
    np.testing.assert_array_equal(logit_setting("saturated", 3, 0), [6.0, -6.0, 6.0])
    with pytest.raises(ValueError, match="saturated"):
        logit_setting("huge", 3, 0)


# --- the chain
def test_equal_cost_accounting():
    """1-evaluation estimators get 2 draws, 2-evaluation ones 1 pair; dearer ones 1 draw."""
    assert samples_for_cost("reinforce", 4, 2) == 2
    assert samples_for_cost("exp_score", 4, 2) == 2
    assert samples_for_cost("reinforce_loo", 4, 2) == 2
    assert samples_for_cost("disarm", 4, 2) == 1
    assert samples_for_cost("antithetic_exp", 4, 2) == 1
    assert samples_for_cost("uniform_boundary", 4, 2) == 1  # costs k + 1 = 5
    assert samples_for_cost("exact", 4, 2) == 1


@pytest.mark.slow
def test_chain_k1_matches_closed_forms():
    """Every chain estimate costs 2 evaluations and its variance matches the closed form."""
    names = ["exp_score", "ar", "antithetic_exp", "arm", "disarm", "reinforce", "reinforce_loo"]
    rows = pd.DataFrame(chain_rows(1, T, names, [0], evaluations=2, replicates=200_000))
    assert (rows["evaluations"] == 2).all()
    assert rows["closed_form"].notna().all()
    error = (rows["variance"] - rows["closed_form"]).abs()
    assert (error <= 4 * rows["variance_se"] + 1e-12).all(), rows


def test_closed_forms_at_t049():
    """MATH.md's numbers at t = 0.49, halved for two 1-evaluation draws."""
    assert closed_form_variance("reinforce", 0.49, 2) == pytest.approx(1.5625e-2 / 2, rel=1e-3)
    assert closed_form_variance("ar", 0.49, 2) == pytest.approx(2.0858e-2 / 2, rel=1e-3)
    assert closed_form_variance("reinforce_loo", 0.49, 2) == pytest.approx(2.5e-5)
    assert closed_form_variance("arm", 0.49, 2) == pytest.approx(8.333e-6, rel=1e-3)
    assert closed_form_variance("disarm", 0.49, 2) == 0
    assert closed_form_variance("antithetic_exp", 0.49, 2) == pytest.approx(3.26e-2, rel=1e-2)
    assert math.isnan(closed_form_variance("arm", 0.49, 4))
    assert math.isnan(closed_form_variance("noise_score", 0.49, 2))


def test_variance_with_error():
    """The variance of one estimate averaged over coordinates, with a shrinking error."""
    estimates = np.random.default_rng(0).normal(scale=[1.0, 2.0], size=(40_000, 2))
    variance, se = variance_with_error(estimates)
    assert abs(variance - 2.5) < 4 * se
    assert 0 < se < 0.05


# --- optimisation
def test_adam_moves_against_the_gradient():
    """The first Adam step is -learning_rate * sign(grad)."""
    adam = Adam(0.1)
    np.testing.assert_allclose(adam.step(np.zeros(2), np.array([3.0, -0.5])), [-0.1, 0.1],
                               rtol=1e-6)


def test_optimise_toy_reduces_the_exact_loss():
    """DisARM on the k = 1 toy: the exact loss falls towards t^2, rows every `thin` steps."""
    function = estimate_function("disarm", 1, 1)
    rows = pd.DataFrame(optimise_toy(function, T, 0, steps=200, learning_rate=0.1, thin=50))
    assert rows["step"].tolist() == [0, 50, 100, 150, 200]
    assert rows["loss"].iloc[0] == pytest.approx(float(toy_expectation(np.zeros(1), T)))
    assert rows["loss"].iloc[-1] < rows["loss"].iloc[0]
    assert (rows["seconds"].diff().dropna() >= 0).all()


# --- model study rows
def test_model_and_trace_rows():
    """One model row per predictor; traces keep every thin-th step and the last, elbo = -loss."""
    rows = model_rows(3, 1, "mcmc", "", np.array([0.1, 0.5, 1.0]), np.array([0.2, 0.5, 0.9]),
                      elbo=math.nan, seconds=1.0, netcdf="x.nc")
    assert [row["abs_error"] for row in rows] == pytest.approx([0.1, 0.0, 0.1])
    assert set(rows[0]) == set(MODEL_COLUMNS)
    trace = trace_rows(3, 1, "disarm", "meanfield", np.arange(25.0), np.arange(25.0), thin=10)
    assert [row["step"] for row in trace] == [1, 11, 21, 25]
    assert trace[-1]["elbo"] == -24.0


# --- io
def test_write_table_enforces_the_contract(tmp_path):
    """Missing or extra columns are refused; NaN and "" survive the round trip."""
    rows = model_rows(1, 0, "mcmc", "", np.array([0.5]), np.array([math.nan]), elbo=math.nan,
                      seconds=1.0, netcdf="")
    path = tmp_path / "model.csv"
    write_table(rows, path, MODEL_COLUMNS)
    back = read_table(path, MODEL_COLUMNS)
    assert back["family"].iloc[0] == "" and math.isnan(back["elbo"].iloc[0])
    with pytest.raises(ValueError, match="missing"):
        write_table([{"k": 1}], tmp_path / "bad.csv", MODEL_COLUMNS)
    with pytest.raises(ValueError, match="unexpected"):
        write_table([dict(rows[0], extra=1)], tmp_path / "bad.csv", MODEL_COLUMNS)


def test_job_seed_is_stable():
    """Seeds come from CRC-32 of names, not from the per-process salted hash()."""
    assert job_seed(0, "disarm").entropy == [0, 2_819_641_639]
    with pytest.raises(ValueError):
        job_seed(-1)


def test_runtime_rows(tmp_path):
    """A Snakemake benchmark TSV becomes one runtimes.csv row per repeat."""
    path = tmp_path / "bench.tsv"
    path.write_text("s\th:m:s\tmax_rss\tcpu_time\n1.5\t0:00:01\t100.0\t1.2\n")
    (row,) = runtime_rows([path], ["gradient/qubo/k1"])
    assert row == {"name": "gradient/qubo/k1", "value": 1.5, "unit": "s",
                   "note": "max_rss 100.0 MB; cpu 1.2 s"}
    assert list(row) == RUNTIME_COLUMNS


# --- config
def _config():
    return yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())


def test_resolve_estimators():
    """'all', 'unbiased' and lists; unknown names name the field and the index."""
    assert resolve_estimators("all") == pmcgrad.estimator_names()
    assert "uniform_naive" not in resolve_estimators("unbiased")
    with pytest.raises(ConfigError, match=r"'model\.families\.meanfield\[1\]'.*'disram'"):
        resolve_estimators(["disarm", "disram"], "model.families.meanfield")


def test_check_config_refuses_what_the_schema_cannot_see():
    """Unknown estimator or family, unaffordable chain estimator, duplicate data set."""
    config = _config()
    check_config(config)
    bad = _config()
    bad["gradient"]["estimators"] = ["disarm", "nope"]
    with pytest.raises(ConfigError, match=r"gradient\.estimators\[1\]"):
        check_config(bad)
    bad = _config()
    bad["model"]["families"]["lowrank"] = ["disarm"]
    with pytest.raises(ConfigError, match="lowrank"):
        check_config(bad)
    bad = _config()
    bad["chain"]["estimators"] = ["uniform_boundary"]
    with pytest.raises(ConfigError, match=r"chain\.estimators\[0\].*f-evaluations"):
        check_config(bad)
    bad = _config()
    bad["model"]["datasets"].append(dict(bad["model"]["datasets"][0]))
    with pytest.raises(ConfigError, match=r"model\.datasets\[1\]"):
        check_config(bad)


def test_job_lists_skip_exact_above_its_limit():
    """exact is fitted and optimised only up to its configured k."""
    config = _config()
    config["optimisation"]["k"] = [1, 64]
    config["optimisation"]["estimators"] = ["exact", "disarm"]
    assert optimisation_jobs(config) == [(1, "exact"), (1, "disarm"), (64, "disarm")]
    config["model"]["exact_max_k"] = 3
    assert all(job.estimator != "exact" for job in fit_jobs(config))
