"""Chapter 7, the model study: spike-and-slab regression fitted with every estimator and
variational family, against MCMC and the exact posterior.

It shows how close each fit's inclusion probabilities come to the exact posterior (enumerated
over all 2^k inclusion vectors), at what wall time, how the ELBO traces converge, and, from the
saved DataTrees, ArviZ's view of the continuous parameters (:mod:`.model_trees`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from pmcgrad.study.columns import EXACT_POSTERIOR, MCMC, NOT_A_FIT
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.chapters.model_trees import (
    TreesSummary,
    render_trees,
    summarise_trees,
)
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.style import (
    FAMILY_LINES,
    colour_handle,
    estimator_handle,
    estimator_style,
    family_marker,
    legend_below,
    new_figure,
    plain_log_ticks,
)
from pmcgrad.study.report.wording import absent, caption

__all__ = [
    "CHAPTER",
    "ELBO_TOLERANCE",
    "ModelSummary",
    "fit_summaries",
    "render_model",
    "summarise_model",
    "time_to_elbo",
]

ELBO_TOLERANCE = 1.0  # nats: "reached" means within this of the best final ELBO
MAX_DESIGNS_SHOWN = 4  # data sets drawn in the inclusion and trace figures


@dataclass(frozen=True)
class ModelSummary:
    """What chapter 7 states and draws, computed from model.csv, the traces and the trees."""

    model: pd.DataFrame  # model.csv
    fits: pd.DataFrame  # one row per fit, MCMC run and exact posterior: fit_summaries()
    designs: list[tuple[int, int]]  # (k, design_seed), sorted
    by_method: pd.DataFrame  # per method x family, averaged over designs, most accurate first
    traces: pd.DataFrame | None
    reached: pd.DataFrame | None  # time_to_elbo(), None without traces
    trees: TreesSummary | None  # the ArviZ part, None without DataTrees
    notes: list[str]

    @property
    def shown(self) -> list[tuple[int, int]]:
        return self.designs[:MAX_DESIGNS_SHOWN]

    @property
    def scored(self) -> pd.DataFrame:
        """Fits and MCMC runs: the rows that have an error against the exact posterior."""
        return self.fits[self.fits["method"] != EXACT_POSTERIOR]


def fit_summaries(model: pd.DataFrame) -> pd.DataFrame:
    """One row per fit (design x method x family): mean and max |inclusion - exact|, ELBO,
    seconds, DataTree name (and file, where model.csv has ``netcdf_path``)."""
    keys = ["k", "design_seed", "method", "family"]
    agg = model.groupby(keys, sort=False).agg(
        mean_abs_error=("abs_error", "mean"), max_abs_error=("abs_error", "max"),
        elbo=("elbo", "first"), seconds=("seconds", "first"), netcdf=("netcdf", "first"),
    ).reset_index()
    if "netcdf_path" in model.columns:
        paths = model.groupby(keys, sort=False)["netcdf_path"].first().reset_index()
        agg = agg.merge(paths, on=keys, how="left")
    return agg


def time_to_elbo(traces: pd.DataFrame, fits: pd.DataFrame,
                 tolerance: float = ELBO_TOLERANCE) -> pd.DataFrame:
    """Seconds until each trace's smoothed ELBO first comes within ``tolerance`` nats of the
    best final ELBO of its design (NaN where it never does)."""
    rows = []
    for (k, seed), design in traces.groupby(["k", "design_seed"]):
        finals = fits[(fits["k"] == k) & (fits["design_seed"] == seed)]["elbo"].dropna()
        target = float(finals.max()) if len(finals) else float(design["elbo"].max())
        for (name, family), line in design.groupby(["estimator", "family"]):
            line = line.sort_values("step")
            # A rolling median, so that one lucky noisy estimate does not count as reaching.
            smooth = line["elbo"].rolling(5, min_periods=1, center=True).median()
            hit = np.flatnonzero(smooth.to_numpy() >= target - tolerance)
            rows.append({"k": k, "design_seed": seed, "method": name, "family": family,
                         "seconds_to_tolerance": float(line["seconds"].iloc[hit[0]])
                         if hit.size else math.nan,
                         "target_elbo": target})
    return pd.DataFrame(rows)


def summarise_model(model: pd.DataFrame, traces: pd.DataFrame | None,
                    notes: Sequence[str] = (), open_trees: bool = True) -> ModelSummary:
    """Everything chapter 7 reports; ``open_trees=False`` leaves the DataTrees unread."""
    fits = fit_summaries(model)
    designs = sorted({(int(a), int(b)) for a, b in zip(fits["k"], fits["design_seed"],
                                                         strict=True)})
    scored = fits[fits["method"] != EXACT_POSTERIOR]
    by_method = (
        scored.groupby(["method", "family"], sort=False)
        .agg(mean_abs_error=("mean_abs_error", "mean"), max_abs_error=("max_abs_error", "max"),
             elbo=("elbo", "mean"), seconds=("seconds", "mean"), designs=("k", "size"))
        .reset_index()
        .sort_values("mean_abs_error")
    )
    reached = time_to_elbo(traces, fits) if traces is not None else None
    trees = summarise_trees(fits) if open_trees else None
    return ModelSummary(model, fits, designs, by_method, traces, reached, trees, list(notes))


def render_model(summary: ModelSummary) -> Section:
    """Inclusion probabilities, the per-method table, accuracy against time, ELBO traces and
    the ArviZ plots."""
    section = CHAPTER.section()
    shown = summary.shown
    section.add(
        "<p>Spike-and-slab regression fitted with <code>pmcgrad.fit</code> for each estimator "
        "and variational family, beside PyMC's MCMC (<code>pm.sample</code>) and the exact "
        "posterior inclusion probabilities, enumerated over all 2<sup>k</sup> inclusion "
        f"vectors. {len(summary.designs)} design(s); the figures show "
        f"{', '.join(f'k = {k} (seed {s})' for k, s in shown)}.</p>",
        *[f'<p class="note">{note}</p>' for note in summary.notes],
    )
    run = _accuracy_run(summary.by_method)
    section.add("<h3>Inclusion probabilities</h3>")
    section.add_figure(Figure(
        key="inclusion", png=_inclusion_figure(summary.model, shown),
        alt="Inclusion probabilities per predictor",
        caption=caption(
            "markers should sit on the tops of the grey bars (the exact posterior); mean-field "
            "fits tend to push probabilities towards 0 or 1.",
            run,
        ),
    ))
    section.highlights.append(f"Model study: {run}")
    section.add(html_table(
        _method_table(summary), table_id="model-table",
        caption="Per method and family, averaged over designs. “Seconds to ELBO” is the "
                "median wall time until a fit's smoothed ELBO trace first comes within "
                f"{ELBO_TOLERANCE:g} nat of the best final ELBO of any fit of its design."))
    section.add("<h3>Accuracy against wall time</h3>")
    section.add_figure(Figure(
        key="accuracy_time", png=_accuracy_time_figure(summary.scored),
        alt="Inclusion error against wall time",
        caption=caption(
            "points towards the lower left are both fast and accurate; MCMC is the diamond.",
            _accuracy_sentence(summary.scored),
        ),
    ))
    if summary.traces is None:
        section.add(absent("ELBO traces", "results/model_traces.csv"))
    else:
        _add_traces(section, summary)
    section.add("<h3>Posterior plots from the saved DataTrees (ArviZ)</h3>")
    render_trees(section, summary.trees)
    return section


def _accuracy_run(by_method: pd.DataFrame) -> str:
    fits = by_method[by_method["method"] != MCMC]
    mcmc = by_method[by_method["method"] == MCMC]
    run = ""
    if len(fits):
        best, worst = fits.iloc[0], fits.iloc[-1]
        run = (f"the most accurate fit uses <code>{best['method']}</code> ({best['family']} "
               f"family), with mean |inclusion − exact| = {fmt(best['mean_abs_error'])} (max "
               f"{fmt(best['max_abs_error'])}) in {fmt(best['seconds'])} s; the least accurate "
               f"uses <code>{worst['method']}</code> ({worst['family']} family), at "
               f"{fmt(worst['mean_abs_error'])}")
    if len(mcmc):
        m = mcmc.iloc[0]
        run += ("; " if run else "") + (
            f"MCMC reaches {fmt(m['mean_abs_error'])} in {fmt(m['seconds'])} s")
    return (run or "no fit to compare") + "."


def _method_table(summary: ModelSummary) -> pd.DataFrame:
    table = summary.by_method.rename(columns={
        "mean_abs_error": "mean |inclusion − exact|", "max_abs_error": "max |inclusion − exact|",
        "elbo": "final ELBO (nats)", "seconds": "wall time (s)", "designs": "designs",
    })
    table["family"] = table["family"].replace(NOT_A_FIT, "—")
    reached = summary.reached
    if reached is not None and not reached.empty:
        column = f"seconds to ELBO within {ELBO_TOLERANCE:g} nat of the best"
        per_method = (reached.groupby(["method", "family"])["seconds_to_tolerance"]
                      .median().rename(column).reset_index())
        per_method["traced"] = True
        table = table.merge(per_method, on=["method", "family"], how="left")
        table[column] = [
            ("not reached" if pd.isna(v) else fmt(v)) if traced is True else "—"
            for v, traced in zip(table[column], table["traced"], strict=True)
        ]
        table = table.drop(columns="traced")
    return table


def _add_traces(section: Section, summary: ModelSummary) -> None:
    traces, reached = summary.traces, summary.reached
    shown = [d for d in summary.shown
             if ((traces["k"] == d[0]) & (traces["design_seed"] == d[1])).any()]
    if not shown:
        return
    fastest = reached.dropna(subset=["seconds_to_tolerance"]).sort_values("seconds_to_tolerance")
    never = reached[reached["seconds_to_tolerance"].isna()]
    if len(fastest):
        first = fastest.iloc[0]
        sentence = (f"the first fit to come within {ELBO_TOLERANCE:g} nat of its design's best "
                    f"final ELBO is <code>{first['method']}</code> ({first['family']}) after "
                    f"{fmt(first['seconds_to_tolerance'])} s")
    else:
        sentence = "no trace reaches the best final ELBO within tolerance"
    if len(never):
        sentence += f"; {len(never)} of {len(reached)} traces never do"
    section.add("<h3>ELBO traces</h3>")
    section.add_figure(Figure(
        key="elbo_traces", png=_elbo_trace_figure(traces, shown), alt="ELBO traces of the fits",
        caption=caption(
            "higher is better; the y-axis is zoomed on the last four fifths of the runs, and "
            "the right column shows the same traces against wall time.",
            sentence + ".",
        ),
    ))


def _accuracy_sentence(scored: pd.DataFrame) -> str:
    fits = scored[scored["method"] != MCMC]
    if fits.empty:
        return "no fits."
    fastest = fits.sort_values("seconds").iloc[0]
    best = fits.sort_values("mean_abs_error").iloc[0]
    text = (f"the fastest fit is <code>{fastest['method']}</code> ({fastest['family']}, "
            f"{fmt(fastest['seconds'])} s, error {fmt(fastest['mean_abs_error'])}); the most "
            f"accurate is <code>{best['method']}</code> ({best['family']}, "
            f"{fmt(best['seconds'])} s, error {fmt(best['mean_abs_error'])})")
    mcmc = scored[scored["method"] == MCMC]
    if len(mcmc):
        text += (f"; MCMC takes {fmt(mcmc['seconds'].mean())} s for error "
                 f"{fmt(mcmc['mean_abs_error'].mean())}")
    return text + "."


def _fit_label(method: str) -> str:
    """Legend label of a fit's estimator (the ``exact`` estimator is not the exact posterior)."""
    return {"exact": "exact (enumerated gradient)", MCMC: "MCMC (pm.sample)"}.get(method, method)


def _family_legend(handles: list, labels: list[str], families: Sequence[str], *,
                   lines: bool = False) -> None:
    """Append a grey legend entry for each family's marker (or line style)."""
    for index, family in enumerate(families):
        style = ({"linestyle": FAMILY_LINES[index % len(FAMILY_LINES)]} if lines
                 else {"linestyle": "", "marker": family_marker(families, family)})
        handles.append(Line2D([], [], color="grey", **style))
        labels.append(f"family: {family}")


def _inclusion_figure(model: pd.DataFrame, designs: Sequence[tuple[int, int]]) -> bytes:
    """Inclusion probability per predictor: each fit, MCMC and the exact posterior."""
    fig, axes = new_figure(len(designs), 1, height_per_row=3.4)
    is_fit = model["family"] != NOT_A_FIT
    families = sorted(set(model.loc[is_fit, "family"]))
    fits = list(model[is_fit][["method", "family"]].drop_duplicates()
                .sort_values(["family", "method"]).itertuples(index=False))
    width = 0.8
    for row, (k, seed) in enumerate(designs):
        ax = axes[row, 0]
        sub = model[(model["k"] == k) & (model["design_seed"] == seed)]
        exact = sub.drop_duplicates("predictor").sort_values("predictor")
        ax.bar(exact["predictor"], exact["exact_inclusion"], width=width, color="#e4e7eb",
               edgecolor="#9aa3ad", label="exact posterior", zorder=1)
        n_series = len(fits) + 1
        # Each series gets its own slot inside the predictor's bar, MCMC the last one.
        offsets = np.linspace(-width / 2 + width / (2 * n_series),
                              width / 2 - width / (2 * n_series), n_series)
        for index, (method, family) in enumerate(fits):
            line = sub[(sub["method"] == method) & (sub["family"] == family)]
            ax.scatter(line["predictor"] + offsets[index], line["inclusion"], s=22,
                       color=estimator_style(method)["color"],
                       marker=family_marker(families, family), zorder=3, linewidths=0.3,
                       edgecolors="black")
        mcmc = sub[sub["method"] == MCMC]
        if len(mcmc):
            ax.scatter(mcmc["predictor"] + offsets[-1], mcmc["inclusion"], s=40, marker="d",
                       color=estimator_style(MCMC)["color"], zorder=4)
        ax.set_ylim(-0.03, 1.05)
        ax.set_xticks(sorted(exact["predictor"].unique()))
        ax.set_xlabel("predictor j")
        ax.set_ylabel("inclusion probability\nP(z_j = 1 | y)")
        ax.set_title(f"k = {k}, design seed {seed}", fontsize=10, loc="left")
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#e4e7eb", ec="#9aa3ad")]
    labels = ["exact posterior (enumeration)"]
    if (model["method"] == MCMC).any():
        handles.append(Line2D([], [], color=estimator_style(MCMC)["color"], marker="d",
                              linestyle=""))
        labels.append("MCMC (pm.sample)")
    for method in dict.fromkeys(m for m, _ in fits):
        handles.append(colour_handle(method))
        labels.append(_fit_label(method))
    _family_legend(handles, labels, families)
    legend_below(fig, handles, labels, ncols=5)
    return png_bytes(fig)


def _elbo_trace_figure(traces: pd.DataFrame, designs: Sequence[tuple[int, int]]) -> bytes:
    """ELBO against steps and seconds per fit; y-axis zoomed on the converged part."""
    fig, axes = new_figure(len(designs), 2, height_per_row=3.2)
    families = sorted(set(traces["family"]))
    estimators = list(dict.fromkeys(traces["estimator"]))
    for row, (k, seed) in enumerate(designs):
        sub = traces[(traces["k"] == k) & (traces["design_seed"] == seed)]
        lows, highs = [], []
        for (name, family), line in sub.groupby(["estimator", "family"], sort=False):
            line = line.sort_values("step")
            style = FAMILY_LINES[families.index(family) % len(FAMILY_LINES)]
            for col, x_name in enumerate(["step", "seconds"]):
                axes[row, col].plot(line[x_name], line["elbo"], linewidth=1.1, linestyle=style,
                                    color=estimator_style(name)["color"])
            # Zoom on the last four fifths: the first steps' ELBO would flatten the rest.
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
    handles = [estimator_handle(n, marker="") for n in estimators]
    labels = list(estimators)
    _family_legend(handles, labels, families, lines=True)
    legend_below(fig, handles, labels, ncols=6)
    return png_bytes(fig)


def _accuracy_time_figure(fits: pd.DataFrame) -> bytes:
    """Mean |inclusion − exact| against wall time, one point per fit (and MCMC run)."""
    fig, axes = new_figure(1, 1, height_per_row=3.8)
    ax = axes[0, 0]
    families = sorted(set(fits.loc[fits["family"] != NOT_A_FIT, "family"]))
    for record in fits.itertuples(index=False):
        marker = "d" if record.method == MCMC else family_marker(families, record.family)
        ax.scatter(record.seconds, record.mean_abs_error, marker=marker, s=40,
                   color=estimator_style(record.method)["color"], edgecolors="black",
                   linewidths=0.4, zorder=3)
    ax.set_xscale("log")
    plain_log_ticks(ax, "x")
    ax.set_xlabel("wall time of the fit or of pm.sample (s, log scale)")
    ax.set_ylabel("mean |inclusion − exact|\n(probability)")
    ax.grid(alpha=0.3)
    methods = list(dict.fromkeys(fits["method"]))
    handles = [colour_handle(m) if m != MCMC else estimator_handle(m, linestyle="")
               for m in methods]
    labels = [_fit_label(m) for m in methods]
    _family_legend(handles, labels, families)
    legend_below(fig, handles, labels, ncols=6)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_model(summarise_model(inputs.model, inputs.model_traces, inputs.notes))


CHAPTER = Chapter("model", "7. Model study: spike-and-slab regression",
                  needs=("model", "model_traces", "models"), build=_build,
                  requires=("model", "model study", "results/model.csv"))
