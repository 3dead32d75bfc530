"""Regenerate tests/data/gallery_mcmc.json: pm.sample summaries of the gallery models.

The gallery tests (tests/vi/test_gallery.py) compare pmcgrad.fit with these MCMC summaries
instead of running pm.sample in CI (minutes per model). Each entry holds, per quantity, the
posterior mean, sd and the Monte Carlo standard error of the mean (ArviZ's, from the
effective sample size), and the sampler settings and seed that produced it.

Run (about 20 minutes on 2 cores):

    .venv/bin/python tests/data/make_gallery_references.py            # every model
    .venv/bin/python tests/data/make_gallery_references.py zip mixture  # some of them
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import arviz as az
import numpy as np
import pymc as pm

from pmcgrad.models import (
    binarised_digits,
    diabetes_spike_slab,
    occupancy_model,
    sigmoid_belief_network,
    two_component_mixture,
    zero_inflated_poisson,
)
from pmcgrad.problems.gallery import (
    sbn_image_log_likelihood,
    simulate_mixture,
    simulate_occupancy,
    simulate_zero_inflated_poisson,
)

OUT = pathlib.Path(__file__).with_name("gallery_mcmc.json")
SAMPLER = {"draws": 2000, "tune": 1000, "chains": 4, "cores": 1}
SBN_IMAGES, SBN_CODES = 100, 4


def _summary(values: np.ndarray) -> dict:
    """``values (chains, draws, ...)`` -> mean, sd and MCSE of the mean, per coordinate."""
    idata = az.from_dict({"posterior": {"x": values}})
    mcse = np.asarray(az.mcse(idata, method="mean")["x"])
    return {"mean": values.mean((0, 1)).tolist(), "sd": values.std((0, 1)).tolist(),
            "mcse": np.nan_to_num(mcse, nan=0.0).tolist()}


def _sample(model, seed, initvals=None) -> dict[str, np.ndarray]:
    with model:
        idata = pm.sample(**SAMPLER, random_seed=seed, initvals=initvals, progressbar=False,
                          compute_convergence_checks=False)
    return {name: np.asarray(idata.posterior[name]) for name in idata.posterior.data_vars}


def zip_reference() -> dict:
    data = simulate_zero_inflated_poisson()
    # pm.sample needs initial z that are possible: its initial point has z = 1 everywhere
    # (psi starts at 1/2), which a positive count rules out. pmcgrad.fit needs no initvals.
    draws = _sample(zero_inflated_poisson(data), 1, initvals={"z": np.zeros(len(data.y), int)})
    zeros = data.y == 0
    return {"psi": _summary(draws["psi"]), "lam": _summary(draws["lam"]),
            "z_where_y_is_0": _summary(draws["z"][..., zeros].mean(-1))}


def occupancy_reference() -> dict:
    data = simulate_occupancy()
    draws = _sample(occupancy_model(data), 2)
    never = data.y.sum(1) == 0
    return {"psi": _summary(draws["psi"]), "alpha": _summary(draws["alpha"]),
            "beta": _summary(draws["beta"]),
            "z_never_detected": _summary(draws["z"][..., never].mean(-1))}


def mixture_reference() -> dict:
    data = simulate_mixture()
    draws = _sample(two_component_mixture(data), 3)
    return {name: _summary(draws[name]) for name in ("w", "mu", "sigma", "z")}


def diabetes_reference() -> dict:
    draws = _sample(diabetes_spike_slab(), 4)
    return {name: _summary(draws[name]) for name in ("z", "beta", "sigma")}


def sbn_reference() -> dict:
    """The digits SBN on its first 100 training images with 4 codes (400 bits), summarised by
    what does not depend on how the codes are labelled (the posterior is symmetric under their
    4! permutations): each image's log-likelihood given its code."""
    train, _ = binarised_digits(seed=0)
    images = train[:SBN_IMAGES]
    draws = _sample(sigmoid_belief_network(images, SBN_CODES), 5)
    return {"image_loglik": _summary(sbn_image_log_likelihood(images, draws["W"], draws["c"],
                                                              draws["z"])),
            "images": SBN_IMAGES, "codes": SBN_CODES}


REFERENCES = {"zip": zip_reference, "occupancy": occupancy_reference,
              "mixture": mixture_reference, "diabetes": diabetes_reference,
              "sbn": sbn_reference}


def main(names: list[str]) -> None:
    stored = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in names or list(REFERENCES):
        started = time.perf_counter()
        entry = REFERENCES[name]()
        entry["sampler"] = {**SAMPLER, "pymc": pm.__version__,
                            "seconds": round(time.perf_counter() - started, 1)}
        stored[name] = entry
        OUT.write_text(json.dumps(stored, indent=1) + "\n")
        print(f"{name}: {entry['sampler']['seconds']} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
