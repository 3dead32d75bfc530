"""``pmcgrad.fit``: check every argument, get the (cached) compiled fitter, run, summarise.

Every argument is checked here, before anything is compiled, and a bad one is named with its
value and what is supported.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pymc as pm
from pymc.initial_point import make_initial_point_fn
from pymc.logprob.utils import ParameterValueError
from pymc.model import modelcontext

from pmcgrad import streams
from pmcgrad.estimators import Estimator, estimator_names, get_estimator, get_noise
from pmcgrad.estimators.support import BERNOULLI, CATEGORICAL
from pmcgrad.ops import DEFAULT_EXACT_LIMIT
from pmcgrad.vi.convergence import Convergence, initial_schedule
from pmcgrad.vi.diagnostics import FitWarning, check_draws, diagnose, warn
from pmcgrad.vi.family import FAMILIES
from pmcgrad.vi.feasibility import analyse_feasibility, check_start, parameter_error
from pmcgrad.vi.fitter import (
    FitOptions,
    get_fitter,
    optimizer_key,
    real_overrides,
    start_shape,
)
from pmcgrad.vi.loop import progress_bar, run
from pmcgrad.vi.model import analyse_model
from pmcgrad.vi.result import FitResult

__all__ = ["continue_fit", "fit"]

_ON_DIVERGENCE = ("raise", "warn")
_COMPILE_MODES = (None, "NUMBA", "CVM", "C", "JAX", "FAST_RUN", "FAST_COMPILE")


def fit(
    n: int = 10_000,
    *,
    model: pm.Model | None = None,
    estimator: str | Estimator | None = None,
    samples: int = 8,
    family: str = "meanfield",
    n_starts: int = 1,
    start: Mapping | None = None,
    optimizer: Callable | None = None,
    random_seed=None,
    progressbar: bool = True,
    callbacks: Sequence[Callable] | None = None,
    callback_every: int = 100,
    convergence: Convergence | bool | None = None,
    noise: str = "logistic",
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    final_samples: int = 2000,
    local_dim: str | bool | None = None,
    minibatch_size: int | None = None,
    blas_threads: int | None = 1,
    on_divergence: str = "raise",
    compile_kwargs: Mapping | None = None,
    diagnostics: bool | int = True,
) -> FitResult:
    """Fit a variational approximation to ``model`` (from the context when omitted).

    Parameters
    ----------
    n
        The most optimisation steps; the fit stops earlier once it has converged
        (``convergence``).
    estimator
        Gradient estimator for the discrete latents: a registered name
        (``pmcgrad.estimator_names(support=None)``). By default ``"disarm"`` for a model with
        Bernoulli latents alone, and ``"arsm"`` (ARM at K = 2) for a model with categorical
        latents, where every latent is fitted as a categorical. A Bernoulli estimator with a
        categorical counterpart (``reinforce_loo`` -> ``categorical_reinforce_loo``, ...) is
        replaced by it there; one without (``disarm``) is refused with the alternatives.
    samples
        Draws per step; a 2-evaluation estimator evaluates the model ``2 * samples`` times.
    family
        The Gaussian for the continuous free variables (on PyMC's unconstrained space):
        ``"meanfield"``, ``"fullrank"``, or ``"bit_conditioned"``, whose mean and scale are
        linear in the bits, ``q(theta | z) = N(mu + W z, diag(softplus(rho + V z))^2)``, with
        ``beta_j`` paired to ``z_j`` when their shapes match (dense otherwise).
    n_starts
        Independent initialisations run as one vectorised graph; the one with the best final
        ELBO estimate is reported, and ``result.final_elbos`` gives all of them.
    start
        Initial values by model variable name, on the model's scale, as ``pm.fit``'s
        ``start``; for a Bernoulli variable an inclusion probability (0 and 1 count as 0.05
        and 0.95). They set the first start; other starts are jittered around them. A
        categorical latent takes none (its q starts uniform).
    optimizer
        A PyMC optimiser in partial form, e.g. ``pm.adam(learning_rate=0.01)``; default
        ``pm.adam(learning_rate=0.05, beta2=0.99)``. The stopping rule scales its steps.
    random_seed
        ``None``, an int or a ``numpy.random.Generator``, as ``pm.fit`` takes it.
    callbacks
        Called every ``callback_every`` steps as ``callback(result, loss_history, step)``,
        like ``pm.fit``'s; PyMC's ``CheckParametersConvergence`` works. Raise
        ``StopIteration`` to stop. ``callback_every=1`` calls them after every step, at the
        cost of one compiled call per step.
    convergence
        The stopping rule (:class:`pmcgrad.vi.convergence.Convergence`); ``False`` runs all
        ``n`` steps with a constant learning rate.
    final_samples
        Draws of the final low-noise ELBO estimate that ranks the starts.
    local_dim
        Per-observation latents. By default (``None``) bits are local when every Bernoulli
        latent and an observed variable share their first dim: each row's bits are then
        scored against that row's log-density terms only. Name the dim to require it;
        ``False`` keeps every bit global.
    minibatch_size
        With local latents, use this many rows of the local dim per step; the observed data
        must be ``pm.Data``.
    blas_threads
        BLAS threads during the fit (one by default; ``None`` leaves BLAS alone).
    on_divergence
        ``"raise"`` (default) a :class:`~pmcgrad.vi.loop.DivergenceError` when the loss grows
        by orders of magnitude over its best, or ``"warn"`` and return the fit as it was
        before the divergence.
    compile_kwargs
        ``{"mode": "JAX"}`` (or ``"NUMBA"``, the default, or ``"CVM"``) compiles the fit for
        that backend, as ``pm.sample``'s ``compile_kwargs``.
    diagnostics
        Check the fit when it ends, as ``pm.sample`` checks its chains
        (:mod:`pmcgrad.vi.diagnostics`): ``True`` (default) with 10000 draws per start from
        the fitted q (fewer for a large model), an int for another
        number of draws per start (at least 100), ``False`` not at all. The report is
        ``result.diagnostics``; what it finds wrong (a PSIS k-hat above 0.7, starts that
        disagree, a fit stopped at ``n`` without converging) is also issued as a
        :class:`~pmcgrad.vi.diagnostics.FitWarning`.

    Returns
    -------
    FitResult
        Read-only; ``sample(draws)`` returns an ``xarray.DataTree``, ``refine(n)`` a new
        result continued from this one.

    Raises
    ------
    UnsupportedLatentError
        A free discrete variable that is neither Bernoulli nor supported otherwise.
    pymc.exceptions.SamplingError
        The model's log density is not finite at its initial point;
        :class:`~pmcgrad.vi.feasibility.InfeasibleModelError` (a subclass) when no
        factorised ``q`` avoids a log density of -inf (naming the latents and the terms).
    NonFiniteError, DivergenceError
        A non-finite or diverging loss; ``error.result`` holds the last good state.
    FitInterrupted
        Ctrl-C (a ``KeyboardInterrupt``); ``error.result`` holds the partial fit.
    """
    model = _check_model(model)
    if not model.free_RVs:
        raise ValueError(f"the model has no free variables, so there is nothing to fit; its "
                         f"variables are {[rv.name for rv in model.basic_RVs]}")
    n = _check_int(n, "n", minimum=0)
    if not isinstance(progressbar, bool | np.bool_):
        raise TypeError(f"progressbar must be True or False, got {progressbar!r}")
    structure = analyse_model(model, local_dim)
    est = _resolve_estimator(estimator, structure)
    samples = _check_int(samples, "samples", minimum=1)
    if samples < est.min_samples:
        raise ValueError(f"estimator {est.name!r} needs samples >= {est.min_samples}, got "
                         f"samples={samples}")
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; valid families: {', '.join(FAMILIES)}")
    n_starts = _check_int(n_starts, "n_starts", minimum=1)
    noise_name = get_noise(noise).name
    exact_limit = _check_int(exact_limit, "exact_limit", minimum=1)
    final_samples = _check_int(final_samples, "final_samples", minimum=2)
    callback_every = _check_int(callback_every, "callback_every", minimum=1)
    callbacks = _check_callbacks(callbacks)
    convergence = _check_convergence(convergence)
    blas_threads = None if blas_threads is None else _check_int(blas_threads, "blas_threads",
                                                                minimum=1)
    if on_divergence not in _ON_DIVERGENCE:
        raise ValueError(f"on_divergence must be one of {_ON_DIVERGENCE}, got "
                         f"{on_divergence!r}")
    if optimizer is not None and not callable(optimizer):
        raise TypeError(
            f"optimizer must be a PyMC optimiser in partial form such as "
            f"pm.adam(learning_rate=0.01), got {optimizer!r}"
        )
    mode = _check_compile_kwargs(compile_kwargs)
    diagnostic_draws = _check_diagnostics(diagnostics)
    # Checks the seed and draws once from a Generator; the first child seeds the fit as
    # before, the second the diagnostics' draws.
    seed, diagnostics_seed = streams.spawn_seeds(random_seed, 2)
    _check_start(start, structure)
    # Bits the model fixes (hard zeros, p in {0, 1}) are constants; the start check takes
    # the bits at a possible state, as a Bernoulli's initial value may be an impossible one.
    try:
        feasibility = analyse_feasibility(structure)
        check_start(structure, feasibility)
    except ParameterValueError as error:  # PyMC's bare "0 <= p <= 1": name the variables
        raise parameter_error(model, error) from error
    if minibatch_size is not None:
        _check_minibatch(structure, minibatch_size, family)

    options = FitOptions(
        estimator=est.name, samples=samples, family=family, n_starts=n_starts,
        noise=noise_name, exact_limit=exact_limit, local_dim=local_dim,
        minibatch_size=minibatch_size, optimizer_key=optimizer_key(optimizer),
        compile_mode=mode,
    )
    run_options = dict(progressbar=progressbar, callbacks=callbacks,
                       callback_every=callback_every, convergence=convergence,
                       final_samples=final_samples, blas_threads=blas_threads,
                       on_divergence=on_divergence, diagnostics=diagnostic_draws,
                       diagnostics_seed=diagnostics_seed)
    with progress_bar(progressbar) as progress:
        compiling = progress.add_task("Compiling the ELBO (first fit of this model)",
                                      total=None, loss="", visible=False)
        fitter = get_fitter(model, options, optimizer=optimizer,
                            on_compile=lambda: progress.update(compiling, visible=True),
                            fixed=feasibility.fixed)
        progress.remove_task(compiling)
        schedule = initial_schedule(convergence, conditional=fitter.latents is not None and (
            fitter.family is not None and fitter.family.conditional))
        state = fitter.init(seed, start, schedule)
        return _run(fitter, state, n, run_options, progress)


def continue_fit(result: FitResult, n: int, **options) -> FitResult:
    """``n`` more steps from ``result``'s state (what ``FitResult.refine`` calls)."""
    n = _check_int(n, "n", minimum=0)
    unknown = set(options) - set(result.run_options)
    if unknown:
        raise TypeError(f"refine() got unknown options {sorted(unknown)}; it takes "
                        f"{sorted(result.run_options)}")
    run_options = {**result.run_options, **options}
    run_options["callbacks"] = _check_callbacks(run_options["callbacks"])
    if "diagnostics" in options:
        run_options["diagnostics"] = _check_diagnostics(options["diagnostics"])
    _check_run_options(run_options, options)
    state = result.state
    if state.schedule.converged and n > 0:
        # refine(n) asks for more steps: a converged fit takes them (before, it returned at
        # once), and the rule, when on, may stop it again at the end of a window.
        state = state.replace(schedule=dataclasses.replace(state.schedule, converged=False))
    with progress_bar(run_options["progressbar"]) as progress:
        return _run(result.fitter, state, n, run_options, progress)


def _run(fitter, state, n, run_options, progress) -> FitResult:
    final_steps = math.ceil(run_options["final_samples"] / fitter.options.samples)
    final_steps = max(final_steps, 2)

    def make_result(at_state, reason, final=False):
        if final:
            draws = fitter.final_elbo_draws(at_state, final_steps)
        else:  # a result seen by a callback or attached to an error: recent steps suffice
            history = at_state.history[-100:]
            draws = -history if history.shape[0] >= 2 else np.full(
                (2, at_state.history.shape[1]), np.nan)
        return FitResult(fitter, at_state, reason, draws, run_options)

    state, reason = run(
        fitter, state, n, convergence=run_options["convergence"],
        progressbar=run_options["progressbar"], callbacks=run_options["callbacks"],
        callback_every=run_options["callback_every"],
        on_divergence=run_options["on_divergence"],
        blas_threads=run_options["blas_threads"], make_result=make_result, progress=progress,
    )
    return _with_diagnostics(make_result(state, reason, final=True), run_options)


def _with_diagnostics(result: FitResult, run_options) -> FitResult:
    """The result with its diagnostics, whose findings are warned about. A fit is never lost
    to them: should they fail, the result comes back without, and a warning says why."""
    draws = run_options.get("diagnostics", 0)
    if draws == 0:  # None is the default number of draws
        return result
    try:
        found = diagnose(result, draws, run_options.get("diagnostics_seed"))
    except Exception as error:  # reported, and the fit is kept
        warnings.warn(f"the fit's diagnostics failed ({type(error).__name__}: {error}); the "
                      "result has none. fit(..., diagnostics=False) skips them",
                      FitWarning, stacklevel=4)
        return result
    warn(found, stacklevel=4)
    return dataclasses.replace(result, diagnostics=found)


# --- argument checks
def _resolve_estimator(estimator, structure) -> Estimator:
    """The estimator for the model's latents: a Bernoulli one when it has bits alone, a
    categorical one when it has categorical latents (see ``fit``'s ``estimator``)."""
    categorical = bool(structure.codes)
    if estimator is None:
        return get_estimator("arsm" if categorical else "disarm")
    est = get_estimator(estimator)
    wanted = CATEGORICAL if categorical else BERNOULLI
    if est.support == wanted:
        return est
    if not categorical:  # a categorical estimator on bits alone: its K = 2 reduction
        if est.reduces_to:
            return get_estimator(est.reduces_to)
        raise ValueError(f"estimator {est.name!r} is categorical and has no Bernoulli "
                         "counterpart; use a Bernoulli estimator such as 'disarm'")
    counterparts = [name for name in estimator_names(support=CATEGORICAL)
                    if get_estimator(name).reduces_to == est.name]
    if counterparts:
        return get_estimator(counterparts[0])
    names = [block.rv_name for block in structure.codes]
    raise ValueError(
        f"estimator {est.name!r} handles Bernoulli latents only, and this model has "
        f"categorical latents {names}, so every latent is fitted as a categorical: use a "
        f"categorical estimator, one of {estimator_names(support=CATEGORICAL)} ('arsm' is "
        "ARM at K = 2, the default)"
    )


def _check_model(model) -> pm.Model:
    if model is not None and not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pymc.Model, got {type(model).__name__}: {model!r}")
    return modelcontext(model)


def _check_int(value, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_diagnostics(diagnostics) -> int | None:
    """``True`` -> ``None`` (the default number of draws), ``False`` -> 0 (off), an int ->
    that many draws per start."""
    if diagnostics is True or diagnostics is None:
        return None
    if diagnostics is False:
        return 0
    if not isinstance(diagnostics, int | np.integer):
        raise TypeError(f"diagnostics must be True, False or a number of draws per start (an "
                        f"int >= 100), got {diagnostics!r} ({type(diagnostics).__name__})")
    return check_draws(diagnostics, "diagnostics")


def _check_run_options(run_options: dict, given: Mapping) -> None:
    """``refine``'s options, checked as ``fit`` checks them (in place)."""
    for name in ("callback_every", "final_samples"):
        if name in given:
            run_options[name] = _check_int(given[name], name,
                                           minimum=2 if name == "final_samples" else 1)
    if "convergence" in given:
        run_options["convergence"] = _check_convergence(given["convergence"])
    if given.get("blas_threads") is not None:
        run_options["blas_threads"] = _check_int(given["blas_threads"], "blas_threads",
                                                 minimum=1)
    if "on_divergence" in given and given["on_divergence"] not in _ON_DIVERGENCE:
        raise ValueError(f"on_divergence must be one of {_ON_DIVERGENCE}, got "
                         f"{given['on_divergence']!r}")


def _check_callbacks(callbacks) -> list:
    if callbacks is not None and (callable(callbacks) or isinstance(callbacks, str | bytes)
                                  or not isinstance(callbacks, Iterable)):
        raise TypeError(f"callbacks must be a list of callables, got {callbacks!r}; pass one "
                        "callback as callbacks=[callback]")
    callbacks = list(callbacks or [])
    for index, callback in enumerate(callbacks):
        if not callable(callback):
            raise TypeError(f"callbacks[{index}] is not callable: {callback!r}")
    return callbacks


def _check_convergence(convergence) -> Convergence:
    if convergence is None or convergence is True:
        return Convergence()
    if convergence is False:
        return Convergence(enabled=False)
    if not isinstance(convergence, Convergence):
        raise TypeError("convergence must be a pmcgrad.vi.Convergence, True or False, got "
                        f"{convergence!r}")
    return convergence


def _check_compile_kwargs(compile_kwargs) -> str | None:
    if compile_kwargs is None:
        return None
    if not isinstance(compile_kwargs, Mapping) or set(compile_kwargs) - {"mode"}:
        raise ValueError(f"compile_kwargs takes only 'mode' (e.g. {{'mode': 'JAX'}}), got "
                         f"{compile_kwargs!r}")
    mode = compile_kwargs.get("mode")
    if isinstance(mode, str):
        mode = mode.upper()
    if mode not in _COMPILE_MODES:
        raise ValueError(f"compile_kwargs['mode'] must be one of "
                         f"{[m for m in _COMPILE_MODES if m]}, got {compile_kwargs['mode']!r}")
    if mode == "JAX":
        try:
            import jax  # noqa: F401
        except ImportError:
            raise ImportError("compile_kwargs={'mode': 'JAX'} needs jax: pip install "
                              "'pmcgrad[jax]'") from None
    return mode


def _check_start(start, structure) -> None:
    """Names, types, shapes and values of ``start``: a Bernoulli's is an inclusion probability
    in [0, 1]; every value is finite and, on the unconstrained space, too (inside the support)."""
    if start is None:
        return
    if not isinstance(start, Mapping):
        raise TypeError(f"start must be a dict of initial values by variable name, got "
                        f"{start!r}")
    model = structure.model
    names = [rv.name for rv in model.free_RVs]
    bits = {block.rv_name for block in structure.bits}
    codes = {block.rv_name for block in structure.codes}
    shapes = {rv.name: start_shape(structure, rv) for rv in model.free_RVs}
    for name, value in start.items():
        if name not in names:
            raise ValueError(f"start[{name!r}]: {name!r} is not a free variable of the model; "
                             f"its free variables are {names}")
        if name in codes:
            raise ValueError(f"start[{name!r}]: {name!r} is a categorical latent, whose q starts "
                             "uniform over its categories; start takes Bernoulli (an "
                             "inclusion probability) and continuous variables")
        array = np.asarray(value) if not isinstance(value, str | bytes) else None
        if array is None or array.dtype.kind not in "biuf":
            raise TypeError(f"start[{name!r}] must be a number or an array of numbers, got "
                            f"{value!r}")
        shape = shapes[name]
        if shape is not None:  # where it is known without evaluating the model
            try:
                np.broadcast_to(array, shape)
            except ValueError:
                raise ValueError(f"start[{name!r}] has shape {array.shape}, which does not fit "
                                 f"{name!r}'s shape {shape}") from None
        if not np.isfinite(array).all():
            raise ValueError(f"start[{name!r}] must be finite, got {value!r}")
        if name in bits and ((array < 0) | (array > 1)).any():
            raise ValueError(f"start[{name!r}] is an inclusion probability, from 0 to 1, got "
                             f"{value!r}")
    reals = [block for block in structure.reals if block.rv_name in start]
    if reals:
        point = make_initial_point_fn(model=model, overrides=real_overrides(structure, start),
                                      jitter_rvs=set(), return_transformed=True)(0)
        for block in reals:
            if not np.isfinite(point[block.name]).all():
                raise ValueError(f"start[{block.rv_name!r}] = {start[block.rv_name]!r} is "
                                 f"outside the support of {block.rv_name!r} (on the "
                                 f"unconstrained space it is {point[block.name]!r})")


def _check_minibatch(structure, minibatch_size, family) -> None:
    """Minibatching selects rows of the local dim in the graph: say why it cannot."""
    local = structure.local
    if local is None:
        raise ValueError(
            f"minibatch_size={minibatch_size}: minibatching needs per-observation latents (a "
            "Bernoulli latent whose first dim is the observed data's first dim); this model's "
            "latents are global"
        )
    if isinstance(minibatch_size, bool) or not isinstance(minibatch_size, int | np.integer) \
            or not 1 <= minibatch_size <= local.rows:
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
