"""pmcgrad: gradient estimators for Bernoulli latents as PyTensor ops, and VI for PyMC models."""

from pmcgrad.estimators import (
    Estimator,
    NoiseDistribution,
    estimator_names,
    estimator_table,
    get_estimator,
    noise_names,
    register_estimator,
    register_noise,
    streams,
)
from pmcgrad.ops import GradientSamples, compile, expectation, gradient_samples, shared_rng
from pmcgrad.vi import FitResult, fit

__all__ = [
    "Estimator",
    "FitResult",
    "GradientSamples",
    "NoiseDistribution",
    "compile",
    "estimator_names",
    "estimator_table",
    "expectation",
    "fit",
    "get_estimator",
    "gradient_samples",
    "noise_names",
    "register_estimator",
    "register_noise",
    "shared_rng",
    "streams",
]

__version__ = "0.1.0"
