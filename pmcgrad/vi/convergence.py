"""How a fit decides it is done: windows, a stationarity test, step halving and averaging.

The steps are grouped in windows of ``window`` steps. At the end of each window:

1. **Stationarity.** The window's mean loss is compared with the previous window's: the fit
   is *stationary* when it improved by less than ``z`` standard errors of the difference
   (standard errors by batch means, so correlated steps are not over-counted).
2. **Explore, then settle.** The fit starts in the *explore* phase, with analytic entropies
   (control-variate weight 0), which is robust far from the optimum. At the first stationary
   window it moves to the *settle* phase: it scores ``log p - log q`` (weight 1), whose noise
   vanishes at an optimum the family contains, and from then on reports the average of the
   parameters over the last window (iterate averaging, Polyak and Juditsky 1992) rather than
   the last, jittery iterate.
3. **Step halving.** In the settle phase every stationary window halves the learning rate.
4. **Saturation.** From the last explore window on, a bit whose logit gradient says, at a
   family-wise level ``saturation_level`` over all bits, that its optimum lies more than
   ``saturation_margin`` logits beyond its logit is set to its value for good (see
   :func:`saturated_bits`).
5. **Stopping.** The fit has *converged* when a stationary window's average agrees with the
   previous window's within ``tolerance`` on every reported quantity (inclusion
   probabilities; Gaussian means in units of their standard deviation; log-scales), after at
   least ``min_halvings`` halvings, and the bits' gradients confirm it: for every global bit,
   the window's mean logit gradient plus two standard errors is within
   ``gradient_tolerance``. The ELBO's gradient in a Bernoulli logit is ``p (1 - p) (phi* -
   phi)``, to first order the distance of the bit's probability from its optimum given the
   rest of q; an answer that stopped moving only because the halved steps are too small
   for a noisy gradient fails this test, and runs on to the cap, which says so. ``n`` stays
   the cap.

This follows the spirit of Dhaka et al. (2020, "Robust, accurate stochastic optimization for
variational inference"): detect stationarity, average the iterates, shrink the step. The
functions here are pure, so the rule is tested on made-up windows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.stats

from pmcgrad.vi.state import Schedule, WindowSummary

__all__ = [
    "Convergence",
    "WindowSummary",
    "answer_change",
    "gradient_bound",
    "initial_schedule",
    "next_schedule",
    "saturated_bits",
    "summarise_window",
]

_BATCHES = 10  # batch means per window for the standard error
_RELATIVE_FLOOR = 1e-9  # improvements below this share of the loss count as none
# A saturated bit's logit: sigmoid(50) is 1.0 in float64, so its draws are its value and
# every estimator's gradient for it is 0 (the graph pins a bit the model fixes to it too).
SATURATED_LOGIT = 50.0


@dataclass(frozen=True)
class Convergence:
    """Settings of the stopping rule (see the module docstring); ``fit(convergence=...)``.

    ``window`` steps per window; ``tolerance`` the largest change between two window
    averages that counts as agreement; ``z`` the stationarity threshold in standard errors;
    ``min_halvings`` halvings of the learning rate before the fit may stop. ``enabled=False``
    runs all ``n`` steps in the explore phase, as a plain optimiser would.
    """

    window: int = 200
    tolerance: float = 0.01
    z: float = 2.0
    min_halvings: int = 2
    max_halvings: int = 8
    lookback: int = 5
    enabled: bool = True
    warmup: bool = True
    explore_logit_bound: float = 4.0
    saturation_margin: float = 10.0
    gradient_tolerance: float = 0.05
    saturation_level: float = 0.01
    settle_cv_weight: float = 1.0
    relative_locations: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.window, int | np.integer) or self.window < 2 * _BATCHES:
            raise ValueError(f"Convergence(window=...) must be an int >= {2 * _BATCHES}, "
                             f"got {self.window!r}")
        for name in ("tolerance", "z", "saturation_margin", "saturation_level",
                     "gradient_tolerance"):
            value = getattr(self, name)
            # inf: never saturate; never hold the stop back on the gradients
            infinite_allowed = name in ("saturation_margin", "gradient_tolerance")
            if (not isinstance(value, int | float) or np.isnan(value) or value <= 0
                    or (np.isinf(value) and not infinite_allowed)):
                raise ValueError(f"Convergence({name}=...) must be a positive number"
                                 f"{' (or inf)' if infinite_allowed else ''}, got {value!r}")
        if not self.saturation_level < 1:
            raise ValueError(f"Convergence(saturation_level=...) must be a probability below "
                             f"1, got {self.saturation_level!r}")
        if not isinstance(self.min_halvings, int | np.integer) or self.min_halvings < 0:
            raise ValueError(f"Convergence(min_halvings=...) must be an int >= 0, "
                             f"got {self.min_halvings!r}")


def summarise_window(losses: np.ndarray, change: float = float("inf"),
                     gradient_bound: float = 0.0) -> WindowSummary:
    """``losses (W, M)`` -> the window's summary (batch-means standard error)."""
    total = np.asarray(losses, dtype=float).sum(axis=1)
    usable = total[: len(total) - len(total) % _BATCHES]
    batches = usable.reshape(_BATCHES, -1).mean(axis=1)
    return WindowSummary(float(total.mean()),
                         float(batches.std(ddof=1) / np.sqrt(_BATCHES)), change,
                         gradient_bound)


def gradient_bound(gradient_mean: np.ndarray, gradient_variance: np.ndarray,
                   steps: int) -> float:
    """``max |mean| + 2 se`` of a window's logit gradients over the bits (0 without bits):
    to first order, how far in probability a bit may still be from its optimum. A saturated
    bit's gradient is 0."""
    mean = np.abs(np.asarray(gradient_mean, dtype=float))
    error = np.sqrt(np.maximum(np.asarray(gradient_variance, dtype=float), 0.0) / steps)
    return float(np.max(mean + 2 * error, initial=0.0))


def initial_schedule(settings: Convergence, *, conditional: bool) -> Schedule:
    """Where a new fit starts: with a bit-conditioned family, a warm-up with the logits held
    still, so that every branch ``q(theta | z_j)`` fits before the logits move (a branch that
    starts too wide would drag its logit towards 0, and then it is rarely drawn and never
    learns); else exploring. While exploring, the logits stay within the bound."""
    if not settings.enabled:
        return Schedule(phase="explore")
    warmup = settings.warmup and conditional
    return Schedule(phase="warmup" if warmup else "explore",
                    logit_scale=0.0 if warmup else 1.0,
                    logit_bound=settings.explore_logit_bound)


def next_schedule(schedule: Schedule, previous: WindowSummary | None,
                  current: WindowSummary, settings: Convergence) -> tuple[Schedule, str]:
    """The schedule after ``current`` ends, and what happened (``""`` when nothing did).

    ``current.change`` is the change of the averaged answer over the last ``lookback``
    windows."""
    if not settings.enabled or previous is None or schedule.converged:
        return schedule, ""
    improvement = previous.mean_loss - current.mean_loss
    noise = np.hypot(previous.standard_error, current.standard_error)
    # With exact gradients the noise is nil: an improvement below float precision is none.
    floor = _RELATIVE_FLOOR * max(1.0, abs(current.mean_loss))
    stationary = improvement < settings.z * noise + floor
    schedule = dataclasses.replace(schedule, windows_at_rate=schedule.windows_at_rate + 1)
    if not stationary:
        return schedule, ""
    if schedule.phase == "warmup":
        return dataclasses.replace(schedule, phase="explore", logit_scale=1.0,
                                   windows_at_rate=0), "explore"
    if schedule.phase == "explore":
        return dataclasses.replace(schedule, phase="settle", cv_weight=settings.settle_cv_weight,
                                   relative_locations=settings.relative_locations,
                                   logit_bound=float("inf"), windows_at_rate=0), "settle"
    if schedule.windows_at_rate < settings.lookback:
        return schedule, ""  # each learning rate runs at least `lookback` windows
    if (schedule.halvings >= settings.min_halvings and current.change < settings.tolerance
            and current.gradient_bound <= settings.gradient_tolerance):
        return dataclasses.replace(schedule, converged=True), "converged"
    if schedule.halvings >= settings.max_halvings:
        return schedule, ""
    return dataclasses.replace(schedule, halvings=schedule.halvings + 1, windows_at_rate=0,
                               learning_rate_scale=schedule.learning_rate_scale / 2), "halve"


def saturated_bits(logits: np.ndarray, gradient_mean: np.ndarray,
                   gradient_variance: np.ndarray, steps: int, settings: Convergence
                   ) -> np.ndarray:
    """Which bits a window's gradients set to their values, ``(M, K)`` booleans.

    When the data are sure of a bit, its optimum logit is far out (+-hundreds), its rare
    other state costs hundreds of nats, and a logit can only creep out: the rarer the other
    state, the rarer the draws that push it. Until then each such draw puts a jump of
    hundreds of nats into the loss and into every other bit's gradient estimate (all of an
    antithetic pair's bits are drawn together), which swamps the small gradients of the
    uncertain bits. The bit's own gradient tells how far out its optimum is: the ELBO's
    gradient in the logit ``phi`` of a Bernoulli factor is ``p (1 - p) (phi* - phi)``, with
    ``phi*`` the optimum given the rest of q, so the window's mean gradient over ``p (1 - p)``
    estimates ``phi* - phi``. A bit saturates when that exceeds ``saturation_margin`` by
    ``z`` standard errors (the window's per-step variance over ``steps``), with ``z``
    Bonferroni's for ``saturation_level`` over all the bits: at the optimum, its probability
    then differs from 0 or 1 by less than ``sigmoid(-margin - |phi|)``. ``gradient_mean`` is
    the loss's (minus the ELBO's) gradient.
    """
    logits = np.asarray(logits, dtype=float)
    if not np.isfinite(settings.saturation_margin) or steps < 2:
        return np.zeros(logits.shape, dtype=bool)
    z = float(scipy.stats.norm.isf(settings.saturation_level / (2 * logits.size)))
    p = 0.5 * (1.0 + np.tanh(0.5 * logits))
    outward = -np.asarray(gradient_mean) * np.sign(logits)  # the ELBO's push away from 0
    error = np.sqrt(np.maximum(gradient_variance, 0.0) / steps)
    return ((outward - z * error > settings.saturation_margin * p * (1 - p))
            & (np.abs(logits) < SATURATED_LOGIT) & (logits != 0))


def answer_change(previous: dict[str, np.ndarray] | None, current: dict[str, np.ndarray],
                  shift_weight: np.ndarray | None = None) -> float:
    """The biggest change between two parameter averages, in the units a user reads:
    inclusion probabilities, Gaussian locations in units of their scale, log-scales.

    ``shift_weight (M, D)``: how often each bit-conditioned shift is switched on (its partner
    bit's inclusion probability); a shift that is rarely used barely changes the answer.
    """
    if previous is None:
        return float("inf")
    changes = {}
    for name, value in current.items():
        before = previous[name]
        if name == "logits":
            diff = np.abs(_sigmoid(value) - _sigmoid(before))
        elif name == "category_logits":
            diff = np.abs(_softmax_pinned(value) - _softmax_pinned(before))
        elif name in ("mean", "mean_shift"):
            diff = np.abs(value - before) / _scale_of(current, value.shape)
        else:  # rho, scale_shift, scale_tril_raw: softplus arguments, about log-scales
            diff = np.abs(value - before)
        if name in ("mean_shift", "scale_shift") and shift_weight is not None:
            diff = diff * shift_weight
        changes[name] = float(np.max(diff, initial=0.0))
    return max(changes.values(), default=0.0)


def _scale_of(params: dict[str, np.ndarray], shape) -> np.ndarray:
    """The Gaussian's scale at z = 0, broadcast to ``shape``."""
    if "rho" in params:
        scale = np.logaddexp(0.0, params["rho"])
    else:
        raw = params["scale_tril_raw"]
        diagonal = np.logaddexp(0.0, np.diagonal(raw, axis1=-2, axis2=-1))
        scale = np.sqrt((np.tril(raw, -1) ** 2).sum(-1) + diagonal**2)
    scale = scale.reshape(scale.shape + (1,) * (len(shape) - scale.ndim))
    return np.broadcast_to(scale, shape)


def _softmax_pinned(free: np.ndarray) -> np.ndarray:
    """Category probabilities from free logits ``(..., C - 1)`` with the first pinned at 0."""
    logits = np.concatenate([np.zeros((*free.shape[:-1], 1)), free], axis=-1)
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
