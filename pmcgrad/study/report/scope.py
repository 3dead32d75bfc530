"""The first key result of the page: what this run covers, from its tables."""

from __future__ import annotations

import pandas as pd

from pmcgrad.study.columns import NOT_A_FIT
from pmcgrad.study.report.wording import value_range

__all__ = ["scope_sentence"]


def scope_sentence(gradient: pd.DataFrame | None, optimisation: pd.DataFrame | None,
                   model: pd.DataFrame | None) -> str:
    """Problems, estimators, k and seeds of the gradient study, the optimisation runs and the
    variational fits of this run."""
    parts = []
    if gradient is not None:
        parts.append(
            f"gradient study on {gradient['problem'].nunique()} problem(s), "
            f"{gradient['estimator'].nunique()} estimators, k ∈ "
            f"{{{value_range(gradient, 'k')}}}, {gradient['seed'].nunique()} seed(s) "
            f"({len(gradient)} rows)"
        )
    if optimisation is not None:
        parts.append(f"{optimisation['estimator'].nunique()} estimators optimised over "
                     f"{optimisation['seed'].nunique()} seed(s)")
    if model is not None:
        designs = model[["k", "design_seed"]].drop_duplicates()
        fits = model[model["family"] != NOT_A_FIT][["k", "design_seed", "method", "family"]]
        parts.append(f"{len(fits.drop_duplicates())} variational fit(s) on "
                     f"{len(designs)} spike-and-slab design(s) (k = {value_range(model, 'k')})")
    if not parts:
        return "Scope: this run has no study tables; the sections below say what is missing."
    return "Scope of this run: " + "; ".join(parts) + "."
