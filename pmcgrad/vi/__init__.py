"""Variational inference for PyMC models with Bernoulli latents.

``pmcgrad.fit`` follows ``pm.fit``'s signature. The family is mean-field Bernoulli(logits) for
every free Bernoulli variable and a Gaussian on PyMC's unconstrained space for the continuous
ones; the registered estimator supplies the logit gradients (docs/math.md).

The pieces, from the bottom: :mod:`~pmcgrad.vi.model` (what the fit needs to know about a
model), :mod:`~pmcgrad.vi.family` (the Gaussians), :mod:`~pmcgrad.vi.objective` (the ELBO
graph), :mod:`~pmcgrad.vi.state` (the frozen fit state), :mod:`~pmcgrad.vi.fitter` (the
compiled steps), :mod:`~pmcgrad.vi.convergence` (the stopping rule), :mod:`~pmcgrad.vi.loop`
(the run loop and its guards), :mod:`~pmcgrad.vi.importance` (draws from q weighed by PSIS),
:mod:`~pmcgrad.vi.diagnostics` (whether to trust the fit, and its warnings),
:mod:`~pmcgrad.vi.result` (the read-only result) and :mod:`~pmcgrad.vi.api` (``fit`` itself).
"""

from pmcgrad.vi.api import fit
from pmcgrad.vi.convergence import Convergence
from pmcgrad.vi.diagnostics import FitDiagnostics, FitWarning
from pmcgrad.vi.family import FAMILIES
from pmcgrad.vi.fitter import FitOptions, Fitter, get_fitter
from pmcgrad.vi.importance import ImportanceUnavailableError
from pmcgrad.vi.loop import DivergenceError, FitInterrupted, NonFiniteError
from pmcgrad.vi.model import UnsupportedLatentError
from pmcgrad.vi.result import FitResult
from pmcgrad.vi.state import FitState, Schedule

__all__ = [
    "FAMILIES",
    "Convergence",
    "DivergenceError",
    "FitDiagnostics",
    "FitInterrupted",
    "FitOptions",
    "FitResult",
    "FitState",
    "FitWarning",
    "Fitter",
    "ImportanceUnavailableError",
    "NonFiniteError",
    "Schedule",
    "UnsupportedLatentError",
    "fit",
    "get_fitter",
]
