"""The compiled fit: one graph per model and options, run over explicit states.

A :class:`Fitter` analyses the model, builds the ELBO and its optimiser updates once, and
compiles a *block* function that runs many steps in one call (a ``scan`` over steps): the
Python loop around single steps was about half of a step's time. The fitter's shared
variables are only its working memory: :meth:`Fitter.init` makes a :class:`FitState`,
:meth:`Fitter.step` runs steps from a state and returns a new one. Fitters are cached per model
and options (:func:`get_fitter`), so a second ``pmcgrad.fit`` of the same model compiles
nothing, and the cache goes when the model does.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.initial_point import make_initial_point_fn
from pytensor.compile.mode import Mode
from pytensor.graph.replace import graph_replace
from pytensor.scan.utils import until
from pytensor.tensor.variable import TensorVariable

from pmcgrad import streams
from pmcgrad.estimators import Estimator, get_estimator
from pmcgrad.ops import function as compile_with_streams
from pmcgrad.ops import share_large_constants
from pmcgrad.vi.family import GaussianFamily, make_family, pairing
from pmcgrad.vi.latents import LatentFactors, make_latent_factors
from pmcgrad.vi.model import FixedBits, ModelStructure, analyse_model
from pmcgrad.vi.objective import build_elbo
from pmcgrad.vi.state import FitState, Schedule, WindowSums

__all__ = ["HELPER_MODE", "BlockResult", "FitOptions", "Fitter", "get_fitter"]

# Adam with a shorter memory of squared gradients than PyMC's default (0.999): once the fit
# scores log p - log q, the gradients shrink by orders of magnitude near the optimum, and a
# long memory of the early, large ones would freeze the last steps.
DEFAULT_LEARNING_RATE = 0.05
DEFAULT_BETA2 = 0.99

# The helpers that run once per result on a batch of draws (sampling, constraining,
# deterministics) evaluate a handful of vectorised operations: NumPy does them in
# milliseconds, where a Numba compilation of each cost 1-3 s of a first fit's result.mean.
HELPER_MODE = Mode(linker="py", optimizer="fast_compile")

# Fitters kept per model (the least recently used go first): each holds compiled functions.
# They live in an attribute of the model itself, so they go when the model goes: a fitter
# refers to its model, and a cache outside the model (even a weak-keyed one) would keep every
# model, its graphs and their compiled code alive for the whole process.
_PER_MODEL = 4
_CACHE_ATTRIBUTE = "_pmcgrad_fitters"


@dataclass(frozen=True)
class FitOptions:
    """What decides the compiled graph; two fits with equal options share a fitter."""

    estimator: str
    samples: int
    family: str
    n_starts: int
    noise: str
    exact_limit: int
    local_dim: str | bool | None
    minibatch_size: int | None
    optimizer_key: tuple
    compile_mode: str | None


@dataclass(frozen=True)
class BlockResult:
    """What a block of steps reports: ``losses (n, M)`` per step and start (the last one not
    applied when ``finite`` is false)."""

    losses: np.ndarray
    finite: bool


@dataclass
class Fitter:
    """The compiled objective, optimiser and sampling helpers of one model and one set of
    options. Use :func:`get_fitter` (cached) rather than building one directly."""

    model: pm.Model
    options: FitOptions
    structure: ModelStructure
    estimator: Estimator
    family: GaussianFamily | None
    latents: LatentFactors | None
    param_vars: dict[str, pytensor.compile.SharedVariable]
    optimizer_vars: dict[str, pytensor.compile.SharedVariable]
    stream_vars: dict[str, pytensor.compile.SharedVariable]
    block: Callable
    compile_seconds: float
    # Graph pieces the helpers compile from: the logit gradient and its cv_weight input.
    logit_gradient_graph: pt.TensorVariable | None = None
    cv_weight: pt.TensorVariable | None = None
    _optimizer_initial: dict[str, np.ndarray] = field(default_factory=dict)
    _partners: np.ndarray | None = None
    _partners_paired: np.ndarray | None = None
    _loaded: FitState | None = None
    _helpers: dict = field(default_factory=dict)

    @property
    def tracks_logit_gradient(self) -> bool:
        """Whether the block reports the bits' logit gradients (models with Bernoulli bits)."""
        return self.logit_gradient_graph is not None

    # --- states
    def init(self, random_seed=None, start: Mapping | None = None,
             schedule: Schedule | None = None) -> FitState:
        """A fresh state: start 0 at the model's initial point (``start`` overrides it, in
        constrained values as ``pm.fit``'s ``start``) with every inclusion probability 1/2
        (or as ``start`` gives it); later starts jittered, at random logits in (-3, 3)."""
        seeds = streams.spawn_seeds(random_seed, 4)
        jitter = np.random.default_rng(seeds[0])
        starts, structure = self.options.n_starts, self.structure
        params: dict[str, np.ndarray] = {}
        if self.latents is not None:
            params |= self.latents.initial_values(starts, jitter, self._start_logits(start))
        if self.family is not None:
            mean = np.tile(self._start_reals(start), (starts, 1))
            mean[1:] += jitter.normal(size=(starts - 1, structure.n_reals))
            params |= self.family.initial_values(mean)
        stream_states = {name: streams.stream_state(seed)
                         for name, seed in zip(self.stream_vars, seeds[1:], strict=True)}
        return FitState(
            step=0, params={}, optimizer={}, streams={}, schedule=schedule or Schedule(),
            history=np.zeros((0, starts)),
            window=WindowSums(losses=np.zeros((0, starts))),
        ).replace(params=params, optimizer=dict(self._optimizer_initial), streams=stream_states)

    def load(self, state: FitState) -> None:
        """Put ``state`` into the shared variables (nothing to do if it is already there)."""
        if self._loaded is state:
            return
        for name, var in self.param_vars.items():
            var.set_value(np.array(state.params[name]), borrow=True)
        for name, var in self.optimizer_vars.items():
            var.set_value(np.array(state.optimizer[name]), borrow=True)
        for name, var in self.stream_vars.items():
            var.set_value(np.array(state.streams[name]), borrow=True)
        self._loaded = state

    def step(self, state: FitState, n: int) -> tuple[FitState, BlockResult]:
        """Run up to ``n`` steps from ``state`` in one compiled call.

        Returns the new state and what the block reported. A step whose loss or gradient is
        not finite is not applied and ends the block: the new state then holds the last
        finite parameters, and ``BlockResult.finite`` is false.
        """
        self.load(state)
        schedule = state.schedule
        outputs = self.block(np.int64(n), schedule.learning_rate_scale, schedule.cv_weight,
                             schedule.logit_scale, schedule.logit_bound,
                             schedule.relative_locations)
        losses, finite = np.asarray(outputs[0]), np.asarray(outputs[1])
        if not finite.all():
            # The scan stops at the first bad step where the backend allows (`until`); under
            # JAX it runs on, so replay the good steps (states replay bit for bit).
            first_bad = int(np.argmax(~finite))
            if first_bad + 1 < len(losses) or first_bad == 0:
                new_state = self.step(state, first_bad)[0] if first_bad else state
                self.load(new_state)
                return new_state, BlockResult(losses[: first_bad + 1], False)
        param_sums = dict(zip(self.param_vars, outputs[2 : 2 + len(self.param_vars)],
                              strict=True))
        grad_sum = grad_sq = None
        if self.tracks_logit_gradient:
            grad_sum, grad_sq = (np.asarray(o) for o in outputs[-2:])
        all_finite = bool(finite.all())
        applied = losses if all_finite else losses[:-1]  # the last step was not applied
        window = state.window
        sums = {name: np.asarray(total) - (0 if all_finite else self.param_vars[name]
                                           .get_value())  # drop the unapplied step's copy
                for name, total in param_sums.items()}
        window_params = {name: window.params.get(name, 0) + sums[name] for name in sums}
        if grad_sum is not None:
            grad_sum = grad_sum + (0 if window.gradient_sum is None else window.gradient_sum)
            grad_sq = grad_sq + (0 if window.gradient_sum_sq is None else window.gradient_sum_sq)
        new_state = state.replace(
            step=state.step + len(applied),
            history=np.concatenate([state.history, applied]),
            params={name: var.get_value() for name, var in self.param_vars.items()},
            optimizer={name: var.get_value() for name, var in self.optimizer_vars.items()},
            streams={name: var.get_value() for name, var in self.stream_vars.items()},
            window=WindowSums(steps=window.steps + len(applied), params=window_params,
                              losses=np.concatenate([window.losses, applied]),
                              gradient_sum=grad_sum, gradient_sum_sq=grad_sq),
        )
        self._loaded = new_state
        return new_state, BlockResult(losses, all_finite)

    def shift_weight(self, params: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """How often each bit-conditioned shift is on, ``(M, D)``: its partner bit's
        inclusion probability (``None`` unless the family is bit-conditioned and paired)."""
        if self.family is None or not self.family.conditional or self._partners is None:
            return None
        logits = np.asarray(params["logits"])
        if self.structure.fixed is not None:
            logits = self.structure.fixed.pin_logits(logits)
        logits = logits[:, self._partners]
        return np.where(self._partners_paired, 1 / (1 + np.exp(-logits)), 0.0)

    def final_elbo_draws(self, state: FitState, steps: int) -> np.ndarray:
        """ELBO estimates ``(steps, M)`` at ``state``'s answer: steps with a learning rate of
        0, run by the same compiled block (nothing else to compile); ``state`` is unchanged."""
        frozen = state.replace(
            params=state.answer,
            schedule=dataclasses.replace(state.schedule, learning_rate_scale=0.0),
        )
        _, block = self.step(frozen, steps)
        losses = block.losses if block.finite else block.losses[:-1]
        if losses.shape[0] < 2:
            return np.full((2, state.history.shape[1]), -np.inf)
        return -losses

    def logit_gradient_samples(self, state: FitState, draws: int) -> np.ndarray:
        """``draws`` fresh logit-gradient estimates ``(draws, M, K)`` at ``state``'s answer."""
        function = self.helper("logit_gradient", lambda: compile_with_streams(
            [self.cv_weight], -self.logit_gradient_graph, on_unused_input="ignore"))
        self.load(state.replace(params=state.answer))
        return np.stack([np.asarray(function(state.schedule.cv_weight)) for _ in range(draws)])

    def draw_reals(self, params: Mapping[str, np.ndarray], eps: np.ndarray, start: int,
                   bits: np.ndarray | None) -> np.ndarray:
        """``theta (draws, D)`` for standard-normal ``eps (draws, D)`` under start ``start``'s
        Gaussian with parameters ``params``, given the drawn ``bits (draws, K)`` where the
        family depends on them."""
        function = self.helper("draw_reals", self._draw_reals_function)
        starts = self.options.n_starts
        bits = np.zeros((eps.shape[0], 0)) if bits is None else bits.astype("float64")

        def per_start(values):  # the same values for every start; only `start` is kept
            return np.ascontiguousarray(np.broadcast_to(
                values[:, None, :], (values.shape[0], starts, values.shape[1])))

        inputs = [params[name] for name in self.family.params]
        return np.asarray(function(*inputs, per_start(eps), per_start(bits)))[:, start]

    # --- helpers compiled on first use (sampling, diagnostics)
    def helper(self, name: str, build: Callable[[], Callable]) -> Callable:
        """A function compiled once per fitter by ``build()`` and kept with it."""
        if name not in self._helpers:
            self._helpers[name] = build()
        return self._helpers[name]

    def as_inputs(self, outputs, names=None):
        """``outputs`` with the named parameters' shared variables replaced by inputs, and
        those inputs (in the order of ``names``, all parameters by default)."""
        names = list(self.param_vars) if names is None else list(names)
        inputs = [self.param_vars[name].type() for name in names]
        replaced = graph_replace(outputs, dict(zip([self.param_vars[n] for n in names], inputs,
                                                   strict=True)), strict=False)
        return inputs, replaced

    def _draw_reals_function(self):
        eps, bits = pt.tensor3("eps"), pt.tensor3("bits")
        theta = self.family.draw(eps, bits if self.family.conditional else None)
        inputs, theta = self.as_inputs(theta, self.family.params)
        return pytensor.function([*inputs, eps, bits], theta, on_unused_input="ignore",
                                 mode=HELPER_MODE)

    # --- initial values
    def _start_reals(self, start: Mapping | None) -> np.ndarray:
        if not start:
            return self.structure.initial_reals
        point = make_initial_point_fn(model=self.model, overrides=real_overrides(
            self.structure, start), jitter_rvs=set(), return_transformed=True)(0)
        return np.concatenate([np.ravel(point[b.name]) for b in self.structure.reals]
                              ).astype("float64")

    def _start_logits(self, start: Mapping | None) -> np.ndarray:
        logits = np.zeros(self.structure.n_bits)
        for block in self.structure.bits:
            if start and block.rv_name in start:
                p = np.broadcast_to(np.asarray(start[block.rv_name], dtype=float), block.shape)
                # A 0/1 start is a strong but not certain guess: p = 0.05 or 0.95.
                p = np.clip(p.ravel(), 0.05, 0.95)
                logits[block.start : block.stop] = np.log(p) - np.log1p(-p)
        return logits


def start_shape(structure, rv) -> tuple[int, ...] | None:
    """The shape of free variable ``rv`` on the model's scale, where it is known without
    evaluating the model: static, or a Bernoulli's or an untransformed variable's value shape."""
    if None not in rv.type.shape:
        return tuple(rv.type.shape)
    blocks = {block.rv_name: block for block in (*structure.bits, *structure.reals)}
    block = blocks.get(rv.name)
    if block is not None and structure.model.rvs_to_transforms.get(rv) is None:
        return block.shape
    return None


def real_overrides(structure, start: Mapping) -> dict:
    """``start``'s continuous variables for PyMC's initial point, each broadcast to its shape
    where that is known (a Bernoulli's start is an inclusion probability, read by
    ``_start_logits``, and PyMC would cast it to the bits' dtype)."""
    discrete = {block.rv_name for block in (*structure.bits, *structure.codes)}
    overrides = {}
    for rv in structure.model.free_RVs:
        if rv.name in start and rv.name not in discrete:
            value, shape = np.asarray(start[rv.name]), start_shape(structure, rv)
            if shape is not None and value.shape != shape:
                value = np.broadcast_to(value, shape)
            overrides[rv.name] = value
    return overrides


def _optimizer_updates(optimizer: Callable | None, grads, params) -> dict:
    """``optimizer(grads, params)``, named when it fails or returns something else than
    PyMC's optimisers do (an updates dict with every parameter)."""
    try:
        updates = (optimizer or default_optimizer())(grads, params)
    except Exception as error:
        raise TypeError(f"optimizer {optimizer!r} failed when called as optimizer(grads, "
                        f"params), as PyMC's optimisers in partial form are "
                        f"(pm.adam(learning_rate=0.01)): {type(error).__name__}: {error}"
                        ) from error
    if not isinstance(updates, Mapping) or any(var not in updates for var in params):
        raise TypeError(f"optimizer {optimizer!r} returned {type(updates).__name__}, not the "
                        "updates of every parameter (a dict, as pm.adam(learning_rate=0.01) "
                        "returns)")
    return updates


def get_fitter(model: pm.Model, options: FitOptions, *, optimizer: Callable | None,
               on_compile: Callable[[], None] | None = None,
               fixed: FixedBits | None = None) -> Fitter:
    """The cached fitter of ``model`` for ``options``, built (and ``on_compile()`` called
    first) when there is none. ``fixed``: the bits the model fixes
    (:func:`pmcgrad.vi.feasibility.analyse_feasibility`); they are constants of the graph,
    so a fitter built for other fixed bits (the data changed) is rebuilt."""
    per_model = getattr(model, _CACHE_ATTRIBUTE, None)
    if per_model is None:
        per_model = OrderedDict()
        setattr(model, _CACHE_ATTRIBUTE, per_model)
    fitter = per_model.get(options)
    if fitter is not None and fitter.structure.fixed == fixed:
        per_model.move_to_end(options)
        return fitter
    if on_compile is not None:
        on_compile()
    fitter = _build(model, options, optimizer, fixed)
    per_model[options] = fitter
    while len(per_model) > _PER_MODEL:
        per_model.popitem(last=False)
    return fitter


def default_optimizer() -> Callable:
    return pm.adam(learning_rate=DEFAULT_LEARNING_RATE, beta2=DEFAULT_BETA2)


def optimizer_key(optimizer: Callable | None) -> tuple:
    """A hashable description of a PyMC optimiser in partial form (``pm.adam(...)``)."""
    if optimizer is None:
        return ("default",)
    func = getattr(optimizer, "func", None)
    keywords = getattr(optimizer, "keywords", None)
    if func is not None and keywords is not None:
        try:
            return (func.__module__, func.__name__, tuple(sorted(keywords.items())))
        except TypeError:  # unhashable keyword values: no sharing
            pass
    return ("object", id(optimizer))


def _build(model: pm.Model, options: FitOptions, optimizer: Callable | None,
           fixed: FixedBits | None = None) -> Fitter:
    started = time.perf_counter()
    structure = dataclasses.replace(analyse_model(model, options.local_dim), fixed=fixed)
    estimator = get_estimator(options.estimator)
    starts = options.n_starts
    stream_vars = {name: streams.shared_stream(0, name=f"pmcgrad_{name}_stream")
                   for name in ("bits", "gauss", "rows")}
    family = make_family(options.family, structure, starts) if structure.n_reals else None
    latents = make_latent_factors(structure, starts)
    param_vars: dict[str, pytensor.compile.SharedVariable] = {}
    if latents is not None:
        param_vars |= latents.params
    if family is not None:
        param_vars |= family.params

    cv_weight = pt.scalar("cv_weight", dtype="float64")
    learning_rate_scale = pt.scalar("learning_rate_scale", dtype="float64")
    logit_scale = pt.scalar("logit_scale", dtype="float64")
    logit_bound = pt.scalar("logit_bound", dtype="float64")
    relative_locations = pt.scalar("relative_locations", dtype="float64")
    graph = build_elbo(structure, family, latents, estimator, options.samples,
                       tuple(stream_vars.values()), options.noise, options.exact_limit,
                       starts, cv_weight, minibatch=options.minibatch_size)
    params = list(param_vars.values())
    grads = pytensor.grad(graph.loss, params)
    updates = _optimizer_updates(optimizer, grads, params)
    # The schedule scales every parameter's step; the optimiser's own state moves as usual.
    for var in params:
        updates[var] = var + learning_rate_scale * (updates[var] - var)
    if family is not None:
        # Near the optimum, move each location in units of its own scale (capped at 1): a
        # step of the learning rate in absolute units would jitter a tight posterior (sd
        # 1/sqrt(n)) by more than its width.
        for name, scale in family.location_scales().items():
            var = family.params[name]
            factor = 1 + relative_locations * (pt.minimum(scale, 1.0) - 1)
            updates[var] = var + factor * (updates[var] - var)
    for var in (latents.params.values() if latents is not None else ()):
        # The schedule can hold the logits still (while the Gaussians learn) or within bounds.
        stepped = var + logit_scale * (updates[var] - var)
        updates[var] = pt.clip(stepped, -logit_bound, logit_bound)
    optimizer_vars = {f"optimizer_{i}": var for i, var in
                      enumerate(v for v in updates if v not in param_vars.values())}
    # A step whose loss or gradient is not finite changes nothing but the random streams.
    finite = pt.isfinite(graph.loss)
    for grad in grads:
        finite = finite & pt.all(pt.isfinite(grad))
    state_vars = [*params, *optimizer_vars.values()]
    new_values = [pt.switch(finite, updates[var], var) for var in state_vars]
    stream_new = streams.stream_updates([graph.loss, *grads])
    streams_used = [var for var in stream_vars.values() if var in stream_new]
    state_vars += streams_used
    new_values += [stream_new[var] for var in streams_used]
    # The bits' logit gradients feed the diagnostics (gradient variance per bit).
    logit_grad = grads[params.index(param_vars["logits"])] if "logits" in param_vars else None

    block = _compile_block(state_vars, new_values, params, -graph.elbo, finite, logit_grad,
                           [learning_rate_scale, cv_weight, logit_scale, logit_bound,
                            relative_locations],
                           options.compile_mode)
    partners = pairing(structure) if family is not None and family.conditional else None
    return Fitter(
        _partners=None if partners is None else np.maximum(partners, 0),
        _partners_paired=None if partners is None else partners >= 0,
        model=model, options=options, structure=structure, estimator=estimator,
        family=family, latents=latents, param_vars=param_vars, optimizer_vars=optimizer_vars,
        stream_vars=stream_vars, block=block,
        compile_seconds=time.perf_counter() - started,
        logit_gradient_graph=logit_grad, cv_weight=cv_weight,
        _optimizer_initial={name: var.get_value().copy()
                            for name, var in optimizer_vars.items()},
    )


def _compile_block(state_vars, new_values, params, loss, finite, logit_grad, scalars, mode):
    """``block(n, *scalars)``: up to ``n`` steps as one ``scan``.

    Outputs: losses ``(n, M)``, finite flags ``(n,)``, each parameter's sum over the steps
    (for window averages), and the logit gradient's sum and sum of squares. The scan stops
    after the first non-finite step (which was not applied). JAX compiles only scans of a
    fixed length that run to the end: there the block is a :class:`_FixedLengthBlocks`.
    """
    # Before the scan is built: its inner function would otherwise hold the large constants.
    tracked = [*new_values, loss, finite] + ([] if logit_grad is None else [logit_grad])
    tracked = share_large_constants(tracked)
    n_values = len(new_values)
    new_values, (loss, finite, *rest) = tracked[:n_values], tracked[n_values:]
    logit_grad = rest[0] if rest else None
    if mode == "JAX":
        return _FixedLengthBlocks({
            length: _compile_scan(state_vars, new_values, params, loss, finite, logit_grad,
                                  scalars, mode, length)
            for length in _FixedLengthBlocks.LENGTHS
        })
    return _compile_scan(state_vars, new_values, params, loss, finite, logit_grad, scalars,
                         mode, None)


class _FixedLengthBlocks:
    """``n`` steps as calls of fixed-length compiled blocks (longest first), their outputs
    joined: losses and flags concatenated, sums added."""

    LENGTHS = (50, 10, 1)

    def __init__(self, functions: dict):
        self.functions = functions

    def __call__(self, n, *scalars):
        pieces, remaining = [], int(n)
        for length in self.LENGTHS:
            while remaining >= length:
                pieces.append(self.functions[length](*scalars))
                remaining -= length
                if not np.asarray(pieces[-1][1]).all():
                    remaining = 0  # the caller replays up to the bad step
        losses = np.concatenate([np.asarray(p[0]) for p in pieces])
        finite = np.concatenate([np.asarray(p[1]) for p in pieces])
        sums = [sum(np.asarray(p[i]) for p in pieces) for i in range(2, len(pieces[0]))]
        return [losses, finite, *sums]


def _compile_scan(state_vars, new_values, params, loss, finite, logit_grad, scalars, mode,
                  length):
    """The scan of :func:`_compile_block`: ``length`` steps, or ``n`` (an input) when
    ``length`` is ``None``."""
    n_state = len(state_vars)
    tracked = [new_values[state_vars.index(p)] for p in params]
    per_step = [loss, pt.as_tensor_variable(finite)]
    if logit_grad is not None:
        per_step.append(logit_grad)

    def inner(*carry):
        state, sums = carry[:n_state], carry[n_state:]
        replace = dict(zip(state_vars, state, strict=True))
        outs = graph_replace([*new_values, *tracked, *per_step], replace, strict=False)
        new_state = outs[:n_state]
        new_params = outs[n_state : n_state + len(params)]
        step_loss, step_finite, *grad = outs[n_state + len(params):]
        new_sums = [s + p for s, p in zip(sums[: len(params)], new_params, strict=True)]
        if grad:
            new_sums += [sums[-2] + grad[0], sums[-1] + grad[0] ** 2]
        outputs = [*new_state, *new_sums, step_loss, step_finite]
        # JAX cannot compile a scan that stops early: there the block runs on, and
        # Fitter.step replays up to the first bad step.
        return outputs if mode == "JAX" else (outputs, until(~step_finite))

    n_steps = pt.scalar("n_steps", dtype="int64") if length is None else length
    sums_init = [_zeros(p) for p in params]
    if logit_grad is not None:
        sums_init += [_zeros(logit_grad), _zeros(logit_grad)]
    outputs = pytensor.scan(
        inner, outputs_info=[*state_vars, *sums_init, None, None], n_steps=n_steps,
        return_updates=False,
    )
    finals = [o[-1] for o in outputs[:n_state]]
    sums = [o[-1] for o in outputs[n_state : len(outputs) - 2]]
    losses, finites = outputs[-2], outputs[-1]
    inputs = [n_steps, *scalars] if length is None else list(scalars)
    return compile_with_streams(
        inputs, [losses, finites, *sums],
        updates=dict(zip(state_vars, finals, strict=True)), mode=mode,
        on_unused_input="ignore",  # a model without bits or reals ignores some schedule inputs
    )


def _zeros(var) -> TensorVariable:
    """Zeros shaped as ``var``, where a sum over the steps starts. A shared variable where the
    shape is static: ``zeros_like`` would be folded into a constant of a parameter's size,
    which Numba freezes into the machine code (slow to compile, never cached on disk)."""
    shape = var.type.shape
    if any(length is None for length in shape):
        return pt.zeros_like(var)
    return pytensor.shared(np.zeros(shape, dtype=var.dtype), shape=shape)
