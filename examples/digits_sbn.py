"""The digits sigmoid belief network, fitted by pmcgrad.fit and by pm.sample.

x_n ~ Bernoulli(sigmoid(W z_n + c)) for 100 binarised 8x8 digits, with 4 codes z_n per image
(local latents: the codes and the pixels share the dim "obs") and W, c free. The codes can be
relabelled (and flipped) without changing the fit, so the two are compared on each image's
log-likelihood given its code, log p(x_n | z_n, W, c), which does not depend on the labels.

Run: .venv/bin/python examples/digits_sbn.py   (pm.sample takes about 5 minutes)
"""

import time

import numpy as np
import pymc as pm

import pmcgrad
from pmcgrad.models import binarised_digits, sigmoid_belief_network
from pmcgrad.problems.gallery import sbn_image_log_likelihood

train, _ = binarised_digits(seed=0)
images = train[:100]

with sigmoid_belief_network(images, 4):
    started = time.perf_counter()
    result = pmcgrad.fit(random_seed=0, progressbar=False)
    vi_seconds = time.perf_counter() - started
    started = time.perf_counter()
    idata = pm.sample(1000, chains=2, random_seed=5, progressbar=False,
                      compute_convergence_checks=False)
    mcmc_seconds = time.perf_counter() - started

draws = result.sample(4000, random_seed=0, return_inferencedata=False)
vi = sbn_image_log_likelihood(images, draws["W"], draws["c"], draws["z"])
posterior = {name: np.asarray(idata.posterior[name]) for name in ("W", "c", "z")}
mcmc = sbn_image_log_likelihood(images, posterior["W"], posterior["c"], posterior["z"])
mcmc = mcmc.reshape(-1, len(images))
gap = np.abs(vi.mean(0) - mcmc.mean(0)) / mcmc.std(0)
print(f"pmcgrad.fit: {result.steps} steps ({result.stop_reason}), {vi_seconds:.0f} s; "
      f"pm.sample: 2 x 1000 draws, {mcmc_seconds:.0f} s")
print(f"log p(x | z, W, c) summed over the images: pmcgrad {vi.mean(0).sum():.1f}, "
      f"pm.sample {mcmc.mean(0).sum():.1f}")
print(f"per image, |pmcgrad - pm.sample| in posterior sds: mean {gap.mean():.2f}, "
      f"largest {gap.max():.2f}")
