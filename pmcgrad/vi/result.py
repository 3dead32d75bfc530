"""The fitted approximation, read-only: history, inclusion probabilities, draws, refinement.

A :class:`FitResult` is a view of one :class:`~pmcgrad.vi.state.FitState` through the
:class:`~pmcgrad.vi.fitter.Fitter` that produced it. It never changes: ``refine(n)`` returns a
new result, and ``result.state`` can be kept and resumed later (``Fitter.step``).

Whether to trust it: ``result.diagnostics`` (computed at the end of ``pmcgrad.fit``) or
``result.diagnose(draws)`` (:mod:`pmcgrad.vi.diagnostics`), and the importance-corrected
answers ``inclusion_probabilities_corrected``, ``mean_corrected``, ``std_corrected`` and
``sample(draws, importance=True)`` (:mod:`pmcgrad.vi.importance`).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pymc.backends.arviz import (
    coords_and_dims_for_inferencedata,
    dict_to_dataset,
    find_constants,
    find_observations,
)
from pymc.pytensorf import replace_vars_in_graphs
from pytensor.graph.replace import graph_replace, vectorize_graph

from pmcgrad import streams
from pmcgrad.vi.diagnostics import FitDiagnostics, FitWarning
from pmcgrad.vi.diagnostics import diagnose as compute_diagnostics
from pmcgrad.vi.fitter import HELPER_MODE, Fitter
from pmcgrad.vi.importance import (
    PARETO_K_THRESHOLD,
    ImportanceSample,
    ImportanceUnavailableError,
    batch_size,
    draw_proposal,
    importance_sample,
    latent_probabilities,
    noise_batches,
    psis,
    unavailable_reason,
)
from pmcgrad.vi.model import ModelStructure
from pmcgrad.vi.state import FitState

__all__ = ["FitResult", "SharedValue"]

# Draws behind result.mean and result.std (fixed seed: the same result gives the same numbers).
_SUMMARY_DRAWS, _SUMMARY_SEED = 4000, 20261128


@dataclass(frozen=True)
class SharedValue:
    """A read-only stand-in for a shared variable: what PyMC's callbacks read (``get_value``)."""

    name: str
    value: np.ndarray

    def get_value(self, borrow: bool = False) -> np.ndarray:
        return self.value


@dataclass(frozen=True, eq=False)
class FitResult:
    """What ``pmcgrad.fit`` returns.

    With ``n_starts=M`` every array with a start axis has length ``M``; the summaries
    (``hist``, ``inclusion_probabilities``, ``sample``) use ``best_start``, the start with the
    highest final ELBO estimate. ``stop_reason`` says why the fit stopped: ``"converged"``,
    ``"n"`` (the step cap), a callback's message, or, on a result attached to an error,
    ``"non-finite"``, ``"diverged"`` or ``"interrupted"``. ``diagnostics`` says whether to
    trust it (``None`` when ``fit(diagnostics=False)``; :meth:`diagnose` computes it anew).
    """

    fitter: Fitter
    state: FitState
    stop_reason: str
    final_elbo_draws: np.ndarray | None = None  # (F, M) per-step ELBO estimates at the answer
    run_options: dict = field(default_factory=dict, repr=False)
    diagnostics: FitDiagnostics | None = field(default=None, repr=False)

    # --- what the user reads
    @property
    def model(self) -> pm.Model:
        return self.fitter.model

    @property
    def structure(self) -> ModelStructure:
        return self.fitter.structure

    @property
    def estimator(self) -> str:
        return self.fitter.estimator.name

    @property
    def family(self) -> str | None:
        """The variational family of the continuous variables (``None`` without any)."""
        return self.fitter.family.name if self.fitter.family is not None else None

    @property
    def converged(self) -> bool:
        """Whether the stopping rule fired (``pmcgrad.vi.convergence``)."""
        return self.state.schedule.converged

    @property
    def steps(self) -> int:
        return self.state.step

    @property
    def params(self) -> list[SharedValue]:
        """The variational parameters reported (PyMC's callbacks read these)."""
        return [SharedValue(name, value) for name, value in self.state.answer.items()]

    @property
    def hist_starts(self) -> np.ndarray:
        """Loss (negative ELBO estimate) per step and start, ``(steps, M)``."""
        return self.state.history

    @property
    def hist(self) -> np.ndarray:
        """Loss (negative ELBO estimate) per step for the best start, ``(steps,)``."""
        return self.state.history[:, self.best_start]

    @property
    def final_elbos(self) -> np.ndarray:
        """The final low-noise ELBO estimate of every start, ``(M,)`` (nats)."""
        return self.final_elbo_draws.mean(axis=0)

    @property
    def final_elbo_se(self) -> np.ndarray:
        """The Monte Carlo standard error of ``final_elbos``, ``(M,)``."""
        draws = self.final_elbo_draws
        return draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])

    @property
    def best_start(self) -> int:
        elbos = self.final_elbos
        return int(np.argmax(np.where(np.isfinite(elbos), elbos, -np.inf)))

    @property
    def elbo(self) -> float:
        """The final ELBO estimate of the best start (nats)."""
        return float(self.final_elbos[self.best_start])

    @property
    def logit_values(self) -> np.ndarray:
        """The Bernoulli logits of every start, ``(M, K)``; a bit the model fixes
        (``structure.fixed``: a hard zero, or p in {0, 1}) has logit -inf or +inf."""
        answer = self.state.answer
        if "logits" not in answer:
            return np.zeros((1, 0))
        fixed = self.structure.fixed
        logits = np.asarray(answer["logits"])
        return logits if fixed is None else fixed.pin_logits(logits)

    @property
    def inclusion_probabilities(self) -> dict[str, xr.DataArray]:
        """``sigmoid(logits)`` of the best start, by variable name, with the model's dims."""
        return self._labelled(self.inclusion_probabilities_starts[self.best_start],
                              self.structure.bits)

    @property
    def inclusion_probabilities_starts(self) -> np.ndarray:
        """``sigmoid(logits)`` of every start, ``(M, K)``."""
        return _sigmoid(self.logit_values)

    @property
    def category_probabilities(self) -> dict[str, xr.DataArray]:
        """``q(c = j)`` of every categorical latent, best start, by variable name, with the
        model's dims and a last dim ``<name>_category``."""
        return self._category_probabilities(self.best_start)

    @property
    def mean_unconstrained(self) -> dict[str, xr.DataArray]:
        """The Gaussian's means on PyMC's unconstrained space, by value variable name
        (``sigma_log__``), best start; ``bit_conditioned``: the mean at ``z = 0``."""
        return self._labelled(self.state.answer["mean"][self.best_start],
                              self.structure.reals, key="name")

    @property
    def std_unconstrained(self) -> dict[str, xr.DataArray]:
        """The Gaussian's marginal standard deviations on the unconstrained space (at z = 0
        for ``bit_conditioned``), by value variable name, best start."""
        answer = self.state.answer
        if "rho" in answer:
            scale = np.logaddexp(0.0, answer["rho"][self.best_start])
        else:
            raw = answer["scale_tril_raw"][self.best_start]
            diagonal = np.logaddexp(0.0, np.diagonal(raw))
            scale = np.sqrt((np.tril(raw, -1) ** 2).sum(-1) + diagonal**2)
        return self._labelled(scale, self.structure.reals, key="name")

    @property
    def mean(self) -> dict[str, xr.DataArray]:
        """Posterior means under the approximation, by model variable name, on the model's
        own (constrained) scale: inclusion probabilities for Bernoulli variables, Monte Carlo
        means of 4000 draws (fixed seed) for the others."""
        return self._summaries[0]

    @property
    def std(self) -> dict[str, xr.DataArray]:
        """Posterior standard deviations under the approximation, by model variable name
        (see :attr:`mean`)."""
        return self._summaries[1]

    @property
    def gradient_variance(self) -> dict[str, xr.DataArray]:
        """Spread of each logit's gradient estimate over the last finished window (or the
        window in progress, before one has finished)."""
        variance = self.state.logit_gradient_variance
        if variance is None:
            variance = np.full_like(self.logit_values, np.nan)
        return self._labelled(variance[self.best_start], self.structure.bits)

    def logit_gradient_samples(self, draws: int = 1000) -> np.ndarray:
        """Fresh estimates of the ELBO gradient for the flat logits at the reported
        parameters, ``(draws, M, K)``: their spread is the estimator's variance here."""
        if "logits" not in self.state.answer:
            raise ValueError("the model has no Bernoulli latents, so there are no logits")
        return self.fitter.logit_gradient_samples(self.state, _check_count(draws, "draws"))

    # --- is it right?
    def diagnose(self, draws: int | None = None, random_seed=None) -> FitDiagnostics:
        """Check this fit with ``draws`` fresh draws per start (``None``: 10000, fewer for a
        large model) (:mod:`pmcgrad.vi.diagnostics`):
        PSIS k-hat, the corrected inclusion probabilities, the ELBO's standard error, whether
        the starts agree, collapsed probabilities, the logit-gradient signal-to-noise ratio and
        convergence. Returns the report (``print`` it); it does not warn."""
        return compute_diagnostics(self, draws, random_seed)

    @property
    def inclusion_probabilities_corrected(self) -> dict[str, xr.DataArray]:
        """Inclusion probabilities weighted by PSIS importance weights ``p / q``, by variable
        name with the model's dims: the draws of ``diagnostics`` (all starts' q mixed), or,
        without diagnostics, the default number of draws with a fixed seed.

        Warns (:class:`~pmcgrad.vi.diagnostics.FitWarning`) when their k-hat is above 0.7
        (they are then not reliable); raises
        :class:`~pmcgrad.vi.importance.ImportanceUnavailableError` for a minibatched fit."""
        sample = self._checked_importance("inclusion_probabilities_corrected")
        bits = sample.bits[:, : self.structure.n_bits]  # codes 0/1 in categorical mode too
        return self._labelled(sample.mean(bits), self.structure.bits)

    @property
    def category_probabilities_corrected(self) -> dict[str, xr.DataArray]:
        """Category probabilities weighted by PSIS importance weights, as
        :attr:`category_probabilities` (the draws and warnings of
        :attr:`inclusion_probabilities_corrected`)."""
        self._checked_importance("category_probabilities_corrected")
        return self._category_probabilities(None)

    @property
    def mean_corrected(self) -> dict[str, xr.DataArray]:
        """Importance-weighted posterior means by model variable name on the model's scale
        (the draws of :attr:`inclusion_probabilities_corrected`; the same warnings)."""
        self._checked_importance("mean_corrected")
        return self._corrected_summaries[0]

    @property
    def std_corrected(self) -> dict[str, xr.DataArray]:
        """Importance-weighted posterior standard deviations (see :attr:`mean_corrected`)."""
        self._checked_importance("std_corrected")
        return self._corrected_summaries[1]

    def refine(self, n: int, **options) -> FitResult:
        """``n`` more steps from where this fit stopped, as a new result (this one is kept).
        ``options`` are ``pmcgrad.fit``'s run options (``progressbar``, ``callbacks``...)."""
        from pmcgrad.vi.api import continue_fit  # the entry points sit above the result

        return continue_fit(self, n, **options)

    # --- draws
    def sample(self, draws: int = 1000, random_seed=None, *, start_index: int | None = None,
               importance: bool = False, return_inferencedata: bool = True
               ) -> xr.DataTree | dict[str, np.ndarray]:
        """Draw from the approximation, or with ``importance=True`` from the
        importance-corrected posterior.

        Returns a DataTree like ``pm.sample``'s (``posterior`` with one chain: Bernoulli
        variables as int64, deterministics included, the model's dims and coords;
        ``sample_stats``; ``observed_data`` and ``constant_data``), or with
        ``return_inferencedata=False`` a dict ``{name: (draws, *shape)}`` of the free variables
        and deterministics. ``start_index`` picks a start other than the best.

        ``importance=True`` draws ``draws`` proposals from the mixture of every start's q
        (or from start ``start_index``'s), weighs them by PSIS and resamples ``draws`` of them
        (ArviZ's stratified resampling), so draws repeat: the effective sample size is
        ``sample_stats.attrs["importance_ess"]``. It warns
        (:class:`~pmcgrad.vi.diagnostics.FitWarning`) when k-hat is above 0.7, and raises
        :class:`~pmcgrad.vi.importance.ImportanceUnavailableError` for a minibatched fit.

        ``sample_stats`` holds, per draw, ``lp`` (the model's log density
        ``log p(x, z, theta)`` on the unconstrained space, as PyMC's samplers record it),
        ``log_q`` (the proposal's log density there) and ``log_weight`` (its normalised PSIS
        log weight among the draws it was weighed with), with ``pareto_k`` in its attrs. A
        minibatched fit has no ``sample_stats`` (its full log density is not computed).
        """
        draws = _check_count(draws, "draws")
        for name, flag in [("importance", importance),
                           ("return_inferencedata", return_inferencedata)]:
            if not isinstance(flag, bool | np.bool_):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        start = None if start_index is None else _check_start(start_index, self.logit_values)
        reason = unavailable_reason(self.fitter)
        if importance and reason is not None:
            raise ImportanceUnavailableError(f"sample(importance=True) is not available: "
                                             f"{reason}")
        rng = streams.numpy_rng(random_seed)
        stats = None
        if importance:
            values, stats = self._importance_draws(draws, rng, start)
        elif reason is None and return_inferencedata:
            values, stats = self._draws_with_densities(
                draws, rng, self.best_start if start is None else start)
        else:
            values = self._draw_values(draws, rng, self.best_start if start is None else start)
        constrained = self._constrain(values)
        model = self.model
        if not return_inferencedata:
            if model.deterministics:
                constrained |= self._deterministics(constrained)
            return constrained
        coords, dims = coords_and_dims_for_inferencedata(model)
        posterior = dict_to_dataset(
            {name: value[None] for name, value in constrained.items()},
            inference_library=pm, coords=coords, dims=dims,
        )
        if model.deterministics:
            posterior = posterior.merge(
                pm.compute_deterministics(posterior, model=model, progressbar=False)
            )
        posterior.attrs["pmcgrad_estimator"] = self.estimator
        groups = {"posterior": posterior}
        if stats is not None:
            arrays, attrs = stats
            groups["sample_stats"] = dict_to_dataset(
                {name: value[None] for name, value in arrays.items()}, inference_library=pm)
            groups["sample_stats"].attrs.update(attrs)
        for group, found in [("observed_data", find_observations(model)),
                             ("constant_data", find_constants(model))]:
            if found:
                groups[group] = dict_to_dataset(found, inference_library=pm, coords=coords,
                                                dims=dims, sample_dims=[])
        return xr.DataTree.from_dict(groups)

    # --- helpers
    def _draw_values(self, draws: int, rng: np.random.Generator, start: int
                     ) -> dict[str, np.ndarray]:
        """Unconstrained draws ``{value name: (draws, *shape)}`` from start ``start``, in the
        batches (and so with the numbers) of :meth:`_draws_with_densities`."""
        structure, fitter = self.structure, self.fitter
        params = {name: value[start : start + 1] for name, value in self.state.answer.items()}
        probs = latent_probabilities(fitter, params)
        bits = np.zeros((draws, structure.n_latents), dtype="int64")
        reals = np.zeros((draws, structure.n_reals))
        for rows, (drawn, eps) in noise_batches(rng, draws, 1, probs, structure.n_reals,
                                                batch_size(fitter, 1)):
            bits[rows] = drawn[:, 0]
            if fitter.family is not None:
                given = drawn[:, 0, : structure.n_bits] if structure.n_bits else None
                reals[rows] = fitter.draw_reals(self.state.answer, eps[:, 0], start, given)
        return self._split_flat(bits, reals)

    def _draws_with_densities(self, draws: int, rng: np.random.Generator, start: int):
        """The draws of :meth:`_draw_values` (the same numbers for the same ``rng``), with
        their ``log p``, ``log q`` and PSIS log weights."""
        params = {name: value[start : start + 1] for name, value in self.state.answer.items()}
        proposal = draw_proposal(self.fitter, params, draws, rng)
        bits, reals = proposal.bits[:, 0], proposal.reals[:, 0]
        log_p, log_q = proposal.log_p[:, 0], proposal.log_q[:, 0, 0]
        weights = psis(log_p - log_q)
        stats = ({"lp": log_p, "log_q": log_q, "log_weight": weights.log_weights},
                 {"pareto_k": float(weights.pareto_k), "proposal": f"start {start}",
                  "importance_resampled": 0})
        return self._split_flat(bits, reals), stats

    def _importance_draws(self, draws: int, rng: np.random.Generator, start: int | None):
        """``draws`` resampled by PSIS weight from as many proposals: from the mixture of the
        starts (``start`` ``None``) or from one start."""
        from arviz_base import extract

        answer = self.state.answer
        if start is None:
            starts = self.final_elbos.shape[0]
            counts = np.full(starts, draws // starts) + (np.arange(starts) < draws % starts)
            proposal = draw_proposal(self.fitter, answer, int(counts.max()), rng)
            described = "start 0" if starts == 1 else f"the mixture of the {starts} starts"
        else:
            counts = np.array([draws])
            proposal = draw_proposal(self.fitter, {name: value[start : start + 1]
                                                   for name, value in answer.items()}, draws, rng)
            described = f"start {start}"
        pool = importance_sample(proposal, counts)
        if not pool.reliable:
            warnings.warn(
                f"sample(importance=True): the importance weights have k-hat "
                f"{pool.pareto_k:.2f} > {PARETO_K_THRESHOLD}, so these draws do not follow the "
                "posterior either; see result.diagnose()", FitWarning, stacklevel=3)
        # ArviZ's stratified resampling of the pool by weight.
        index = extract(xr.Dataset({"index": ("draw", np.arange(pool.size))}), group="posterior",
                        sample_dims=["draw"], num_samples=draws, weights=pool.weights,
                        resampling_method="stratified", random_seed=rng).values
        stats = ({"lp": pool.log_p[index], "log_q": pool.log_q[index],
                  "log_weight": pool.log_weights[index]},
                 {"pareto_k": pool.pareto_k, "importance_ess": pool.ess,
                  "proposal": described, "importance_resampled": 1})
        return self._split_flat(pool.bits[index], pool.reals[index]), stats

    def _split_flat(self, bits: np.ndarray, reals: np.ndarray) -> dict[str, np.ndarray]:
        """Flat latents ``(N, L)`` and ``reals (N, D)`` -> ``{value name: (N, *shape)}``."""
        structure = self.structure
        return (structure.split(bits.astype("int64"), structure.latents)
                | structure.split(reals, structure.reals))

    @functools.cached_property
    def _importance(self) -> ImportanceSample:
        """The weighted draws behind the corrected answers: ``diagnostics``' or, without
        them, fresh ones with the summaries' fixed seed."""
        reason = unavailable_reason(self.fitter)
        if reason is not None:
            raise ImportanceUnavailableError(f"no importance-corrected answers: {reason}")
        found = self.diagnostics
        if found is None or found.importance is None:
            found = compute_diagnostics(self, None, _SUMMARY_SEED)
        return found.importance

    def _checked_importance(self, what: str) -> ImportanceSample:
        sample = self._importance
        if not sample.reliable:
            warnings.warn(
                f"{what}: the importance weights have k-hat {sample.pareto_k:.2f} > "
                f"{PARETO_K_THRESHOLD}, so the corrected answers are not reliable either; "
                "see result.diagnostics", FitWarning, stacklevel=3)
        return sample

    @functools.cached_property
    def _corrected_summaries(self) -> tuple[dict, dict]:
        sample, model = self._importance, self.model
        constrained = self._constrain(self._split_flat(sample.bits, sample.reals))
        coords, dims = coords_and_dims_for_inferencedata(model)
        draws = dict_to_dataset({name: value[None] for name, value in constrained.items()},
                                inference_library=pm, coords=coords, dims=dims)
        weighted = draws.weighted(xr.DataArray(sample.weights[None], dims=("chain", "draw")))
        means, stds = weighted.mean(("chain", "draw")), weighted.std(("chain", "draw"))
        return ({rv.name: means[rv.name] for rv in model.free_RVs},
                {rv.name: stds[rv.name] for rv in model.free_RVs})

    @functools.cached_property
    def _summaries(self) -> tuple[dict, dict]:
        means, stds = {}, {}
        probs = self.inclusion_probabilities
        for name, p in probs.items():
            means[name], stds[name] = p, np.sqrt(p * (1 - p))
        if self.fitter.family is not None or self.structure.codes:
            draws = self.sample(_SUMMARY_DRAWS, _SUMMARY_SEED)["posterior"]
            for rv in self.model.free_RVs:
                if rv.name not in probs:
                    means[rv.name] = draws[rv.name].mean(("chain", "draw"))
                    stds[rv.name] = draws[rv.name].std(("chain", "draw"))
        return means, stds

    def _category_table(self, start: int, block) -> np.ndarray:
        """``(size, K)``: the category probabilities of one categorical block's latents."""
        free = np.asarray(self.state.answer["category_logits"])[start]
        offset = block.start - self.structure.n_bits
        free = free[offset : offset + block.size, : block.categories - 1]
        logits = np.concatenate([np.zeros((block.size, 1)), free], axis=-1)
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return weights / weights.sum(axis=-1, keepdims=True)

    def _category_probabilities(self, start: int | None) -> dict[str, xr.DataArray]:
        """Category probabilities of start ``start``, or (``None``) importance-weighted."""
        coords, dims = coords_and_dims_for_inferencedata(self.model)
        sample = None if start is not None else self._importance
        out = {}
        for block in self.structure.codes:
            if sample is None:
                table = self._category_table(start, block)
            else:  # the weighted frequency of each category among the draws
                codes = sample.bits[:, block.start : block.stop]
                table = sample.mean(np.eye(block.categories)[codes])
            table = table.reshape(*block.shape, block.categories)
            var_dims = list(dims.get(block.rv_name) or [f"{block.rv_name}_dim_{i}"
                                                        for i in range(len(block.shape))])
            var_coords = {d: coords[d] for d in var_dims if d in coords}
            out[block.rv_name] = xr.DataArray(
                table, dims=[*var_dims, f"{block.rv_name}_category"], coords=var_coords,
                name=block.rv_name)
        return out

    def _labelled(self, flat, blocks, key: str = "rv_name") -> dict[str, xr.DataArray]:
        """Cut ``flat`` into arrays labelled with the model's dims and coords."""
        coords, dims = coords_and_dims_for_inferencedata(self.model)
        out = {}
        for block in blocks:
            values = np.asarray(flat)[block.start : block.stop].reshape(block.shape)
            var_dims = dims.get(block.rv_name) or [f"{block.rv_name}_dim_{i}"
                                                   for i in range(len(block.shape))]
            var_coords = {d: coords[d] for d in var_dims if d in coords}
            name = getattr(block, key)
            out[name] = xr.DataArray(values, dims=var_dims, coords=var_coords, name=name)
        return out

    def _constrain(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Map unconstrained value-variable draws to the free RVs' constrained values."""
        model = self.model
        function = self.fitter.helper("constrain", functools.partial(_constrain_function,
                                                                     model))
        value_names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
        results = function(*[values[name] for name in value_names])
        return {rv.name: np.asarray(r) for rv, r in zip(model.free_RVs, results, strict=True)}

    def _deterministics(self, constrained: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        model = self.model
        function = self.fitter.helper("deterministics", functools.partial(
            _deterministics_function, model))
        results = function(*[constrained[rv.name] for rv in model.free_RVs])
        return {d.name: np.asarray(r) for d, r in zip(model.deterministics, results,
                                                         strict=True)}


def _constrain_function(model: pm.Model):
    inputs, outputs = [], []
    for rv in model.free_RVs:
        value, transform = model.rvs_to_values[rv], model.rvs_to_transforms[rv]
        inputs.append(value)
        outputs.append(value if transform is None
                       else transform.backward(value, *rv.owner.inputs))
    # Transforms whose parameters depend on other RVs see those RVs' constrained values.
    outputs = replace_vars_in_graphs(outputs, dict(zip(model.free_RVs, outputs, strict=True)))
    batched = {v: pt.tensor(shape=(None, *v.type.shape), dtype=v.dtype) for v in inputs}
    return pm.compile(list(batched.values()), vectorize_graph(outputs, replace=batched),
                      on_unused_input="ignore", random_seed=False, mode=HELPER_MODE)


def _deterministics_function(model: pm.Model):
    batched = {rv: pt.tensor(shape=(None, *rv.type.shape), dtype=rv.dtype)
               for rv in model.free_RVs}
    outputs = vectorize_graph(graph_replace(list(model.deterministics), {}, strict=False),
                              replace=batched)
    return pytensor.function(list(batched.values()), outputs, on_unused_input="ignore",
                             mode=HELPER_MODE)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_start(start_index, logit_values: np.ndarray) -> int:
    starts = logit_values.shape[0]
    if isinstance(start_index, bool) or not isinstance(start_index, int | np.integer) or not (
            0 <= start_index < starts):
        raise ValueError(f"start_index must be an int from 0 to {starts - 1} (the fit has "
                         f"{starts} starts), got {start_index!r}")
    return int(start_index)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
