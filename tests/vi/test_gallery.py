"""The gallery: models users write, fitted by pmcgrad.fit and compared with pm.sample.

The MCMC side is precomputed: tests/data/gallery_mcmc.json holds pm.sample's posterior mean,
sd and Monte Carlo standard error (MCSE) of each quantity, and tests/data/
make_gallery_references.py regenerates it (4 chains x 2000 draws, fixed seeds; minutes per
model, too slow for every test run). The VI fits here use fixed seeds and the default
settings.

A VI mean must lie within 2 MCSE of MCMC's plus the bias of the variational family, stated
per model in posterior sds (``VI_BIAS``, measured at seeds 0 and 1 and listed in the README's
gallery table). The family is factorised, so it is under-dispersed: ``SD_RATIO`` is the
smallest VI sd / MCMC sd each model showed, rounded down.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import pmcgrad
from pmcgrad.models import (
    DIABETES_PRIOR,
    binarised_digits,
    diabetes_spike_slab,
    occupancy_model,
    sigmoid_belief_network,
    two_component_mixture,
    zero_inflated_poisson,
)
from pmcgrad.problems.gallery import (
    diabetes_data,
    exact_inclusion_unknown_sigma,
    sbn_image_log_likelihood,
    simulate_mixture,
    simulate_occupancy,
    simulate_zero_inflated_poisson,
)

pytestmark = pytest.mark.slow

REFERENCE = json.loads(
    (pathlib.Path(__file__).parents[1] / "data" / "gallery_mcmc.json").read_text())

# |VI mean - MCMC mean| <= 2 MCSE + VI_BIAS * MCMC sd: the largest |VI - MCMC| / sd measured
# at seeds 0 and 1 (README, "The gallery": 0.07, 0.17, 0.11), rounded up to 0.05, plus 0.05.
VI_BIAS = {"zip": 0.1, "occupancy": 0.25, "mixture": 0.2}
# VI sd >= SD_RATIO * MCMC sd (measured: 0.91, 0.81, 0.92 at the least), rounded down to 0.05.
SD_RATIO = {"zip": 0.9, "occupancy": 0.8, "mixture": 0.9}


def assert_near_mcmc(vi_mean, reference: dict, bias_sd: float, what: str) -> None:
    mean, sd, mcse = (np.asarray(reference[key]) for key in ("mean", "sd", "mcse"))
    bound = 2 * mcse + bias_sd * sd
    gap = np.abs(np.asarray(vi_mean) - mean)
    assert np.all(gap <= bound), (what, np.asarray(vi_mean), mean, gap, bound)


# result.std comes from 4000 draws of q: a sample sd's relative standard error is
# 1 / sqrt(2 * 4000), about 1.1%, so the ratio is allowed two of those below SD_RATIO.
_SD_RELATIVE_SE = 1 / np.sqrt(2 * 4000)


def assert_sd_ratio(vi_sd, reference: dict, ratio: float, what: str) -> None:
    observed = np.asarray(vi_sd) / np.asarray(reference["sd"])
    assert np.all(observed >= ratio * (1 - 2 * _SD_RELATIVE_SE)), (what, observed)


def test_zero_inflated_poisson_as_written_matches_pm_sample():
    """z_n ~ Bernoulli(psi), y_n ~ Poisson(lam (1 - z_n)), no floor: the z_n of positive
    counts are fixed at 0, and psi, lam and the zeros' P(structural) match MCMC."""
    data = simulate_zero_inflated_poisson()
    reference = REFERENCE["zip"]
    with zero_inflated_poisson(data):
        result = pmcgrad.fit(random_seed=0, progressbar=False)
    assert result.converged
    np.testing.assert_array_equal(result.structure.fixed.index, np.flatnonzero(data.y > 0))
    inclusion = result.inclusion_probabilities["z"].values
    assert np.all(inclusion[data.y > 0] == 0.0)  # exactly: constants, not latents
    for name in ("psi", "lam"):
        assert_near_mcmc(result.mean[name], reference[name], VI_BIAS["zip"], name)
        assert_sd_ratio(result.std[name], reference[name], SD_RATIO["zip"], name)
    assert_near_mcmc(inclusion[data.y == 0].mean(), reference["z_where_y_is_0"],
                     VI_BIAS["zip"], "z")


def test_occupancy_with_detection_regression_matches_pm_sample():
    """y ~ Bernoulli(z * sigmoid(alpha + beta * effort)): sites with a detection are fixed
    at z = 1; psi, alpha, beta and P(occupied | never detected) match MCMC."""
    data = simulate_occupancy()
    reference = REFERENCE["occupancy"]
    with occupancy_model(data):
        result = pmcgrad.fit(random_seed=0, progressbar=False)
    assert result.converged
    detected = data.y.sum(1) > 0
    inclusion = result.inclusion_probabilities["z"].values
    assert np.all(inclusion[detected] == 1.0)
    for name in ("psi", "alpha", "beta"):
        assert_near_mcmc(result.mean[name], reference[name], VI_BIAS["occupancy"], name)
        assert_sd_ratio(result.std[name], reference[name], SD_RATIO["occupancy"], name)
    assert_near_mcmc(inclusion[~detected].mean(), reference["z_never_detected"],
                     VI_BIAS["occupancy"], "z")


# The stopping rule does not fire on the mixture within 10,000 steps (its 200 assignment
# probabilities keep moving by 0.02-0.07 between windows, above the 0.01 tolerance, while the
# answer is within 0.03 of MCMC's from step 3000 on), so its fits run a fixed 4000 steps.
MIXTURE_STEPS = 4000
# Each observation's P(second component) against MCMC's (measured: at most 0.028).
MIXTURE_ASSIGNMENT_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def mixture_fits():
    data = simulate_mixture()
    fits = {}
    with two_component_mixture(data, dims=True):
        fits["meanfield"] = pmcgrad.fit(MIXTURE_STEPS, random_seed=0, progressbar=False)
    # shape=N instead of dims: the same per-observation treatment (plates from shapes).
    with two_component_mixture(data, dims=False):
        fits["bit_conditioned"] = pmcgrad.fit(MIXTURE_STEPS, family="bit_conditioned",
                                              random_seed=0, progressbar=False)
    return data, fits


@pytest.mark.parametrize("family", ["meanfield", "bit_conditioned"])
def test_two_component_mixture_matches_pm_sample(mixture_fits, family):
    """w, mu, sigma within the bounds of MCMC, each observation's assignment within 0.05."""
    data, fits = mixture_fits
    result, reference = fits[family], REFERENCE["mixture"]
    assert result.structure.local is not None and result.structure.local.rows == len(data.y)
    for name in ("w", "mu", "sigma"):
        assert_near_mcmc(result.mean[name], reference[name], VI_BIAS["mixture"], name)
    # mu is ordered: the mean-field Gaussian on (mu_0, log(mu_1 - mu_0)) is narrow for mu_0
    # and wide for mu_1 (measured sd ratios 0.49 and 1.36); w and sigma are within 0.92-0.96.
    for name in ("w", "sigma"):
        assert_sd_ratio(result.std[name], reference[name], SD_RATIO["mixture"], name)
    gap = np.abs(result.inclusion_probabilities["z"].values - np.asarray(reference["z"]["mean"]))
    assert gap.max() < MIXTURE_ASSIGNMENT_TOLERANCE, gap.max()


def test_bit_conditioned_mixture_does_not_condition_global_parameters(mixture_fits):
    """With per-observation z the bit-conditioned family leaves mu and sigma unconditioned:
    its shifts stay 0 and its ELBO equals mean-field's (it diverged to -3e13 before)."""
    _, fits = mixture_fits
    conditioned, meanfield = fits["bit_conditioned"], fits["meanfield"]
    assert conditioned.state.params["mean_shift"].shape == (1, 5)  # (M, D), not (M, D, N)
    assert np.all(conditioned.state.params["mean_shift"] == 0)
    se = np.hypot(conditioned.final_elbo_se[0], meanfield.final_elbo_se[0])
    assert abs(conditioned.elbo - meanfield.elbo) < 4 * se


def test_diabetes_spike_and_slab_against_exact_enumeration():
    """Ten predictors, noise scale unknown; the exact posterior enumerates all 1024 z with
    beta integrated out and sigma on a grid. The clear predictors (exact PIP below 0.1 or
    above 0.9) are within 0.05; the correlated s1-s4 are not: the factorised q(z) picks one
    explanation (s3 in, s1, s2, s4 out) where the posterior spreads over several (measured
    gap up to 0.54, README). The ELBO lies below the exact log evidence by the KL divergence
    of q from the posterior (measured 1.5 nats)."""
    X, y, _ = diabetes_data()
    exact, log_evidence = exact_inclusion_unknown_sigma(X, y, **DIABETES_PRIOR)
    with diabetes_spike_slab():
        result = pmcgrad.fit(family="bit_conditioned", n_starts=4, random_seed=0,
                             progressbar=False)
    pips = result.inclusion_probabilities["z"].values
    clear = (exact < 0.1) | (exact > 0.9)
    assert clear.sum() == 6
    np.testing.assert_allclose(pips[clear], exact[clear], atol=0.05)
    assert 0 < log_evidence - result.elbo < 2.0
    reference = REFERENCE["diabetes"]["sigma"]
    assert_near_mcmc(result.mean["sigma"], reference, 0.1, "sigma")


# The digits SBN, compared on each image's log-likelihood given its code (the same whichever
# labelling of the codes a fit finds). Measured at seeds 0 and 1: |VI - MCMC| up to 1.97 and
# 1.64 posterior sds on the worst image, 0.33 and 0.51 sd on average; VI sd / MCMC sd down to
# 0.48 (median 0.97). The factorised q over 400 codes and 320 weights misses correlations
# between an image's code and the weights, so single images are off by up to 2 sds while the
# total over the 100 images agrees within 9 nats (-1933.3 and -1941.9 against -1933.0).
SBN_WORST_IMAGE_SD = 2.05  # the worst image, rounded up to 0.05, plus 0.05
SBN_MEAN_IMAGE_SD = 0.6  # the mean over images, rounded up to 0.05, plus 0.05


def test_digits_sbn_matches_pm_sample_on_each_images_log_likelihood():
    """The digits SBN (100 images, 4 local codes each, W and c free), fitted with the defaults:
    every image's log p(x | z, W, c) within 2 MCSE + 2.05 sd of pm.sample's, 0.6 sd on
    average, and the total over the images within 1 % of MCMC's (measured 0.02 % and 0.46 %)."""
    reference = REFERENCE["sbn"]
    train, _ = binarised_digits(seed=0)
    images = train[:reference["images"]]
    with sigmoid_belief_network(images, reference["codes"]):
        result = pmcgrad.fit(random_seed=0, progressbar=False)
    assert result.structure.local is not None and result.structure.local.rows == len(images)
    draws = result.sample(4000, random_seed=0, return_inferencedata=False)
    loglik = sbn_image_log_likelihood(images, draws["W"], draws["c"], draws["z"]).mean(0)
    mcmc = reference["image_loglik"]
    assert_near_mcmc(loglik, mcmc, SBN_WORST_IMAGE_SD, "image log-likelihood")
    gap = np.abs(loglik - np.asarray(mcmc["mean"])) / np.asarray(mcmc["sd"])
    assert gap.mean() <= SBN_MEAN_IMAGE_SD, gap.mean()
    total = np.sum(mcmc["mean"])
    assert abs(loglik.sum() - total) <= 0.01 * abs(total), (loglik.sum(), total)

