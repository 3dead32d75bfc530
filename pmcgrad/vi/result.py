"""The fitted approximation: loss history, inclusion probabilities, diagnostics and draws."""

from __future__ import annotations

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
from pytensor.graph.replace import vectorize_graph

from pmcgrad.vi.family import GaussianFamily
from pmcgrad.vi.model import ModelStructure

__all__ = ["FitResult"]


@dataclass(eq=False)
class FitResult:
    """What ``pmcgrad.fit`` returns; ``refine(n)`` continues the same fit.

    With ``starts=M`` every array with a start axis has length ``M``; the summaries
    (``hist``, ``inclusion_probabilities``, ``sample``) use ``best_start``, the start with the
    highest final ELBO estimate.
    """

    structure: ModelStructure
    estimator: str
    family: GaussianFamily | None
    logits: pytensor.compile.SharedVariable | None
    runner: object  # pmcgrad.vi.loop.Runner; typed loosely to keep the import one-way
    hist_starts: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    gradient_variance_starts: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    final_elbos: np.ndarray | None = None
    final_elbo_se: np.ndarray | None = None
    best_start: int = 0
    _transform_fn: object = None

    # --- what the user reads
    @property
    def model(self) -> pm.Model:
        return self.structure.model

    @property
    def params(self) -> list:
        """The shared variational parameters (what PyMC's callbacks read)."""
        params = [self.logits] if self.logits is not None else []
        if self.family is not None:
            params += list(self.family.params.values())
        return params

    @property
    def hist(self) -> np.ndarray:
        """Loss (negative ELBO estimate) per step for the best start, ``(steps,)``."""
        return self.hist_starts[:, self.best_start]

    @property
    def elbo(self) -> float:
        """The final low-noise ELBO estimate of the best start (nats)."""
        if self.final_elbos is None:
            raise RuntimeError("the fit has not finished a run yet")
        return float(self.final_elbos[self.best_start])

    @property
    def logit_values(self) -> np.ndarray:
        """The Bernoulli logits of every start, ``(M, K)``."""
        return self.logits.get_value() if self.logits is not None else np.zeros((1, 0))

    @property
    def inclusion_probabilities(self) -> dict[str, xr.DataArray]:
        """``sigmoid(logits)`` of the best start, by variable name, with the model's dims."""
        probs = 1 / (1 + np.exp(-self.logit_values[self.best_start]))
        return self._by_variable(probs)

    @property
    def inclusion_probabilities_starts(self) -> np.ndarray:
        """``sigmoid(logits)`` of every start, ``(M, K)``."""
        return 1 / (1 + np.exp(-self.logit_values))

    @property
    def mean(self) -> dict[str, xr.DataArray]:
        """Gaussian means of the continuous value variables (unconstrained), best start.

        For ``bit_conditioned`` this is the mean at ``z = 0``; ``sample`` draws theta given z.
        """
        return self._reals_by_variable(self.family.params["mean"].get_value())

    @property
    def std(self) -> dict[str, xr.DataArray]:
        """Gaussian marginal standard deviations (unconstrained space), best start.

        For ``bit_conditioned`` this is the scale at ``z = 0``.
        """
        return self._reals_by_variable(self.family.marginal_std(None).eval())

    @property
    def gradient_variance(self) -> dict[str, xr.DataArray]:
        """Running (exponentially weighted) variance of each logit's gradient estimate."""
        return self._by_variable(self.runner.gradient_variance[self.best_start])

    def logit_gradient_samples(self, draws: int = 1000) -> np.ndarray:
        """Fresh estimates of the ELBO gradient for the flat logits at the current parameters,
        ``(draws, M, K)``: their spread is the estimator's variance in this model."""
        return self.runner.logit_gradient_samples(draws)

    def refine(self, n: int, *, progressbar: bool = True, callbacks=None) -> FitResult:
        """Run ``n`` more steps from where the fit stopped; returns ``self``."""
        self.runner.run(self, n, progressbar=progressbar, callbacks=callbacks)
        return self

    # --- draws
    def sample(self, draws: int = 1000, random_seed=None, *, start: int | None = None
               ) -> xr.DataTree:
        """Draw from the approximation; returns a DataTree like ``pm.sample``'s.

        Groups: ``posterior`` (one chain; Bernoulli variables as int64; deterministics
        included; the model's dims and coords), ``observed_data`` and ``constant_data``.
        """
        start = self.best_start if start is None else start
        rng = np.random.default_rng(random_seed)
        values: dict[str, np.ndarray] = {}
        bits = None
        if self.logits is not None:
            probs = self.inclusion_probabilities_starts[start]
            bits = (rng.random((draws, probs.size)) < probs).astype("int64")
            values |= self.structure.split(bits, self.structure.bits)
        if self.family is not None:
            eps = rng.normal(size=(draws, self.structure.n_reals))
            reals = self.runner.draw_reals(eps, start, bits)  # theta drawn given the drawn z
            values |= self.structure.split(reals, self.structure.reals)
        constrained = self._constrain(values)
        model = self.model
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
        for group, found in [("observed_data", find_observations(model)),
                             ("constant_data", find_constants(model))]:
            if found:
                groups[group] = dict_to_dataset(found, inference_library=pm, coords=coords,
                                                dims=dims, sample_dims=[])
        return xr.DataTree.from_dict(groups)

    # --- helpers
    def _by_variable(self, flat: np.ndarray) -> dict[str, xr.DataArray]:
        return self._labelled(flat, self.structure.bits, key="rv_name")

    def _reals_by_variable(self, per_start: np.ndarray) -> dict[str, xr.DataArray]:
        if self.family is None:
            return {}
        return self._labelled(per_start[self.best_start], self.structure.reals, key="name")

    def _labelled(self, flat, blocks, key) -> dict[str, xr.DataArray]:
        """Cut ``flat`` into arrays labelled with the model's dims and coords."""
        coords, dims = coords_and_dims_for_inferencedata(self.model)
        out = {}
        for block in blocks:
            values = flat[block.start : block.stop].reshape(block.shape)
            var_dims = dims.get(block.rv_name) or [f"{block.rv_name}_dim_{i}"
                                                   for i in range(len(block.shape))]
            var_coords = {d: coords[d] for d in var_dims if d in coords}
            name = getattr(block, key)
            out[name] = xr.DataArray(values, dims=var_dims, coords=var_coords, name=name)
        return out

    def _constrain(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Map unconstrained value-variable draws to the free RVs' constrained values."""
        model = self.model
        if self._transform_fn is None:
            inputs, outputs = [], []
            for rv in model.free_RVs:
                value, transform = model.rvs_to_values[rv], model.rvs_to_transforms[rv]
                inputs.append(value)
                outputs.append(value if transform is None
                               else transform.backward(value, *rv.owner.inputs))
            # Transforms whose parameters depend on other RVs see those RVs' constrained values.
            outputs = replace_vars_in_graphs(outputs, dict(zip(model.free_RVs, outputs,
                                                               strict=True)))
            batched = {v: pt.tensor(shape=(None, *v.type.shape), dtype=v.dtype) for v in inputs}
            self._transform_fn = pm.compile(list(batched.values()),
                                            vectorize_graph(outputs, replace=batched),
                                            on_unused_input="ignore", random_seed=False)
        value_names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
        results = self._transform_fn(*[values[name] for name in value_names])
        return {rv.name: np.asarray(r) for rv, r in zip(model.free_RVs, results, strict=True)}
