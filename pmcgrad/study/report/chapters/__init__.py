"""The report's chapters, in page order: each a module with a ``summarise_*`` (pandas only),
a ``render_*`` (HTML and figures only) and a ``CHAPTER`` that declares the inputs it reads."""

from pmcgrad.study.report.chapters import (
    bias,
    categorical,
    chain,
    estimators,
    model,
    optimisation,
    performance,
    question,
    reproducibility,
    sbn,
    scale,
    variance,
)

__all__ = ["CHAPTERS"]

CHAPTERS = tuple(module.CHAPTER for module in (
    question, estimators, bias, variance, chain, categorical, optimisation, model, scale, sbn,
    performance, reproducibility,
))
