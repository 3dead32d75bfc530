"""The report's matplotlib figures (Agg), each drawn from an already aggregated table.

Every figure keeps one colour and marker per estimator across the page, labels its axes with
units and puts its legend below the axes, never on the data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from pmcgrad.study.report.page import png_bytes

__all__ = [
    "accuracy_time_figure",
    "arviz_dist_figure",
    "arviz_forest_figure",
    "bias_figure",
    "chain_figure",
    "elbo_trace_figure",
    "estimator_style",
    "inclusion_figure",
    "job_times_figure",
    "optimisation_figure",
    "placeholder_png",
    "runtimes_figure",
    "variance_figure",
]

WIDTH = 10.0  # inches; at 100 dpi the page shows figures at their natural size

# One colour per estimator, fixed across the page (registry order of MATH.md).
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
}
_FALLBACK = plt.get_cmap("tab20").colors


def estimator_style(name: str) -> dict[str, object]:
    """Colour, marker and line style of an estimator (or ``mcmc``) on every figure."""
    if name in _COLOURS:
        colour = _COLOURS[name]
    else:
        colour = _FALLBACK[sum(map(ord, name)) % len(_FALLBACK)]
    return {
        "color": colour,
        "marker": _MARKERS.get(name, "o"),
        "linestyle": "--" if name == "uniform_naive" else "-",
    }


def _legend_below(fig, handles, labels, *, title: str | None = None, ncols: int = 6) -> None:
    if not handles:
        return
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(ncols, len(labels)),
        frameon=False, title=title,
    )


def _handle(name: str, **overrides) -> Line2D:
    style = estimator_style(name) | overrides
    return Line2D([], [], **style)


def _new_figure(nrows: int, ncols: int, *, height_per_row: float = 3.2, width: float = WIDTH,
                **kwargs):
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height_per_row * nrows + 0.9), layout="constrained",
        squeeze=False, **kwargs,
    )
    return fig, axes


def _plain_log_ticks(ax, axis: str = "x", values=None) -> None:
    """Log-axis ticks written as plain numbers (1, 2, 4, ..., or 0.5, 1, 5)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    if values is not None:
        target.set_ticks(list(values))
    else:
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def _colour_handle(name: str):
    return Patch(color=estimator_style(name)["color"])


def _positive(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def _log_errorbars(mean: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Asymmetric error bars that stay positive on a log axis."""
    se = np.nan_to_num(np.asarray(se, dtype=float))
    lower = np.minimum(se, 0.95 * np.asarray(mean, dtype=float))
    return np.vstack([lower, se])


def bias_figure(rows: pd.DataFrame, order: Sequence[str], threshold: float = 4.0) -> bytes:
    """Standardised bias per configuration, one column of dots per estimator.

    ``rows``: estimator, z (max |mean - exact| / se over coordinates; NaN where se = 0),
    flagged_unbiased (registry flag).
    """
    fig, axes = _new_figure(1, 1, height_per_row=4.2)
    ax = axes[0, 0]
    rng = np.random.default_rng(0)  # jitter only
    finite = rows["z"].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    floor = max(1e-2, float(np.nanmin(finite)) / 2) if finite.size else 1e-2
    for position, name in enumerate(order):
        z = rows.loc[rows["estimator"] == name, "z"].to_numpy(dtype=float)
        if z.size == 0:
            continue
        shown = np.where(np.isfinite(z), np.maximum(z, floor), floor)
        jitter = rng.uniform(-0.22, 0.22, size=z.size)
        style = estimator_style(name)
        outside = shown > threshold
        ax.scatter(position + jitter[~outside], shown[~outside], s=14, alpha=0.55,
                   color=style["color"], marker=style["marker"], linewidths=0)
        ax.scatter(position + jitter[outside], shown[outside], s=28, alpha=0.9,
                   color=style["color"], marker="X", edgecolors="black", linewidths=0.4)
    ax.axhline(threshold, color="#b3261e", linestyle="--", linewidth=1.2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(order)), order, rotation=35, ha="right")
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylabel("max over coordinates of |mean − exact| / s.e.\n(standard errors, log scale)")
    ax.set_xlabel("estimator (one dot per problem × k × logits × seed)")
    ax.grid(axis="y", alpha=0.3, which="both")
    handles = [
        Line2D([], [], color="#b3261e", linestyle="--", label=f"{threshold:g} s.e. threshold"),
        Line2D([], [], color="grey", marker="o", linestyle="", alpha=0.6,
               label="configuration within threshold"),
        Line2D([], [], color="grey", marker="X", linestyle="", markeredgecolor="black",
               label="configuration outside threshold"),
    ]
    _legend_below(fig, handles, [h.get_label() for h in handles])
    return png_bytes(fig)


def variance_figure(
    agg: pd.DataFrame, *, panel_key: str, panels: Sequence[str], panel_label: str,
    order: Sequence[str],
) -> bytes:
    """Variance and variance x f-evaluations against k, log-log, one row per panel value.

    ``agg``: panel_key, estimator, k, variance, variance_se, efficiency, efficiency_se
    (means and standard errors over seeds).
    """
    fig, axes = _new_figure(len(panels), 2, height_per_row=3.3)
    present = [name for name in order if name in set(agg["estimator"])]
    for row, panel in enumerate(panels):
        sub = agg[agg[panel_key] == panel]
        for col, (value, error, label) in enumerate(
            [
                ("variance", "variance_se", "variance of one estimate\n(per coordinate, log)"),
                ("efficiency", "efficiency_se", "variance × f-evaluations\n(per draw, log)"),
            ]
        ):
            ax = axes[row, col]
            for name in present:
                line = sub[sub["estimator"] == name].sort_values("k")
                y = _positive(line[value])
                if np.all(np.isnan(y)):
                    continue
                style = estimator_style(name)
                ax.errorbar(
                    line["k"], y, yerr=_log_errorbars(y, line[error]), capsize=2,
                    markersize=4, linewidth=1.2, **style,
                )
            ax.set_xscale("log", base=2)
            _plain_log_ticks(ax, "x", sorted(sub["k"].unique()))
            ax.set_yscale("log")
            ax.set_ylabel(label)
            ax.set_xlabel("k (number of bits, log scale)")
            ax.set_title(f"{panel_label} {panel}", fontsize=10, loc="left")
            ax.grid(alpha=0.3, which="major")
    _legend_below(fig, [_handle(n) for n in present], present, ncols=6)
    return png_bytes(fig)


CHAIN_STEPS = ("exp_score", "ar", "arm", "disarm")


def chain_figure(agg: pd.DataFrame) -> bytes:
    """The coupling chain: variance at equal f-evaluations, exp_score -> ar -> arm -> disarm.

    ``agg``: estimator, k, variance, variance_se, closed_form, evaluations. ``antithetic_exp``
    sits beside the chain, joined to exp_score by a dotted line (the swap alone); reinforce
    and reinforce_loo, when present, are horizontal reference lines.
    """
    ks = sorted(agg["k"].unique())
    positions = {"exp_score": 0.0, "antithetic_exp": 0.5, "ar": 1.0, "arm": 2.0, "disarm": 3.0}
    fig, axes = _new_figure(1, 1, height_per_row=4.6)
    ax = axes[0, 0]
    cmap = plt.get_cmap("viridis")
    positive = agg["variance"][agg["variance"] > 0]
    floor = float(positive.min()) / 20 if len(positive) else 1e-12
    handles, labels = [], []
    for index, k in enumerate(ks):
        colour = cmap(index / max(1, len(ks) - 1) * 0.85)
        sub = agg[agg["k"] == k].set_index("estimator")
        chain = [s for s in CHAIN_STEPS if s in sub.index]
        x = np.array([positions[s] for s in chain]) + (index - (len(ks) - 1) / 2) * 0.05
        y = sub.loc[chain, "variance"].to_numpy(dtype=float)
        se = sub.loc[chain, "variance_se"].to_numpy(dtype=float)
        zero = y <= 0
        shown = np.where(zero, floor, y)
        ax.plot(x, shown, color=colour, linewidth=1.4, marker="o", markersize=6)
        ax.errorbar(x[~zero], y[~zero], yerr=_log_errorbars(y[~zero], se[~zero]), fmt="none",
                    ecolor=colour, capsize=3)
        if zero.any():
            ax.scatter(x[zero], shown[zero], marker="v", s=60, color=colour, zorder=3)
        if "antithetic_exp" in sub.index and "exp_score" in sub.index:
            xa = positions["antithetic_exp"] + (index - (len(ks) - 1) / 2) * 0.05
            ya = float(sub.loc["antithetic_exp", "variance"])
            ax.plot([x[0], xa], [shown[0], max(ya, floor)], color=colour, linestyle=":",
                     linewidth=1.2)
            ax.scatter([xa], [max(ya, floor)], marker="D", s=40, facecolors="white",
                       edgecolors=colour, zorder=3)
        if k == 1 and "closed_form" in sub.columns:
            cf = sub.loc[chain, "closed_form"].to_numpy(dtype=float)
            ok = np.isfinite(cf)
            if ok.any():
                ax.scatter(x[ok], np.where(cf[ok] > 0, cf[ok], floor), marker="_", s=500,
                           color="black", zorder=4, linewidths=1.6)
        evaluations = sorted(set(sub["evaluations"].astype(int)))
        handles.append(Line2D([], [], color=colour, marker="o"))
        labels.append(f"k = {k} ({'/'.join(map(str, evaluations))} f-evals)")
    for name, style in (("reinforce", "--"), ("reinforce_loo", "-.")):
        ref = agg[(agg["estimator"] == name) & (agg["k"] == ks[0])]
        if len(ref) and float(ref["variance"].iloc[0]) > 0:
            ax.axhline(float(ref["variance"].iloc[0]), color=estimator_style(name)["color"],
                       linestyle=style, linewidth=1)
            handles.append(Line2D([], [], color=estimator_style(name)["color"], linestyle=style))
            labels.append(f"{name} at k = {ks[0]} (reference)")
    handles.append(Line2D([], [], color="black", marker="_", linestyle="", markersize=16))
    labels.append("closed form (MATH.md), k = 1")
    handles.append(Line2D([], [], color="grey", marker="D", markerfacecolor="white",
                          linestyle=":"))
    labels.append("antithetic_exp: the swap without conditioning")
    if (agg["variance"] <= 0).any():
        handles.append(Line2D([], [], color="grey", marker="v", linestyle=""))
        labels.append("variance exactly 0 (drawn at the floor)")
    ax.set_yscale("log")
    ticks = [0.0, 0.5, 1.0, 2.0, 3.0]
    ax.set_xticks(ticks, ["exp_score\n(seed eq. 1)", "antithetic_exp\n(swap only)",
                          "ar\n(condition on w)", "arm\n(+ swap, average)",
                          "disarm\n(condition on bits)"])
    ax.set_xlim(-0.4, 3.4)
    ax.set_ylabel("variance of one gradient estimate\nat equal f-evaluations (log)")
    ax.set_xlabel("step of the coupling chain")
    ax.grid(axis="y", alpha=0.3)
    _legend_below(fig, handles, labels, ncols=3)
    return png_bytes(fig)


def optimisation_figure(agg: pd.DataFrame, panels: Sequence[tuple[float, int]],
                        order: Sequence[str]) -> bytes:
    """Excess loss against steps and against seconds, median and band over seeds.

    ``agg``: t, k, estimator, step, seconds, median, low, high (excess loss).
    """
    fig, axes = _new_figure(len(panels), 2, height_per_row=3.3)
    present = [name for name in order if name in set(agg["estimator"])]
    for row, (t, k) in enumerate(panels):
        sub = agg[(agg["t"] == t) & (agg["k"] == k)]
        for col, x_name in enumerate(["step", "seconds"]):
            ax = axes[row, col]
            for name in present:
                line = sub[sub["estimator"] == name].sort_values("step")
                if line.empty:
                    continue
                style = estimator_style(name)
                ax.plot(line[x_name], _positive(line["median"]), color=style["color"],
                        linestyle=style["linestyle"], linewidth=1.4)
                ax.fill_between(line[x_name], _positive(line["low"]), _positive(line["high"]),
                                color=style["color"], alpha=0.15, linewidth=0)
            ax.set_yscale("log")
            ax.set_xlabel("optimisation step" if x_name == "step" else "wall time (s)")
            ax.set_ylabel("excess loss E_q[f] − min f\n(log)")
            ax.set_title(f"t = {t:g}, k = {k}", fontsize=10, loc="left")
            ax.grid(alpha=0.3)
    handles = [_handle(n, marker="") for n in present]
    _legend_below(fig, handles, present, ncols=6)
    return png_bytes(fig)


_FAMILY_MARKERS = ("o", "s", "^", "D", "v")


def _add_family_markers(handles: list, labels: list[str], families: Sequence[str]) -> None:
    """Append a grey legend entry for each family's marker."""
    for index, family in enumerate(families):
        handles.append(Line2D([], [], color="grey", linestyle="",
                              marker=_FAMILY_MARKERS[index % len(_FAMILY_MARKERS)]))
        labels.append(f"family: {family}")


def _fit_label(method: str) -> str:
    """Legend label of a fit's estimator (the ``exact`` estimator is not the exact posterior)."""
    return {"exact": "exact (enumerated gradient)", "mcmc": "MCMC (pm.sample)"}.get(method, method)


def inclusion_figure(model: pd.DataFrame, designs: Sequence[tuple[int, int]]) -> bytes:
    """Inclusion probability per predictor: each fit, MCMC and the exact posterior.

    ``model``: model.csv rows (k, design_seed, method, family, predictor, inclusion,
    exact_inclusion).
    """
    fig, axes = _new_figure(len(designs), 1, height_per_row=3.4)
    families = sorted({f for f in model["family"] if f})
    fits = (
        model[(model["method"] != "mcmc") & (model["family"] != "")][["method", "family"]]
        .drop_duplicates()
        .sort_values(["family", "method"])
    )
    fits_list = list(fits.itertuples(index=False))
    width = 0.8
    for row, (k, seed) in enumerate(designs):
        ax = axes[row, 0]
        sub = model[(model["k"] == k) & (model["design_seed"] == seed)]
        exact = sub.drop_duplicates("predictor").sort_values("predictor")
        ax.bar(exact["predictor"], exact["exact_inclusion"], width=width, color="#e4e7eb",
               edgecolor="#9aa3ad", label="exact posterior", zorder=1)
        n_series = len(fits_list) + 1
        offsets = np.linspace(-width / 2 + width / (2 * n_series), width / 2 - width /
                              (2 * n_series), n_series)
        for index, (method, family) in enumerate(fits_list):
            line = sub[(sub["method"] == method) & (sub["family"] == family)]
            style = estimator_style(method)
            marker = _FAMILY_MARKERS[families.index(family) % len(_FAMILY_MARKERS)]
            ax.scatter(line["predictor"] + offsets[index], line["inclusion"], s=22,
                       color=style["color"], marker=marker, zorder=3, linewidths=0.3,
                       edgecolors="black")
        mcmc = sub[sub["method"] == "mcmc"]
        if len(mcmc):
            ax.scatter(mcmc["predictor"] + offsets[-1], mcmc["inclusion"], s=40, marker="d",
                       color=estimator_style("mcmc")["color"], zorder=4)
        ax.set_ylim(-0.03, 1.05)
        ax.set_xticks(sorted(exact["predictor"].unique()))
        ax.set_xlabel("predictor j")
        ax.set_ylabel("inclusion probability\nP(z_j = 1 | y)")
        ax.set_title(f"k = {k}, design seed {seed}", fontsize=10, loc="left")
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#e4e7eb", ec="#9aa3ad")]
    labels = ["exact posterior (enumeration)"]
    if (model["method"] == "mcmc").any():
        handles.append(Line2D([], [], color=estimator_style("mcmc")["color"], marker="d",
                              linestyle=""))
        labels.append("MCMC (pm.sample)")
    for method in dict.fromkeys(m for m, _ in fits_list):
        handles.append(_colour_handle(method))
        labels.append(_fit_label(method))
    _add_family_markers(handles, labels, families)
    _legend_below(fig, handles, labels, ncols=5)
    return png_bytes(fig)


_FAMILY_LINES = ("-", "--", ":", "-.")


def elbo_trace_figure(traces: pd.DataFrame, designs: Sequence[tuple[int, int]]) -> bytes:
    """ELBO against steps and seconds per fit; y-axis zoomed on the converged part."""
    fig, axes = _new_figure(len(designs), 2, height_per_row=3.2)
    families = sorted(set(traces["family"]))
    estimators = list(dict.fromkeys(traces["estimator"]))
    for row, (k, seed) in enumerate(designs):
        sub = traces[(traces["k"] == k) & (traces["design_seed"] == seed)]
        lows, highs = [], []
        for (name, family), line in sub.groupby(["estimator", "family"], sort=False):
            line = line.sort_values("step")
            style = estimator_style(name)
            for col, x_name in enumerate(["step", "seconds"]):
                axes[row, col].plot(
                    line[x_name], line["elbo"], color=style["color"], linewidth=1.1,
                    linestyle=_FAMILY_LINES[families.index(family) % len(_FAMILY_LINES)],
                )
            tail = line["elbo"].to_numpy(dtype=float)[len(line) // 5:]
            if tail.size:
                lows.append(np.nanmin(tail))
                highs.append(np.nanmax(tail))
        for col, x_name in enumerate(["step", "seconds"]):
            ax = axes[row, col]
            if lows:
                low, high = min(lows), max(highs)
                pad = 0.08 * (high - low) if high > low else 1.0
                ax.set_ylim(low - pad, high + pad)
            ax.set_xlabel("optimisation step" if x_name == "step" else "wall time (s)")
            ax.set_ylabel("ELBO estimate (nats)")
            ax.set_title(f"k = {k}, design seed {seed}", fontsize=10, loc="left")
            ax.grid(alpha=0.3)
    handles = [_handle(n, marker="") for n in estimators]
    labels = list(estimators)
    for index, family in enumerate(families):
        handles.append(Line2D([], [], color="grey",
                              linestyle=_FAMILY_LINES[index % len(_FAMILY_LINES)]))
        labels.append(f"family: {family}")
    _legend_below(fig, handles, labels, ncols=6)
    return png_bytes(fig)


def accuracy_time_figure(fits: pd.DataFrame) -> bytes:
    """Mean |inclusion − exact| against wall time, one point per fit (and MCMC run).

    ``fits``: method, family, seconds, mean_abs_error.
    """
    fig, axes = _new_figure(1, 1, height_per_row=3.8)
    ax = axes[0, 0]
    families = sorted({f for f in fits["family"] if f})
    for record in fits.itertuples(index=False):
        style = estimator_style(record.method)
        marker = ("d" if record.method == "mcmc" else
                  _FAMILY_MARKERS[families.index(record.family) % len(_FAMILY_MARKERS)])
        ax.scatter(record.seconds, record.mean_abs_error, color=style["color"], marker=marker,
                   s=40, edgecolors="black", linewidths=0.4, zorder=3)
    ax.set_xscale("log")
    _plain_log_ticks(ax, "x")
    ax.set_xlabel("wall time of the fit or of pm.sample (s, log scale)")
    ax.set_ylabel("mean |inclusion − exact|\n(probability)")
    ax.grid(alpha=0.3)
    methods = list(dict.fromkeys(fits["method"]))
    handles = [_colour_handle(m) if m != "mcmc" else _handle(m, linestyle="") for m in methods]
    labels = [_fit_label(m) for m in methods]
    _add_family_markers(handles, labels, families)
    _legend_below(fig, handles, labels, ncols=6)
    return png_bytes(fig)


def runtimes_figure(runtimes: pd.DataFrame, max_bars: int = 25) -> bytes:
    """Horizontal bars of benchmark values, one panel per unit (its largest ``max_bars``),
    each bar labelled with its value; a log axis when the values span more than 20x."""
    runtimes = runtimes.assign(unit=runtimes["unit"].fillna("").astype(str),
                               value=pd.to_numeric(runtimes["value"], errors="coerce"))
    runtimes = runtimes[np.isfinite(runtimes["value"]) & (runtimes["value"] > 0)]
    runtimes = (runtimes.sort_values("value", ascending=False).groupby("unit", sort=False)
                .head(max_bars))
    if runtimes.empty:
        return placeholder_png("No positive, finite value to draw.")
    units = list(dict.fromkeys(runtimes["unit"]))
    heights = [max(1.2, 0.26 * (runtimes["unit"] == u).sum() + 0.7) for u in units]
    fig, axes = plt.subplots(len(units), 1, figsize=(WIDTH, sum(heights) + 0.3),
                             layout="constrained", squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, unit in zip(axes[:, 0], units, strict=True):
        sub = runtimes[runtimes["unit"] == unit]
        values = sub["value"].to_numpy(dtype=float)
        positions = np.arange(len(sub))
        ax.barh(positions, values, color="#4c78a8", height=0.7)
        ax.set_yticks(positions, sub["name"].astype(str), fontsize=8)
        ax.set_ylim(len(sub) - 0.5, -0.5)
        if values.max() / values.min() > 20:
            ax.set_xscale("log")
            _plain_log_ticks(ax, "x")
        for y, value in zip(positions, values, strict=True):
            ax.annotate(f"{value:.3g}", (value, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
        if "ratio" in unit:
            ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"value ({unit})" if unit else "value")
        ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def job_times_figure(times: pd.DataFrame) -> bytes:
    """Wall time of each job (dots, log scale), one row per rule, busiest rule on top."""
    order = times.groupby("rule")["seconds"].sum().sort_values(ascending=False).index.tolist()
    fig, axes = _new_figure(1, 1, height_per_row=max(1.6, 0.45 * len(order) + 0.6))
    ax = axes[0, 0]
    rng = np.random.default_rng(0)  # jitter only
    for row, rule in enumerate(order):
        seconds = times.loc[times["rule"] == rule, "seconds"].to_numpy(dtype=float)
        ax.scatter(np.maximum(seconds, 1e-3), row + rng.uniform(-0.18, 0.18, seconds.size),
                   s=16, alpha=0.7, color="#4c78a8", linewidths=0)
    ax.set_yticks(range(len(order)),
                  [f"{r} ({(times['rule'] == r).sum()} jobs, "
                   f"{times.loc[times['rule'] == r, 'seconds'].sum():.0f} s)" for r in order])
    ax.invert_yaxis()
    ax.set_xscale("log")
    _plain_log_ticks(ax, "x")
    ax.set_xlabel("wall time of one job (s, log scale)")
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)


def _arviz_png(plot_collection) -> bytes:
    fig = plot_collection.viz["figure"].item()
    return png_bytes(fig)


def arviz_forest_figure(trees: Mapping[str, object], var_names: Sequence[str]) -> bytes:
    """``arviz_plots.plot_forest`` comparing several DataTrees (one colour per tree)."""
    import arviz_plots as azp

    n_rows = sum(int(np.prod([s for d, s in trees[next(iter(trees))]["posterior"][v].sizes
                               .items() if d not in ("chain", "draw")] or [1]))
                 for v in var_names)
    height = min(12.0, 1.2 + 0.22 * n_rows * max(1, len(trees)) ** 0.5 + 0.3 * n_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pc = azp.plot_forest(
            dict(trees), var_names=list(var_names), combined=True, backend="matplotlib",
            figure_kwargs={"figsize": (WIDTH, height), "layout": "constrained"},
        )
        pc.add_legend("model", loc="outside upper center", ncols=min(4, len(trees)),
                      title="fit")
    fig = pc.viz["figure"].item()
    fig.supxlabel("posterior value (units of the parameter)", fontsize=10)
    return _arviz_png(pc)


def arviz_dist_figure(trees: Mapping[str, object], var_names: Sequence[str]) -> bytes:
    """``arviz_plots.plot_dist`` of the continuous parameters, one colour per DataTree."""
    import arviz_plots as azp

    first = trees[next(iter(trees))]["posterior"]
    panels = sum(int(np.prod([s for d, s in first[v].sizes.items()
                              if d not in ("chain", "draw")] or [1])) for v in var_names)
    ncols = min(4, panels)
    nrows = int(np.ceil(panels / ncols))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pc = azp.plot_dist(
            dict(trees), var_names=list(var_names), backend="matplotlib", kind="kde",
            visuals={"point_estimate_text": False},
            col_wrap=ncols,
            figure_kwargs={"figsize": (WIDTH, 2.2 * nrows + 1.0), "layout": "constrained"},
        )
        pc.add_legend("model", loc="outside upper center", ncols=min(4, len(trees)),
                      title="fit")
    fig = pc.viz["figure"].item()
    fig.supxlabel("parameter value (units of the parameter); curves are posterior densities",
                  fontsize=10)
    return _arviz_png(pc)


def placeholder_png(message: str) -> bytes:
    """A small figure that only says ``message`` (for a figure the run could not draw)."""
    fig = plt.figure(figsize=(6, 1.2))
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#5b6470")
    return png_bytes(fig)
