"""pmcgrad: gradient estimators for Bernoulli and categorical latents as PyTensor ops, and VI
for PyMC models."""

from pmcgrad import streams
from pmcgrad.estimators import (
    Estimator,
    NoiseDistribution,
    estimator_names,
    estimator_table,
    get_estimator,
    noise_names,
    register_estimator,
    register_noise,
)
from pmcgrad.ops import (
    DEFAULT_EXACT_LIMIT,
    GradientSamples,
    compile,
    expectation,
    function,
    gradient_samples,
)
from pmcgrad.streams import shared_rng, spawn_seeds
from pmcgrad.vi import FitResult, FitWarning, fit

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "Estimator",
    "FitResult",
    "FitWarning",
    "GradientSamples",
    "NoiseDistribution",
    "compile",
    "estimator_names",
    "estimator_table",
    "expectation",
    "fit",
    "function",
    "get_estimator",
    "gradient_samples",
    "noise_names",
    "register_estimator",
    "register_noise",
    "shared_rng",
    "spawn_seeds",
    "streams",
]

__version__ = "0.1.0"
