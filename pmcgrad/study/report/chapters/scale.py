"""Chapter 9, VI or MCMC? The wall time each method needs to bring every inclusion probability
within the target (0.02 by default) of the reference, against the number of predictors k
(:mod:`pmcgrad.study.scale`).

Each point is one whole call on a freshly built model (graph building included, the disk caches
of compiled code warm): a converging ``pmcgrad.fit`` or the first ``pm.sample`` call, doubling
its draws, that reached the target. The figure is the crossover: time against k on log-log
axes, one line per method through the points that reached the target, with the least-squares
slope of each; the k from which a fit is faster than MCMC is what the key results state, as
measured in this run (or that there is none in its range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from pmcgrad.study.columns import MCMC, NOT_A_FIT
from pmcgrad.study.report.chapter import Chapter
from pmcgrad.study.report.inputs import ReportInputs
from pmcgrad.study.report.page import Figure, Section, fmt, html_table, png_bytes
from pmcgrad.study.report.style import (
    FAMILY_LINES,
    estimator_style,
    legend_below,
    new_figure,
    plain_log_ticks,
)
from pmcgrad.study.report.wording import caption

__all__ = ["CHAPTER", "ScaleSummary", "crossover", "log_log_fit", "render_scale",
           "summarise_scale"]


@dataclass(frozen=True)
class ScaleSummary:
    """The measurements, one fitted line per design and method, and the crossovers."""

    scale: pd.DataFrame  # scale.csv, with a "label" per method
    slopes: pd.DataFrame  # design, label, points, slope, intercept (NaN under two points)
    crossovers: pd.DataFrame  # design, label, k (NaN: none measured), extrapolated k
    designs: list[str]
    target: float


def log_log_fit(k, seconds) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)`` of log(seconds) on log(k); NaN under two distinct
    k."""
    k, seconds = np.asarray(k, dtype=float), np.asarray(seconds, dtype=float)
    if len(np.unique(k)) < 2:
        return math.nan, math.nan
    slope, intercept = np.polyfit(np.log(k), np.log(seconds), 1)
    return float(slope), float(intercept)


def crossover(fit: pd.DataFrame, mcmc: pd.DataFrame) -> float:
    """The smallest measured k from which, at every larger measured k too, the fit reached the
    target and did so faster than ``pm.sample`` (or ``pm.sample`` never reached it); NaN
    where there is none. ``fit`` and ``mcmc`` are one design's rows of one method each."""
    mcmc = mcmc.set_index("k")
    wins = []
    for record in fit.sort_values("k").itertuples(index=False):
        other = mcmc.loc[record.k] if record.k in mcmc.index else None
        wins.append((int(record.k), bool(record.reached) and (
            other is None or not bool(other["reached"]) or record.seconds < other["seconds"])))
    k = math.nan
    for value, won in reversed(wins):
        if not won:
            break
        k = value
    return float(k)


def _label(method: str, family: str) -> str:
    return "pm.sample" if method == MCMC else f"{family} + {method}"


def summarise_scale(scale: pd.DataFrame) -> ScaleSummary:
    """Fitted slopes through the points that reached the target, and each fit's crossover
    against ``pm.sample``, measured and (from the fitted lines) extrapolated."""
    scale = scale.assign(label=[_label(m, f) for m, f in
                                zip(scale["method"], scale["family"], strict=True)])
    designs = list(dict.fromkeys(scale["design"]))
    slope_rows, cross_rows = [], []
    for design in designs:
        rows = scale[scale["design"] == design]
        lines = {}
        for label, line in rows.groupby("label", sort=False):
            reached = line[line["reached"]]
            slope, intercept = log_log_fit(reached["k"], reached["seconds"])
            lines[label] = (slope, intercept)
            slope_rows.append({"design": design, "label": label, "points": len(reached),
                               "of": len(line), "slope": slope, "intercept": intercept})
        mcmc = rows[rows["method"] == MCMC]
        if mcmc.empty:
            continue
        for label, line in rows[rows["method"] != MCMC].groupby("label", sort=False):
            measured = crossover(line, mcmc)
            cross_rows.append({"design": design, "label": label, "k": measured,
                               "extrapolated": _extrapolate(lines[label], lines["pm.sample"],
                                                            rows["k"].max())})
    return ScaleSummary(
        scale, pd.DataFrame(slope_rows, columns=["design", "label", "points", "of", "slope",
                                                 "intercept"]),
        pd.DataFrame(cross_rows, columns=["design", "label", "k", "extrapolated"]), designs,
        float(scale["target"].iloc[0]))


def _extrapolate(fit: tuple[float, float], mcmc: tuple[float, float], k_max: float) -> float:
    """Where the two fitted lines cross, when that lies beyond the measured range and the
    fit's line is the flatter one; NaN otherwise."""
    (b_fit, a_fit), (b_mcmc, a_mcmc) = fit, mcmc
    if not all(np.isfinite([b_fit, a_fit, b_mcmc, a_mcmc])) or b_fit >= b_mcmc:
        return math.nan
    k = math.exp((a_fit - a_mcmc) / (b_mcmc - b_fit))
    return float(k) if k > k_max else math.nan


def render_scale(summary: ScaleSummary) -> Section:
    """The crossover figure, the slopes, the measurements and the key result."""
    section = CHAPTER.section()
    target = fmt(summary.target)
    section.add(
        f"<p>How long each method takes to bring every inclusion probability within {target} "
        "of the reference, as k grows: <code>pmcgrad.fit</code> with its own stopping rule "
        "(it reaches the target if the answer it returns does), and <code>pm.sample</code> "
        "(<code>cores=1</code>) called with doubling draws per chain until one call does. "
        "Every time is one whole call on a freshly built model, building and loading its "
        "compiled functions included; before it, one untimed call on the same data filled "
        "the disk caches of compiled code (PyTensor's and Numba's) on both sides, so the "
        "timed call does not compile C or Numba code from nothing: that first call's time is "
        "the table's warm-up column. Orthogonal designs (X<sup>T</sup>X = nI) are measured "
        "against their closed-form posterior; correlated ones against a long MCMC run, "
        "whose own Monte Carlo error the table gives.</p>")
    key = _key_sentence(summary)
    section.highlights.append(f"VI or MCMC (scale study): {key}")
    section.add_figure(Figure(
        key="scale", png=_crossover_figure(summary), alt="Time to the target against k",
        caption=caption(
            "filled points reached the target, hollow ones did not (their time is the call "
            "that stopped trying); dotted lines are the least-squares fits through the filled "
            "points, with their log-log slopes in the legend; a method whose line is flatter "
            "than MCMC's wins from where they cross.", key)))
    slopes = summary.slopes.assign(
        fitted=[f"{int(p)} of {int(n)}" for p, n in
                zip(summary.slopes["points"], summary.slopes["of"], strict=True)]
    )[["design", "label", "fitted", "slope"]].rename(columns={
        "label": "method", "fitted": "k that reached the target",
        "slope": "log-log slope of time on k"})
    section.add(html_table(slopes, table_id="scale-slopes",
                           caption="Growth of the time to the target with k."))
    if len(summary.crossovers):
        cross = summary.crossovers.assign(
            measured=[("none in range" if not np.isfinite(k) else f"k ≥ {int(k)}")
                      for k in summary.crossovers["k"]],
            lines=[("—" if not np.isfinite(k) else f"≈ {fmt(k)}")
                   for k in summary.crossovers["extrapolated"]],
        )[["design", "label", "measured", "lines"]].rename(columns={
            "label": "fit", "measured": "faster than pm.sample (measured)",
            "lines": "fitted lines cross (extrapolated)"})
        section.add(html_table(cross, table_id="scale-crossover",
                               caption="Where each fit overtakes pm.sample."))
    table = summary.scale[["design", "k", "label", "seconds", "steps", "attempts", "converged",
                           "max_abs_error", "reached", "reference_error",
                           "warmup_seconds"]].rename(columns={
        "label": "method", "seconds": "wall time (s)", "steps": "steps or draws / chain",
        "max_abs_error": "max |inclusion − reference|",
        "reference_error": "reference's largest s.e.",
        "warmup_seconds": "warm-up call (s)"})
    section.add(html_table(table, table_id="scale-table",
                           caption="Every timed method. For a fit, “converged” says whether "
                                   "its stopping rule fired before the cap; pm.sample has no "
                                   "such rule."))
    return section


def _key_sentence(summary: ScaleSummary) -> str:
    parts = []
    for design in summary.designs:
        rows = summary.scale[summary.scale["design"] == design]
        ks = sorted(int(k) for k in rows["k"].unique())
        cross = summary.crossovers[summary.crossovers["design"] == design]
        found = cross.dropna(subset=["k"]).sort_values("k")
        where = f"{design} designs (k = {', '.join(map(str, ks))})"
        if len(found):
            best = found.iloc[0]
            k = int(best["k"])
            at = rows[rows["k"] == k]
            fit = at[at["label"] == best["label"]].iloc[0]
            mcmc = at[at["method"] == MCMC]
            versus = (f"{fmt(mcmc['seconds'].iloc[0])} s"
                      + ("" if bool(mcmc["reached"].iloc[0]) else " without reaching it")
                      if len(mcmc) else "no MCMC run")
            parts.append(f"on {where}, <code>pmcgrad.fit</code> ({best['label']}) reaches "
                         f"max error {fmt(summary.target)} faster than pm.sample from k = {k} "
                         f"on ({fmt(fit['seconds'])} s against {versus} at k = {k})")
        else:
            extrapolated = cross["extrapolated"].dropna()
            largest = rows[rows["k"] == ks[-1]]
            reached = list(dict.fromkeys(largest.loc[largest["reached"], "label"]))
            text = (f"on {where}, no fit reached max error {fmt(summary.target)} faster than "
                    "pm.sample at the largest k, so no crossover was found in this range "
                    f"(at k = {ks[-1]}, "
                    + (f"{', '.join(reached)} reached it" if reached
                       else "no method reached it")
                    + ")")
            if len(extrapolated):
                text += (f" (the fitted lines would cross near k ≈ {fmt(extrapolated.min())}, "
                         "an extrapolation)")
            parts.append(text)
    return "; ".join(parts) + "." if parts else "no scale measurements."


def _crossover_figure(summary: ScaleSummary) -> bytes:
    designs = summary.designs or ["(none)"]
    fig, axes = new_figure(1, len(designs), height_per_row=3.8)
    families = sorted(set(summary.scale.loc[summary.scale["family"] != NOT_A_FIT, "family"]))
    handles, labels = {}, {}
    for col, design in enumerate(designs):
        ax = axes[0, col]
        rows = summary.scale[summary.scale["design"] == design]
        for label, line in rows.groupby("label", sort=False):
            line = line.sort_values("k")
            first = line.iloc[0]
            style = estimator_style(first["method"])
            dash = ("-" if first["method"] == MCMC
                    else FAMILY_LINES[families.index(first["family"]) % len(FAMILY_LINES)])
            reached = line[line["reached"]]
            ax.plot(line["k"], line["seconds"], color=style["color"], linestyle=dash,
                    linewidth=0.8, alpha=0.5)
            ax.scatter(reached["k"], reached["seconds"], color=style["color"],
                       marker=style["marker"], s=36, zorder=3)
            missed = line[~line["reached"]]
            ax.scatter(missed["k"], missed["seconds"], facecolors="none",
                       edgecolors=style["color"], marker=style["marker"], s=36, zorder=3)
            fit = summary.slopes[(summary.slopes["design"] == design)
                                 & (summary.slopes["label"] == label)].iloc[0]
            text = label
            if np.isfinite(fit["slope"]):
                grid = np.geomspace(reached["k"].min(), reached["k"].max(), 20)
                ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"],
                        color=style["color"], linestyle=":", linewidth=1.4)
                text = f"{label} (slope {fmt(fit['slope'], 2)})"
            key = (label, design)
            handles[key] = Line2D([], [], color=style["color"], marker=style["marker"],
                                  linestyle=dash)
            labels[key] = f"{design}: {text}" if len(designs) > 1 else text
        cross = summary.crossovers[(summary.crossovers["design"] == design)].dropna(
            subset=["k"])
        if len(cross):
            ax.axvline(float(cross["k"].min()), color="grey", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ks = sorted(rows["k"].unique())
        if ks:
            plain_log_ticks(ax, "x", ks)
        plain_log_ticks(ax, "y")
        ax.set_xlabel("k (predictors, log scale)")
        ax.set_ylabel(f"wall time to max error ≤ {fmt(summary.target)}\n(s, log scale)")
        ax.set_title(f"{design} designs", fontsize=10, loc="left")
        ax.grid(alpha=0.3, which="major")
    legend_below(fig, list(handles.values()), list(labels.values()), ncols=2)
    return png_bytes(fig)


def _build(inputs: ReportInputs) -> Section:
    return render_scale(summarise_scale(inputs.scale))


CHAPTER = Chapter("scale", "9. VI or MCMC? Time to accuracy against k", needs=("scale",),
                  build=_build, requires=("scale", "scale study", "results/scale.csv"))
