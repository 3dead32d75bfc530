"""What every figure of the report shares: one colour and marker per estimator across the page,
the figure and legend layout, log axes written as plain numbers, and the placeholder figure.

Figures are drawn with matplotlib's Agg backend (no display) and embedded as PNG bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from pmcgrad.study.report.page import png_bytes

__all__ = [
    "FAMILY_LINES",
    "FAMILY_MARKERS",
    "WIDTH",
    "colour_handle",
    "estimator_handle",
    "estimator_lines",
    "estimator_style",
    "family_marker",
    "legend_below",
    "log_errorbars",
    "new_figure",
    "placeholder_png",
    "plain_log_ticks",
    "positive",
]

WIDTH = 10.0  # inches; at 100 dpi the page shows figures at their natural size

# One colour and marker per estimator, fixed across the page, so that a reader who learnt
# DisARM's red in the variance figure finds it again in the model study.
_COLOURS = {
    "exact": "#000000",
    "reinforce": "#1f77b4",
    "reinforce_loo": "#17becf",
    "exp_score": "#8c564b",
    "noise_score": "#bcbd22",
    "uniform_boundary": "#7f7f7f",
    "uniform_naive": "#e377c2",
    "antithetic_exp": "#9467bd",
    "antithetic_noise": "#c5b0d5",
    "ar": "#ff7f0e",
    "arm": "#2ca02c",
    "disarm": "#d62728",
    "mcmc": "#444444",
    # The categorical estimators take the colour of the Bernoulli one they reduce to at K = 2.
    "categorical_exact": "#000000",
    "categorical_reinforce": "#1f77b4",
    "categorical_reinforce_loo": "#17becf",
    "race_score": "#8c564b",
    "race_ar": "#ff7f0e",
    "arsm": "#2ca02c",
}
_MARKERS = {
    "exact": "*",
    "reinforce": "o",
    "reinforce_loo": "s",
    "exp_score": "v",
    "noise_score": "^",
    "uniform_boundary": "<",
    "uniform_naive": "X",
    "antithetic_exp": ">",
    "antithetic_noise": "P",
    "ar": "D",
    "arm": "h",
    "disarm": "o",
    "mcmc": "d",
    "categorical_exact": "*",
    "categorical_reinforce": "o",
    "categorical_reinforce_loo": "s",
    "race_score": "v",
    "race_ar": "D",
    "arsm": "h",
}
# A user's own estimator gets a colour from its name, the same on every figure.
_FALLBACK = plt.get_cmap("tab20").colors

#: Markers (model study) and line styles (ELBO traces) of the variational families, in the
#: order of the sorted family names.
FAMILY_MARKERS = ("o", "s", "^", "D", "v")
FAMILY_LINES = ("-", "--", ":", "-.")


def estimator_style(name: str) -> dict[str, object]:
    """Colour, marker and line style of an estimator (or ``mcmc``) on every figure."""
    if name in _COLOURS:
        colour = _COLOURS[name]
    else:
        colour = _FALLBACK[sum(map(ord, name)) % len(_FALLBACK)]
    return {
        "color": colour,
        "marker": _MARKERS.get(name, "o"),
        # The biased estimator is dashed, so it reads as "not like the others" in any figure.
        "linestyle": "--" if name == "uniform_naive" else "-",
    }


def family_marker(families: Sequence[str], family: str) -> str:
    """The marker of ``family`` among ``families``."""
    return FAMILY_MARKERS[list(families).index(family) % len(FAMILY_MARKERS)]


def legend_below(fig, handles, labels, *, title: str | None = None, ncols: int = 6) -> None:
    """The legend under the axes, never on the data."""
    if not handles:
        return
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(ncols, len(labels)),
        frameon=False, title=title,
    )


def estimator_handle(name: str, **overrides) -> Line2D:
    """A legend entry in the estimator's style."""
    return Line2D([], [], **(estimator_style(name) | overrides))


def colour_handle(name: str) -> Patch:
    """A legend entry showing only the estimator's colour."""
    return Patch(color=estimator_style(name)["color"])


def new_figure(nrows: int, ncols: int, *, height_per_row: float = 3.2, width: float = WIDTH,
               **kwargs) -> tuple[matplotlib.figure.Figure, np.ndarray]:
    """``(fig, axes)`` with ``axes`` always 2-d and room below for the legend."""
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height_per_row * nrows + 0.9), layout="constrained",
        squeeze=False, **kwargs,
    )
    return fig, axes


def plain_log_ticks(ax, axis: str = "x", values=None) -> None:
    """Log-axis ticks written as plain numbers (1, 2, 4, ..., or 0.5, 1, 5)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    if values is not None:
        target.set_ticks(list(values))
    else:
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def positive(values) -> np.ndarray:
    """``values`` with zeros and negatives as NaN: a log axis cannot draw them."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def log_errorbars(mean, se) -> np.ndarray:
    """Asymmetric error bars that stay positive on a log axis."""
    se = np.nan_to_num(np.asarray(se, dtype=float))
    lower = np.minimum(se, 0.95 * np.asarray(mean, dtype=float))
    return np.vstack([lower, se])


def placeholder_png(message: str) -> bytes:
    """A small figure that only says ``message`` (for a figure the run could not draw)."""
    fig = plt.figure(figsize=(6, 1.2))
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#5b6470")
    return png_bytes(fig)


def estimator_lines(ax, frame, x: str, value: str, error: str, names: Sequence[str]) -> None:
    """One error-barred line per estimator in ``names`` (``frame``'s ``value`` against ``x``,
    both on log axes, x in powers of two); an estimator with no positive value is left out.
    The panel of the variance chapters, Bernoulli and categorical."""
    for name in names:
        line = frame[frame["estimator"] == name].sort_values(x)
        y = positive(line[value])
        if np.all(np.isnan(y)):
            continue
        ax.errorbar(line[x], y, yerr=log_errorbars(y, line[error]), capsize=2, markersize=4,
                    linewidth=1.2, **estimator_style(name))
    ax.set_xscale("log", base=2)
    ticks = sorted(frame[x].unique())
    if ticks:
        plain_log_ticks(ax, "x", ticks)
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="major")
