"""Small hand-made tables for the chapters' summarise functions (not a test module)."""

from __future__ import annotations

import pandas as pd

from pmcgrad.study.columns import GRADIENT_COLUMNS


def gradient_rows(rows: list[dict]) -> pd.DataFrame:
    """gradient.csv rows: each dict overrides a neutral default row."""
    default = {"problem": "toy_t0.49", "estimator": "disarm", "k": 1, "logits": "zero",
               "seed": 0, "draws": 1000, "evaluations_per_draw": 2, "unbiased": True,
               "bias": 0.0, "bias_se": 0.1, "max_bias_z": 1.0, "bias_within_error": True,
               "variance": 1.0, "mse": 1.0, "variance_x_evaluations": 2.0,
               "exact_gradient_norm": 1.0}
    return pd.DataFrame([default | row for row in rows], columns=GRADIENT_COLUMNS)
