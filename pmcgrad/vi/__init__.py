"""Variational inference for PyMC models with Bernoulli latents.

``pmcgrad.fit`` follows ``pm.fit``'s signature. The family is mean-field Bernoulli(logits) for
every free Bernoulli variable and a Gaussian on PyMC's unconstrained space for the continuous
ones; the registered estimator supplies the logit gradients (MATH.md, last section).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pymc as pm
import pytensor
from pymc.model import modelcontext

from pmcgrad.estimators import Estimator, get_estimator
from pmcgrad.ops import DEFAULT_EXACT_LIMIT, shared_rng
from pmcgrad.vi.family import FAMILIES, make_family
from pmcgrad.vi.loop import Runner
from pmcgrad.vi.model import UnsupportedLatentError, analyse_model
from pmcgrad.vi.objective import build_elbo
from pmcgrad.vi.result import FitResult

__all__ = ["FAMILIES", "FitResult", "UnsupportedLatentError", "fit"]

DEFAULT_LEARNING_RATE = 0.02


def fit(
    n: int = 10_000,
    *,
    model: pm.Model | None = None,
    estimator: str | Estimator = "disarm",
    samples: int = 8,
    family: str = "meanfield",
    starts: int = 1,
    optimizer: Callable | None = None,
    random_seed: int | None = None,
    progressbar: bool = True,
    callbacks: Sequence[Callable] | None = None,
    noise: str = "logistic",
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    final_samples: int = 2000,
    local_dim: str | bool | None = None,
    blas_threads: int | None = 1,
    minibatch_size: int | None = None,
) -> FitResult:
    """Fit a variational approximation to ``model`` (from the context when omitted).

    Parameters
    ----------
    n
        Optimisation steps.
    estimator
        Gradient estimator for the Bernoulli logits: any registered name
        (``pmcgrad.estimator_names()``).
    samples
        Draws per step; a 2-evaluation estimator evaluates the model ``2 * samples`` times.
    family
        The Gaussian for the continuous free variables (on PyMC's unconstrained space):
        ``"meanfield"``, ``"fullrank"``, or ``"bit_conditioned"``, whose mean and scale are
        linear in the bits, ``q(theta | z) = N(mu + W z, diag(softplus(rho + V z))^2)``, with
        ``beta_j`` paired to ``z_j`` when their shapes match (dense otherwise).
    starts
        Independent initialisations run as one vectorised graph; the one with the best final
        ELBO estimate is kept, and ``result.final_elbos`` reports all of them.
    optimizer
        A PyMC optimiser in partial form, e.g. ``pm.adam(learning_rate=0.01)``; default
        ``pm.adam(learning_rate=0.02)``.
    callbacks
        Called after each step as ``callback(result, loss_history, step)``, like ``pm.fit``'s;
        PyMC's ``CheckParametersConvergence`` works. Raise ``StopIteration`` to stop.
    final_samples
        Draws of the final low-noise ELBO estimate that ranks the starts.
    local_dim
        Per-observation latents. By default (``None``) bits are local when every Bernoulli
        latent and an observed variable share their first named dim (``dims=("obs", ...)``):
        each row's bits are then scored against that row's log-density terms only. Name the
        dim to require it (mismatches raise ``ValueError``); ``False`` keeps every bit global.
    minibatch_size
        With local latents, use this many rows of the local dim per step (drawn afresh each
        step, without replacement); the ELBO estimate scales their sum by ``R / B``, and only
        those rows' logits get a likelihood gradient. The observed data must be ``pm.Data``
        (so its rows can be selected in the graph).
    blas_threads
        BLAS threads during the fit. One by default: the matrices of a step are small, and
        threads cost more than they save; ``None`` leaves the BLAS setting alone.

    Returns
    -------
    FitResult
        ``sample(draws, random_seed)`` returns an ``xarray.DataTree``; ``refine(n)`` continues.

    Raises
    ------
    UnsupportedLatentError
        A free discrete variable that is not Bernoulli.
    pymc.exceptions.SamplingError
        The model's log density is not finite at its initial point.
    FloatingPointError
        A non-finite loss or gradient; that step is not applied, so the fit keeps its last
        finite state, and the result, history included, is attached as ``error.result``.
    """
    model = modelcontext(model)
    est = get_estimator(estimator)
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; valid families: {', '.join(FAMILIES)}")
    if not isinstance(starts, int) or starts < 1:
        raise ValueError(f"starts must be a positive int, got {starts!r}")
    structure = analyse_model(model, local_dim)
    model.check_start_vals(model.initial_point())

    if minibatch_size is not None:
        _check_minibatch(structure, minibatch_size, family)

    seeds = np.random.SeedSequence(random_seed).spawn(4)
    init_rng = np.random.default_rng(seeds[0])
    rngs = (shared_rng(seeds[1]), shared_rng(seeds[2]), shared_rng(seeds[3]))

    gaussian = None
    if structure.n_reals:
        gaussian = make_family(family, structure, starts, init_rng)
    logits = None
    if structure.n_bits:
        # The first start begins at p = 1/2; further starts at random logits, so that
        # they can land in different optima of the (multimodal) mean-field ELBO.
        init = np.zeros((starts, structure.n_bits))
        init[1:] = init_rng.uniform(-3, 3, size=(starts - 1, structure.n_bits))
        logits = pytensor.shared(init, name="logits")

    elbo_graph = build_elbo(structure, gaussian, logits, est, samples, rngs, noise, exact_limit,
                            starts, minibatch=minibatch_size)
    runner = Runner(
        elbo_graph=elbo_graph, family=gaussian, logits=logits, structure=structure,
        optimizer=optimizer or pm.adam(learning_rate=DEFAULT_LEARNING_RATE),
        final_samples=final_samples, rngs=rngs, starts=starts, blas_threads=blas_threads,
    )
    result = FitResult(
        structure=structure, estimator=est.name, family=gaussian, logits=logits, runner=runner,
        hist_starts=np.zeros((0, starts)), gradient_variance_starts=np.zeros((0, starts)),
    )
    runner.run(result, n, progressbar=progressbar, callbacks=callbacks)
    return result


def _check_minibatch(structure, minibatch_size, family) -> None:
    """Minibatching selects rows of the local dim in the graph: say why it cannot."""
    local = structure.local
    if local is None:
        raise ValueError(
            f"minibatch_size={minibatch_size}: minibatching needs per-observation latents (a "
            "Bernoulli latent whose first dim is the observed data's first dim); this model's "
            "latents are global"
        )
    if not isinstance(minibatch_size, int) or not 1 <= minibatch_size <= local.rows:
        raise ValueError(
            f"minibatch_size must be an int from 1 to the {local.rows} rows of dim "
            f"{local.dim!r}, got {minibatch_size!r}"
        )
    if family == "bit_conditioned":
        raise ValueError(
            "minibatch_size is not supported with family='bit_conditioned' (its Gaussian "
            "depends on every bit); use 'meanfield' or 'fullrank'"
        )
    model = structure.model
    for rv in structure.local_observed():
        if model.rvs_to_values[rv].type.shape[0] is not None:
            raise ValueError(
                f"minibatch_size: the observed data of {rv.name!r} has a fixed number of rows; "
                f"pass it as pm.Data (e.g. pm.Data('{rv.name}_data', values, dims=...)) so "
                "that a step can select its rows"
            )
