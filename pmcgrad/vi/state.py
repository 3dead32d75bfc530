"""The fit's state: everything needed to resume a fit exactly, as one frozen value.

A :class:`FitState` holds the variational parameters, the optimiser's moments, the step count,
the positions of the random streams, the schedule (learning-rate scale, control-variate
weight, convergence bookkeeping) and the history. ``Fitter.step`` and ``Fitter.run`` take a
state and return a new one; a state is never changed in place (its arrays are read-only), so
an earlier state can always be resumed: the same state and the same steps give the same
numbers, bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FitState", "FrozenArrays", "Schedule", "WindowSummary", "frozen_arrays"]


@dataclass(frozen=True)
class Schedule:
    """Where the fit is on its way to convergence (see :mod:`pmcgrad.vi.convergence`).

    ``phase``: ``"explore"`` (analytic entropies, ``cv_weight = 0``: robust far from the
    optimum) or ``"settle"`` (``cv_weight = 1``: the estimate's noise vanishes at the optimum,
    and the learning rate is halved each time the fit stops improving).
    ``learning_rate_scale`` multiplies every optimiser step. ``halvings`` counts the halvings;
    ``calm_windows`` the consecutive windows whose averages agreed within the tolerance.
    ``converged`` is set once the stopping rule fired.
    """

    phase: str = "explore"
    learning_rate_scale: float = 1.0
    cv_weight: float = 0.0
    logit_scale: float = 1.0
    logit_bound: float = float("inf")
    relative_locations: float = 0.0
    halvings: int = 0
    windows_at_rate: int = 0
    converged: bool = False


@dataclass(frozen=True)
class WindowSummary:
    """One finished window: its mean loss (summed over starts) and that mean's standard
    error, the biggest change of the averaged answer over the last few windows, and the
    bound the bits' gradients put on their distance from the optimum."""

    mean_loss: float
    standard_error: float
    change: float = float("inf")
    # The largest |mean logit gradient| + 2 standard errors over the bits (0 when not
    # tracked): how far, to first order in probability, a bit may still be from its optimum.
    gradient_bound: float = 0.0


@dataclass(frozen=True)
class WindowSums:
    """Running sums over the current convergence window: parameters and losses."""

    steps: int = 0
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    losses: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    # The logit gradient estimates' sums and sums of squares, per start and bit.
    gradient_sum: np.ndarray | None = None
    gradient_sum_sq: np.ndarray | None = None


@dataclass(frozen=True)
class FitState:
    """One point of a fit. ``params`` are the variational parameters by name (each with a
    leading start axis ``M``), ``optimizer`` the optimiser's own variables (moments, its step
    counter), ``streams`` the random streams' ``(key, counter)``, ``history`` the loss per step
    and start ``(steps, M)``, ``window`` the sums of the convergence window in progress and
    ``average`` the parameters averaged over the last completed window (the fit's answer once
    it settles; ``None`` before the first window ends)."""

    step: int
    params: Mapping[str, np.ndarray]
    optimizer: Mapping[str, np.ndarray]
    streams: Mapping[str, np.ndarray]
    schedule: Schedule
    history: np.ndarray
    window: WindowSums = field(default_factory=WindowSums)
    average: Mapping[str, np.ndarray] | None = None
    # The summaries of the finished windows (pmcgrad.vi.convergence.WindowSummary).
    windows: tuple = ()
    # The averages of the last few finished windows, oldest first (for the stopping rule).
    recent_averages: tuple = ()
    # The spread of the logit gradient estimates over the last finished window, (M, K).
    gradient_variance: np.ndarray | None = None
    # Their mean over the same window, (M, K): with the spread, a signal-to-noise ratio.
    gradient_mean: np.ndarray | None = None

    def replace(self, **changes) -> FitState:
        """A new state with ``changes``; arrays given here are frozen like the rest."""
        for key in ("params", "optimizer", "streams", "average"):
            if changes.get(key) is not None:
                changes[key] = frozen_arrays(changes[key])
        if "history" in changes:
            changes["history"] = _read_only(changes["history"])
        return dataclasses.replace(self, **changes)

    def save(self, path: str | os.PathLike) -> None:
        """Write the state to ``path`` (a NumPy ``.npz`` archive); :meth:`load` reads it."""
        arrays = {"history": self.history, "window/losses": self.window.losses}
        for group, mapping in [("params", self.params), ("optimizer", self.optimizer),
                               ("streams", self.streams), ("window/params", self.window.params),
                               ("average", self.average or {})]:
            arrays |= {f"{group}/{name}": value for name, value in mapping.items()}
        for index, recent in enumerate(self.recent_averages):
            arrays |= {f"recent/{index}/{name}": value for name, value in recent.items()}
        for name in ("gradient_sum", "gradient_sum_sq"):
            if getattr(self.window, name) is not None:
                arrays[f"window/{name}"] = getattr(self.window, name)
        for name in ("gradient_variance", "gradient_mean"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        meta = {"step": self.step, "schedule": dataclasses.asdict(self.schedule),
                "window_steps": self.window.steps, "has_average": self.average is not None,
                "recent": len(self.recent_averages),
                "windows": [dataclasses.asdict(w) for w in self.windows]}
        arrays["meta"] = np.array(json.dumps(meta))
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FitState:
        """Read a state written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("meta")))

        def group(prefix):
            return {name[len(prefix) + 1:]: value for name, value in arrays.items()
                    if name.startswith(prefix + "/") and "/" not in name[len(prefix) + 1:]}

        window = WindowSums(steps=meta["window_steps"], params=frozen_arrays(
            group("window/params")), losses=_read_only(arrays["window/losses"]),
            gradient_sum=arrays.get("window/gradient_sum"),
            gradient_sum_sq=arrays.get("window/gradient_sum_sq"))
        return cls(
            step=meta["step"], params=frozen_arrays(group("params")),
            optimizer=frozen_arrays(group("optimizer")), streams=frozen_arrays(group("streams")),
            schedule=Schedule(**meta["schedule"]), history=_read_only(arrays["history"]),
            window=window,
            average=frozen_arrays(group("average")) if meta["has_average"] else None,
            windows=tuple(WindowSummary(**w) for w in meta["windows"]),
            recent_averages=tuple(frozen_arrays(group(f"recent/{i}"))
                                  for i in range(meta["recent"])),
            gradient_variance=arrays.get("gradient_variance"),
            gradient_mean=arrays.get("gradient_mean"),
        )

    @property
    def logit_gradient_variance(self) -> np.ndarray | None:
        """The spread of the logit gradient estimates ``(M, K)`` over the last finished
        window, or over the window in progress before any has finished (``None`` without
        logits or steps)."""
        if self.gradient_variance is not None:
            return self.gradient_variance
        window = self.window
        if window.gradient_sum is None or window.steps < 2:
            return None
        mean = window.gradient_sum / window.steps
        return np.maximum(window.gradient_sum_sq / window.steps - mean**2, 0.0)

    @property
    def logit_gradient_mean(self) -> np.ndarray | None:
        """The mean of the logit gradient estimates ``(M, K)`` over the same window as
        :attr:`logit_gradient_variance` (``None`` where that is ``None``)."""
        if self.gradient_variance is not None:
            return self.gradient_mean
        window = self.window
        if window.gradient_sum is None or window.steps < 2:
            return None
        return window.gradient_sum / window.steps

    @property
    def answer(self) -> Mapping[str, np.ndarray]:
        """The parameters to report: the last window's average once the fit settles (iterate
        averaging removes the optimiser's own jitter), else the current parameters."""
        if self.schedule.phase == "settle" and self.average is not None:
            return self.average
        return self.params


class FrozenArrays(Mapping):
    """A read-only mapping of read-only arrays (picklable, unlike ``MappingProxyType``)."""

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        self._arrays = {name: _read_only(value) for name, value in arrays.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}: {value.shape}" for name, value in self._arrays.items())
        return f"FrozenArrays({shapes})"


def frozen_arrays(arrays: Mapping[str, np.ndarray]) -> FrozenArrays:
    """A read-only mapping of read-only copies (a ``FrozenArrays`` passes through)."""
    return arrays if isinstance(arrays, FrozenArrays) else FrozenArrays(arrays)


def _read_only(value) -> np.ndarray:
    array = np.array(value, copy=True)
    array.flags.writeable = False
    return array
