"""The report's recurring sentences: the two-part figure caption, the note of an absent input,
ratios in prose, and the order in which estimators are listed.

Captions quote numbers computed from this run's tables, never typed by hand, so that the page
cannot describe a run other than the one it shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmcgrad.estimators import estimator_table
from pmcgrad.study.report.page import escape

__all__ = ["absent", "caption", "ratio", "registry_order", "value_range"]


def caption(look: str, this_run: str) -> str:
    """A figure caption: what to look at, then what this run measured."""
    return f'<b class="look">What to look at:</b> {look} <b>In this run:</b> {this_run}'


def absent(what: str, path_hint: str) -> str:
    """The note a chapter shows when its input was not given or is empty."""
    return (
        f'<p class="note">No {what} in this run (<code>{escape(path_hint)}</code> was not '
        "given or is empty), so this section has nothing to show.</p>"
    )


def registry_order(names) -> list[str]:
    """``names`` in registry order, unknown names (user estimators) last: every table and
    legend lists estimators in the same order."""
    names = list(dict.fromkeys(names))
    order = [row["name"] for row in estimator_table()]
    return [n for n in order if n in names] + sorted(n for n in names if n not in order)


def ratio(a: float, b: float) -> float:
    """``a / b`` for prose (``fmt`` writes it): NaN where undefined, inf for a positive over
    zero."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("nan")
    if b == 0:
        return float("inf") if a > 0 else float("nan")
    return float(a / b)


def value_range(frame: pd.DataFrame, column: str) -> str:
    """The distinct values of a column: '1–64' for many integers, else a list."""
    values = sorted(pd.unique(frame[column]).tolist())
    if len(values) > 4 and all(isinstance(v, int | np.integer) for v in values):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values)
